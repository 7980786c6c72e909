"""PE indicators as estimates (naeq.analysis.pe): each student's indicators from the Standard's tables; the stored
rows equal the engine called directly on the same arrays (units, sex and urban/rural groups, F−M and urban−rural,
county vs province / nation, province vs nation); only present students of confirmed rooms; excluded dropped;
suppression kept; re-run bit-identical; refusals; the keys are those reports and problem letters read.

World: :func:`tests.analysis.test_exports.exports_build` (grade 8, 8 schools in 4 counties of 2 provinces) plus one
PE record per student (a confirmed room per school; the last school's room still in draft).
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pytest

from tests.analysis.test_exports import ExportWorld, exw  # noqa: F401  (fixture)

SMALL: dict[str, Any] = {"min_n": 3, "min_schools": 1, "max_cv": 5.0}


def _nan(v: float | None) -> float:
    return np.nan if v is None or v == -1 else float(v)


def add_pe_records(ew: ExportWorld, *, seed: int = 11) -> dict[str, Any]:
    """One room per school (confirmed; the last school's in draft), one record per student: plausible grade-8
    values, one absent student, one student without a vision value."""
    from naeq.pe.models import Attendance, ExamRoom, PeRecord, RoomStatus

    rng = np.random.default_rng(seed)
    admin = ew.user("national_admin@A")
    by_school: dict[int, list[Any]] = {}
    for t in ew.takers:
        by_school.setdefault(t.school_id, []).append(t)
    schools = sorted(by_school)
    absent = ew.takers[4].pk
    no_vision = ew.takers[7].pk
    draft_school = schools[-1]
    for sid in schools:
        draft = sid == draft_school
        room = ExamRoom.objects.create(cycle=ew.cycle, school_id=sid, path=by_school[sid][0].path, number=1,
                                       name="一号场地", grade=8,
                                       status=RoomStatus.DRAFT if draft else RoomStatus.CONFIRMED,
                                       confirmed_by=None if draft else admin)
        for seq, t in enumerate(by_school[sid], start=1):
            male = t.sampled_student.student.sex == "M"
            h = float(np.round(rng.uniform(150, 172), 1))
            bmi = rng.choice([17.0, 21.0, 23.8, 27.0]) + rng.uniform(-0.5, 0.5)
            w = float(np.round(bmi * (h / 100) ** 2, 1))
            vis = None if t.pk == no_vision else [float(rng.choice([4.4, 4.7, 4.9, 5.0, 5.1])) for _ in range(2)]
            PeRecord.objects.create(
                room=room, test_taker=t, path=t.path, seq=seq,
                attendance=Attendance.ABSENT if t.pk == absent else Attendance.PRESENT,
                height=h, weight=w, vision_l=vis[0] if vis else -1, vision_r=vis[1] if vis else None,
                vc_1=float(rng.integers(1500, 4200)), vc_2=float(rng.integers(1500, 4200)),
                run50=float(np.round(rng.uniform(6.8, 11.5), 1)),
                jump_1=float(rng.integers(140, 250)), jump_2=float(rng.integers(140, 250)),
                grip_1=30.0, grip_2=31.0, shuttle=40.0 if male else 38.0)
    return {"absent": absent, "no_vision": no_vision, "draft_school": draft_school}


@pytest.fixture
def pw(exw: ExportWorld, django_capture_on_commit_callbacks: Any) -> ExportWorld:  # noqa: F811
    exw.cap = django_capture_on_commit_callbacks  # type: ignore[attr-defined]
    exw.pe = add_pe_records(exw)  # type: ignore[attr-defined]
    return exw


def _start(ew: ExportWorld, options: dict[str, Any] | None = None) -> Any:
    from naeq.analysis.pe import pe_start

    with ew.cap(execute=True):  # type: ignore[attr-defined]
        run = pe_start(actor=ew.user("national_admin@A"), cycle=ew.cycle,
                       options=SMALL if options is None else options)
    run.refresh_from_db()
    return run


def _get(run: Any, level: str, path: str, statistic: str, key: str, group_var: str = "",
         group_value: str = "") -> Any:
    from naeq.analysis.models import Estimate

    return Estimate.objects.get(run=run, level=level, path=path, statistic=statistic, key=key, group_var=group_var,
                                group_value=group_value)


def test_student_indicators_hand_computed() -> None:
    from naeq.analysis.pe import student_indicators
    from naeq.pe.config import FIELDS, items_config, standard
    from naeq.pe.indicators import item_score

    std, items = standard(), items_config()
    # grade 8 boy: 160 cm, 70 kg → BMI 27.3 → 肥胖 (≥ 25.3); worse eye 4.9 → mild;
    # grade 8 girl: 155 cm, 58 kg → BMI 24.1 → 超重 (22.3–24.8); 5.0 / 5.2 → normal; no jump → no composite
    vals = {f: np.array([np.nan, np.nan]) for f in FIELDS}
    vals["height"], vals["weight"] = np.array([160.0, 155.0]), np.array([70.0, 58.0])
    vals["vision_l"], vals["vision_r"] = np.array([4.9, 5.0]), np.array([5.1, 5.2])
    vals["vc_1"], vals["vc_2"] = np.array([3000.0, 2500.0]), np.array([3300.0, np.nan])
    vals["run50"] = np.array([7.8, 9.0])
    vals["jump_1"], vals["jump_2"] = np.array([215.0, np.nan]), np.array([220.0, np.nan])
    got = student_indicators(np.array([8, 8]), np.array(["M", "F"]), vals, std, items)
    assert got["obesity"].tolist() == [1.0, 0.0] and got["overweight"].tolist() == [0.0, 1.0]
    assert got["poor_vision"].tolist() == [1.0, 0.0]
    assert got["poor_vision_mild"].tolist() == [1.0, 0.0] and got["poor_vision_severe"].tolist() == [0.0, 0.0]
    # the boy's composite: (15·60 + 15·s_vc + 20·s_50 + 10·s_jump) / 60 with the Standard's item scores
    s = {it: float(item_score(np.array([v]), std.tables[(it, 8, "M")])[0])
         for it, v in (("vc", 3300.0), ("run50", 7.8), ("jump", 220.0))}
    composite = (15 * 60 + 15 * s["vc"] + 20 * s["run50"] + 10 * s["jump"]) / 60
    assert got["pass"][0] == float(composite >= 60) and got["excellent"][0] == float(composite >= 90)
    assert np.isnan(got["pass"][1]) and np.isnan(got["excellent"][1])


def test_composite_weights_are_the_standards() -> None:
    """《国家学生体质健康标准（2014年修订）》单项指标与权重: 小学三、四年级 BMI 15 %, 肺活量 15 %, 50米跑 20 %,
    坐位体前屈 20 %, 1分钟跳绳 20 %, 1分钟仰卧起坐 10 %; 初二 BMI 15 %, 肺活量 15 %, 50米跑 20 %, 坐位体前屈 10 %,
    立定跳远 10 %, 引体向上(男)/1分钟仰卧起坐(女) 10 %, 1000米跑(男)/800米跑(女) 20 %."""
    from naeq.analysis.pe import COMPOSITE_WEIGHTS, STANDARD_WEIGHTS

    assert STANDARD_WEIGHTS[4] == {"bmi": 15, "vc": 15, "run50": 20, "sit_reach": 20, "rope_skip": 20, "situp": 10}
    assert STANDARD_WEIGHTS[8] == {"bmi": 15, "vc": 15, "run50": 20, "sit_reach": 10, "jump": 10,
                                   "pullup_or_situp": 10, "endurance": 20}
    assert all(sum(w.values()) == 100 for w in STANDARD_WEIGHTS.values())
    # the field test takes 身高、体重、握力、视力、肺活量、50米跑、立定跳远、15米折返跑: of the Standard's items
    assert COMPOSITE_WEIGHTS == {4: {"bmi": 15, "vc": 15, "run50": 20},
                                 8: {"bmi": 15, "vc": 15, "run50": 20, "jump": 10}}


def test_composite_of_hand_computed_students() -> None:
    """Totals worked by hand from the Standard's tables (naeq/pe/configs/standard.yaml); 优秀 ≥ 90, 良好 80–89.9,
    及格 60–79.9."""
    from naeq.analysis.pe import composite_score, student_indicators
    from naeq.pe.config import FIELDS, items_config, standard

    std, items = standard(), items_config()
    vals = {f: np.full(4, np.nan) for f in FIELDS}
    # 0: grade-4 boy, 140 cm 35 kg → BMI 17.9 正常 (14.2–20.1) 100; 肺活量 1900 ml → 80; 50米 9.0 s → 85
    #    (15·100 + 15·80 + 20·85) / 50 = 88.0: 良好 — passed, not excellent
    # 1: grade-8 girl, 160 cm 50 kg → BMI 19.5 正常 100; 2800 ml → 90; 8.2 s → 90; 立定跳远 188 cm → 90
    #    (15·100 + 15·90 + 20·90 + 10·90) / 60 = 92.5: 优秀
    # 2: grade-8 boy, 160 cm 70 kg → BMI 27.3 肥胖 60; 2000 ml → 60; 9.9 s → 60; 170 cm → 60
    #    (15·60 + 15·60 + 20·60 + 10·60) / 60 = 60.0: 及格 exactly
    # 3: grade-4 girl without a 50米 time: no composite
    vals["height"], vals["weight"] = np.array([140.0, 160.0, 160.0, 135.0]), np.array([35.0, 50.0, 70.0, 30.0])
    vals["vc_1"], vals["vc_2"] = np.array([1800.0, 2800.0, 2000.0, 1500.0]), np.array([1900.0, 2700.0, 1900.0, np.nan])
    vals["run50"] = np.array([9.0, 8.2, 9.9, np.nan])
    vals["jump_1"] = np.array([np.nan, 188.0, 170.0, np.nan])
    grade, sex = np.array([4, 8, 8, 4]), np.array(["M", "F", "M", "F"])
    from naeq.pe import indicators as ind

    status = ind.weight_status(ind.bmi(vals["height"], vals["weight"]), grade, sex, std)
    assert status.tolist()[:3] == ["normal", "normal", "obese"]
    results = {"vc": np.maximum(vals["vc_1"], np.nan_to_num(vals["vc_2"])), "run50": vals["run50"],
               "jump": vals["jump_1"]}
    total = composite_score(grade, sex, status, results, std)
    assert total[:3].tolist() == pytest.approx([88.0, 92.5, 60.0], abs=1e-9)
    assert np.isnan(total[3])
    got = student_indicators(grade, sex, vals, std, items)
    assert got["pass"][:3].tolist() == [1.0, 1.0, 1.0] and got["excellent"][:3].tolist() == [0.0, 1.0, 0.0]
    assert np.isnan(got["pass"][3])


@pytest.mark.django_db
def test_rows_equal_the_engine(pw: ExportWorld) -> None:
    from naeq.analysis import pe
    from naeq.engines import estimation as est

    run = _start(pw)
    assert run.status == "done", run.error
    assert run.calibration_run_id is None and run.instrument_code == pe.PE_INSTRUMENT
    inp = pe.gather(run)
    assert run.inputs_hash == inp.digest()
    rules = est.SuppressionRules(**SMALL)
    s = inp.school.astype(str)
    rc, rn = inp.county_reps, inp.national_reps
    assert rc is not None and rn is not None
    dc = est.Design(inp.final_weight, rc.matrix, method="JKn", scale=rc.scale, rscales=rc.rscales, schools=s)
    dn = est.Design(inp.national_weight, rn.matrix, method="JKn", scale=rn.scale, rscales=rn.rscales, schools=s)
    factor = np.where(inp.final_weight[:, None] > 0, rc.matrix / inp.final_weight[:, None], 0.0)
    cond = est.Design(inp.national_weight, factor * inp.national_weight[:, None], method="JKn", scale=rc.scale,
                      rscales=rc.rscales, schools=s, token=dc.token)
    for key in pe.PE_KEYS:
        v = inp.values[key]
        known = np.isfinite(v)
        y = np.nan_to_num(v)
        mc = est.proportion(dc, y, 1.0, by=inp.county, domain=known, rules=rules)
        for k, g in enumerate(mc.group):
            row = _get(run, "county", g[0], "proportion", key)
            assert (row.value, row.se, row.n) == (mc.value[k], mc.se[k], mc.n[k])
            assert row.suppressed == bool(mc.suppressed[k]) and row.suppress_reason == mc.reason[k]
            assert row.region.path == g[0]
        # the weighted share by hand for one county
        c0 = mc.group[0][0]
        sel = known & (inp.county == c0) & (inp.final_weight > 0)
        assert mc.value[0] == pytest.approx((inp.final_weight[sel] * y[sel]).sum() / inp.final_weight[sel].sum())
        mn = est.proportion(dn, y, 1.0, domain=known, rules=rules)
        nat = _get(run, "nation", "", "proportion", key)
        assert (nat.value, nat.se) == (mn.value[0], mn.se[0])
        mp = est.proportion(dn, y, 1.0, by=inp.province, domain=known, rules=rules)
        pwd = est.part_whole(dn, mp, mn, ["all"] * len(mp))
        for k, g in enumerate(mp.group):
            assert _get(run, "province", g[0], "proportion", key).value == mp.value[k]
            d = _get(run, "province", g[0], "difference", f"{key}:vs_nation")
            assert d.value == pytest.approx(pwd.value[k], abs=1e-12) and d.se == pytest.approx(pwd.se[k], abs=1e-12)
            assert d.sign == (int(np.sign(pwd.value[k])) if pwd.p[k] < 0.05 else 0)
        cp = est.proportion(cond, y, 1.0, by=inp.province, domain=known, rules=rules)
        cn = est.proportion(cond, y, 1.0, domain=known, rules=rules)
        for k, g in enumerate(mc.group):
            dp = est.difference(dc, mc, [k], cp, [cp.index(g[0][:7])])
            row = _get(run, "county", g[0], "difference", f"{key}:vs_province")
            assert row.value == pytest.approx(dp.value[0], abs=1e-12) and row.se == pytest.approx(dp.se[0], abs=1e-12)
            assert row.p_value == pytest.approx(dp.p[0])
            dnat = est.difference(dc, mc, [k], cn, [0])
            assert _get(run, "county", g[0], "difference", f"{key}:vs_nation").value == pytest.approx(
                dnat.value[0], abs=1e-12)
        gs = est.proportion(dc, y, 1.0, by={"unit": inp.county, "sex": inp.sex}, domain=known & (inp.sex != ""),
                            rules=rules)
        for k, g in enumerate(gs.group):
            assert _get(run, "county", g[0], "proportion", key, "sex", g[1]).value == gs.value[k]
        both = sorted({g[0] for g in gs.group if (g[0], "F") in gs.group and (g[0], "M") in gs.group})
        for c in both:
            d = est.difference(dc, gs, [gs.index((c, "F"))], gs, [gs.index((c, "M"))])
            assert _get(run, "county", c, "difference", f"{key}:F-M", "sex").value == pytest.approx(
                d.value[0], abs=1e-12)
        gu = est.proportion(dn, y, 1.0, by={"unit": np.full(dn.n, "all"), "urban_rural": inp.urban_rural},
                            domain=known & (inp.urban_rural != ""), rules=rules)
        for k, g in enumerate(gu.group):
            assert _get(run, "nation", "", "proportion", key, "urban_rural", g[1]).value == gu.value[k]


@pytest.mark.django_db
def test_who_is_counted(pw: ExportWorld) -> None:
    from naeq.analysis import pe
    from naeq.core.models import AuditEvent

    run = _start(pw)
    inp = pe.gather(run)
    info = pw.pe  # type: ignore[attr-defined]
    ids = inp.taker_ids.tolist()
    assert info["absent"] not in ids
    assert not any(t.pk in ids for t in pw.takers if t.school_id == info["draft_school"])
    n_draft = sum(1 for t in pw.takers if t.school_id == info["draft_school"] and t.pk != info["absent"])
    assert run.summary["n_unconfirmed"] == n_draft and any("尚未审核锁定" in w for w in run.warnings)
    k = ids.index(info["no_vision"])
    assert np.isnan(inp.values["poor_vision"][k]) and np.isfinite(inp.values["obesity"][k])
    assert run.summary["n_known"]["poor_vision"] == run.summary["n_known"]["obesity"] - 1
    assert AuditEvent.objects.filter(action="analysis.pe_run_start", object_id=str(run.pk)).exists()
    assert AuditEvent.objects.filter(action="analysis.pe_run_done", object_id=str(run.pk)).exists()


@pytest.mark.django_db
def test_excluded_dropped_and_rerun_identical(pw: ExportWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    from naeq.analysis import pe
    from naeq.analysis.models import Estimate
    from naeq.core import exclusions

    first = _start(pw)
    victim = int(pe.gather(first).taker_ids[0])
    with pw.cap(execute=True):  # type: ignore[attr-defined]
        again = pe.pe_rerun(actor=pw.user("national_admin@A"), run_id=first.pk)
    again.refresh_from_db()
    assert again.inputs_hash == first.inputs_hash and again.options == first.options

    def rows(r: Any) -> list[tuple[Any, ...]]:
        return list(Estimate.objects.filter(run=r).order_by("level", "path", "group_var", "group_value",
                                                             "statistic", "key")
                    .values_list("level", "path", "group_var", "group_value", "statistic", "key", "value", "se",
                                 "p_value", "sign", "suppressed"))

    assert rows(again) == rows(first)

    def provider(cycle_id: int, code: str, mark: str) -> set[int]:
        return {victim} if code == pe.PE_INSTRUMENT and mark == "excluded" else set()

    monkeypatch.setattr(exclusions, "_providers", [provider])
    third = _start(pw)
    assert third.summary["n_excluded"] == 1 and third.inputs_hash != first.inputs_hash
    assert victim not in pe.gather(third).taker_ids.tolist()


@pytest.mark.django_db
def test_suppression_kept(pw: ExportWorld) -> None:
    from naeq.analysis.models import Estimate

    run = _start(pw, {"min_n": 62, "min_schools": 5, "max_cv": 0.5, "alpha": 0.05})
    assert run.status == "done", run.error
    county = Estimate.objects.filter(run=run, level="county", statistic="proportion")
    assert county.exists() and all(r.suppressed and "min_n" in r.suppress_reason for r in county)
    diff = Estimate.objects.filter(run=run, level="county", statistic="difference").first()
    assert diff is not None and diff.suppressed and diff.suppress_reason == "component_suppressed"


@pytest.mark.django_db
def test_refusals(pw: ExportWorld) -> None:
    from naeq.analysis.pe import pe_start
    from naeq.core.errors import InvalidInput, NotFound

    with pytest.raises(NotFound):
        pe_start(actor=pw.user("county_liaison@A"), cycle=pw.cycle)
    with pytest.raises(InvalidInput) as err:
        pe_start(actor=pw.user("national_admin@A"), cycle=pw.cycle, options={"quantiles": [0.5], "min_n": 0})
    fields = {p.field for p in err.value.problems}
    assert {"quantiles", "min_n"} <= fields


@pytest.mark.django_db
def test_keys_are_what_reports_and_letters_read(pw: ExportWorld) -> None:
    from naeq.analysis import pe
    from naeq.analysis.models import Estimate
    from naeq.rectification import letters
    from naeq.registry.models import Region
    from naeq.reports import content, synthetic

    assert set(pe.PE_KEYS) <= set(content.pe_names())
    assert set(synthetic.PE_KEYS) <= set(pe.PE_KEYS)
    src = inspect.getsource(letters.derive)
    for key in ("obesity", "poor_vision", "pass"):
        assert f'"{key}"' in src and key in pe.PE_KEYS
    run = _start(pw)
    rows = Estimate.objects.filter(run=run)
    index = content.Index.from_values(rows.values_list(*content.ROW_FIELDS))
    county = rows.filter(level="county").first()
    assert county is not None
    prov = county.path[:7]
    chain = [content.Unit("county", county.path, "县"), content.Unit("province", prov, "省"),
             content.Unit("nation", "", "全国")]
    info = content.RunInfo(run.pk, run.instrument_code, "体育与健康", True, "", run.inputs_hash)
    sec = content.pe_section(index, info, chain, content.Notes())
    assert sec is not None
    assert [r["key"] for r in sec["rows"]][:1] and {r["key"] for r in sec["rows"]} == set(pe.PE_KEYS)
    assert all(len(r["diffs"]) == 2 for r in sec["rows"])  # vs province and vs nation found under their keys
    province = Region.objects.get(path=prov)
    found = letters.derive(run, province)  # reads the PE rows without error; every finding is a PE rule
    assert all(f.rule in ("pe_obesity", "pe_vision", "pe_pass") for f in found)


@pytest.mark.django_db
def test_failure_recorded(pw: ExportWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    from naeq.analysis import pe
    from naeq.analysis.models import Estimate
    from naeq.core.models import AuditEvent
    from naeq.engines.errors import EngineError

    def broken(inputs: Any, opts: Any) -> Any:
        raise EngineError("no row with a positive weight in the domain", code="empty_domain")

    monkeypatch.setattr(pe, "compute", broken)
    run = _start(pw)
    assert run.status == "failed" and "no row with a positive weight" in run.error
    assert not Estimate.objects.filter(run=run).exists()
    assert AuditEvent.objects.filter(action="analysis.pe_run_failed", object_id=str(run.pk)).exists()


@pytest.mark.django_db
def test_cli_pe_run(pw: ExportWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from naeq.analysis import pe
    from naeq.analysis.cli import analysis_group
    from naeq.analysis.models import EstimationRun

    monkeypatch.setattr(pe.transaction, "on_commit", lambda func, *a, **k: func())
    year = str(pw.cycle.year)
    r = CliRunner().invoke(analysis_group, ["pe-run", "--as", "national_admin_a", "--cycle", year,
                                            "--option", "min_n=3", "--option", "min_schools=1"])
    assert r.exit_code == 0, r.output
    run = EstimationRun.objects.get(instrument_code=pe.PE_INSTRUMENT)
    assert run.status == "done" and run.options["min_n"] == 3
    assert f"#{run.pk} {year} {pe.PE_INSTRUMENT} done" in r.output
    r = CliRunner().invoke(analysis_group, ["pe-run", "--as", "county_liaison_a", "--cycle", year])
    assert r.exit_code != 0 and EstimationRun.objects.filter(instrument_code=pe.PE_INSTRUMENT).count() == 1
