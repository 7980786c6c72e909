"""Demo of the screening runs: synthetic option responses worth screening, with known anomalies, and one run.

``demo_quality(cycle, seed=...)`` publishes a 40-item single-choice demo paper (``quality_demo``: the demo item
bank's maths test has only four keyed choice items, too few for answer-similarity statistics), writes ≈ 25
synthetic test takers (codes ``QD…``, no names) in one closed formal session at each sample school of the cycle
(at least 40 schools when the registry has them), simulates their options (2PL for right/wrong with
:mod:`naeq.engines.irt.simulate`, a distractor drawn from item-specific probabilities, a few omissions), and
injects known anomalies:

* in one county, three schools where a proctor gave answers to the room (one source, eight copies of 70 % of the
  items) and one school with neighbour copying (four pairs, 70 % of the items);
* in another county, item preknowledge at two schools (eight hard items leaked: 90 % answer them right);
* at a school of a third county, a few answers saved after the session closed.

Then one screening run is started as the national analyst, so the demo shows a finished run with flags, and an
investigation case is opened on its top-ranked flagged school, assigned to the province coordinator, noted and
given the school's incident reports and session records, and left *investigating* for the national account to
decide in the UI. Idempotent: an existing demo session means the responses exist; an existing run of the demo
paper means no new run; a case of that run means no new case. The truth (which county and schools were injected)
is returned, never stored: a run records only what the platform could know.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from naeq.accounts.roles import Role
from naeq.core.errors import InvalidInput
from naeq.cycles.models import Cycle
from naeq.delivery.models import (
    Answer,
    Attempt,
    AttemptStatus,
    Booklet,
    Instrument,
    InstrumentKind,
    InstrumentStatus,
    Item,
    ItemScore,
    ItemType,
    Respondent,
    SessionKind,
    SessionStatus,
    TestSession,
    TestTaker,
)
from naeq.engines.irt.simulate import simulate_items, simulate_responses
from naeq.quality.models import ScreeningRun
from naeq.registry.models import School

INSTRUMENT = "quality_demo"
TITLE = "数据质量甄别演示（模拟作答）"
N_ITEMS = 40
N_OPTIONS = 4
LETTERS = "ABCD"
PER_SCHOOL = 25
MIN_SCHOOLS = 40
TARGET_SCHOOLS = 60


# ------------------------------------------------------------------------------------------------ simulation


@dataclass
class Simulated:
    """Option codes ``x`` (N, J): 0..K−1 the option's index, K = omitted; ``key`` (J,) the key's index."""

    x: np.ndarray
    key: np.ndarray
    theta: np.ndarray
    a: np.ndarray
    b: np.ndarray


def simulate_options(n_persons: int, n_items: int, *, rng: np.random.Generator, n_options: int = N_OPTIONS,
                     omit: float = 0.03, key: np.ndarray | None = None) -> Simulated:
    """2PL right/wrong (engine simulation), the key at ``key`` (default: a random position), a wrong answer's
    option drawn from item-specific distractor probabilities (Dirichlet(2, …)), and a wrong answer omitted with
    probability ``omit``."""
    params = simulate_items("2pl", n_items, seed=rng)
    theta = rng.normal(0.0, 1.0, n_persons)
    resp = simulate_responses(params, theta, seed=rng)
    right = np.zeros((n_persons, n_items), dtype=bool)
    right[resp.person, resp.item] = resp.score > 0
    key = rng.integers(0, n_options, n_items) if key is None else np.asarray(key, dtype=np.int64)
    dist = rng.dirichlet(np.full(n_options - 1, 2.0), n_items)               # (J, K−1) over the wrong options
    pick = (rng.random((n_persons, n_items, 1)) > np.cumsum(dist, axis=1)[None, :, :-1]).sum(axis=2)
    wrong = pick + (pick >= key[None, :])                                      # skip the key's index
    x = np.where(right, key[None, :], wrong)
    x = np.where(~right & (rng.random((n_persons, n_items)) < omit), n_options, x)
    return Simulated(x=x.astype(np.int64), key=key.astype(np.int64), theta=theta, a=params.a.copy(),
                     b=params.b[:, 0].copy())


def inject_copies(x: np.ndarray, source: int, copiers: list[int], *, fraction: float,
                  rng: np.random.Generator) -> None:
    """Each copier takes the source's options on ``fraction`` of the items (drawn per copier), in place."""
    n_items = x.shape[1]
    k = round(fraction * n_items)
    for c in copiers:
        items = rng.choice(n_items, k, replace=False)
        x[c, items] = x[source, items]


def inject_preknowledge(x: np.ndarray, key: np.ndarray, rows: list[int], items: list[int], *, p: float,
                        rng: np.random.Generator) -> None:
    """The persons ``rows`` answer the leaked ``items`` right with probability ``p`` (else as drawn), in place."""
    r = np.asarray(rows)[:, None]
    j = np.asarray(items)[None, :]
    hit = rng.random((len(rows), len(items))) < p
    x[r, j] = np.where(hit, key[j], x[r, j])


# ------------------------------------------------------------------------------------------------ platform


def _instrument(cycle: Cycle, rng: np.random.Generator) -> Instrument:
    inst = Instrument.objects.filter(cycle=cycle, code=INSTRUMENT, status=InstrumentStatus.PUBLISHED).first()
    if inst is not None:
        return inst
    inst = Instrument.objects.create(cycle=cycle, code=INSTRUMENT, version=1, name="数据质量甄别演示卷",
                                     kind=InstrumentKind.TEST, time_limit_minutes=60,
                                     status=InstrumentStatus.PUBLISHED, published_at=timezone.now(),
                                     source="demo")
    keys = rng.integers(0, N_OPTIONS, N_ITEMS)
    Item.objects.bulk_create([Item(
        instrument=inst, seq=j + 1, code=f"QD{j + 1:02d}", block=f"Q{j // 10 + 1}", screen=j % 10 + 1,
        type=ItemType.SINGLE, stem=f"（演示题{j + 1}）请选出正确答案。",
        options=[{"value": LETTERS[k], "label": f"选项{LETTERS[k]}"} for k in range(N_OPTIONS)],
        key=LETTERS[int(keys[j])], max_score=1, dimension="演示") for j in range(N_ITEMS)])
    Booklet.objects.create(instrument=inst, number=1, blocks=[f"Q{k + 1}" for k in range((N_ITEMS + 9) // 10)])
    return inst


def _schools(cycle: Cycle) -> list[School]:
    """Whole counties of the cycle's sample (grade-8 schools as drawn, in county code order) until at least
    :data:`TARGET_SCHOOLS` schools — the embedded demo stays quick; topped up with other registry schools of the
    same counties, then of any county, when the sample has fewer than :data:`MIN_SCHOOLS`."""
    from naeq.sampling.models import SampledSchool, SchoolRole

    rows = list(SampledSchool.objects.filter(run__cycle=cycle, grade=8, role=SchoolRole.SAMPLED)
                .order_by("county__code", "school__code").values_list("county_id", "school_id"))
    ids: list[int] = []
    counties: list[int] = []
    for county_id, school_id in rows:
        if county_id not in counties:
            if len(ids) >= TARGET_SCHOOLS:
                break
            counties.append(county_id)
        if school_id not in ids:
            ids.append(school_id)
    schools = list(School.objects.filter(pk__in=ids).select_related("county"))
    if len(schools) < MIN_SCHOOLS:
        more = School.objects.exclude(pk__in=ids).select_related("county").order_by("county__code", "code")
        schools += list(more.filter(county_id__in=counties)[: MIN_SCHOOLS - len(schools)])
        if len(schools) < MIN_SCHOOLS:
            schools += list(more.exclude(pk__in=[s.pk for s in schools])[: MIN_SCHOOLS - len(schools)])
    return sorted(schools, key=lambda s: (s.county.code, s.code))


def _plan(schools: list[School]) -> dict[str, Any]:
    """Which county and schools get which anomaly: the two counties with most schools (≥ 4 and ≥ 2)."""
    by_county: dict[int, list[int]] = {}
    for k, s in enumerate(schools):
        by_county.setdefault(s.county_id, []).append(k)
    ranked = sorted(by_county, key=lambda c: (-len(by_county[c]), c))
    if len(ranked) < 3 or len(by_county[ranked[0]]) < 4 or len(by_county[ranked[1]]) < 2:
        raise InvalidInput(_("演示需要至少三个有学校的区县（其中一个至少四所学校）。"), code="too_few_schools")
    a, b, c = ranked[0], ranked[1], ranked[2]
    return {"copy_county": a, "proctor": by_county[a][:3], "neighbour": by_county[a][3],
            "preknowledge_county": b, "preknowledge": by_county[b][:2], "late_county": c,
            "late": by_county[c][0]}


def _truth(schools: list[School], plan: dict[str, Any]) -> dict[str, Any]:
    def code(k: int) -> str:
        return schools[k].code

    county_code = {s.county_id: s.county.code for s in schools}
    counties = {"copying": plan["copy_county"], "preknowledge": plan["preknowledge_county"],
                "late_answers": plan["late_county"]}
    return {"instrument": INSTRUMENT, "n_schools": len(schools), "counties": counties,
            "county_codes": {k: county_code[v] for k, v in counties.items()},
            "schools": {"proctor": [code(k) for k in plan["proctor"]], "neighbour": [code(plan["neighbour"])],
                        "preknowledge": [code(k) for k in plan["preknowledge"]], "late_answers": [code(plan["late"])]}}


@transaction.atomic
def demo_responses(cycle: Cycle, *, seed: int) -> dict[str, Any]:
    """Write the demo paper, sessions, test takers and their answers with the injected anomalies (once)."""
    rng = np.random.default_rng([seed, 0x0DA7A])
    inst = _instrument(cycle, rng)
    schools = _schools(cycle)
    if not schools:
        raise InvalidInput(_("演示需要学校（先载入名录）。"), code="no_schools")
    plan = _plan(schools)
    truth = _truth(schools, plan)
    if TestSession.objects.filter(cycle=cycle, title=TITLE).exists():
        truth["created"] = 0
        return truth
    items = list(Item.objects.filter(instrument=inst).order_by("seq").values_list("code", "key"))
    key = np.array([LETTERS.index(str(k)) for _c, k in items], dtype=np.int64)
    n = PER_SCHOOL * len(schools)
    sim = simulate_options(n, len(items), rng=rng, key=key)
    x = sim.x

    def rows(k: int) -> list[int]:
        return list(range(k * PER_SCHOOL, (k + 1) * PER_SCHOOL))

    for k in plan["proctor"]:
        r = rows(k)
        inject_copies(x, r[0], r[1:9], fraction=0.7, rng=rng)
    r = rows(plan["neighbour"])
    for p in range(4):
        inject_copies(x, r[2 * p], [r[2 * p + 1]], fraction=0.7, rng=rng)
    hard = [int(j) for j in np.argsort(-sim.b)[:8]]
    for k in plan["preknowledge"]:
        inject_preknowledge(x, key, rows(k)[:20], hard, p=0.9, rng=rng)
    _write(cycle, inst, schools, x, key, [c for c, _k in items], plan, rng, seed)
    truth["created"] = n
    return truth


def _write(cycle: Cycle, inst: Instrument, schools: list[School], x: np.ndarray, key: np.ndarray,
           items: list[str], plan: dict[str, Any], rng: np.random.Generator, seed: int) -> None:
    yy = cycle.year % 100
    start = timezone.now() - dt.timedelta(days=8)
    sessions = [TestSession.objects.create(
        cycle=cycle, county=s.county, school=s, path=s.path, level="middle", grade=8, respondent=Respondent.STUDENT,
        kind=SessionKind.FORMAL, title=TITLE, instruments=[INSTRUMENT], starts_at=start,
        ends_at=start + dt.timedelta(minutes=60), code=f"QD{yy:02d}{k:04d}{seed % 10000:04d}"[:12], key="DEMO00",
        status=SessionStatus.CLOSED, opened_at=start - dt.timedelta(minutes=10), actual_start=start,
        actual_end=start + dt.timedelta(minutes=60), closed_at=start + dt.timedelta(minutes=60))
        for k, s in enumerate(schools)]
    n = len(x)
    prefix = f"QD{yy:02d}"
    codes = [f"{prefix}{i:06d}" for i in range(n)]
    school_of = [schools[i // PER_SCHOOL] for i in range(n)]
    TestTaker.objects.bulk_create([TestTaker(
        cycle=cycle, kind=Respondent.STUDENT, code=codes[i], county=school_of[i].county, school=school_of[i],
        path=school_of[i].path, grade=8, booklets={INSTRUMENT: 1}) for i in range(n)])
    taker_ids = dict(TestTaker.objects.filter(cycle=cycle, code__in=codes).values_list("code", "pk"))
    # response times: ≈ 60 s per item (log-normal), answers saved in item order
    gaps = np.exp(rng.normal(np.log(60.0), 0.5, x.shape))
    saved = np.cumsum(gaps, axis=1)
    late = set(range(plan["late"] * PER_SCHOOL, plan["late"] * PER_SCHOOL + 4))
    Attempt.objects.bulk_create([Attempt(
        session=sessions[i // PER_SCHOOL], test_taker_id=taker_ids[codes[i]], instrument=inst, booklet=1,
        status=AttemptStatus.SUBMITTED, started_at=start, last_saved_at=start + dt.timedelta(seconds=float(
            saved[i, -1])), submitted_at=start + dt.timedelta(minutes=59)) for i in range(n)], batch_size=2000)
    attempt_of = dict(Attempt.objects.filter(instrument=inst).values_list("test_taker_id", "pk"))
    close = start + dt.timedelta(minutes=60)
    scores, answers = [], []
    for i in range(n):
        att = attempt_of[taker_ids[codes[i]]]
        for j, item in enumerate(items):
            k = int(x[i, j])
            omitted = k >= N_OPTIONS
            at = start + dt.timedelta(seconds=float(min(saved[i, j], 3500.0)))
            if i in late and j >= len(items) - 2:
                at = close + dt.timedelta(minutes=int(rng.integers(20, 90)))  # synced or altered after the close
            scores.append(ItemScore(attempt_id=att, item=item, code="99" if omitted else LETTERS[k],
                                    score=0.0 if omitted else float(k == key[j])))
            if not omitted:
                answers.append(Answer(attempt_id=att, item=item, value=json.dumps(LETTERS[k]), seq=1, saved_at=at))
    ItemScore.objects.bulk_create(scores, batch_size=5000)
    Answer.objects.bulk_create(answers, batch_size=5000)


#: The demo case's note (generated text, no names).
CASE_NOTE = ("已电话联系学校和县级联络员，调取该校考场的测试情况记录表和应急事件报告；"
             "待核实监考安排后，由国家监测中心作出决定。")


def _national(user_model: Any) -> Any:
    return (user_model.objects.filter(role=Role.NATIONAL_ANALYST, is_active=True).order_by("pk").first()
            or user_model.objects.filter(role=Role.NATIONAL_ADMIN, is_active=True).order_by("pk").first())


def _coordinator(case: Any, username: str | None) -> Any:
    """The demo province coordinator (``username``) when they may investigate the case, else the first active
    province coordinator of the case's province; None when there is none."""
    from naeq.quality import access

    user_model = get_user_model()
    named = user_model.objects.filter(username=username, is_active=True).first() if username else None
    if named is not None and access.may_be_investigator(user=named, case=case):
        return named
    for user in user_model.objects.filter(role=Role.PROVINCE_COORDINATOR, is_active=True).order_by("pk"):
        if access.may_be_investigator(user=user, case=case):
            return user
    return None


def _file_records(cycle: Cycle, school_id: int) -> int:
    """The 测试情况记录表 of the school's demo sessions as the school filed them (one room, the session's times,
    everyone present, no deviation reported — a proctor who gave answers does not write it down), where none is
    filed yet; written as the system, audited like the custody demo's. Returns how many were filed."""
    from naeq.core.audit import audit_record
    from naeq.custody.models import SessionRecord
    from naeq.custody.services import record_state

    n = 0
    for session in TestSession.objects.filter(cycle=cycle, school_id=school_id, title=TITLE).order_by("pk"):
        if SessionRecord.objects.filter(session=session).exists():
            continue
        start = session.actual_start or session.starts_at
        end = session.actual_end or session.ends_at or start + dt.timedelta(minutes=60)
        takers = Attempt.objects.filter(session=session).count()
        r = SessionRecord.objects.create(session=session, path=session.path, room="第1测试室", actual_start=start,
                                         actual_end=end, expected=takers, present=takers, recorded_by=None)
        audit_record(actor=None, action="custody.record_save", object_type="custody.SessionRecord", object_id=r.pk,
                     after={**record_state(r), "reason": "demo"})
        n += 1
    return n


def demo_case(run: ScreeningRun, *, coordinator: str | None = None) -> dict[str, Any]:
    """An investigation case on the run's top-ranked flagged school (once per run): opened with its snapshot by the
    national analyst, assigned to the province coordinator, who starts it, adds a note and collects the school's
    incident reports and session records (the school's demo sessions get their session record first,
    :func:`_file_records`). Left *investigating*, for the demo's national account to decide on the
    case page. Returns ``{"case", "number", "state", "created", "investigator", "evidence"}``; ``case`` None (with
    ``"reason"``) when the run is not done or flagged no school."""
    from naeq.quality import cases
    from naeq.quality.models import Case, ScreenedUnit, UnitLevel

    existing = Case.objects.filter(run=run).order_by("pk").first()
    if existing is not None:
        return {"case": existing.pk, "number": existing.number, "state": existing.state, "created": False,
                "investigator": getattr(existing.investigator, "username", ""),
                "evidence": existing.evidence.count()}
    if run.status != "done":
        return {"case": None, "created": False, "reason": f"screening run #{run.pk} is {run.status}"}
    unit = (ScreenedUnit.objects.filter(run=run, level=UnitLevel.SCHOOL, flag=True).order_by("rank", "pk")
            .first())
    if unit is None:
        return {"case": None, "created": False, "reason": f"screening run #{run.pk} flagged no school"}
    actor = _national(get_user_model())
    if actor is None:
        return {"case": None, "created": False, "reason": "no national account"}
    with transaction.atomic():
        if unit.school_id is not None:
            _file_records(run.cycle, unit.school_id)
        case = cases.case_open(actor=actor, unit_id=unit.pk)
        investigator = _coordinator(case, coordinator) or actor
        cases.case_assign(actor=actor, case_id=case.pk, investigator=investigator)
        cases.case_start(actor=investigator, case_id=case.pk)
        cases.case_note(actor=investigator, case_id=case.pk, text=CASE_NOTE)
        cases.evidence_collect(actor=investigator, case_id=case.pk)
    case.refresh_from_db()
    return {"case": case.pk, "number": case.number, "state": case.state, "created": True,
            "investigator": investigator.username, "evidence": case.evidence.count()}


def demo_quality(cycle: Cycle, *, seed: int, coordinator: str | None = None) -> dict[str, Any]:
    """Synthetic responses with injected anomalies (once), one screening run of the demo paper (once) and, once it
    is done, an investigation case on its top-ranked flagged school (:func:`demo_case`, once; ``coordinator`` the
    username of the demo province coordinator). Returns the truth, the run and the case."""
    from naeq.quality.services import screening_start

    truth = demo_responses(cycle, seed=seed)
    existing = ScreeningRun.objects.filter(cycle=cycle, instrument_code=INSTRUMENT).order_by("-pk").first()
    if existing is not None:
        return {"run": existing.pk, "created": False, "status": existing.status, "truth": truth,
                "case": demo_case(existing, coordinator=coordinator)}
    actor = _national(get_user_model())
    if actor is None:
        raise InvalidInput(_("演示需要一个国家监测中心账户。"), code="no_national_account")
    with transaction.atomic():
        run = screening_start(actor=actor, cycle=cycle, instrument_code=INSTRUMENT, seed=seed)
    run.refresh_from_db()
    return {"run": run.pk, "created": True, "status": run.status, "truth": truth,
            "case": demo_case(run, coordinator=coordinator)}
