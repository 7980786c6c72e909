"""Reads of the PE field test, scoped by :mod:`naeq.pe.access`: the entry grid of a room, completion statistics at
every level (nation → province → city → county → school → room) and the derived indicators per school / county.

Completion counts come from a fixed number of grouped queries per page whatever the number of children (asserted
in the tests): expected students (the sampled students, :class:`naeq.delivery.models.TestTaker` of kind student),
students in rooms, entered (present with every required field filled, −1 counting as filled), exempt, absent,
missing by item, and rooms drafted / submitted / confirmed.

Indicators use confirmed (locked) rooms only: they are the official numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import Substr
from django.utils.translation import gettext as _

from naeq.core.errors import InvalidInput
from naeq.cycles.models import Cycle
from naeq.delivery.models import TestTaker
from naeq.pe import access, indicators
from naeq.pe.config import FIELDS, items_config, standard
from naeq.pe.models import Attendance, ExamRoom, PeRecord, RoomStatus
from naeq.pe.services import room_findings, room_records, window_for
from naeq.pe.validation import Finding
from naeq.registry.models import Region, School

SEGMENT = 7  # a region path segment: six digits and a slash


def _item_missing_q(prefix: str = "") -> dict[str, Q]:
    out: dict[str, Q] = {}
    for item in items_config().items:
        first, *rest = item.fields
        q = Q(**{f"{prefix}{first.code}": -1})
        for f in rest:
            q &= Q(**{f"{prefix}{f.code}__isnull": True}) | Q(**{f"{prefix}{f.code}": -1})
        out[item.code] = q
    return out


def _entered_q() -> Q:
    q = Q(attendance=Attendance.PRESENT)
    for item in items_config().items:
        for f in item.fields[:item.min_trials]:
            q &= Q(**{f"{f.code}__isnull": False})
    return q


@dataclass
class CompletionRow:
    code: str
    name: str
    kind: str  # region / school / room
    link: str | None  # URL name target code (region or school code, room id)
    expected: int = 0
    in_rooms: int = 0
    entered: int = 0
    exempt: int = 0
    absent: int = 0
    missing: dict[str, int] = field(default_factory=dict)
    rooms: int = 0
    submitted: int = 0
    confirmed: int = 0
    status: str = ""

    @property
    def missing_values(self) -> list[int]:
        """Missing counts in the configuration's item order (for tables)."""
        return [self.missing.get(i.code, 0) for i in items_config().items]

    @property
    def done(self) -> int:
        return self.entered + self.exempt + self.absent

    @property
    def rate(self) -> float | None:
        return self.done / self.expected if self.expected else None

    def add(self, other: CompletionRow) -> None:
        for k in ("expected", "in_rooms", "entered", "exempt", "absent", "rooms", "submitted", "confirmed"):
            setattr(self, k, getattr(self, k) + getattr(other, k))
        for k, v in other.missing.items():
            self.missing[k] = self.missing.get(k, 0) + v


@dataclass
class Completion:
    cycle: Cycle
    region: Region | None
    school: School | None
    level: str  # nation / province / city / county / school
    rows: list[CompletionRow]
    total: CompletionRow
    window: tuple[Any, Any, str] | None


def _record_aggregates(records: QuerySet[PeRecord], key: str) -> dict[Any, dict[str, int]]:
    missing = _item_missing_q()
    aggs: dict[str, Any] = {"in_rooms": Count("id"), "entered": Count("id", filter=_entered_q()),
                            "exempt": Count("id", filter=Q(attendance=Attendance.EXEMPT)),
                            "absent": Count("id", filter=Q(attendance=Attendance.ABSENT))}
    for code, q in missing.items():
        aggs[f"m_{code}"] = Count("id", filter=Q(attendance=Attendance.PRESENT) & q)
    return _keyed(records.annotate(k=_key(key)).values("k").annotate(**aggs))


def _keyed(rows: Any) -> dict[Any, dict[str, int]]:
    out: dict[Any, dict[str, int]] = {}
    for r in rows:
        d = dict(r)
        out[d.pop("k")] = d
    return out


def _key(key: str) -> Any:
    """A grouping expression: ``substr:<n>`` groups by the first n characters of the path (a region), else a
    field."""
    if key.startswith("substr:"):
        return Substr("path", 1, int(key.split(":")[1]))
    return F(key)


def _fill(row: CompletionRow, rec: dict[str, int] | None, expected: int, rooms: dict[str, int] | None) -> None:
    row.expected = expected
    if rec:
        row.in_rooms, row.entered, row.exempt, row.absent = rec["in_rooms"], rec["entered"], rec["exempt"], \
            rec["absent"]
        row.missing = {k[2:]: v for k, v in rec.items() if k.startswith("m_")}
    else:
        row.missing = {i.code: 0 for i in items_config().items}
    if rooms:
        row.rooms, row.submitted, row.confirmed = rooms["rooms"], rooms["submitted"], rooms["confirmed"]


def _room_aggs() -> dict[str, Any]:
    return {"rooms": Count("id"), "submitted": Count("id", filter=Q(status=RoomStatus.SUBMITTED)),
            "confirmed": Count("id", filter=Q(status=RoomStatus.CONFIRMED))}


def completion(*, actor: Any, cycle: Cycle, region: Region | None) -> Completion:
    """Completion of a region's children (the nation's provinces when ``region`` is None; a county's schools)."""
    j = access.jurisdiction_of(actor)
    if region is None and not j.is_national:
        raise InvalidInput(_("请选择地区。"), code="no_region")
    records = access.records_visible(actor=actor).filter(room__cycle=cycle)
    takers = TestTaker.objects.filter(cycle=cycle, kind="student", school__isnull=False, grade__in=[4, 8],
                                      sampled_student__isnull=False)
    rooms = access.rooms_visible(actor=actor).filter(cycle=cycle)
    level = region.level if region is not None else "nation"
    if region is not None:
        records = records.filter(path__startswith=region.path)
        takers = takers.filter(path__startswith=region.path)
        rooms = rooms.filter(path__startswith=region.path)
    rows: list[CompletionRow] = []
    if level == "county":
        assert region is not None
        rec = _record_aggregates(records, "room__school_id")
        exp: dict[Any, int] = dict(takers.values("school_id").annotate(n=Count("id")).values_list("school_id", "n"))
        rm = _keyed(rooms.annotate(k=F("school_id")).values("k").annotate(**_room_aggs()))
        ids = set(exp) | set(rec) | set(rm)
        for s in School.objects.filter(pk__in=ids).order_by("code"):
            row = CompletionRow(code=s.code, name=s.name, kind="school", link=s.code)
            _fill(row, rec.get(s.pk), exp.get(s.pk, 0), rm.get(s.pk))
            rows.append(row)
    else:
        length = len(region.path) + SEGMENT if region is not None else SEGMENT
        rec = _record_aggregates(records, f"substr:{length}")
        exp = dict(takers.annotate(k=Substr("path", 1, length)).values("k").annotate(n=Count("id"))
                   .values_list("k", "n"))
        rm = _keyed(rooms.annotate(k=Substr("path", 1, length)).values("k").annotate(**_room_aggs()))
        paths = set(exp) | set(rec) | set(rm)
        for child in Region.objects.filter(path__in=paths).order_by("code"):
            row = CompletionRow(code=child.code, name=child.name, kind="region", link=child.code)
            _fill(row, rec.get(child.path), exp.get(child.path, 0), rm.get(child.path))
            rows.append(row)
    total = CompletionRow(code="", name=_("合计"), kind="total", link=None,
                          missing={i.code: 0 for i in items_config().items})
    for r in rows:
        total.add(r)
    window = None
    if region is not None:
        from naeq.pe.services import province_of

        window = window_for(cycle, province_of(region.path))
    return Completion(cycle=cycle, region=region, school=None, level=level, rows=rows, total=total, window=window)


def school_completion(*, actor: Any, cycle: Cycle, school: School) -> Completion:
    """Completion of a school's rooms (the school page)."""
    records = access.records_visible(actor=actor).filter(room__cycle=cycle, room__school=school)
    rec = _record_aggregates(records, "room_id")
    rows: list[CompletionRow] = []
    rooms = list(access.rooms_visible(actor=actor).filter(cycle=cycle, school=school)
                 .select_related("recorder", "reviewer").order_by("number"))
    for room in rooms:
        row = CompletionRow(code=str(room.number), name=room.name, kind="room", link=str(room.pk),
                            status=room.get_status_display())
        agg = rec.get(room.pk)
        status = {"rooms": 1, "submitted": int(room.status == RoomStatus.SUBMITTED),
                  "confirmed": int(room.status == RoomStatus.CONFIRMED)}
        _fill(row, agg, agg["in_rooms"] if agg else 0, status)
        rows.append(row)
    total = CompletionRow(code="", name=_("合计"), kind="total", link=None,
                          missing={i.code: 0 for i in items_config().items})
    for r in rows:
        total.add(r)
    total.expected = TestTaker.objects.filter(cycle=cycle, kind="student", school=school, grade__in=[4, 8],
                                              sampled_student__isnull=False).count()
    from naeq.pe.services import province_of

    return Completion(cycle=cycle, region=None, school=school, level="school", rows=rows, total=total,
                      window=window_for(cycle, province_of(school.path)))


@dataclass
class RoomGrid:
    room: ExamRoom
    records: list[PeRecord]
    findings: list[Finding]
    by_code: dict[str, list[Finding]]
    room_findings: list[Finding]
    rooms: list[ExamRoom]  # the school's other draft rooms of the same grade (to move students to)


def room_grid(*, actor: Any, room_id: int) -> RoomGrid:
    room = access.room_access(actor=actor, room_id=room_id)
    records = room_records(room)
    findings = room_findings(room, records, for_submit=room.status != RoomStatus.DRAFT)
    by_code: dict[str, list[Finding]] = {}
    for f in findings:
        if f.code:
            by_code.setdefault(f.code, []).append(f)
    others = list(access.rooms_visible(actor=actor).filter(cycle=room.cycle, school=room.school, grade=room.grade,
                                                           status=RoomStatus.DRAFT).exclude(pk=room.pk))
    return RoomGrid(room=room, records=records, findings=findings, by_code=by_code,
                    room_findings=[f for f in findings if not f.code], rooms=others)


# ------------------------------------------------------------------------------------------------------- indicators

@dataclass(frozen=True)
class IndicatorRow:
    code: str
    name: str
    link: str | None
    values: indicators.GroupIndicators


def _arrays(rows: QuerySet[Any], n: int) -> dict[str, np.ndarray]:
    """Columns of the records as arrays, filled from a streamed query (a national run holds ~200,000 students:
    numeric arrays of n × 13 floats, not n Python tuples)."""
    keys = np.empty(n, dtype=object)
    grade = np.zeros(n, dtype=int)
    sex = np.empty(n, dtype=object)
    values = np.full((n, len(FIELDS)), np.nan)
    i = -1
    for i, row in enumerate(rows.iterator(chunk_size=5000)):
        if i >= n:  # rows added since the count: left for the next read
            break
        keys[i], grade[i], sex[i] = row[0], row[1], row[2]
        values[i] = [np.nan if v is None else v for v in row[3:]]
    m = min(i + 1, n)
    out: dict[str, np.ndarray] = {"key": keys[:m], "grade": grade[:m], "sex": sex[:m]}
    for k, f in enumerate(FIELDS):
        out[f] = indicators.clean(values[:m, k])
    return out


def group_values(a: dict[str, np.ndarray], sel: np.ndarray) -> indicators.GroupIndicators:
    cfg = items_config()
    results: dict[str, np.ndarray] = {}
    for item in cfg.items:
        trials = np.column_stack([a[f.code][sel] for f in item.fields]) if len(item.fields) > 1 else a[
            item.fields[0].code][sel]
        results[item.code] = indicators.best_of(trials, item.best)
    return indicators.group_indicators(grades=a["grade"][sel], sexes=a["sex"][sel], height=a["height"][sel],
                                       weight=a["weight"][sel], vision_l=a["vision_l"][sel],
                                       vision_r=a["vision_r"][sel], results=results, std=standard())


def indicator_rows(*, actor: Any, cycle: Cycle, region: Region | None) -> tuple[list[IndicatorRow], IndicatorRow]:
    """Indicators per child of ``region`` (schools of a county; counties of a city or province; provinces of the
    nation) and for the whole region, over the present students of confirmed rooms."""
    j = access.jurisdiction_of(actor)
    if region is None and not j.is_national:
        raise InvalidInput(_("请选择地区。"), code="no_region")
    records = access.records_visible(actor=actor).filter(room__cycle=cycle, room__status=RoomStatus.CONFIRMED,
                                                         attendance=Attendance.PRESENT)
    if region is not None:
        records = records.filter(path__startswith=region.path)
    by_school = region is not None and region.level == "county"
    length = len(region.path) + SEGMENT if region is not None else SEGMENT
    key = "room__school_id" if by_school else f"substr:{length}"
    rows = records.annotate(k=_key(key)).values_list("k", "room__grade", "test_taker__sampled_student__student__sex",
                                                     *FIELDS)
    a = _arrays(rows, records.count())
    out: list[IndicatorRow] = []
    keys = sorted(set(a["key"].tolist()), key=str)
    if by_school:
        names = {s.pk: s for s in School.objects.filter(pk__in=keys)}
        for k in sorted(keys, key=lambda x: names[x].code):
            out.append(IndicatorRow(names[k].code, names[k].name, names[k].code, group_values(a, a["key"] == k)))
    else:
        regions = {r.path: r for r in Region.objects.filter(path__in=keys)}
        for k in sorted(keys, key=lambda x: regions[x].code if x in regions else x):
            r = regions.get(k)
            if r is not None:
                out.append(IndicatorRow(r.code, r.name, r.code, group_values(a, a["key"] == k)))
    total = IndicatorRow("", region.name if region else _("全国"), None,
                         group_values(a, np.ones(len(a["key"]), dtype=bool)))
    return out, total


def screening_values(*, cycle: Cycle, tests: list[str] | None = None) -> list[tuple[int, str, float, int]]:
    """``(test_taker_id, item code, value, the item's decimals)`` of every entered PE value of the cycle (present
    students; blank and −1 = missing left out), for the data-quality screen. ``tests``: item codes of
    :func:`naeq.pe.config.items_config` (None = all). A PE record belongs to the sampled student's one test taker
    (``TestTaker.sampled_student`` is one-to-one), the same test taker as in the student's tests. Unscoped."""
    items = [i for i in items_config().items if tests is None or i.code in tests]
    fields = {f.code: i for i in items for f in i.fields}
    rows = (PeRecord.objects.filter(room__cycle=cycle, attendance=Attendance.PRESENT).order_by("test_taker_id")
            .values_list("test_taker_id", *fields))
    out: list[tuple[int, str, float, int]] = []
    for taker_id, *values in rows.iterator(chunk_size=5000):
        for item, v in zip(fields.values(), values, strict=True):
            if v is not None and v != -1:
                out.append((int(taker_id), item.code, float(v), int(item.decimals)))
    return out
