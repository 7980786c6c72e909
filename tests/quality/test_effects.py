"""A case's effect on the estimates: county, province and national weighted mean scale scores and n from the
calibration runs, before and after the data the decision excludes, and after a re-run of calibration — checked
against a plain Python computation over the stored person rows and against hand-computed weighted means."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from naeq.quality import cases
from naeq.quality.effects import _means, case_effect
from naeq.quality.models import CaseState
from naeq.scaling import services
from naeq.scaling.models import CalibrationPerson, CalibrationRun
from tests.scaling.conftest import ScalingWorld, cycle, sw  # noqa: F401  (fixtures)


def _calibrate(sw: ScalingWorld, capture: Any) -> CalibrationRun:  # noqa: F811
    with capture(execute=True):
        run = services.calibration_start(actor=sw.analyst, cycle=sw.cycle, instrument_code="scaltest", seed=7)
    run.refresh_from_db()
    assert run.status == "done", run.error
    return run


def _reference(run: CalibrationRun, prefix: str, drop: set[int]) -> tuple[float, int]:
    a, b = run.summary["scale"]["A"], run.summary["scale"]["B"]
    vals = [a * (sum(p.pvs) / len(p.pvs) if p.pvs else p.eap) + b
            for p in CalibrationPerson.objects.filter(run=run).select_related("test_taker")
            if p.test_taker.path.startswith(prefix) and p.test_taker_id not in drop]
    return sum(vals) / len(vals), len(vals)


def test_weighted_means_by_level() -> None:
    ids = np.array([1, 2, 3, 4], dtype=np.int64)
    score = np.array([400.0, 500.0, 600.0, 700.0])
    weight = np.array([1.0, 1.0, 2.0, 4.0])
    paths = np.array(["31/3101/310101/", "31/3101/310101/", "31/3101/310102/", "44/4401/440101/"])
    case = SimpleNamespace(path="31/3101/310101/")
    got = _means(ids, score, weight, paths, case, np.array([2], dtype=np.int64))  # type: ignore[arg-type]
    assert got["county"] == {"mean": 400.0, "n": 1}
    assert got["province"] == {"mean": pytest.approx((400 + 1200) / 3), "n": 2}
    assert got["nation"] == {"mean": pytest.approx((400 + 1200 + 2800) / 7), "n": 3}
    none = _means(ids, score, weight, paths, case, np.array([1, 2], dtype=np.int64))  # type: ignore[arg-type]
    assert none["county"] == {"mean": None, "n": 0}


def test_effect_before_after_and_rerun(sw: ScalingWorld, django_capture_on_commit_callbacks: Any) -> None:  # noqa: F811
    admin = sw.world.users["national_admin@A"]
    school = sw.world.schools["A1a-1"]
    case = cases.case_open_manual(actor=admin, cycle=sw.cycle, instrument_code="scaltest", school=school,
                                  title="举报：考场纪律", reason="群众举报。")
    empty = case_effect(case, cases.case_persons(case))
    assert empty.before_run is None and empty.before is None and empty.rerun is None

    first = _calibrate(sw, django_capture_on_commit_callbacks)
    persons = cases.case_persons(case)
    assert persons
    eff = case_effect(case, persons)
    assert eff.before_run == first and eff.rerun is None and eff.excluded == len(persons)
    province = school.path.split("/")[0] + "/"
    assert eff.before is not None and eff.after is not None
    for level, prefix in (("county", school.path), ("province", province), ("nation", "")):
        mean, n = _reference(first, prefix, set())
        assert eff.before[level]["n"] == n and eff.before[level]["mean"] == pytest.approx(mean, rel=1e-12)
        mean, n = _reference(first, prefix, set(persons))
        assert eff.after[level]["n"] == n and eff.after[level]["mean"] == pytest.approx(mean, rel=1e-12)
    assert eff.after["nation"]["n"] == int(eff.before["nation"]["n"] or 0) - len(persons)

    # excluded: the re-run leaves the persons out; its numbers appear as a third column
    cases.case_decide(actor=admin, case_id=case.pk, state=CaseState.DATA_EXCLUDED, reason="经调查核实。")
    case.refresh_from_db()
    second = _calibrate(sw, django_capture_on_commit_callbacks)
    eff = case_effect(case, persons)
    assert eff.before_run == first and eff.rerun == second and eff.rerun_values is not None
    assert eff.rerun_values["nation"]["n"] == eff.after["nation"]["n"]  # type: ignore[index]
    mean, n = _reference(second, province, set())
    assert eff.rerun_values["province"] == {"mean": pytest.approx(mean, rel=1e-12), "n": n}
    rows = {r["level"]: r for r in eff.rows()}
    assert rows["county"]["rerun_n"] == rows["county"]["after_n"] == rows["county"]["before_n"] - len(persons)

    # a cleared case excludes nobody: before and after are the same
    cases.case_reopen(actor=admin, case_id=case.pk, reason="申诉。")
    cases.case_decide(actor=admin, case_id=case.pk, state=CaseState.CLEARED, reason="无异常。")
    case.refresh_from_db()
    eff = case_effect(case, persons)
    assert eff.excluded == 0 and eff.before == eff.after and eff.before_run == second
