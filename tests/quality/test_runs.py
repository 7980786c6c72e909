"""Screening runs on the database: recording, the job's claim and progress, the stored units, pairs, persons and
clusters of an injected source-copy cluster, bit-for-bit re-runs, failures, option validation, access and audit.

The inputs are built by hand in the engine's layout (tests/quality/conftest.py): the gather from the database is
H1a's and tested in test_adapters*.py; here ``services._gather`` returns them."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from naeq.core.errors import InvalidInput, NotFound
from naeq.core.models import AuditEvent
from naeq.quality import services
from naeq.quality.models import ScreenedCluster, ScreenedPair, ScreenedPerson, ScreenedUnit, ScreeningRun
from naeq.scaling.models import RunStatus
from tests.quality.conftest import RUNS_ITEMS, RUNS_PER_SCHOOL, RunsWorld


def _start(rw: RunsWorld, capture: Any, **options: Any) -> ScreeningRun:
    with capture(execute=True):
        run = services.screening_start(actor=rw.analyst, cycle=rw.cycle, instrument_code="runstest", seed=3,
                                       options=options)
    run.refresh_from_db()
    return run


def _actions(run: ScreeningRun) -> list[tuple[str, int | None]]:
    return list(AuditEvent.objects.filter(object_type="quality.ScreeningRun", object_id=str(run.pk))
                .order_by("id").values_list("action", "actor_id"))


def test_a_run_flags_the_copied_school_and_stores_its_evidence(runs_gather: RunsWorld,
                                                                django_capture_on_commit_callbacks: Any) -> None:
    rw = runs_gather
    run = _start(rw, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.DONE, run.error
    assert run.progress == 1.0 and run.stage == "done" and run.job_id and run.finished_at is not None
    assert len(run.inputs_hash) == 64 and run.code_version.endswith("naeq.engines.forensics")
    assert run.options == services.DEFAULTS and run.seed == 3 and run.created_by == rw.analyst
    assert run.warnings == ["（测试）一条读取警告"]
    assert {"gather", "hash", "option_model", "pairs", "indicators", "store"} <= set(run.timings)
    n = 8 * RUNS_PER_SCHOOL
    s = run.summary
    assert s["n_persons"] == n and s["n_items"] == RUNS_ITEMS and s["n_schools"] == 8 and s["n_counties"] == 4
    assert s["items"] == [f"R{k:02d}" for k in range(1, RUNS_ITEMS + 1)]
    assert s["keys"] == ["ABCD"[k % 4] for k in range(1, RUNS_ITEMS + 1)]
    assert s["inputs"]["room"] is True and s["inputs"]["timings"] is False and s["inputs"]["calibration_run"] is None
    assert s["sources"] == {"online": n, "paper": 0}
    assert s["n_pairs"] == 8 * RUNS_PER_SCHOOL * (RUNS_PER_SCHOOL - 1) // 2

    # every school and county, ranked by combined p; the copied school first and flagged, with pairs as driver
    schools = list(ScreenedUnit.objects.filter(run=run, level="school").order_by("rank"))
    counties = list(ScreenedUnit.objects.filter(run=run, level="county").order_by("rank"))
    assert len(schools) == 8 and len(counties) == 4
    assert [u.rank for u in schools] == list(range(1, 9))
    assert [u.combined_p for u in schools] == sorted(u.combined_p for u in schools)
    top = schools[0]
    assert top.school_id == rw.school.pk and top.flag and top.n_persons == RUNS_PER_SCHOOL
    assert top.county_id == rw.school.county_id and top.path == rw.school.path
    assert "pairs_omega" in top.drivers and top.drivers[0] in ("pairs_omega", "pairs_excess")
    ind = top.indicators["pairs_omega"]
    assert set(ind) == {"stat", "expected", "p", "q", "n"} and ind["p"] < 1e-6 and ind["q"] <= 0.05
    # drivers: q at or below the FDR, most significant first
    ps = [top.indicators[d]["p"] for d in top.drivers]
    assert ps == sorted(ps) and all(top.indicators[d]["q"] <= 0.05 for d in top.drivers)
    assert not any(u.flag for u in schools[1:])
    assert counties[0].county_id == rw.school.county_id and counties[0].flag and counties[0].school_id is None
    assert s["schools_flagged"] == 1 and s["flagged"]["school"] == 1 and s["counties_flagged"] >= 1

    # the pairs: the source's pairs with each copy are flagged, with both answer strings as option text
    flagged = list(ScreenedPair.objects.filter(run=run, flag=True))
    assert flagged and all(p.school_id == rw.school.pk for p in flagged)
    members = {rw.source, *rw.copiers}
    assert all({p.person_a_id, p.person_b_id} <= members for p in flagged)
    with_source = [p for p in flagged if rw.source in (p.person_a_id, p.person_b_id)]
    # at 39 common items a 70 % copy is flagged at the Bonferroni level most of the time, not always
    # (docs/forensics.md: one source @ 0.7, school detection 0.96): at least five of the eight
    assert len(with_source) >= 5
    for p in with_source:
        assert p.source_id == rw.source or p.copier_id == rw.source
        assert p.options_a == rw.labels(p.person_a_id) and p.options_b == rw.labels(p.person_b_id)
        assert len(p.options_a) == RUNS_ITEMS and p.options_a[-1] is None  # last item not administered
        assert p.common_items == RUNS_ITEMS - 1 and p.matches >= 0.7 * (RUNS_ITEMS - 1) - 1
        assert p.omega_p_bonferroni <= 0.01 and p.gbt_p is not None and p.cluster is not None
    # omitted answers are stored as "" (this seed has some among the flagged pairs' strings)
    assert any(o == "" for p in with_source for o in p.options_a + p.options_b)
    reported = ScreenedPair.objects.filter(run=run)
    assert all(p.flag or p.omega_p <= 1e-3 for p in reported)
    assert reported.count() == s["pairs_reported"]

    # the cluster: one, in the school, with the source first
    clusters = list(ScreenedCluster.objects.filter(run=run))
    assert len(clusters) == 1
    c = clusters[0]
    assert c.source_id == rw.source and c.members[0] == rw.source and c.school_id == rw.school.pk
    linked = {p.person_a_id for p in with_source} | {p.person_b_id for p in with_source}
    assert linked <= set(c.members) <= members
    assert c.size == len(c.members) and all(p.cluster == c.number for p in flagged)

    # every person, with θ, lz* and its p; the cluster members carry the cluster number
    persons = ScreenedPerson.objects.filter(run=run)
    assert persons.count() == n
    src = persons.get(test_taker_id=rw.source)
    assert src.cluster == c.number and src.school_id == rw.school.pk and np.isfinite(src.theta)
    assert src.lz_p is not None and 0 <= src.lz_p <= 1
    assert persons.filter(cluster__isnull=False).count() == c.size

    assert _actions(run) == [("quality.run_start", rw.analyst.pk), ("quality.run_done", rw.analyst.pk)]


def test_a_job_delivered_twice_runs_once(runs_gather: RunsWorld, django_capture_on_commit_callbacks: Any) -> None:
    run = _start(runs_gather, django_capture_on_commit_callbacks)
    counts = (ScreenedUnit.objects.filter(run=run).count(), ScreenedPair.objects.filter(run=run).count(),
              ScreenedPerson.objects.filter(run=run).count())
    before = ScreeningRun.objects.get(pk=run.pk)
    assert services.screening_execute(run_id=run.pk) == RunStatus.DONE
    after = ScreeningRun.objects.get(pk=run.pk)
    assert (after.finished_at, after.summary, after.timings) == (before.finished_at, before.summary, before.timings)
    assert counts == (ScreenedUnit.objects.filter(run=run).count(), ScreenedPair.objects.filter(run=run).count(),
                      ScreenedPerson.objects.filter(run=run).count())
    assert [a for a, _u in _actions(run)] == ["quality.run_start", "quality.run_done"]
    assert services.screening_execute(run_id=10**9) == ""  # an unknown run: nothing to do


def test_rerun_stores_identical_numbers_and_hash(runs_gather: RunsWorld,
                                                 django_capture_on_commit_callbacks: Any) -> None:
    rw = runs_gather
    first = _start(rw, django_capture_on_commit_callbacks, fdr="0.1", pair_report_p=0.01)
    with django_capture_on_commit_callbacks(execute=True):
        second = services.screening_rerun(actor=rw.analyst, run_id=first.pk)
    second.refresh_from_db()
    assert second.pk != first.pk and second.status == RunStatus.DONE
    assert second.inputs_hash == first.inputs_hash and second.options == first.options == {
        **services.DEFAULTS, "fdr": 0.1, "pair_report_p": 0.01}
    assert second.seed == first.seed

    def units(run: ScreeningRun) -> list[tuple[Any, ...]]:
        return list(ScreenedUnit.objects.filter(run=run).order_by("level", "rank").values_list(
            "level", "county_id", "school_id", "rank", "n_persons", "indicators", "combined_p", "combined_q", "flag",
            "drivers"))

    def pairs(run: ScreeningRun) -> list[tuple[Any, ...]]:
        return list(ScreenedPair.objects.filter(run=run).order_by("person_a_id", "person_b_id").values_list(
            "person_a_id", "person_b_id", "omega", "omega_p", "omega_p_bonferroni", "gbt_p", "ii_p", "copier_id",
            "source_id", "flag", "cluster", "options_a", "options_b"))

    def persons(run: ScreeningRun) -> list[tuple[Any, ...]]:
        return list(ScreenedPerson.objects.filter(run=run).order_by("test_taker_id").values_list(
            "test_taker_id", "theta", "lz_star", "lz_p", "cluster"))

    assert units(second) == units(first)  # exact float equality, not approximate
    assert pairs(second) == pairs(first) and persons(second) == persons(first)
    strip = {"timings"}
    assert {k: v for k, v in second.summary.items() if k not in strip} == first.summary
    # a changed answer changes the hash
    rw.inputs.options[0, 0] = (rw.inputs.options[0, 0] + 1) % 4
    third = _start(rw, django_capture_on_commit_callbacks)
    assert third.inputs_hash != first.inputs_hash


def test_progress_is_stored_while_running(runs_gather: RunsWorld, django_capture_on_commit_callbacks: Any,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, float]] = []
    real = services._progress

    def spy(run_id: int, stage: str, fraction: float) -> None:
        real(run_id, stage, fraction)
        row = ScreeningRun.objects.get(pk=run_id)
        seen.append((row.stage, row.progress))

    monkeypatch.setattr(services, "_progress", spy)
    run = _start(runs_gather, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.DONE
    stages = [s for s, _p in seen]
    assert stages[0] == "hash" and "pairs" in stages and "indicators" in stages and stages[-1] == "store"
    fractions = [p for _s, p in seen]
    assert fractions == sorted(fractions) and 0 < fractions[0] < fractions[-1] < 1


def test_an_engine_failure_is_stored_and_audited(runs_gather: RunsWorld, django_capture_on_commit_callbacks: Any,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    rw = runs_gather
    county = rw.inputs.county.copy()
    county[0] = (county[0] + 1) % 4  # one person's school now lies in two counties
    bad = dataclasses.replace(rw.inputs, county=county)
    monkeypatch.setattr(services, "_gather", lambda run: bad)
    run = _start(rw, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.FAILED and run.stage == "failed" and run.finished_at is not None
    assert "数据无法甄别" in run.error and "county" in run.error
    assert run.inputs_hash == "" and not ScreenedUnit.objects.filter(run=run).exists()
    assert [a for a, _u in _actions(run)] == ["quality.run_start", "quality.run_failed"]
    # a failed run is finished: executing it again changes nothing
    assert services.screening_execute(run_id=run.pk) == RunStatus.FAILED


def test_a_gather_error_is_stored(runs_gather: RunsWorld, django_capture_on_commit_callbacks: Any,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(run: ScreeningRun) -> Any:
        raise InvalidInput("该工具在本周期还没有任何作答。", code="no_responses")

    monkeypatch.setattr(services, "_gather", refuse)
    run = _start(runs_gather, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.FAILED and run.error == "该工具在本周期还没有任何作答。"


def test_a_room_scope_without_rooms_fails_with_the_engines_reason(runs_gather: RunsWorld,
                                                                  django_capture_on_commit_callbacks: Any,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "_gather", lambda run: dataclasses.replace(runs_gather.inputs, room=None))
    run = _start(runs_gather, django_capture_on_commit_callbacks, pair_scope="room")
    assert run.status == RunStatus.FAILED and "room" in run.error


@pytest.mark.parametrize(("options", "fields"), [
    ({"alpha_pairs": 0}, {"alpha_pairs"}),
    ({"alpha_pairs": "abc", "fdr": 0.9}, {"alpha_pairs", "fdr"}),
    ({"pair_scope": "class"}, {"pair_scope"}),
    ({"exact_tests": "maybe"}, {"exact_tests"}),
    ({"pair_report_p": 1.5}, {"pair_report_p"}),
    ({"roster_days": -1}, {"roster_days"}),
    ({"roster_days": "ten"}, {"roster_days"}),
    ({"pe_tests": 5}, {"pe_tests"}),
    ({"alpha": 0.01}, {"alpha"}),
])
def test_bad_options_are_refused_precisely_and_record_nothing(runs_world: RunsWorld, options: dict[str, Any],
                                                              fields: set[str]) -> None:
    with pytest.raises(InvalidInput) as exc:
        services.screening_start(actor=runs_world.analyst, cycle=runs_world.cycle, instrument_code="runstest",
                                 options=options)
    assert exc.value.code == "bad_options"
    assert {p.field for p in exc.value.problems} == fields
    assert all(p.reason for p in exc.value.problems)
    assert not ScreeningRun.objects.exists()
    assert not AuditEvent.objects.filter(action="quality.run_start").exists()


def test_options_given_as_text_are_cleaned() -> None:
    opts = services.clean_options({"alpha_pairs": "0.001", "exact_tests": "false", "pe_tests": "height, run50",
                                   "roster_days": "7", "pair_scope": "room"})
    assert opts == {**services.DEFAULTS, "alpha_pairs": 0.001, "exact_tests": False, "pe_tests": ["height", "run50"],
                    "roster_days": 7, "pair_scope": "room"}
    assert services.clean_options({"pe_tests": ""})["pe_tests"] == []  # no PE indicators


def test_unknown_instrument_and_bad_seed_are_refused(runs_world: RunsWorld) -> None:
    with pytest.raises(InvalidInput) as exc:
        services.screening_start(actor=runs_world.analyst, cycle=runs_world.cycle, instrument_code="nosuch",
                                 seed=-1)
    assert {p.field for p in exc.value.problems} == {"instrument_code", "seed"}
    assert not ScreeningRun.objects.exists()


@pytest.mark.parametrize("persona", ["province_coordinator@A", "city_viewer@A", "county_liaison@A",
                                     "school_head@A", "rater@A"])
def test_only_national_staff_start_and_rerun(runs_gather: RunsWorld, persona: str,
                                             django_capture_on_commit_callbacks: Any) -> None:
    rw = runs_gather
    user = rw.world.users[persona]
    with pytest.raises(NotFound):
        services.screening_start(actor=user, cycle=rw.cycle, instrument_code="runstest")
    assert not ScreeningRun.objects.exists()
    run = _start(rw, django_capture_on_commit_callbacks)
    with pytest.raises(NotFound):
        services.screening_rerun(actor=user, run_id=run.pk)
    assert ScreeningRun.objects.count() == 1


def test_the_national_admin_may_screen(runs_gather: RunsWorld, django_capture_on_commit_callbacks: Any) -> None:
    admin = runs_gather.world.users["national_admin@A"]
    with django_capture_on_commit_callbacks(execute=True):
        run = services.screening_start(actor=admin, cycle=runs_gather.cycle, instrument_code="runstest")
    run.refresh_from_db()
    assert run.status == RunStatus.DONE and run.created_by == admin


def test_answers_changed_after_the_close_reach_the_engine(runs_gather: RunsWorld,
                                                          django_capture_on_commit_callbacks: Any,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """``ScreenInputs.changed`` is passed to the engine: ten of one school's persons with altered answers make
    ``changed_after_close`` a driver of that school (a systematic alteration, far above the engine's floor)."""
    rw = runs_gather
    other = rw.world.schools["B1b-2"]
    rows = [i for i, s in enumerate(rw.inputs.school.tolist()) if rw.inputs.school_ids[s] == other.pk][:10]
    changed = (np.array(rows, dtype=np.int64), np.full(len(rows), 6, dtype=np.int64))
    monkeypatch.setattr(services, "_gather", lambda run: dataclasses.replace(rw.inputs, changed=changed))
    run = _start(rw, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.DONE and run.summary["inputs"]["changed"] is True
    unit = ScreenedUnit.objects.get(run=run, level="school", school=other)
    assert "changed_after_close" in unit.drivers and unit.flag
    assert "changed_after_close" in run.summary["indicators"]["school"]
    clean = ScreenedUnit.objects.get(run=run, level="school", school=rw.world.schools["B1b-1"])
    assert clean.indicators["changed_after_close"]["stat"] == 0 and "changed_after_close" not in clean.drivers
