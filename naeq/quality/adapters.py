"""The platform's data of one instrument in a cycle, in the screening engine's layout (:class:`ScreenInputs`).

Every source, its coding and the choices made are documented in ``docs/quality-inputs.md``. Rows are read with
``values_list`` iterators into numpy arrays; no model instance is built per response. In short:

* **options**: ItemScore codes of the instrument's keyed single-choice items (single choice, true/false, Likert
  with a key and an options list) in submitted attempts of formal sessions, then released paper responses
  (:func:`naeq.papercapture.selectors.answer_codes`) of test takers with no online attempt (online wins). Codes
  0..K−1 in the item's ``options`` order, K = omitted ("99"); out of range ("97") and unknown codes count as
  omitted. −1 = not administered.
* **persons**: test takers with at least one answered (not omitted) item, sorted by id; school, county, path.
* **room**: the online attempt's session code, ``/room`` appended when its 测试情况记录表 has exactly one room.
* **a, b, theta** from the cycle's latest finished calibration run of the instrument code.
* **school_covariates**, **participation**, **timings**, **pe**, **questionnaire**, **changed**: see the doc.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
from django.utils.translation import gettext as _
from numpy.typing import NDArray

from naeq.core.errors import InvalidInput, Problem
from naeq.cycles.models import Cycle
from naeq.delivery.models import Instrument, InstrumentKind, Item, ItemType, TestTaker
from naeq.quality.inputs import FloatArray, IntArray, ScreenInputs
from naeq.registry.models import School, urban_rural_class

CHUNK = 50_000
#: Item types whose answer is one of the item's options (the engine's option model).
CHOICE_TYPES = (ItemType.SINGLE, ItemType.TRUE_FALSE, ItemType.LIKERT)
OMITTED = "99"
OUT_OF_RANGE = "97"
#: Questionnaire item types coded as an ordinal value (the option's position) for straightlining.
QUESTIONNAIRE_TYPES = (ItemType.SINGLE, ItemType.LIKERT)


# ------------------------------------------------------------------------------------------------ helpers


def _chunks(rows: Iterable[tuple[Any, ...]], width: int) -> Iterator[list[list[Any]]]:
    """Columns of ``CHUNK`` rows at a time (lists; the caller turns them into arrays)."""
    buf: list[tuple[Any, ...]] = []
    for row in rows:
        buf.append(row)
        if len(buf) >= CHUNK:
            yield [list(col) for col in zip(*buf, strict=True)]
            buf = []
    if buf:
        yield [list(col) for col in zip(*buf, strict=True)]


def _key_value(key: Any) -> str | None:
    if isinstance(key, list):
        return str(key[0]) if len(key) == 1 else None
    if key is None or isinstance(key, dict):
        return None
    return str(key)


def instrument_of(cycle: Cycle, code: str) -> Instrument:
    inst = Instrument.objects.filter(cycle=cycle, code=code).order_by("-version").first()
    if inst is None:
        raise InvalidInput(_("本周期没有监测工具“%(code)s”。") % {"code": code}, code="unknown_instrument",
                           problems=[Problem(reason=_("本周期没有该监测工具。"), field="instrument_code", value=code)])
    return inst


def choice_items(inst: Instrument) -> tuple[list[str], list[list[str]], IntArray, int]:
    """The instrument's keyed single-choice items: codes in the instrument's order, per item its option values
    (then "" = omitted), the key's index, and the number of other items left out."""
    codes: list[str] = []
    labels: list[list[str]] = []
    keys: list[int] = []
    other = 0
    for code, type_, options, key in (Item.objects.filter(instrument=inst).order_by("seq")
                                      .values_list("code", "type", "options", "key")):
        values = [str(o.get("value")) if isinstance(o, dict) else str(o) for o in (options or [])]
        k = _key_value(key)
        if type_ not in CHOICE_TYPES or not values or k is None or k not in values or len(set(values)) < len(values):
            other += 1
            continue
        codes.append(str(code))
        labels.append([*values, ""])
        keys.append(values.index(k))
    if not codes:
        raise InvalidInput(_("监测工具“%(code)s”没有带答案的单选题，无法甄别。") % {"code": inst.code},
                           code="no_choice_items")
    return codes, labels, np.array(keys, dtype=np.int64), other


class _Coder:
    """(item code, answer code) → column and option code, with counts of out-of-range and unknown codes."""

    def __init__(self, items: list[str], labels: list[list[str]]) -> None:
        self.col = {c: j for j, c in enumerate(items)}
        self.lut: dict[tuple[str, str], int] = {}
        for c, lab in zip(items, labels, strict=True):
            k = len(lab) - 1
            for v, value in enumerate(lab[:-1]):
                self.lut[(c, value)] = v
            self.lut[(c, OMITTED)] = k
            self.lut[(c, "")] = k
            self.lut[(c, OUT_OF_RANGE)] = k
        self.omit = {c: len(lab) - 1 for c, lab in zip(items, labels, strict=True)}
        self.out_of_range = 0
        self.unknown = 0

    def code(self, items: list[str], codes: list[str]) -> tuple[IntArray, IntArray]:
        col = np.fromiter((self.col[i] for i in items), dtype=np.int64, count=len(items))
        out = np.empty(len(items), dtype=np.int64)
        for n, (i, c) in enumerate(zip(items, codes, strict=True)):
            v = self.lut.get((i, c))
            if v is None:
                self.unknown += 1
                v = self.omit[i]
            elif c == OUT_OF_RANGE:
                self.out_of_range += 1
            out[n] = v
        return col, out


def _read_codes(rows: Iterable[tuple[Any, ...]], coder: _Coder, *, taker_at: int, item_at: int, code_at: int,
                extra: tuple[int, ...] = ()) -> tuple[IntArray, IntArray, IntArray, list[IntArray]]:
    """(taker, column, option code, extra int columns) of every row."""
    takers, cols, vals = [], [], []
    extras: list[list[IntArray]] = [[] for _e in extra]
    for part in _chunks(rows, 0):
        takers.append(np.asarray(part[taker_at], dtype=np.int64))
        c, v = coder.code([str(x) for x in part[item_at]], ["" if x is None else str(x) for x in part[code_at]])
        cols.append(c)
        vals.append(v)
        for k, e in enumerate(extra):
            extras[k].append(np.asarray(part[e], dtype=np.int64))
    if not takers:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, [empty for _e in extra]
    return (np.concatenate(takers), np.concatenate(cols), np.concatenate(vals),
            [np.concatenate(e) for e in extras])


def _last_per_cell(taker: IntArray, col: IntArray, order_key: IntArray, n_items: int) -> NDArray[np.bool_]:
    """Mask of the row kept per (taker, column): the one with the largest ``order_key`` (the latest attempt)."""
    if not len(taker):
        return np.zeros(0, dtype=bool)
    cell = taker * n_items + col
    order = np.lexsort((order_key, cell))
    last = np.ones(len(order), dtype=bool)
    last[:-1] = cell[order][1:] != cell[order][:-1]
    keep = np.zeros(len(taker), dtype=bool)
    keep[order[last]] = True
    return keep


# ------------------------------------------------------------------------------------------------ gather


def gather(cycle: Cycle, instrument_code: str, *, pe_tests: list[str] | None = None,
           questionnaire_instrument: str | None = None, roster_days: int = 14) -> ScreenInputs:
    """Everything the screen reads about one instrument's responses in ``cycle`` (module docstring and
    ``docs/quality-inputs.md``). ``pe_tests``: PE tests to read (None = all, [] = none);
    ``questionnaire_instrument``: the student questionnaire's code (default: found by kind and grade);
    ``roster_days``: the window before the first test day in which roster changes count."""
    from naeq.delivery import selectors as delivery
    from naeq.papercapture import selectors as paper

    warnings: list[str] = []
    counts: dict[str, int] = {}
    inst = instrument_of(cycle, instrument_code)
    items, labels, keys, other = choice_items(inst)
    counts["items_other_types"] = other
    if other:
        warnings.append(_("%(n)d道非单选（或无答案）的题目不参与甄别。") % {"n": other})
    n_items = len(items)
    coder = _Coder(items, labels)

    # online: ItemScore codes of submitted attempts in formal sessions (the latest attempt per item wins)
    on_taker, on_col, on_val, (on_attempt, on_session) = _read_codes(
        delivery.screening_item_codes(cycle=cycle, instrument_code=instrument_code, items=items), coder,
        taker_at=0, item_at=3, code_at=4, extra=(1, 2))
    keep = _last_per_cell(on_taker, on_col, on_attempt, n_items)
    on_taker, on_col, on_val, on_attempt, on_session = (a[keep] for a in (on_taker, on_col, on_val, on_attempt,
                                                                         on_session))
    online_ids = np.unique(on_taker)

    # paper: released paper responses; a test taker with an online attempt keeps the online answers only
    pa_taker, pa_col, pa_val, _x = _read_codes(
        paper.answer_codes(cycle=cycle, instrument_code=instrument_code, items=items), coder,
        taker_at=0, item_at=1, code_at=2)
    both = np.isin(pa_taker, online_ids)
    n_both = len(np.unique(pa_taker[both]))
    if n_both:
        warnings.append(_("%(n)d名测试对象既有在线作答又有纸笔答题卡，采用在线作答。") % {"n": n_both})
    pa_taker, pa_col, pa_val = pa_taker[~both], pa_col[~both], pa_val[~both]
    counts["both_online_and_paper"] = n_both
    if coder.out_of_range:
        warnings.append(_("%(n)d个作答超出选项范围（97），按未作答处理。") % {"n": coder.out_of_range})
    if coder.unknown:
        warnings.append(_("%(n)d个作答代码不是该题的选项，按未作答处理。") % {"n": coder.unknown})
    counts["out_of_range"] = coder.out_of_range
    counts["unknown_codes"] = coder.unknown

    taker = np.concatenate([on_taker, pa_taker])
    col = np.concatenate([on_col, pa_col])
    val = np.concatenate([on_val, pa_val])
    omit = np.array([len(lab) - 1 for lab in labels], dtype=np.int64)
    answered = val != omit[col] if len(val) else np.zeros(0, dtype=bool)
    candidates = np.unique(taker)
    persons = np.unique(taker[answered])
    dropped = len(candidates) - len(persons)

    # where the persons are: school and county (test takers without a school cannot be screened)
    info = _takers(cycle, persons)
    no_school = info["school"] < 0
    if no_school.any():
        warnings.append(_("%(n)d名测试对象没有所属学校，未参与甄别。") % {"n": int(no_school.sum())})
        persons = persons[~no_school]
        info = {k: v[~no_school] for k, v in info.items()}
    counts["no_school"] = int(no_school.sum())
    if dropped:
        warnings.append(_("%(n)d名测试对象没有作答任何题目，未参与甄别。") % {"n": dropped})
    counts["dropped"] = dropped
    if len(persons) < 2:
        raise InvalidInput(_("监测工具“%(code)s”在本周期没有足够的作答数据（至少两名测试对象）。") % {
            "code": instrument_code}, code="no_responses")

    in_rows = np.isin(taker, persons)
    taker, col, val = taker[in_rows], col[in_rows], val[in_rows]
    row = np.searchsorted(persons, taker)
    x = np.full((len(persons), n_items), -1, dtype=np.int64)
    x[row, col] = val
    # items nobody was given cannot be modelled: left out
    given: NDArray[np.bool_] = np.asarray((x >= 0).any(axis=0), dtype=bool)
    given_list: list[bool] = [bool(g) for g in given.tolist()]
    if not given.all():
        gone = [items[j] for j in np.flatnonzero(~given).tolist()]
        warnings.append(_("%(n)d道题目没有任何作答，未参与甄别：%(items)s。") % {
            "n": len(gone), "items": "、".join(gone)})
        x = x[:, given]
        items = [c for c, g in zip(items, given_list, strict=True) if g]
        labels = [lab for lab, g in zip(labels, given_list, strict=True) if g]
        keys = keys[given]
    counts["items_unanswered"] = int((~given).sum())

    school_ids, school = np.unique(info["school"], return_inverse=True)
    county_ids, county = np.unique(info["county"], return_inverse=True)
    path_of = dict(zip(info["county"].tolist(), info["path"].tolist(), strict=True))
    online_rows = np.isin(persons, online_ids)
    counts.update(persons=len(persons), items=len(items), online=int(online_rows.sum()),
                  paper=int((~online_rows).sum()), schools=len(school_ids), counties=len(county_ids))

    inp = ScreenInputs(
        test_takers=persons.astype(np.int64), items=items, options=x, option_labels=labels, keys=keys,
        school=school.astype(np.int64).reshape(-1), county=county.astype(np.int64).reshape(-1),
        school_ids=school_ids.astype(np.int64), county_ids=county_ids.astype(np.int64),
        county_paths=[str(path_of[int(c)]) for c in county_ids.tolist()], warnings=warnings, counts=counts)
    inp.room = _rooms(cycle, persons, on_taker, on_session, info["school_code"])
    _calibration(cycle, instrument_code, inp)
    _covariates(cycle, instrument_code, inp)
    grades = sorted({int(g) for g in info["grade"].tolist() if g > 0})
    _participation(cycle, inp, grades, roster_days)
    if counts["online"]:
        inp.changed = _changed(cycle, instrument_code, inp)
        inp.timings = _timings(cycle, instrument_code, inp, on_taker, on_attempt)
    if pe_tests is None or len(pe_tests):
        inp.pe = _pe(cycle, inp, pe_tests)
    inp.questionnaire = _questionnaire(cycle, inst, inp, grades, questionnaire_instrument)
    return inp


# ------------------------------------------------------------------------------------------------ persons


def _takers(cycle: Cycle, persons: IntArray) -> dict[str, NDArray[Any]]:
    """Per person (aligned with ``persons``): school id (−1 none), school code, county id, county path, grade."""
    n = len(persons)
    out: dict[str, NDArray[Any]] = {"school": np.full(n, -1, dtype=np.int64), "county": np.zeros(n, dtype=np.int64),
                                    "path": np.full(n, "", dtype=object), "school_code": np.full(n, "", dtype=object),
                                    "grade": np.zeros(n, dtype=np.int64)}
    if not n:
        return out
    rows = (TestTaker.objects.filter(cycle=cycle).order_by()
            .values_list("pk", "school_id", "school__code", "county_id", "county__path", "grade")
            .iterator(chunk_size=CHUNK))
    for part in _chunks(rows, 6):
        ids = np.asarray(part[0], dtype=np.int64)
        pos = np.searchsorted(persons, ids)
        hit = (pos < n) & (persons[np.minimum(pos, n - 1)] == ids)
        p = pos[hit]
        sel = np.flatnonzero(hit)
        out["school"][p] = [-1 if part[1][k] is None else part[1][k] for k in sel.tolist()]
        out["school_code"][p] = [part[2][k] or "" for k in sel.tolist()]
        out["county"][p] = [part[3][k] for k in sel.tolist()]
        out["path"][p] = [part[4][k] for k in sel.tolist()]
        out["grade"][p] = [part[5][k] or 0 for k in sel.tolist()]
    return out


def _rooms(cycle: Cycle, persons: IntArray, on_taker: IntArray, on_session: IntArray,
           school_code: NDArray[Any]) -> NDArray[np.str_]:
    """The online attempt's session code (``code/room`` when its session record names exactly one room); paper
    answer cards carry no room: ``paper:<school code>``."""
    from naeq.custody.selectors import session_rooms
    from naeq.delivery.models import TestSession

    rooms = session_rooms(cycle=cycle)
    sessions = np.unique(on_session)
    code_of = dict(TestSession.objects.filter(pk__in=sessions.tolist()).values_list("pk", "code"))
    label = {int(s): (f"{code_of[int(s)]}/{rooms[int(s)][0]}" if len(rooms.get(int(s), [])) == 1
                      else str(code_of[int(s)])) for s in sessions.tolist()}
    out = np.array([f"paper:{c}" for c in school_code.tolist()], dtype=object)
    if len(on_taker):
        # one session per person: the one of its latest ItemScore row (rows are per attempt)
        keep = np.isin(on_taker, persons)
        t, s = on_taker[keep], on_session[keep]
        out[np.searchsorted(persons, t)] = [label[int(v)] for v in s.tolist()]
    return np.array(out.tolist(), dtype=np.str_)


# ------------------------------------------------------------------------------------------------ calibration


def _calibration(cycle: Cycle, instrument_code: str, inp: ScreenInputs) -> None:
    """a, b (2PL/Rasch key parameters) and θ (EAP) of the cycle's latest finished calibration run of the
    instrument when it covers every screened item (θ only when it covers every person)."""
    from naeq.scaling.models import CalibrationItem, CalibrationRun, RunStatus

    run = (CalibrationRun.objects.filter(cycle=cycle, instrument_code=instrument_code, status=RunStatus.DONE)
           .order_by("-finished_at", "-pk").first())
    if run is None:
        inp.counts["calibration_run"] = 0
        return
    params = {str(i): (m, a, b) for i, m, a, b in CalibrationItem.objects.filter(run=run)
              .values_list("item", "model", "a", "b")}
    missing = [c for c in inp.items if c not in params or params[c][0] not in ("2pl", "rasch") or not params[c][2]]
    if missing:
        inp.warnings.append(_("校准记录#%(run)d未包含%(n)d道甄别题目的2PL/Rasch参数，题目参数由甄别程序自行估计。") % {
            "run": run.pk, "n": len(missing)})
        inp.counts["calibration_run"] = 0
        return
    inp.a = np.array([float(params[c][1]) for c in inp.items], dtype=np.float64)
    inp.b = np.array([float(params[c][2][0]) for c in inp.items], dtype=np.float64)
    inp.calibration_run = run.pk
    inp.counts["calibration_run"] = run.pk
    eap = _eap_all(run.pk)
    theta = np.array([eap.get(int(t), math.nan) for t in inp.test_takers.tolist()], dtype=np.float64)
    if np.isfinite(theta).all():
        inp.theta = theta
    else:
        inp.warnings.append(_("%(n)d名测试对象没有校准记录#%(run)d的能力估计，能力值由甄别程序自行估计。") % {
            "n": int((~np.isfinite(theta)).sum()), "run": run.pk})


def _eap_all(run_id: int) -> dict[int, float]:
    from naeq.scaling.models import CalibrationPerson

    return {int(t): float(e) for t, e in CalibrationPerson.objects.filter(run_id=run_id).order_by()
            .values_list("test_taker_id", "eap").iterator(chunk_size=CHUNK)}


# ------------------------------------------------------------------------------------------------ schools


def _fill(values: FloatArray) -> FloatArray:
    ok = np.isfinite(values)
    return np.where(ok, values, float(values[ok].mean()) if ok.any() else 0.0)


def _covariates(cycle: Cycle, instrument_code: str, inp: ScreenInputs) -> None:
    """urban (registry urban/rural code 11x → 1, else 0) and the previous cycle's school mean EAP; columns that
    do not vary across the screened schools are left out. No SES index is stored on the platform (see docs)."""
    cols: list[FloatArray] = []
    names: list[str] = []
    ur = dict(School.objects.filter(pk__in=inp.school_ids.tolist()).values_list("pk", "urban_rural"))
    urban = np.array([1.0 if urban_rural_class(ur.get(int(s)) or "") == "urban" else 0.0
                      for s in inp.school_ids.tolist()], dtype=np.float64)
    cols.append(urban)
    names.append("urban")
    prev = _previous_means(cycle, instrument_code, inp)
    if prev is not None:
        cols.append(prev)
        names.append("previous_mean")
    keep = [k for k, c in enumerate(cols) if len(c) and float(np.ptp(c)) > 0]
    dropped = [names[k] for k in range(len(cols)) if k not in keep]
    if dropped:
        inp.warnings.append(_("学校背景变量%(names)s在各校取值相同，未使用。") % {"names": "、".join(dropped)})
    if keep:
        inp.school_covariates = np.column_stack([cols[k] for k in keep]).astype(np.float64)
        inp.covariate_names = [names[k] for k in keep]


def _previous_means(cycle: Cycle, instrument_code: str, inp: ScreenInputs) -> FloatArray | None:
    """Per screened school: the mean EAP of its test takers in the latest earlier cycle's latest finished
    calibration run of the same instrument code (schools without one: the mean of the others); None when no
    earlier cycle has such a run or no screened school appears in it."""
    from django.db.models import Avg

    from naeq.scaling.models import CalibrationRun, RunStatus

    run = (CalibrationRun.objects.filter(cycle__year__lt=cycle.year, instrument_code=instrument_code,
                                         status=RunStatus.DONE).order_by("-cycle__year", "-finished_at", "-pk")
           .first())
    if run is None:
        return None
    means = dict(run.persons.filter(test_taker__school_id__in=inp.school_ids.tolist()).order_by()
                 .values("test_taker__school_id").annotate(m=Avg("eap")).values_list("test_taker__school_id", "m"))
    if not means:
        return None
    vals = np.array([float(means.get(int(s), math.nan)) for s in inp.school_ids.tolist()], dtype=np.float64)
    n_missing = int((~np.isfinite(vals)).sum())
    if n_missing:
        inp.warnings.append(_("%(n)d所学校没有上一周期的平均成绩，以其他学校的平均值代替。") % {"n": n_missing})
    inp.counts["previous_cycle_run"] = run.pk
    return _fill(vals)


def _participation(cycle: Cycle, inp: ScreenInputs, grades: list[int], roster_days: int) -> None:
    """absent / exempt (sampled students by test status), replaced (the school replaces a drawn school) and
    roster_changed (students added or removed by roster re-uploads shortly before the first test day)."""
    from naeq.sampling.models import SchoolRole, StudentStatus
    from naeq.sampling.selectors import school_roles, student_status_counts

    ids = inp.school_ids.tolist()
    status = student_status_counts(cycle=cycle, grades=grades)
    if any(s in status for s in ids):
        total = np.array([float(sum(status.get(s, {}).values())) for s in ids])
        for name, st in (("absent", StudentStatus.ABSENT), ("exempt", StudentStatus.PE_EXEMPT)):
            inp.participation[name] = (np.array([float(status.get(s, {}).get(st, 0)) for s in ids]), total.copy())
    roles = school_roles(cycle=cycle, grades=grades)
    if any(s in roles for s in ids):
        replaced = np.array([1.0 if roles.get(s, SchoolRole.SAMPLED) != SchoolRole.SAMPLED else 0.0 for s in ids])
        inp.participation["replaced"] = (replaced, np.array([1.0 if s in roles else 0.0 for s in ids]))
    roster = _roster_changes(cycle, inp, grades, roster_days)
    if roster is not None:
        inp.participation["roster_changed"] = roster


def _roster_changes(cycle: Cycle, inp: ScreenInputs, grades: list[int],
                    days: int) -> tuple[FloatArray, FloatArray] | None:
    """Per school: students added or removed by student-roster re-uploads in the ``days`` days before the
    cycle's first test day. A roster upload replaces the whole list and its audit event records the counts per
    grade before and after, so a re-upload's change is |after − before| per grade (a lower bound: swapping one
    student for another keeps the count). Total: the school's current roster of those grades. None when the
    cycle has no test day."""
    from django.db.models import Count, Min

    from naeq.core.models import AuditEvent
    from naeq.delivery.models import TestSession
    from naeq.registry.models import Student

    first = TestSession.objects.filter(cycle=cycle).aggregate(m=Min("starts_at"))["m"]
    if first is None:
        return None
    since = first - dt.timedelta(days=days)
    code_of = dict(School.objects.filter(pk__in=inp.school_ids.tolist()).values_list("code", "pk"))
    changed: dict[int, float] = {}
    for oid, before, after in (AuditEvent.objects.filter(action="registry.roster.students.import",
                                                         object_type="school", object_id__in=list(code_of),
                                                         at__gte=since, at__lt=first)
                               .order_by("id").values_list("object_id", "before", "after")):
        if not isinstance(before, dict) or not isinstance(after, dict) or before.get("year") != cycle.year:
            continue
        b, a = before.get("counts") or {}, after.get("counts") or {}
        if not b.get("total"):
            continue  # the first upload, not a change
        grade_keys = [str(g) for g in grades] or sorted(set(b) | set(a) - {"total"})
        n = sum(abs(int(a.get(g, 0)) - int(b.get(g, 0))) for g in grade_keys)
        changed[code_of[oid]] = changed.get(code_of[oid], 0.0) + float(n)
    size = dict(Student.objects.filter(school_id__in=inp.school_ids.tolist(), grade__in=grades or [4, 8])
                .order_by().values("school_id").annotate(n=Count("id")).values_list("school_id", "n"))
    ids = inp.school_ids.tolist()
    total = np.array([float(size.get(s, 0)) for s in ids])
    count = np.minimum(np.array([changed.get(s, 0.0) for s in ids]), total)
    inp.counts["roster_changed"] = int(count.sum())
    return count, total


# ------------------------------------------------------------------------------------------------ online extras


def _changed(cycle: Cycle, instrument_code: str, inp: ScreenInputs) -> tuple[IntArray, IntArray]:
    """Per person with any: answers saved after the session closed or after the attempt's submission. Delivery
    and paper capture record no per-answer corrections in the audit log (re-scoring recomputes codes from the
    stored answers), so stored Answer rows are the whole source."""
    from naeq.delivery.selectors import screening_answers_after_close

    late = screening_answers_after_close(cycle=cycle, instrument_code=instrument_code)
    ids = np.array(sorted(late), dtype=np.int64)
    keep = np.isin(ids, inp.test_takers)
    ids = ids[keep]
    counts = np.array([late[int(t)] for t in ids.tolist()], dtype=np.int64)
    inp.counts["changed_persons"] = len(ids)
    if len(ids):
        inp.warnings.append(_("%(n)d名测试对象有考试结束后保存或修改的作答（共%(k)d条）。") % {
            "n": len(ids), "k": int(counts.sum())})
    return np.searchsorted(inp.test_takers, ids).astype(np.int64), counts


def _timings(cycle: Cycle, instrument_code: str, inp: ScreenInputs, on_taker: IntArray,
             on_attempt: IntArray) -> tuple[IntArray, FloatArray] | None:
    """One row per answered item of the person's attempt: the gap between consecutive saves (sorted), the first
    from the attempt's start. Saves after the close are left out (they are ``changed``); gaps of 0 s or less
    (answers synced together) are unmeasured and left out."""
    from naeq.delivery.selectors import screening_answer_times

    keep = np.isin(on_taker, inp.test_takers)
    attempt_taker = dict(zip(on_attempt[keep].tolist(), on_taker[keep].tolist(), strict=True))
    rows: list[IntArray] = []
    secs: list[FloatArray] = []
    prev_attempt = -1
    prev_t = 0.0
    zero = 0
    for part in _chunks(screening_answer_times(cycle=cycle, instrument_code=instrument_code), 4):
        r_out: list[int] = []
        s_out: list[float] = []
        for att, started, saved, late in zip(*part, strict=True):
            taker = attempt_taker.get(att)
            if taker is None or late:
                continue
            t = saved.timestamp()
            if att != prev_attempt:
                prev_attempt, prev_t = att, started.timestamp()
            gap = t - prev_t
            prev_t = t
            if gap <= 0:
                zero += 1
                continue
            r_out.append(taker)
            s_out.append(gap)
        if r_out:
            rows.append(np.searchsorted(inp.test_takers, np.asarray(r_out, dtype=np.int64)))
            secs.append(np.asarray(s_out, dtype=np.float64))
    inp.counts["timing_zero_gaps"] = zero
    if not rows:
        return None
    return np.concatenate(rows).astype(np.int64), np.concatenate(secs)


# ------------------------------------------------------------------------------------------------ PE, questionnaire


def _pe(cycle: Cycle, inp: ScreenInputs, tests: list[str] | None) -> tuple[IntArray, NDArray[np.str_], FloatArray,
                                                                           IntArray] | None:
    """PE values of the persons (a PE record belongs to the sampled student's one test taker), one row per entered
    value: (row, PE item code, value, the item's decimals). PE records of test takers who are not screened rows of
    this instrument are ignored (counted)."""
    from naeq.pe import selectors as pe_sel

    rows, test, value, dec = [], [], [], []
    ignored = 0
    for taker, item, v, d in pe_sel.screening_values(cycle=cycle, tests=tests):
        rows.append(taker)
        test.append(item)
        value.append(v)
        dec.append(d)
    t = np.asarray(rows, dtype=np.int64)
    keep = np.isin(t, inp.test_takers)
    ignored = int((~keep).sum())
    inp.counts["pe_values"] = int(keep.sum())
    inp.counts["pe_ignored"] = ignored
    if not keep.any():
        return None
    return (np.searchsorted(inp.test_takers, t[keep]).astype(np.int64), np.array(test, dtype=np.str_)[keep],
            np.asarray(value, dtype=np.float64)[keep], np.asarray(dec, dtype=np.int64)[keep])


def _questionnaire(cycle: Cycle, inst: Instrument, inp: ScreenInputs, grades: list[int],
                   code: str | None) -> tuple[IntArray, NDArray[np.str_], IntArray] | None:
    """The persons' answers to the student questionnaire's single-choice / Likert items: (row, block, the
    option's position). The questionnaire is ``code`` or the cycle's student questionnaire given in the same
    formal sessions as the instrument; omitted and out-of-range answers are left out."""
    from naeq.delivery.models import Respondent, SessionKind, TestSession

    if code is None:
        sessions = TestSession.objects.filter(cycle=cycle, kind=SessionKind.FORMAL, respondent=Respondent.STUDENT,
                                              grade__in=grades).values_list("instruments", flat=True)
        together: set[str] = set()
        for codes in sessions.iterator(chunk_size=CHUNK):
            if inst.code in (codes or []):
                together |= set(codes or [])
        q = (Instrument.objects.filter(cycle=cycle, kind=InstrumentKind.QUESTIONNAIRE, code__in=together)
             .order_by("code", "-version").first())
        if q is None:
            return None
        code = q.code
    else:
        q = Instrument.objects.filter(cycle=cycle, code=code).order_by("-version").first()
        if q is None:
            raise InvalidInput(_("本周期没有问卷“%(code)s”。") % {"code": code}, code="unknown_questionnaire")
    from naeq.delivery import selectors as delivery

    specs = list(Item.objects.filter(instrument=q, type__in=QUESTIONNAIRE_TYPES).order_by("seq")
                 .values_list("code", "block", "options"))
    value_of = {(str(c), str(o.get("value") if isinstance(o, dict) else o)): k
                for c, _b, opts in specs for k, o in enumerate(opts or [])}
    block_of = {str(c): str(b) for c, b, _o in specs}
    rows, blocks, values = [], [], []
    for part in _chunks(delivery.screening_item_codes(cycle=cycle, instrument_code=code, items=list(block_of)), 5):
        for taker, _a, _s, item, c in zip(*part, strict=True):
            v = value_of.get((item, c))
            if v is None:
                continue
            rows.append(taker)
            blocks.append(block_of[item])
            values.append(v)
    t = np.asarray(rows, dtype=np.int64)
    keep = np.isin(t, inp.test_takers)
    inp.counts["questionnaire_answers"] = int(keep.sum())
    if not keep.any():
        return None
    inp.counts["questionnaire_instrument"] = q.pk
    return (np.searchsorted(inp.test_takers, t[keep]).astype(np.int64), np.array(blocks, dtype=np.str_)[keep],
            np.asarray(values, dtype=np.int64)[keep])
