"""Demo of the calibration runs: synthetic scored responses with known truth for the demo test, and one run.

When the cycle's sample has test takers (``naeq demo`` draws the whole sample first), the responses are those of
the present sampled students (:func:`demo_sample_responses`), so that the run's persons carry weights and the
estimation runs can use it; otherwise (tests, a bare cycle) synthetic takers as below.

``demo_scaling(cycle, seed=...)`` draws item parameters and abilities with the engine's simulation helpers
(:mod:`naeq.engines.irt.simulate`: 2PL for 0/1 items, GPCM for items worth more), spreads ``n_persons``
synthetic test takers (codes ``SCD…``, no names) over formal demo sessions at up to ten schools, assigns the
instrument's booklets at random, writes submitted attempts with their item scores, and starts one calibration run.
Idempotent: an existing demo session means the responses exist, and an existing finished run of the instrument
means nothing more is done. The known truth (item parameters, the abilities' mean and SD) is returned, not stored:
a run records only what the platform could know.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from naeq.accounts.roles import Role
from naeq.core.errors import InvalidInput
from naeq.cycles.models import Cycle
from naeq.delivery.models import (
    Attempt,
    AttemptStatus,
    Booklet,
    Item,
    ItemScore,
    Respondent,
    SessionKind,
    SessionStatus,
    TestSession,
    TestTaker,
)
from naeq.engines.irt.simulate import simulate_items, simulate_responses
from naeq.registry.models import School
from naeq.scaling import adapters
from naeq.scaling.models import CalibrationRun, RunStatus

TITLE = "量尺校准演示（模拟作答）"


def _design(inst: Any, items: list[str]) -> tuple[list[int], np.ndarray]:
    """Booklet numbers and the (B, J) design of the instrument's booklets over ``items``."""
    blocks = dict(Item.objects.filter(instrument=inst, code__in=items).values_list("code", "block"))
    booklets = list(Booklet.objects.filter(instrument=inst).order_by("number").values_list("number", "blocks"))
    if not booklets:
        return [1], np.ones((1, len(items)), dtype=bool)
    design = np.array([[blocks.get(i) in set(b) for i in items] for _n, b in booklets], dtype=bool)
    return [n for n, _b in booklets], design


@transaction.atomic
def demo_responses(cycle: Cycle, *, seed: int, instrument_code: str = "math", n_persons: int = 600) -> dict[str, Any]:
    """Write the synthetic scored responses (once); returns the known truth (items, parameters, abilities)."""
    inst = adapters.instrument_of(cycle, instrument_code)
    table = adapters.item_table_for(inst, default_model="2pl", poly_model="gpcm")
    items = table.items.tolist()
    models = ["2pl" if k == 1 else "gpcm" for k in table.max_score.tolist()]
    rng = np.random.default_rng([seed, 0x5CA1])
    params = simulate_items(models, seed=rng, n_categories=(table.max_score + 1).tolist())
    params = type(params)(items=tuple(items), model=params.model, a=params.a, b=params.b, c=params.c,
                          n_categories=params.n_categories)
    theta = rng.normal(0.0, 1.0, n_persons)
    numbers, design = _design(inst, items)
    booklet_idx = rng.integers(0, len(numbers), n_persons)
    truth = {"items": items, "a": params.a.tolist(), "b": params.b.tolist(), "theta_mean": float(theta.mean()),
             "theta_sd": float(theta.std())}
    prefix = f"SCD{cycle.year % 100:02d}"
    if TestSession.objects.filter(cycle=cycle, title=TITLE).exists():
        truth["created"] = 0
        return truth
    responses = simulate_responses(params, theta, seed=rng, design=design, booklet=booklet_idx)
    schools = list(School.objects.order_by("code")[:10])
    if not schools:
        raise InvalidInput("演示需要学校（先载入名录）。", code="no_schools")
    start = timezone.now() - dt.timedelta(days=1)
    sessions = []
    for k, school in enumerate(schools):
        sessions.append(TestSession.objects.create(
            cycle=cycle, county=school.county, school=school, path=school.path, level="middle", grade=8,
            respondent=Respondent.STUDENT, kind=SessionKind.FORMAL, title=TITLE, instruments=[instrument_code],
            starts_at=start, ends_at=start + dt.timedelta(minutes=80), code=f"SC{cycle.year % 100:02d}{k:02d}"
            f"{seed % 10000:04d}"[:12], key="DEMO00", status=SessionStatus.CLOSED, opened_at=start, closed_at=start))
    takers = TestTaker.objects.bulk_create([TestTaker(
        cycle=cycle, kind=Respondent.STUDENT, code=f"{prefix}{i:06d}", county=schools[i % len(schools)].county,
        school=schools[i % len(schools)], path=schools[i % len(schools)].path, grade=8,
        booklets={instrument_code: numbers[int(booklet_idx[i])]}) for i in range(n_persons)])
    if takers[0].pk is None:  # backends without RETURNING ids
        by_code = dict(TestTaker.objects.filter(cycle=cycle, code__startswith=prefix).values_list("code", "pk"))
        taker_ids = [by_code[f"{prefix}{i:06d}"] for i in range(n_persons)]
    else:
        taker_ids = [t.pk for t in takers]
    attempts = Attempt.objects.bulk_create([Attempt(
        session=sessions[i % len(sessions)], test_taker_id=taker_ids[i], instrument=inst,
        booklet=numbers[int(booklet_idx[i])], status=AttemptStatus.SUBMITTED, started_at=start, submitted_at=start)
        for i in range(n_persons)])
    if attempts[0].pk is None:
        by_taker = dict(Attempt.objects.filter(instrument=inst, test_taker_id__in=taker_ids)
                        .values_list("test_taker_id", "pk"))
        attempt_ids = [by_taker[t] for t in taker_ids]
    else:
        attempt_ids = [a.pk for a in attempts]
    ItemScore.objects.bulk_create([ItemScore(attempt_id=attempt_ids[p], item=items[j], code=str(s), score=float(s))
                                   for p, j, s in zip(responses.person.tolist(), responses.item.tolist(),
                                                      responses.score.tolist(), strict=True)], batch_size=5000)
    truth["created"] = n_persons
    return truth


def _sampled_takers(cycle: Cycle, instrument_code: str) -> list[tuple[int, int, int, int, str, int]]:
    """(test taker, school, county, grade, school path, booklet) of the sampled students reported present who sit
    ``instrument_code``, ordered by test ID."""
    rows = (TestTaker.objects.filter(cycle=cycle, kind=Respondent.STUDENT, sampled_student__status="present",
                                     school__isnull=False).order_by("code")
            .values_list("pk", "school_id", "county_id", "grade", "path", "booklets"))
    return [(pk, school, county, int(grade or 8), path, int(b[instrument_code]))
            for pk, school, county, grade, path, b in rows if instrument_code in (b or {})]


@transaction.atomic
def demo_sample_responses(cycle: Cycle, *, seed: int, instrument_code: str = "math") -> dict[str, Any] | None:
    """Synthetic scored responses of every present sampled student who sits the test (once), with known truth:
    ability = county effect (SD 0.25) + school effect (SD 0.35) + student (SD 0.9), grade 8 half an SD above
    grade 4; each student answers the booklet the student draw assigned. One closed formal demo session per
    school and grade holds the attempts; the same students' student-questionnaire answers, related to the same
    abilities (:func:`naeq.delivery.demo_bank.demo_background_responses`), are written with them. ``None`` when
    the cycle has no such test takers (then :func:`demo_responses` makes synthetic ones)."""
    takers = _sampled_takers(cycle, instrument_code)
    if not takers:
        return None
    inst = adapters.instrument_of(cycle, instrument_code)
    table = adapters.item_table_for(inst, default_model="2pl", poly_model="gpcm")
    items = table.items.tolist()
    models = ["2pl" if k == 1 else "gpcm" for k in table.max_score.tolist()]
    rng = np.random.default_rng([seed, 0x5CA1, 2])
    params = simulate_items(models, seed=rng, n_categories=(table.max_score + 1).tolist())
    params = type(params)(items=tuple(items), model=params.model, a=params.a, b=params.b, c=params.c,
                          n_categories=params.n_categories)
    school = np.array([t[1] for t in takers], dtype=np.int64)
    county = np.array([t[2] for t in takers], dtype=np.int64)
    grade = np.array([t[3] for t in takers], dtype=np.int64)
    u_county, county_idx = np.unique(county, return_inverse=True)
    u_school, school_idx = np.unique(school, return_inverse=True)
    theta = (rng.normal(0.0, 0.25, len(u_county))[county_idx] + rng.normal(0.0, 0.35, len(u_school))[school_idx]
             + rng.normal(0.0, 0.9, len(takers)) + np.where(grade == 8, 0.25, -0.25))
    numbers, design = _design(inst, items)
    position = {n: k for k, n in enumerate(numbers)}
    booklet_idx = np.array([position.get(t[5], 0) for t in takers], dtype=np.int64)
    truth: dict[str, Any] = {"items": items, "a": params.a.tolist(), "b": params.b.tolist(),
                             "theta_mean": float(theta.mean()), "theta_sd": float(theta.std()),
                             "persons": len(takers), "sampled": True}
    if TestSession.objects.filter(cycle=cycle, title=TITLE).exists():
        truth["created"] = 0
        return truth
    responses = simulate_responses(params, theta, seed=rng, design=design, booklet=booklet_idx)
    start = timezone.now() - dt.timedelta(days=1)
    keys = sorted({(t[1], t[3]) for t in takers})
    paths = {(t[1], t[3]): (t[2], t[4]) for t in takers}
    sessions = {}
    for k, (school_id, g) in enumerate(keys):
        county_id, path = paths[(school_id, g)]
        sessions[(school_id, g)] = TestSession.objects.create(
            cycle=cycle, county_id=county_id, school_id=school_id, path=path, level="primary" if g == 4 else "middle",
            grade=g, respondent=Respondent.STUDENT, kind=SessionKind.FORMAL, title=TITLE,
            instruments=[instrument_code], starts_at=start, ends_at=start + dt.timedelta(minutes=80),
            code=f"SC{cycle.year % 100:02d}{k:05d}{seed % 1000:03d}"[:12], key="DEMO00", status=SessionStatus.CLOSED,
            opened_at=start, closed_at=start)
    taker_ids = [t[0] for t in takers]
    attempts = Attempt.objects.bulk_create([Attempt(
        session=sessions[(t[1], t[3])], test_taker_id=t[0], instrument=inst, booklet=numbers[int(b)],
        status=AttemptStatus.SUBMITTED, started_at=start, submitted_at=start)
        for t, b in zip(takers, booklet_idx.tolist(), strict=True)], batch_size=2000)
    if attempts[0].pk is None:
        by_taker = dict(Attempt.objects.filter(instrument=inst, test_taker_id__in=taker_ids)
                        .values_list("test_taker_id", "pk"))
        attempt_ids = [by_taker[t] for t in taker_ids]
    else:
        attempt_ids = [a.pk for a in attempts]
    ItemScore.objects.bulk_create([ItemScore(attempt_id=attempt_ids[p], item=items[j], code=str(s), score=float(s))
                                   for p, j, s in zip(responses.person.tolist(), responses.item.tolist(),
                                                      responses.score.tolist(), strict=True)], batch_size=5000)
    truth["created"] = len(takers)
    from naeq.delivery.demo_bank import demo_background_responses  # the same students' questionnaire answers

    truth["background"] = demo_background_responses(cycle, [t[:5] for t in takers], theta, seed=seed)
    return truth


def demo_scaling(cycle: Cycle, *, seed: int, instrument_code: str = "math", n_persons: int = 600) -> dict[str, Any]:
    """Synthetic responses (once) and one finished calibration run of the demo test (once): of the sampled
    students when the cycle has them (:func:`demo_sample_responses`), else of ``n_persons`` synthetic takers."""
    from naeq.scaling.services import calibration_start

    truth = (demo_sample_responses(cycle, seed=seed, instrument_code=instrument_code)
             or demo_responses(cycle, seed=seed, instrument_code=instrument_code, n_persons=n_persons))
    done = CalibrationRun.objects.filter(cycle=cycle, instrument_code=instrument_code, status=RunStatus.DONE).first()
    if done is not None:
        return {"run": done.pk, "created": False, "truth": truth}
    actor = get_user_model().objects.filter(role=Role.NATIONAL_ANALYST, is_active=True).order_by("pk").first() or \
        get_user_model().objects.filter(role=Role.NATIONAL_ADMIN, is_active=True).order_by("pk").first()
    if actor is None:
        raise InvalidInput("演示需要一个国家监测中心账户。", code="no_national_account")
    with transaction.atomic():
        run = calibration_start(actor=actor, cycle=cycle, instrument_code=instrument_code, seed=seed,
                                options={"dif": ["urban_rural"], "cuts": [420, 500, 580]})
    run.refresh_from_db()
    return {"run": run.pk, "created": True, "status": run.status, "truth": truth}
