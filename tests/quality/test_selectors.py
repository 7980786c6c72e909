"""Reads of the screening pages (naeq.quality.selectors): the pair's item-by-item classification, number display,
a unit's indicators in order with labels and meanings, a county's and a school's detail, the unit's cases, the
export rows, and access (national staff only; missing and forbidden alike)."""

from __future__ import annotations

from typing import Any

import pytest

from naeq.core.errors import NotFound
from naeq.quality import cases, meanings, selectors, services
from naeq.quality.models import ScreenedPair, ScreenedPerson, ScreenedUnit, ScreeningRun
from naeq.scaling.models import RunStatus
from tests.quality.conftest import RUNS_PER_SCHOOL, RunsWorld


@pytest.fixture
def done(runs_gather: RunsWorld, django_capture_on_commit_callbacks: Any) -> tuple[RunsWorld, ScreeningRun]:
    rw = runs_gather
    with django_capture_on_commit_callbacks(execute=True):
        run = services.screening_start(actor=rw.analyst, cycle=rw.cycle, instrument_code="runstest", seed=3)
    run.refresh_from_db()
    assert run.status == RunStatus.DONE, run.error
    return rw, run


def test_pair_cells_classify_every_position() -> None:
    cells = selectors.pair_cells(["I1", "I2", "I3", "I4", "I5", "I6"], ["A", "B", "C", "D", "A", "B"],
                                 ["A", "C", "", "A", None, "B"], ["A", "C", "", "B", "A"])
    assert [c.kind for c in cells] == ["same_right", "same_wrong", "same_omit", "differ", "na", "na"]
    assert [c.position for c in cells] == [1, 2, 3, 4, 5, 6] and cells[5].b is None  # a short string: na
    assert (cells[1].key, cells[1].a, cells[1].b) == ("B", "C", "C")


@pytest.mark.parametrize(("value", "shown"), [(None, "—"), (float("nan"), "—"), (0.0, "0"), (0.5, "0.5"),
                                              (0.04567, "0.0457"), (1.2345e-8, "1.23e-08"), (2.0, "2"),
                                              (123.456, "123"), (12345.6, "12346"), (-0.0123, "-0.0123")])
def test_fmt(value: Any, shown: str) -> None:
    assert selectors.fmt(value) == shown


def _unit(**kw: Any) -> ScreenedUnit:
    return ScreenedUnit(level="school", rank=1, n_persons=1, combined_p=0.1, combined_q=0.1, **kw)


def test_indicator_rows_put_drivers_first_then_the_engine_order() -> None:
    ind = {n: {"stat": 1.0, "expected": 0.5, "p": p, "q": p, "n": None}
           for n, p in (("near_perfect", 0.3), ("pairs_omega", 1e-9), ("absent", 0.02), ("zz_new", 0.9))}
    unit = _unit(indicators=ind, drivers=["pairs_omega", "absent"])
    rows = selectors.indicator_rows(unit, ["absent", "time_short", "near_perfect", "pairs_omega"])
    assert [r.name for r in rows] == ["pairs_omega", "absent", "near_perfect", "zz_new"]
    assert [r.driver for r in rows] == [True, True, False, False]
    assert rows[0].label == meanings.label("pairs_omega") and rows[0].meaning == meanings.meaning("pairs_omega")
    assert rows[3].label == "zz_new" and rows[3].meaning == ""   # an unknown name shows as itself
    assert rows[0].shown == {"stat": "1", "expected": "0.5", "p": "1.00e-09", "q": "1.00e-09"}
    only = selectors.indicator_rows(unit, [], drivers_only=True)
    assert [r.name for r in only] == ["pairs_omega", "absent"]


def test_the_school_detail(done: Any) -> None:
    rw, run = done
    unit = ScreenedUnit.objects.get(run=run, level="school", school=rw.school)
    d = selectors.unit_detail(actor=rw.analyst, unit_id=unit.pk)
    assert d.run == run and d.unit == unit and not d.schools
    assert {r.name for r in d.indicators} == set(unit.indicators)
    pairs = ScreenedPair.objects.filter(run=run, school=rw.school)
    assert d.n_pairs == pairs.count() and [p.pair.pk for p in d.pairs] == list(
        pairs.order_by("omega_p", "id").values_list("pk", flat=True)[:selectors.UNIT_PAIRS])
    assert [p.pair.omega_p for p in d.pairs] == sorted(p.pair.omega_p for p in d.pairs)
    assert d.clusters and all(c.cluster.school_id == rw.school.pk for c in d.clusters)
    top = d.clusters[0]
    assert top.source_code == top.cluster.source.code and top.member_codes[0] == top.source_code
    assert len(top.member_codes) == top.cluster.size
    misfits = ScreenedPerson.objects.filter(run=run, school=rw.school, lz_p__lte=selectors.MISFIT_P)
    assert d.n_misfits == misfits.count() and len(d.misfits) == min(d.n_misfits, selectors.UNIT_MISFITS)
    assert all(m.lz_p is not None and m.lz_p <= selectors.MISFIT_P for m in d.misfits)
    assert d.open_case is None and d.past_cases == []


def test_the_county_detail_and_its_cases(done: Any) -> None:
    rw, run = done
    unit = ScreenedUnit.objects.get(run=run, level="county", county=rw.school.county)
    d = selectors.unit_detail(actor=rw.analyst, unit_id=unit.pk)
    assert [r.unit.school.county_id for r in d.schools] == [rw.school.county_id] * 2   # type: ignore[union-attr]
    assert [r.unit.rank for r in d.schools] == sorted(r.unit.rank for r in d.schools)
    assert d.pairs == [] and d.misfits == []
    assert d.clusters and all(c.cluster.path == unit.path for c in d.clusters)
    admin = rw.world.users["national_admin@A"]
    case = cases.case_open(actor=admin, unit_id=unit.pk)
    assert selectors.unit_detail(actor=rw.analyst, unit_id=unit.pk).open_case == case
    cases.case_decide(actor=admin, case_id=case.pk, state="cleared", reason="（测试）核实无异常")
    d = selectors.unit_detail(actor=rw.analyst, unit_id=unit.pk)
    assert d.open_case is None and [c.pk for c in d.past_cases] == [case.pk]


def test_pair_detail_counts(done: Any) -> None:
    rw, run = done
    pair = ScreenedPair.objects.filter(run=run, flag=True).order_by("omega_p").first()
    assert pair is not None
    d = selectors.pair_detail(actor=rw.analyst, pair_id=pair.pk)
    assert len(d.cells) == len(run.summary["items"]) and d.counts["same_wrong"] == pair.identical_incorrect
    assert d.counts["same_right"] + d.counts["same_wrong"] + d.counts["same_omit"] == pair.matches
    assert d.counts["na"] == 1 and d.unit is not None and d.unit.school_id == rw.school.pk


def test_export_rows(done: Any) -> None:
    rw, run = done
    _run, head, rows = selectors.export_rows(actor=rw.analyst, run_id=run.pk, level="school")
    body = list(rows)
    names = run.summary["indicators"]["school"]
    assert len(head) == 10 + 4 * len(names) and len(body) == 8
    assert [r[0] for r in body] == list(range(1, 9)) and body[0][3] == rw.school.code
    assert body[0][5] == RUNS_PER_SCHOOL and body[0][8] == "是"
    _run, chead, crow = selectors.export_rows(actor=rw.analyst, run_id=run.pk, level="county")
    assert len(chead) == 8 + 4 * len(run.summary["indicators"]["county"]) and len(list(crow)) == 4


def test_chart_points(done: Any) -> None:
    _rw, run = done
    points, n = selectors.chart_points(run, "school")
    schools = ScreenedUnit.objects.filter(run=run, level="school").order_by("rank")
    assert n == 8 and points == [(u.combined_p, u.flag) for u in schools]


def test_access_is_national_and_missing_looks_like_forbidden(done: Any) -> None:
    rw, run = done
    unit = ScreenedUnit.objects.filter(run=run).first()
    pair = ScreenedPair.objects.filter(run=run).first()
    assert unit is not None and pair is not None
    for persona in ("province_coordinator@A", "city_viewer@A", "county_liaison@A", "school_head@A", "student@A"):
        actor = rw.world.users[persona]
        calls: list[Any] = [
            (selectors.run_list, {}), (selectors.run_statuses, {}), (selectors.instruments_for_screening, {}),
            (selectors.run_units, {"run_id": run.pk, "level": "school"}),
            (selectors.export_rows, {"run_id": run.pk, "level": "county"})]
        for fn, kw in calls:
            with pytest.raises(NotFound):
                fn(actor=actor, **kw)
        with pytest.raises(NotFound) as forbidden:
            selectors.unit_detail(actor=actor, unit_id=unit.pk)
        with pytest.raises(NotFound) as missing:
            selectors.unit_detail(actor=rw.analyst, unit_id=unit.pk + 99999)
        assert forbidden.value.message == missing.value.message
        with pytest.raises(NotFound) as forbidden:
            selectors.pair_detail(actor=actor, pair_id=pair.pk)
        with pytest.raises(NotFound) as missing:
            selectors.pair_detail(actor=rw.analyst, pair_id=pair.pk + 99999)
        assert forbidden.value.message == missing.value.message
    assert [r[2] for r in selectors.instruments_for_screening(actor=rw.analyst)] == ["runstest"]
