"""Reads of sessions for staff: lists, the proctor view, completion rates, reset requests, severe incidents.

Everything is scoped through :mod:`naeq.delivery.access`. Who signed in to a session is read from the audit log
(``delivery.sign_in`` events on the session): sign-ins are audited anyway, so there is no second record to keep
in step.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from naeq.accounts.jurisdiction import jurisdiction_of
from naeq.core.errors import InvalidInput, NotFound
from naeq.core.models import AuditEvent
from naeq.cycles.models import Cycle
from naeq.delivery.access import (
    may_record_incident,
    may_run,
    require_region_reader,
    reset_requests_visible,
    session_access,
    sessions_visible,
)
from naeq.delivery.models import (
    Attempt,
    AttemptStatus,
    Booklet,
    Incident,
    Item,
    Respondent,
    RoleResetRequest,
    SessionKind,
    SessionStatus,
    TestSession,
    TestTaker,
)
from naeq.delivery.teacher_roles import matching_instruments
from naeq.registry.models import Region, RegionLevel, School
from naeq.sampling.selectors import cycle_for


def session_list(*, actor: Any, year: int | None = None, date: str = "", status: str = "",
                 school_code: str = "") -> QuerySet[TestSession]:
    """The actor's sessions of the cycle, filtered by date (YYYY-MM-DD of the start in the session's own
    clock), status and school code."""
    cycle = cycle_for(year)
    qs = sessions_visible(actor=actor).filter(cycle=cycle).select_related("school", "county")
    if date:
        try:
            day = dt.date.fromisoformat(date)
        except ValueError:
            raise InvalidInput(_("日期格式应为YYYY-MM-DD。"), code="bad_date") from None
        # The start's date in the session's own clock: one UTC range per offset in use (a handful).
        offsets = set(qs.order_by().values_list("utc_offset_minutes", flat=True).distinct())
        cond = Q(pk__in=[])
        for off in offsets:
            tz = dt.timezone(dt.timedelta(minutes=off))
            low = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
            cond |= Q(utc_offset_minutes=off, starts_at__gte=low, starts_at__lt=low + dt.timedelta(days=1))
        qs = qs.filter(cond)
    if status:
        if status not in SessionStatus.values:
            raise InvalidInput(_("状态无效。"), code="bad_status")
        qs = qs.filter(status=status)
    if school_code:
        qs = qs.filter(school__code=school_code.strip())
    return qs.order_by("starts_at", "school__code", "id")


def local_start(s: TestSession) -> dt.datetime:
    return s.starts_at.astimezone(dt.timezone(dt.timedelta(minutes=s.utc_offset_minutes)))


def in_clock(s: TestSession, value: dt.datetime | None) -> dt.datetime | None:
    """``value`` in the session's own clock (its UTC offset); templates show it with ``{% localtime off %}``."""
    return None if value is None else value.astimezone(dt.timezone(dt.timedelta(minutes=s.utc_offset_minutes)))


def local_end(s: TestSession) -> dt.datetime | None:
    if s.ends_at is None:
        return None
    return s.ends_at.astimezone(dt.timezone(dt.timedelta(minutes=s.utc_offset_minutes)))


def session_takers(session: TestSession) -> QuerySet[TestTaker]:
    """Who is expected in the session: the takers of its respondent kind at its school (or county) and grade."""
    qs = TestTaker.objects.filter(cycle_id=session.cycle_id, kind=session.respondent)
    if session.school_id is None:
        qs = qs.filter(county_id=session.county_id, school__isnull=True)
    else:
        qs = qs.filter(school_id=session.school_id)
        if session.grade is not None and session.respondent in (Respondent.STUDENT, Respondent.TEACHER):
            qs = qs.filter(grade=session.grade)
    return qs.order_by("code")


def session_signed_in(session: TestSession) -> dict[int, dt.datetime]:
    """taker id → first sign-in time, from the audit log."""
    out: dict[int, dt.datetime] = {}
    rows = (AuditEvent.objects.filter(object_type="delivery.TestSession", object_id=str(session.pk),
                                      action="delivery.sign_in").order_by("id").values_list("after", "at"))
    for after, at in rows:
        tid = (after or {}).get("taker_id")
        if isinstance(tid, int) and tid not in out:
            out[tid] = at
    return out


def instruments_for(taker: TestTaker, session: TestSession, cycle: Cycle | None = None) -> list[str]:
    """The session's instruments this taker takes: a teacher's follow the roles picked. In a practice session a
    teacher gets all of them without picking (a practice pick would lock the formal one)."""
    codes = list(session.instruments or [])
    if taker.kind != Respondent.TEACHER or session.kind == SessionKind.PRACTICE:
        return codes
    wanted = set(matching_instruments(cycle or taker.cycle, list(taker.roles or [])))
    return [c for c in codes if c in wanted]


@dataclass
class ProctorRow:
    taker: TestTaker
    signed_in_at: dt.datetime | None
    # instrument code -> (answers saved, items, status) of the taker's latest attempt; absent when not started
    progress: dict[str, tuple[int, int, str]] = field(default_factory=dict)
    submitted: int = 0
    absent: bool = False


@dataclass
class ProctorView:
    session: TestSession
    rows: list[ProctorRow]
    incidents: list[Incident]
    can_run: bool
    can_record_incident: bool
    signed_in: int
    submitted_all: int
    absent: int
    local_start: dt.datetime
    local_end: dt.datetime | None
    actual_start: dt.datetime | None  # in the session's clock
    actual_end: dt.datetime | None


def _items_per_booklet(instrument_ids: set[int]) -> dict[tuple[int, int | None], int]:
    """(instrument id, booklet number) → number of items administered."""
    per_block: dict[tuple[int, str], int] = defaultdict(int)
    total: dict[int, int] = defaultdict(int)
    for iid, block, n in (Item.objects.filter(instrument_id__in=instrument_ids).values_list("instrument_id", "block")
                          .annotate(n=Count("id"))):
        per_block[(iid, block)] += n
        total[iid] += n
    out: dict[tuple[int, int | None], int] = {(iid, None): n for iid, n in total.items()}
    for b in Booklet.objects.filter(instrument_id__in=instrument_ids).select_related("instrument"):
        if b.instrument.kind == "test":
            out[(b.instrument_id, b.number)] = sum(per_block.get((b.instrument_id, blk), 0) for blk in b.blocks)
        else:
            out[(b.instrument_id, b.number)] = total.get(b.instrument_id, 0)
    return out


def proctor_view(*, actor: Any, session_id: int) -> ProctorView:
    session = session_access(actor=actor, session_id=session_id)
    takers = list(session_takers(session).select_related("cycle"))
    signed = session_signed_in(session)
    attempts = list(Attempt.objects.filter(session=session).select_related("instrument")
                    .annotate(saved=Count("answers")).order_by("number"))
    sizes = _items_per_booklet({a.instrument_id for a in attempts})
    by_taker: dict[int, list[Attempt]] = defaultdict(list)
    for a in attempts:
        by_taker[a.test_taker_id].append(a)
    closed = session.status == SessionStatus.CLOSED
    rows: list[ProctorRow] = []
    for t in takers:
        row = ProctorRow(taker=t, signed_in_at=in_clock(session, signed.get(t.pk)))
        wanted = instruments_for(t, session, session.cycle)
        for att in by_taker.get(t.pk, []):  # later numbers overwrite earlier ones: the latest attempt is shown
            row.progress[att.instrument.code] = (
                int(getattr(att, "saved", 0)), sizes.get((att.instrument_id, att.booklet), sizes.get(
                    (att.instrument_id, None), 0)), att.status)
        row.submitted = sum(1 for c in wanted if row.progress.get(c, (0, 0, ""))[2] == AttemptStatus.SUBMITTED)
        row.absent = closed and row.signed_in_at is None
        rows.append(row)
    return ProctorView(
        session=session, rows=rows, incidents=list(session.incidents.select_related("recorded_by")),
        can_run=may_run(actor=actor, session=session),
        can_record_incident=may_record_incident(actor=actor, session=session),
        signed_in=sum(1 for r in rows if r.signed_in_at is not None),
        submitted_all=sum(1 for r in rows if r.submitted and r.submitted == len(instruments_for(
            r.taker, session, session.cycle))),
        absent=sum(1 for r in rows if r.absent), local_start=local_start(session), local_end=local_end(session),
        actual_start=in_clock(session, session.actual_start), actual_end=in_clock(session, session.actual_end))


def credentials(*, actor: Any, session_id: int) -> tuple[TestSession, list[tuple[TestTaker, str]]]:
    """The seating and credential list (test ID and, for students, the name) for those who run the session."""
    from naeq.delivery.access import require_session_runner

    session = require_session_runner(actor=actor, session_id=session_id)
    takers = list(session_takers(session).select_related("sampled_student__student", "teacher", "principal"))
    out = []
    for t in takers:
        person = (t.sampled_student.student if t.sampled_student_id and t.sampled_student else
                  t.teacher or t.principal)
        out.append((t, getattr(person, "name", "") if person is not None else ""))
    return session, out


# ------------------------------------------------------------------------------------------- completion


@dataclass
class CompletionRow:
    name: str
    code: str
    drill: bool  # whether the row links one level down
    cells: dict[str, tuple[int, int]]  # instrument code -> (submitted, expected)

    @property
    def total(self) -> tuple[int, int]:
        return (sum(c[0] for c in self.cells.values()), sum(c[1] for c in self.cells.values()))


@dataclass
class Completion:
    cycle: Cycle
    region: Region | None  # None: the nation
    instruments: list[tuple[str, str]]  # (code, name) of the columns
    rows: list[CompletionRow]
    total: CompletionRow
    severe: list[Incident]


def completion(*, actor: Any, year: int | None = None, region_code: str = "") -> Completion:
    """Share of expected test takers who submitted each instrument of the formal sessions, for the actor's
    region (or a region inside it), one row per region one level down (per school inside a county)."""
    j = require_region_reader(actor=actor)
    cycle = cycle_for(year)
    region: Region | None = None
    if region_code:
        region = Region.objects.filter(code=region_code).first()
        if region is None or not j.covers_path(region.path):
            raise NotFound(_("没有找到该区域。"))
    elif not j.is_national:
        region = Region.objects.filter(path=j.path).first()
    scope = region.path if region is not None else ""
    sessions = (TestSession.objects.filter(cycle=cycle, kind=SessionKind.FORMAL, path__startswith=scope)
                .values_list("pk", "path", "school_id", "county_id", "respondent", "grade", "instruments"))
    takers = TestTaker.objects.filter(cycle=cycle, path__startswith=scope)
    counts: dict[tuple[Any, ...], int] = defaultdict(int)
    for school_id, county_id, kind, grade, n in (takers.exclude(kind=Respondent.TEACHER)
                                                 .values_list("school_id", "county_id", "kind", "grade")
                                                 .annotate(n=Count("id"))):
        counts[(school_id, county_id, kind, grade)] += n
    teacher_counts: dict[tuple[int | None, int | None, str], int] = defaultdict(int)
    for school_id, grade, roles in takers.filter(kind=Respondent.TEACHER).values_list("school_id", "grade", "roles"):
        for code in matching_instruments(cycle, list(roles or [])):
            teacher_counts[(school_id, grade, code)] += 1
    expected: dict[tuple[str, int | None, str], int] = defaultdict(int)
    for _pk, path, school_id, county_id, respondent, grade, codes in sessions.iterator():
        for code in codes or []:
            if respondent == Respondent.TEACHER:
                n = teacher_counts.get((school_id, grade, code), 0)
            elif respondent == Respondent.COUNTY_MANAGER:
                n = counts.get((None, county_id, respondent, None), 0)
            elif respondent == Respondent.PRINCIPAL:
                n = counts.get((school_id, county_id, respondent, None), 0)
            else:
                n = counts.get((school_id, county_id, respondent, grade), 0)
            expected[(path, school_id, code)] += n
    submitted: dict[tuple[str, int | None, str], int] = defaultdict(int)
    for path, school_id, code, n in (Attempt.objects.filter(session__cycle=cycle, session__kind=SessionKind.FORMAL,
                                                            session__path__startswith=scope,
                                                            status=AttemptStatus.SUBMITTED)
                                     .values_list("session__path", "session__school_id", "instrument__code")
                                     .annotate(n=Count("test_taker", distinct=True))):
        submitted[(path, school_id, code)] += n
    used = {k[2] for k in expected} | {k[2] for k in submitted}
    columns = [(i.code, i.name) for i in cycle.config.instruments if i.code in used]
    # Rows one level down: each (path, school) key falls in one group, found once (no scan per group).
    groups: list[tuple[str, str, bool, Any]] = []  # (name, code, drill, group key)
    if region is not None and region.level == RegionLevel.COUNTY:
        ids = {k[1] for k in expected if k[1]} | {k[1] for k in submitted if k[1]}
        for school in School.objects.filter(pk__in=ids).order_by("code"):
            groups.append((school.name, school.code, False, school.pk))
        groups.append((_("县级（县级教育管理人员）"), "", False, None))

        def group_of(path: str, school_id: int | None) -> Any:
            return school_id
    else:
        children = (Region.objects.filter(parent=region) if region is not None else
                    Region.objects.filter(level=RegionLevel.PROVINCE))
        for c in children.order_by("code"):
            groups.append((c.name, c.code, True, c.path))
        depth = len(scope)

        def group_of(path: str, school_id: int | None) -> Any:
            return path[:path.index("/", depth) + 1] if "/" in path[depth:] else path

    sums: dict[tuple[Any, str], list[int]] = defaultdict(lambda: [0, 0])  # (group, instrument) -> [sub, exp]
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for slot, table in ((0, submitted), (1, expected)):
        for (path, school_id, code), n in table.items():
            sums[(group_of(path, school_id), code)][slot] += n
            totals[code][slot] += n
    rows = []
    for name, code, drill, key in groups:
        cells = {col: (sums[(key, col)][0], sums[(key, col)][1]) if (key, col) in sums else (0, 0)
                 for col, _n in columns}
        if any(sub or exp for sub, exp in cells.values()):
            rows.append(CompletionRow(name=name, code=code, drill=drill, cells=cells))
    total = CompletionRow(name=_("合计"), code="", drill=False,
                          cells={col: (totals[col][0], totals[col][1]) for col, _n in columns})
    severe = list(Incident.objects.filter(session__cycle=cycle, session__path__startswith=scope, grade=3)
                  .select_related("session", "session__school").order_by("-at")[:100])
    return Completion(cycle=cycle, region=region, instruments=columns, rows=rows, total=total, severe=severe)


def reset_request_list(*, actor: Any, status: str = RoleResetRequest.Status.PENDING) -> QuerySet[RoleResetRequest]:
    require_region_reader(actor=actor)
    qs = reset_requests_visible(actor=actor).select_related("test_taker", "test_taker__school", "decided_by")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-requested_at", "-id")


def teacher_roles_of_school(*, actor: Any, school_id: int) -> QuerySet[TestTaker]:
    """Teachers of a school with their picks (for the information officer's reset form)."""
    j = jurisdiction_of(actor)
    if not j.is_staff_role:
        return TestTaker.objects.none()
    from naeq.delivery.access import takers_visible

    return takers_visible(actor=actor).filter(school_id=school_id, kind=Respondent.TEACHER).order_by("code")



# ------------------------------------------------------------------------------------------------ screening reads
# Unscoped reads for the data-quality screen (naeq.quality.adapters), which runs as a national job: they stream
# value tuples, never model instances, and are not for views.


def _formal_submitted(cycle: Cycle, instrument_code: str) -> Q:
    return Q(attempt__instrument__cycle=cycle, attempt__instrument__code=instrument_code,
             attempt__status=AttemptStatus.SUBMITTED, attempt__session__kind=SessionKind.FORMAL)


def screening_item_codes(*, cycle: Cycle, instrument_code: str, items: list[str]) -> Any:
    """``(test_taker_id, attempt_id, session_id, item, code)`` of the ItemScore rows of ``items`` in submitted
    attempts of formal sessions, ordered by attempt (a values_list iterator)."""
    from naeq.delivery.models import ItemScore

    return (ItemScore.objects.filter(_formal_submitted(cycle, instrument_code), item__in=items)
            .order_by("attempt_id").values_list("attempt__test_taker_id", "attempt_id", "attempt__session_id",
                                                "item", "code").iterator(chunk_size=20_000))


def screening_answer_times(*, cycle: Cycle, instrument_code: str) -> Any:
    """``(attempt_id, started_at, saved_at, after_close)`` of every stored Answer of submitted attempts of formal
    sessions, ordered by attempt and saved_at; ``after_close``: saved after the session closed or after the
    attempt was submitted."""
    from django.db.models import BooleanField, Case, F, Value, When

    from naeq.delivery.models import Answer

    late = Case(When(Q(saved_at__gt=F("attempt__session__closed_at")) | Q(saved_at__gt=F("attempt__submitted_at")),
                     then=Value(True)), default=Value(False), output_field=BooleanField())
    return (Answer.objects.filter(_formal_submitted(cycle, instrument_code)).annotate(late=late)
            .order_by("attempt_id", "saved_at", "id")
            .values_list("attempt_id", "attempt__started_at", "saved_at", "late").iterator(chunk_size=20_000))


def screening_answers_after_close(*, cycle: Cycle, instrument_code: str) -> dict[int, int]:
    """Per test taker: the number of stored answers (submitted attempts, formal sessions) saved after the
    session's close or the attempt's submission — written or altered after the close."""
    from django.db.models import F

    from naeq.delivery.models import Answer

    rows = (Answer.objects.filter(_formal_submitted(cycle, instrument_code))
            .filter(Q(saved_at__gt=F("attempt__session__closed_at")) | Q(saved_at__gt=F("attempt__submitted_at")))
            .order_by().values("attempt__test_taker_id").annotate(n=Count("id"))
            .values_list("attempt__test_taker_id", "n"))
    return {int(t): int(n) for t, n in rows}
