"""Calibration runs on the database: recording, the inputs' hash, bit-for-bit re-runs, job progress, failure,
access and audit."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from naeq.core.errors import InvalidInput, NotFound
from naeq.core.models import AuditEvent
from naeq.delivery.models import ItemScore
from naeq.scaling import services
from naeq.scaling.models import CalibrationItem, CalibrationPerson, CalibrationRun, RunStatus
from tests.scaling.conftest import N_PERSONS, ScalingWorld


def _start(sw: ScalingWorld, capture: Any, **options: Any) -> CalibrationRun:
    with capture(execute=True):
        run = services.calibration_start(actor=sw.analyst, cycle=sw.cycle, instrument_code="scaltest", seed=7,
                                         options=options)
    run.refresh_from_db()
    return run


def test_a_run_is_recorded_and_its_results_stored(sw: ScalingWorld, django_capture_on_commit_callbacks: Any) -> None:
    run = _start(sw, django_capture_on_commit_callbacks, dif=["urban_rural"])
    assert run.status == RunStatus.DONE, run.error
    assert run.progress == 1.0 and run.stage == "done"
    assert len(run.inputs_hash) == 64 and run.code_version.startswith("naeq ")
    assert run.model_spec == "2pl/gpcm" and run.options["n_pv"] == 5 and run.seed == 7
    assert run.created_by == sw.analyst and run.job_id
    assert {"gather", "calibrate", "pvs", "store"} <= set(run.timings)
    items = list(CalibrationItem.objects.filter(run=run).order_by("seq"))
    assert [i.item for i in items] == [f"T{k:02d}" for k in range(1, 13)]
    assert {i.model for i in items} == {"2pl", "gpcm"}
    assert all(i.a_se is not None and i.a_se > 0 for i in items)
    assert [len(i.b) for i in items] == [1] * 10 + [2, 2]
    assert all("sx2_p" in i.fit and "urban_rural" in i.dif for i in items)
    persons = CalibrationPerson.objects.filter(run=run)
    assert persons.count() == N_PERSONS
    p = persons.order_by("id").first()
    assert p is not None and len(p.pvs) == 5 and p.booklet in (1, 2, 3) and 0 < p.eap_se < 1.5
    s = run.summary
    assert s["n_persons"] == N_PERSONS and s["n_items"] == 12 and s["converged"]
    assert sorted(b["booklet"] for b in s["booklets"]) == [1, 2, 3]
    assert set(s["information"]["booklets"]) == {"1", "2", "3"}
    # PVs conditioned on urban/rural (sex is unknown for these synthetic takers, so it is left out)
    assert any(c.startswith("urban_rural") for c in s["population"]["conditioning"])
    assert not any(c.startswith("sex") for c in s["population"]["conditioning"])
    # audited: started and finished, by the analyst
    actions = list(AuditEvent.objects.filter(object_type="scaling.CalibrationRun", object_id=str(run.pk))
                   .values_list("action", "actor_id"))
    assert actions == [("scaling.run_start", sw.analyst.pk), ("scaling.run_done", sw.analyst.pk)]


def test_known_truth_is_recovered(sw: ScalingWorld, django_capture_on_commit_callbacks: Any) -> None:
    """400 persons, 8 items each: difficulties of the 0/1 items correlate with the truth well above 0.9 (the
    SE of b is about 0.15 against a spread of 1; a run that mixed up items or booklets would fall far below)."""
    run = _start(sw, django_capture_on_commit_callbacks)
    est = [i.b[0] for i in CalibrationItem.objects.filter(run=run).order_by("seq")][:10]
    true = [b[0] for b in sw.truth["b"]][:10]
    assert np.corrcoef(est, true)[0, 1] > 0.9


def test_rerun_reproduces_bit_for_bit(sw: ScalingWorld, django_capture_on_commit_callbacks: Any) -> None:
    first = _start(sw, django_capture_on_commit_callbacks, dif=["urban_rural"])
    with django_capture_on_commit_callbacks(execute=True):
        second = services.calibration_rerun(actor=sw.analyst, run_id=first.pk)
    second.refresh_from_db()
    assert second.pk != first.pk and second.status == RunStatus.DONE
    assert second.inputs_hash == first.inputs_hash and second.seed == first.seed

    def items(run: CalibrationRun) -> list[tuple[Any, ...]]:
        return list(CalibrationItem.objects.filter(run=run).order_by("seq").values_list(
            "item", "a", "a_se", "b", "b_se", "c", "fit", "dif"))

    def persons(run: CalibrationRun) -> list[tuple[Any, ...]]:
        return list(CalibrationPerson.objects.filter(run=run).order_by("test_taker_id").values_list(
            "test_taker_id", "eap", "eap_se", "wle", "wle_se", "pvs"))

    assert items(second) == items(first)  # exact float equality, not approximate
    assert persons(second) == persons(first)
    assert second.summary["scale"] == first.summary["scale"]


def test_changed_scores_change_the_hash(sw: ScalingWorld, django_capture_on_commit_callbacks: Any) -> None:
    first = _start(sw, django_capture_on_commit_callbacks)
    score = ItemScore.objects.filter(score=0).order_by("id").first()
    assert score is not None
    ItemScore.objects.filter(pk=score.pk).update(score=1)
    second = _start(sw, django_capture_on_commit_callbacks)
    assert second.inputs_hash != first.inputs_hash


def test_progress_is_reported_while_running(sw: ScalingWorld, django_capture_on_commit_callbacks: Any,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, float]] = []
    real = services._progress

    def spy(run_id: int, stage: str, fraction: float) -> None:
        real(run_id, stage, fraction)
        seen.append((stage, CalibrationRun.objects.get(pk=run_id).progress))

    monkeypatch.setattr(services, "_progress", spy)
    run = _start(sw, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.DONE
    stages = [s for s, _p in seen]
    assert stages[:2] == ["check", "calibrate"] and "pvs" in stages and stages[-1] == "store"
    fractions = [p for _s, p in seen]
    assert fractions == sorted(fractions) and 0 < fractions[0] < fractions[-1] < 1


def test_a_job_delivered_twice_runs_once(sw: ScalingWorld, django_capture_on_commit_callbacks: Any) -> None:
    run = _start(sw, django_capture_on_commit_callbacks)
    n = CalibrationItem.objects.filter(run=run).count()
    assert services.calibration_execute(run_id=run.pk) == RunStatus.DONE
    assert CalibrationItem.objects.filter(run=run).count() == n == 12


def test_a_run_without_scores_fails_with_a_reason(sw: ScalingWorld, django_capture_on_commit_callbacks: Any) -> None:
    ItemScore.objects.all().delete()
    run = _start(sw, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.FAILED and "还没有任何得分" in run.error
    assert not CalibrationItem.objects.filter(run=run).exists()
    assert AuditEvent.objects.filter(action="scaling.run_failed", object_id=str(run.pk)).exists()


def test_an_empty_score_category_names_the_item(sw: ScalingWorld, django_capture_on_commit_callbacks: Any) -> None:
    ItemScore.objects.filter(item="T11", score=2).update(score=1)
    run = _start(sw, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.FAILED
    assert "T11" in run.error and "2" in run.error and "无人获得" in run.error


def test_bad_options_are_refused_and_nothing_recorded(sw: ScalingWorld) -> None:
    cases = [({"model": "gpcm"}, "model"), ({"n_quad": 3}, "n_quad"), ({"dif": ["height"]}, "dif"),
             ({"cuts": "500,400,600"}, "cuts"), ({"models": {"T11": "2pl"}}, "models"),
             ({"prior_b": "0"}, "prior_b"), ({"colour": "red"}, "colour")]
    for options, field in cases:
        with pytest.raises(InvalidInput) as err:
            services.calibration_start(actor=sw.analyst, cycle=sw.cycle, instrument_code="scaltest", seed=1,
                                       options=options)
        assert field in {p.field for p in err.value.problems}, (options, err.value)
    with pytest.raises(InvalidInput):
        services.calibration_start(actor=sw.analyst, cycle=sw.cycle, instrument_code="nope", seed=1)
    assert not CalibrationRun.objects.exists()


@pytest.mark.parametrize("persona", ["province_coordinator@A", "county_liaison@A", "school_head@A", "student@A",
                                     "rater@A", "city_viewer@A"])
def test_only_national_staff_start_and_read_runs(sw: ScalingWorld, django_capture_on_commit_callbacks: Any,
                                                 persona: str) -> None:
    run = _start(sw, django_capture_on_commit_callbacks)
    user = sw.world.users[persona]
    with pytest.raises(NotFound):
        services.calibration_start(actor=user, cycle=sw.cycle, instrument_code="scaltest", seed=1)
    with pytest.raises(NotFound) as forbidden:
        services.calibration_rerun(actor=user, run_id=run.pk)
    with pytest.raises(NotFound) as missing:
        services.calibration_rerun(actor=sw.analyst, run_id=run.pk + 1000)
    assert forbidden.value.message == missing.value.message
    assert CalibrationRun.objects.count() == 1
