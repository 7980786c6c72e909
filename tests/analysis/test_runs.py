"""Estimation runs on the platform (naeq.analysis.services / adapters): the stored estimates equal the engine
called directly on the same arrays; groups, differences (county vs province and nation, province vs nation, F−M,
urban−rural, trend); suppression kept with its reason; excluded test takers dropped, flagged counted; agreement
counties (national weight 0) reported to themselves only; re-run bit-identical; failures recorded; the selectors.

World: :func:`tests.analysis.test_exports.exports_build` (8 schools in 4 counties of 2 provinces, 6 students each,
county JK2 and national Fay-like replicate matrices, county 440102 an agreement county with national weight 0).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.analysis.test_exports import YEAR_KEY, ExportWorld, exw  # noqa: F401  (fixture)

SMALL: dict[str, Any] = {"min_n": 5, "min_schools": 1, "max_cv": 0.5}


@pytest.fixture
def ew(exw: ExportWorld, django_capture_on_commit_callbacks: Any) -> ExportWorld:  # noqa: F811
    exw.cap = django_capture_on_commit_callbacks  # type: ignore[attr-defined]
    return exw


def _admin(ew: ExportWorld) -> Any:
    return ew.user("national_admin@A")


def _start(ew: ExportWorld, **kw: Any) -> Any:
    from naeq.analysis.services import estimation_start

    with ew.cap(execute=True):  # type: ignore[attr-defined]
        run = estimation_start(actor=_admin(ew), cycle=ew.cycle, instrument_code=YEAR_KEY,
                               options=kw.pop("options", SMALL), **kw)
    run.refresh_from_db()
    return run


def _get(run: Any, level: str, path: str, statistic: str, key: str = "", group_var: str = "",
         group_value: str = "") -> Any:
    from naeq.analysis.models import Estimate

    return Estimate.objects.get(run=run, level=level, path=path, statistic=statistic, key=key, group_var=group_var,
                                group_value=group_value)


def _designs(inp: Any) -> tuple[Any, Any, Any]:
    from naeq.engines import estimation as est

    s = inp.school.astype(str)
    rc, rn = inp.county_reps, inp.national_reps
    assert rc is not None and rn is not None
    dc = est.Design(inp.final_weight, rc.matrix, method="JKn", scale=rc.scale, rscales=rc.rscales, schools=s)
    dn = est.Design(inp.national_weight, rn.matrix, method="JKn", scale=rn.scale, rscales=rn.rscales, schools=s)
    factor = np.where(inp.final_weight[:, None] > 0, rc.matrix / np.where(inp.final_weight > 0, inp.final_weight,
                                                                          1.0)[:, None], 0.0)
    cond = est.Design(inp.national_weight, factor * inp.national_weight[:, None], method="JKn", scale=rc.scale,
                      rscales=rc.rscales, schools=s, token=dc.token)
    return dc, dn, cond


@pytest.mark.django_db
def test_gather_reads_every_source(ew: ExportWorld) -> None:
    from naeq.analysis import adapters
    from naeq.scaling.models import CalibrationPerson

    run = _start(ew)
    inp = adapters.gather(run)
    kept = [t for t in ew.takers if t.pk not in (ew.excluded, ew.not_calibrated)]
    assert inp.taker_ids.tolist() == [t.pk for t in kept]
    assert ew.excluded not in inp.taker_ids.tolist()
    assert inp.n_excluded == 1 and inp.n_flagged == 1
    assert any("1名" in w for w in inp.warnings)
    persons = {p.test_taker_id: p for p in CalibrationPerson.objects.filter(run=ew.run)}
    row_of = {int(s): k for k, s in enumerate(ew.sampled.tolist())}
    assert inp.county_reps is not None and inp.national_reps is not None
    for i, t in enumerate(kept):
        assert inp.pvs[i].tolist() == pytest.approx([100.0 * v + 500.0 for v in persons[t.pk].pvs])
        smp = t.sampled_student
        assert inp.final_weight[i] == smp.final_weight and inp.national_weight[i] == smp.national_weight
        assert inp.county_reps.matrix[i].tolist() == pytest.approx(ew.county_rep[row_of[smp.pk]].tolist())
        assert inp.national_reps.matrix[i].tolist() == pytest.approx(ew.national_rep[row_of[smp.pk]].tolist())
        assert inp.county[i] == t.county.path and inp.province[i] == t.county.path[:7]
        assert inp.sex[i] == smp.student.sex and inp.school[i] == t.school.code
        assert inp.urban_rural[i] == {"111": "urban", "220": "rural"}.get(t.school.urban_rural, "town")
        hw = ew.answers[t.pk].get("HW1")
        assert inp.factors["q_HW1"][i] == (hw or "")
        rd = ew.answers[t.pk].get("RD2")
        assert inp.factors["q_RD2"][i] == ("" if rd in (None, "97", "99") else rd)
    assert inp.cuts == (450.0, 520.0, 600.0) and inp.level_codes == ("I", "II", "III", "IV")
    assert inp.county_reps.scale == 1.0 and inp.national_reps.scale == 4.0
    assert inp.national_reps.rscales[-1] == pytest.approx(2 / 3)


@pytest.mark.django_db
def test_stored_estimates_equal_the_engine(ew: ExportWorld) -> None:
    from naeq.analysis import adapters
    from naeq.engines import estimation as est

    run = _start(ew)
    assert run.status == "done", run.error
    inp = adapters.gather(run)
    assert run.inputs_hash == inp.digest()
    rules = est.SuppressionRules(**SMALL)
    dc, dn, cond = _designs(inp)
    y = inp.pvs
    mc = est.mean(dc, y, by=inp.county, rules=rules)
    for k, g in enumerate(mc.group):
        row = _get(run, "county", g[0], "mean")
        assert row.value == mc.value[k] and row.se == mc.se[k] and row.n == mc.n[k]
        assert row.region.path == g[0]
    mn = est.mean(dn, y, rules=rules)
    nat = _get(run, "nation", "", "mean")
    assert nat.value == mn.value[0] and nat.se == mn.se[0]
    assert nat.n == int((inp.national_weight > 0).sum())
    mp = est.mean(dn, y, by=inp.province, rules=rules)
    pw = est.part_whole(dn, mp, mn, ["all"] * len(mp))
    for k, g in enumerate(mp.group):
        row = _get(run, "province", g[0], "difference", "vs_nation")
        assert row.value == pytest.approx(pw.value[k], abs=1e-12) and row.se == pytest.approx(pw.se[k], abs=1e-12)
        assert row.p_value == pytest.approx(pw.p[k])
        assert row.sign == (int(np.sign(pw.value[k])) if pw.p[k] < 0.05 else 0)
    cp = est.mean(cond, y, by=inp.province, rules=rules)
    for k, g in enumerate(mc.group):
        kp = cp.index(g[0][:7])
        d = est.difference(dc, mc, [k], cp, [kp])
        row = _get(run, "county", g[0], "difference", "vs_province")
        assert row.value == pytest.approx(d.value[0], abs=1e-12) and row.se == pytest.approx(d.se[0], abs=1e-12)
    lv = est.levels(dc, y, inp.cuts, by=inp.county, rules=rules, at_least=2)
    k = lv.index(mc.group[0], "level[>=III]")
    assert _get(run, "county", mc.group[0][0], "at_or_above", "III").value == lv.value[k]
    k = lv.index(mc.group[0], "level[II]")
    assert _get(run, "county", mc.group[0][0], "level_share", "II").value == lv.value[k]
    pc = est.percentile(dn, y, [0.1, 0.25, 0.5, 0.75, 0.9], rules=rules)
    assert _get(run, "nation", "", "percentile", "p75").value == pc.value[pc.index(("all",), "p75")]
    bs = est.between_school_share(dc, y, by=inp.county, rules=rules)
    assert _get(run, "county", bs.group[1][0], "between_school_share").value == bs.value[1]
    assert _get(run, "county", bs.group[1][0], "diff_rate").value == bs.value[1]
    m1 = est.mean(dn, y, rules=est.NO_SUPPRESSION)
    m2 = est.mean(dn, y * y, rules=est.NO_SUPPRESSION)
    assert _get(run, "nation", "", "sd").value == pytest.approx(float(np.sqrt(m2.theta[:, 0, 0]
                                                                           - m1.theta[:, 0, 0] ** 2).mean()))


@pytest.mark.django_db
def test_group_rows_and_within_unit_differences(ew: ExportWorld) -> None:
    from naeq.analysis import adapters
    from naeq.engines import estimation as est

    run = _start(ew)
    inp = adapters.gather(run)
    rules = est.SuppressionRules(**SMALL)
    dc, dn, _ = _designs(inp)
    g = est.mean(dc, inp.pvs, by={"unit": inp.county, "sex": inp.sex}, domain=inp.sex != "", rules=rules)
    county = str(g.group[0][0])
    f, m = g.index((county, "F")), g.index((county, "M"))
    assert _get(run, "county", county, "mean", group_var="sex", group_value="F").value == g.value[f]
    d = est.difference(dc, g, [f], g, [m])
    row = _get(run, "county", county, "difference", "F-M")
    assert row.value == pytest.approx(d.value[0], abs=1e-12) and row.se == pytest.approx(d.se[0], abs=1e-12)
    gn = est.mean(dn, inp.pvs, by={"unit": np.full(len(inp.sex), "all"), "urban_rural": inp.urban_rural},
                  domain=inp.urban_rural != "", rules=rules)
    for k, key in enumerate(gn.group):
        assert _get(run, "nation", "", "mean", group_var="urban_rural", group_value=key[1]).value == gn.value[k]
    assert _get(run, "province", "310000/", "mean", group_var="q_HW1", group_value="2").n > 0


@pytest.mark.django_db
def test_agreement_county_reports_to_itself_only(ew: ExportWorld) -> None:
    from naeq.analysis.models import Estimate

    run = _start(ew)
    own = _get(run, "county", "440000/440100/440102/", "mean")
    assert own.n > 0 and own.value is not None
    prov = _get(run, "province", "440000/", "mean")
    county_b = _get(run, "county", "440000/440100/440101/", "mean")
    assert prov.n == county_b.n  # the agreement county's students are not in the province
    assert Estimate.objects.filter(run=run, level="county", path="440000/440100/440102/", key="vs_province").exists()


@pytest.mark.django_db
def test_default_rules_suppress_small_units_but_keep_them(ew: ExportWorld) -> None:
    run = _start(ew, options={})
    row = _get(run, "county", "310000/310100/310101/", "mean")
    assert row.suppressed and "min_n" in row.suppress_reason and row.value is not None
    diff = _get(run, "county", "310000/310100/310101/", "difference", "vs_nation")
    assert diff.suppressed and diff.suppress_reason == "component_suppressed"
    assert run.summary["n_suppressed"] == run.estimates.filter(suppressed=True).count() > 0


@pytest.mark.django_db
def test_rerun_is_bit_identical_and_audited(ew: ExportWorld) -> None:
    from naeq.analysis.services import estimation_rerun
    from naeq.core.models import AuditEvent

    a = _start(ew)
    with ew.cap(execute=True):  # type: ignore[attr-defined]
        b = estimation_rerun(actor=_admin(ew), run_id=a.pk)
    b.refresh_from_db()
    assert b.status == "done" and b.inputs_hash == a.inputs_hash and b.code_version == a.code_version
    fields = ("level", "path", "group_var", "group_value", "statistic", "key", "value", "se", "p_value", "sign",
              "suppressed")
    assert list(a.estimates.values_list(*fields)) == list(b.estimates.values_list(*fields))
    actions = set(AuditEvent.objects.filter(object_id=str(b.pk), object_type="analysis.EstimationRun")
                  .values_list("action", flat=True))
    assert {"analysis.run_start", "analysis.run_done"} <= actions


@pytest.mark.django_db
def test_trend_against_previous_run(ew: ExportWorld) -> None:
    from naeq.analysis.models import Estimate, EstimationRun
    from naeq.cycles.models import Cycle

    cur = _start(ew, options={**SMALL, "link_error": 2.0})
    old_cycle = Cycle.objects.exclude(pk=ew.cycle.pk).order_by("year").first()
    assert old_cycle is not None
    old = EstimationRun.objects.create(cycle=old_cycle, instrument_code=YEAR_KEY, status="done", code_version="t",
                                       inputs_hash="b" * 64, finished_at=cur.finished_at)
    Estimate.objects.create(run=old, level="nation", path="", statistic="mean", value=480.0, se=3.0,
                            extra={"df": 40.0})
    run = _start(ew, previous_run=old.pk, options={**SMALL, "link_error": 2.0})
    nat = _get(run, "nation", "", "mean")
    row = _get(run, "nation", "", "difference", "trend")
    assert row.value == pytest.approx(nat.value - 480.0)
    assert row.se == pytest.approx(float(np.sqrt(nat.se ** 2 + 9.0 + 4.0)))
    assert not Estimate.objects.filter(run=run, level="county", key="trend").exists()


@pytest.mark.django_db
def test_failure_is_recorded(ew: ExportWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    from naeq.analysis import adapters
    from naeq.core.errors import InvalidInput

    def boom(run: Any) -> Any:
        raise InvalidInput("数据缺失", code="x")

    monkeypatch.setattr(adapters, "gather", boom)
    run = _start(ew)
    assert run.status == "failed" and "数据缺失" in run.error and not run.estimates.exists()


@pytest.mark.django_db
def test_start_refuses_bad_input_and_non_national(ew: ExportWorld) -> None:
    from naeq.analysis.models import EstimationRun
    from naeq.analysis.services import estimation_start
    from naeq.core.errors import InvalidInput, NotFound

    with pytest.raises(InvalidInput) as e:
        estimation_start(actor=_admin(ew), cycle=ew.cycle, instrument_code="nope", options={"min_n": -1, "x": 1})
    assert {p.field for p in e.value.problems} == {"min_n", "x"}
    with pytest.raises(InvalidInput):
        estimation_start(actor=_admin(ew), cycle=ew.cycle, instrument_code="nope")
    with pytest.raises(NotFound):
        estimation_start(actor=ew.user("province_coordinator@A"), cycle=ew.cycle, instrument_code=YEAR_KEY)
    assert not EstimationRun.objects.exists()


@pytest.mark.django_db
def test_selectors_and_access(ew: ExportWorld) -> None:
    from naeq.analysis import access, selectors
    from naeq.core.errors import NotFound

    run = _start(ew)
    assert selectors.latest_done_run(ew.cycle, YEAR_KEY) == run
    assert list(selectors.runs_for_cycle(ew.cycle)) == [run]
    rows = selectors.unit_estimates(run, "county", "310000/310100/310101/")
    assert rows and {r.path for r in rows} == {"310000/310100/310101/"}
    assert {r.level for r in selectors.unit_estimates(run, "nation")} == {"nation"}
    prov = ew.user("province_coordinator@A")
    seen = set(access.estimates_visible(actor=prov, run=run).values_list("level", "path"))
    assert {p for lv, p in seen if lv != "nation"} <= {"310000/", "310000/310100/310101/", "310000/310100/310102/"}
    liaison = ew.user("county_liaison@A")
    paths = set(access.estimates_visible(actor=liaison, run=run).values_list("path", flat=True))
    assert paths == {"", "310000/310100/310101/"}
    for name in ("school_head@A", "city_viewer@A", "teacher@A"):
        assert not access.estimates_visible(actor=ew.user(name), run=run).exists()
        with pytest.raises(NotFound):
            access.run_access(actor=ew.user(name), run_id=run.pk)
    assert access.run_access(actor=prov, run_id=run.pk) == run


@pytest.mark.django_db
def test_demo_runs_each_subject_once(ew: ExportWorld) -> None:
    from naeq.analysis.demo import demo_analysis
    from naeq.analysis.models import EstimationRun

    with ew.cap(execute=True):  # type: ignore[attr-defined]
        out = demo_analysis(actor=_admin(ew), cycle=ew.cycle)
    # in the test's transaction the job runs when the capture ends (in the demo: at the start's commit)
    assert EstimationRun.objects.get(pk=out["subjects"][YEAR_KEY]["run"]).status == "done"
    again = demo_analysis(actor=_admin(ew), cycle=ew.cycle)
    assert again["subjects"][YEAR_KEY] == {"run": out["subjects"][YEAR_KEY]["run"], "status": "exists"}
    assert EstimationRun.objects.count() == 1
