"""The quality demo: synthetic responses of the demo paper with injected anomalies, written once; screened, the
injected county is flagged and at least 90 % of the clean counties are not.

The world: the personas' four counties plus eight counties of five schools each (48 schools; no sample drawn,
so the demo takes the registry's first 40 schools in county code order: 10 counties). The screening test gathers
the demo's rows with a small reader of the stored ItemScore codes in the engine's layout (this test's own, not
H1a's adapters, so that the demo data are checked on their own); ``test_demo_run_through_the_platform`` runs the
real gather when it exists."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from naeq.delivery import models as dm
from naeq.delivery.models import Answer, Attempt, ItemScore
from naeq.quality import demo, services
from naeq.quality.inputs import ScreenInputs
from naeq.quality.models import ScreenedUnit, ScreeningRun
from naeq.registry.models import Region, RegionLevel, School
from naeq.scaling.models import RunStatus
from tests.personas import World


@pytest.fixture
def runs_demo_world(world: World) -> Any:
    from naeq.cycles.services import load_shipped_cycles

    city = world.regions["A1"]
    for c in range(8):
        code = f"3101{c + 3:02d}"
        county = Region.objects.create(code=code, name=f"演示{c + 3}县", level=RegionLevel.COUNTY, parent=city,
                                       path=Region.path_for(code, city.path))
        for i in range(5):
            School.objects.create(code=f"1{code}{i + 1:03d}", name=f"{county.name}第{i + 1}学校", county=county,
                                  path=county.path, level="junior", urban_rural="121", g8_enrollment=60,
                                  g8_classes=2)
    return next(c for c in load_shipped_cycles() if c.is_current)


def _gather_scores(run: ScreeningRun) -> ScreenInputs:
    """The demo paper's stored ItemScore codes in the engine's layout (omitted "99" = option "")."""
    from naeq.delivery.models import Item

    items = list(Item.objects.filter(instrument__cycle=run.cycle, instrument__code=run.instrument_code)
                 .order_by("seq").values_list("code", "options", "key"))
    labels = [[o["value"] for o in opts] + [""] for _c, opts, _k in items]
    col = {c: j for j, (c, _o, _k) in enumerate(items)}
    rows = list(Attempt.objects.filter(instrument__code=run.instrument_code, session__cycle=run.cycle)
                .order_by("test_taker_id").values_list("pk", "test_taker_id", "test_taker__school_id",
                                                       "test_taker__county_id", "test_taker__county__path"))
    row_of = {a: i for i, (a, *_r) in enumerate(rows)}
    x = np.full((len(rows), len(items)), -1, dtype=np.int64)
    for att, item, code in ItemScore.objects.filter(attempt_id__in=row_of).values_list("attempt_id", "item", "code"):
        j = col[item]
        x[row_of[att], j] = len(labels[j]) - 1 if code == "99" else labels[j].index(code)
    school_ids = np.array(sorted({r[2] for r in rows}))
    county_ids = np.array(sorted({r[3] for r in rows}))
    paths = {r[3]: r[4] for r in rows}
    return ScreenInputs(
        test_takers=np.array([r[1] for r in rows]), items=[c for c, _o, _k in items], options=x,
        option_labels=labels, keys=np.array([labels[j].index(k) for j, (_c, _o, k) in enumerate(items)]),
        school=np.searchsorted(school_ids, [r[2] for r in rows]),
        county=np.searchsorted(county_ids, [r[3] for r in rows]), school_ids=school_ids, county_ids=county_ids,
        county_paths=[paths[c] for c in county_ids.tolist()])


def _check_flags(run: ScreeningRun, truth: dict[str, Any]) -> None:
    assert run.status == RunStatus.DONE, run.error
    counties = {u.county_id: u for u in ScreenedUnit.objects.filter(run=run, level="county")}
    assert len(counties) == 10  # the first 40 schools in county code order: 2 + 2 + 7 × 5 + 1
    injected = {truth["counties"]["copying"], truth["counties"]["preknowledge"]}
    assert counties[truth["counties"]["copying"]].flag
    clean = [u for cid, u in counties.items() if cid not in injected | {truth["counties"]["late_answers"]}]
    assert len(clean) == 7 and sum(u.flag for u in clean) / len(clean) <= 0.1
    flagged_schools = set(ScreenedUnit.objects.filter(run=run, level="school", flag=True)
                          .values_list("school__code", flat=True))
    assert len(flagged_schools & set(truth["schools"]["proctor"])) >= 2  # the proctors' rooms


def test_demo_writes_once_and_its_injected_county_is_flagged(runs_demo_world: Any,
                                                            django_capture_on_commit_callbacks: Any,
                                                            monkeypatch: pytest.MonkeyPatch, world: World) -> None:
    cycle = runs_demo_world
    monkeypatch.setattr(services, "_gather", _gather_scores)
    with django_capture_on_commit_callbacks(execute=True):
        out = demo.demo_quality(cycle, seed=7)
    truth = out["truth"]
    assert out["created"] and truth["created"] == 40 * demo.PER_SCHOOL and truth["n_schools"] == 40
    assert len(truth["schools"]["proctor"]) == 3 and len(truth["schools"]["preknowledge"]) == 2
    assert truth["county_codes"]["copying"] == Region.objects.get(pk=truth["counties"]["copying"]).code
    assert dm.TestTaker.objects.filter(cycle=cycle, code__startswith="QD").count() == 40 * demo.PER_SCHOOL
    sessions = dm.TestSession.objects.filter(cycle=cycle, title=demo.TITLE)
    assert sessions.count() == 40 and all(s.status == "closed" and s.closed_at for s in sessions)
    assert ItemScore.objects.count() == 40 * demo.PER_SCHOOL * demo.N_ITEMS
    # a few answers were saved after their session closed, all at the one "late" school
    late = [school for saved, closed, school in Answer.objects.values_list(
        "saved_at", "attempt__session__closed_at", "attempt__session__school__code")
        if closed is not None and saved > closed]
    assert 0 < len(late) <= 10 and set(late) == set(truth["schools"]["late_answers"])
    # no names: test IDs only
    assert not dm.TestTaker.objects.filter(code__startswith="QD", sampled_student__isnull=False).exists()

    run = ScreeningRun.objects.get(pk=out["run"])
    assert run.created_by == world.users["national_analyst@A"] and run.instrument_code == demo.INSTRUMENT
    _check_flags(run, truth)

    # idempotent: a second demo adds nothing
    counts = (dm.TestTaker.objects.count(), ItemScore.objects.count(), Answer.objects.count(),
              ScreeningRun.objects.count(), dm.TestSession.objects.count())
    with django_capture_on_commit_callbacks(execute=True):
        again = demo.demo_quality(cycle, seed=7)
    assert not again["created"] and again["run"] == run.pk and again["truth"]["created"] == 0
    assert again["truth"]["schools"] == truth["schools"]
    assert counts == (dm.TestTaker.objects.count(), ItemScore.objects.count(), Answer.objects.count(),
                      ScreeningRun.objects.count(), dm.TestSession.objects.count())


def test_simulated_options_follow_the_model() -> None:
    """The distractor draw never lands on the key, omissions are about 3 % of wrong answers, and the 2PL part gives
    a higher proportion right to higher θ (a mix-up of key and distractors would break all three)."""
    rng = np.random.default_rng(1)
    key = rng.integers(0, 4, 30)
    sim = demo.simulate_options(4000, 30, rng=rng, key=key)
    right = sim.x == key[None, :]
    wrong = ~right
    assert set(np.unique(sim.x).tolist()) <= {0, 1, 2, 3, 4}
    omitted = (sim.x == 4).sum() / wrong.sum()
    assert 0.02 < omitted < 0.04
    hi, lo = sim.theta > 1, sim.theta < -1
    assert right[hi].mean() > right[lo].mean() + 0.2
    x = sim.x.copy()
    demo.inject_copies(x, 0, [1, 2], fraction=0.7, rng=rng)
    assert ((x[1] == x[0]).sum() >= 21) and ((x[2] == x[0]).sum() >= 21)


def test_demo_run_through_the_platform(runs_demo_world: Any, django_capture_on_commit_callbacks: Any) -> None:
    """The same demo screened with the platform's own gather (naeq.quality.adapters, H1a)."""
    pytest.importorskip("naeq.quality.adapters")
    with django_capture_on_commit_callbacks(execute=True):
        out = demo.demo_quality(runs_demo_world, seed=7)
    _check_flags(ScreeningRun.objects.get(pk=out["run"]), out["truth"])
