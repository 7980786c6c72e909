"""Group level shares, the migrant and disadvantaged groups and recoded background factors (issue 8 item 1).

The monitoring reports the performance gaps of 随迁子女 (migrant) and 家庭经济困难 (disadvantaged) students beside
the urban/rural and sex gaps (DOMAIN.md "Reporting": "urban/rural, sex, migrant and disadvantaged-student gaps"),
and the background factors homework time, sleep (≥ 10 h grade 4, ≥ 9 h grade 8), tutoring, interest and PE
lessons per week. The registry carries no migrant or hardship field, so both groups come from the student
questionnaire, mapped by the run's ``groups`` option; in 2024 the questionnaires are sessions of their own (seed
2024-nanchang-city-plan.txt: "14:00–14:30 学生相关因素问卷（一）" after the morning's tests), so the answers are joined
to the test's students by test taker, not by session.

World: :func:`tests.analysis.test_exports.exports_build` plus a second student questionnaire ``bgq`` given in its
own formal sessions (not with the test), with a migrant item (户籍: 本县 / 本省其他县 / 外省 / 不知道), a hardship
item (是 / 不是 / 不知道) and a banded sleep item.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest

from tests.analysis.test_exports import YEAR_KEY, ExportWorld, exw  # noqa: F401  (fixture)
from tests.analysis.test_runs import SMALL, _designs, _get

HUKOU = ["本县（区）", "本省其他县（区）", "外省", "不知道"]
HARDSHIP = ["是", "不是", "不知道"]
SLEEP = ["10小时及以上", "9–10小时", "8–9小时", "不到8小时"]
GROUPS = {"migrant": {"item": "MIG", "codes": {"1": [2, 3], "0": [1]}},
          "disadvantaged": {"item": "ECO", "codes": {"1": [1], "0": [2]}}}
FACTORS = {"homework_time": "HW1",
           "sleep": {"item": "SLP", "codes": {"1": [1], "0": [2, 3, 4]},
                     "grade_codes": {"8": {"1": [1, 2], "0": [3, 4]}},
                     "labels": {"1": "达到规定时间", "0": "未达到规定时间"}}}


@pytest.fixture
def gw(exw: ExportWorld, django_capture_on_commit_callbacks: Any) -> ExportWorld:  # noqa: F811
    """The export world plus questionnaire ``bgq`` in separate sessions; ``gw.bg`` = taker id → item → code."""
    from django.utils import timezone

    from naeq.delivery.models import Attempt, AttemptStatus, InstrumentKind, ItemScore, SessionStatus
    from tests.delivery.factories import make_instrument, make_session

    exw.cap = django_capture_on_commit_callbacks  # type: ignore[attr-defined]
    items = [{"code": code, "block": "QB", "screen": k + 1, "type": "single", "stem": stem,
              "options": [{"value": str(v + 1), "label": lab} for v, lab in enumerate(labels)]}
             for k, (code, stem, labels) in enumerate((("MIG", "你的户口在哪里？", HUKOU),
                                                       ("ECO", "你家是否被认定为家庭经济困难家庭？", HARDSHIP),
                                                       ("SLP", "你每天晚上睡多长时间？", SLEEP)))]
    q = make_instrument(exw.cycle, "bgq", kind=InstrumentKind.QUESTIONNAIRE, items=items)
    start = timezone.now() - dt.timedelta(hours=20)
    sessions: dict[int, Any] = {}
    bg: dict[int, dict[str, str]] = {}
    rng = np.random.default_rng(11)
    for k, t in enumerate(exw.takers):
        if t.school_id not in sessions:
            sessions[t.school_id] = make_session(exw.cycle, t.school, instruments=["bgq"], title="学生问卷",
                                                 status=SessionStatus.CLOSED, starts_at=start)
        att = Attempt.objects.create(session=sessions[t.school_id], test_taker=t, instrument=q, booklet=1,
                                     status=AttemptStatus.SUBMITTED, started_at=start, submitted_at=start)
        # every group present in every county: cycle the migrant and hardship answers, a few omitted / 不知道
        codes = {"MIG": str([1, 2, 1, 3, 1, 4][k % 6]), "ECO": str([2, 1, 2, 2, 3][k % 5]),
                 "SLP": str(int(rng.integers(1, 5)))}
        if k % 7 == 3:
            codes["ECO"] = "99"
        bg[t.pk] = codes
        ItemScore.objects.bulk_create([ItemScore(attempt=att, item=i, code=c) for i, c in codes.items()])
    exw.bg = bg  # type: ignore[attr-defined]
    return exw


def _start(ew: ExportWorld, options: dict[str, Any]) -> Any:
    from naeq.analysis.services import estimation_start

    with ew.cap(execute=True):  # type: ignore[attr-defined]
        run = estimation_start(actor=ew.user("national_admin@A"), cycle=ew.cycle, instrument_code=YEAR_KEY,
                               options={**SMALL, **options})
    run.refresh_from_db()
    assert run.status == "done", run.error
    return run


@pytest.mark.django_db
def test_groups_come_from_a_questionnaire_in_another_session(gw: ExportWorld) -> None:
    from naeq.analysis import adapters

    run = _start(gw, {"groups": GROUPS, "factors": FACTORS})
    inp = adapters.gather(run)
    bg = gw.bg  # type: ignore[attr-defined]
    for i, pk in enumerate(inp.taker_ids.tolist()):
        mig, eco, slp = bg[pk]["MIG"], bg[pk]["ECO"], bg[pk]["SLP"]
        assert inp.groups["migrant"][i] == {"1": "0", "2": "1", "3": "1", "4": ""}[mig]
        assert inp.groups["disadvantaged"][i] == {"1": "1", "2": "0", "3": "", "99": ""}[eco]
        # grade 8: at least 9 hours is enough (the grade-8 rule overrides the grade-4 one)
        assert inp.factors["sleep"][i] == {"1": "1", "2": "1", "3": "0", "4": "0"}[slp]
        assert inp.factors["homework_time"][i] == gw.answers[pk]["HW1"]
    assert inp.group_items == {"migrant": "MIG", "disadvantaged": "ECO"}
    assert run.summary["groups"] == {"migrant": "MIG", "disadvantaged": "ECO"}
    assert run.inputs_hash == inp.digest()
    # the hash sees the groups: without them it differs
    plain = _start(gw, {"factors": FACTORS})
    assert plain.inputs_hash != run.inputs_hash


@pytest.mark.django_db
def test_group_means_level_shares_and_contrasts_equal_the_engine(gw: ExportWorld) -> None:
    from naeq.analysis import adapters
    from naeq.engines import estimation as est

    run = _start(gw, {"groups": GROUPS, "factors": FACTORS})
    inp = adapters.gather(run)
    rules = est.SuppressionRules(**SMALL)
    dc, dn, _cond = _designs(inp)
    checked = 0
    for level, d, unit in (("county", dc, inp.county), ("nation", dn, np.full(inp.n, "all")),
                           ("province", dn, inp.province)):
        for var, (a, b, key) in {"sex": ("F", "M", "F-M"), "urban_rural": ("urban", "rural", "urban-rural"),
                                 "migrant": ("1", "0", "migrant-nonmigrant"),
                                 "disadvantaged": ("1", "0", "disadvantaged-other")}.items():
            values = {"sex": inp.sex, "urban_rural": inp.urban_rural, **inp.groups}[var]
            dom = values != ""
            by = {"unit": unit, var: values}
            g = est.mean(d, inp.pvs, by=by, domain=dom, rules=rules)
            lv = est.levels(d, inp.pvs, inp.cuts, by=by, domain=dom, rules=rules, at_least=1)
            for k, grp in enumerate(g.group):
                path = "" if level == "nation" else str(grp[0])
                row = _get(run, level, path, "mean", group_var=var, group_value=str(grp[1]))
                assert row.value == g.value[k] and row.se == g.se[k] and row.n == g.n[k]
                for code in ("I", "II", "III", "IV"):
                    j = lv.index(grp, f"level[{code}]")
                    share = _get(run, level, path, "level_share", code, group_var=var, group_value=str(grp[1]))
                    assert share.value == lv.value[j] and share.se == lv.se[j]
                    assert share.suppressed == bool(lv.suppressed[j])
                j = lv.index(grp, "level[>=II]")
                at = _get(run, level, path, "at_or_above", "II", group_var=var, group_value=str(grp[1]))
                assert at.value == lv.value[j] and at.se == lv.se[j]
                checked += 1
            paths = sorted({str(x[0]) for x in g.group})
            both = [p for p in paths if (p, a) in {(str(x[0]), str(x[1])) for x in g.group}
                    and (p, b) in {(str(x[0]), str(x[1])) for x in g.group}]
            assert both, (level, var)
            for p in both:
                diff = est.difference(d, g, [g.index((p, a))], g, [g.index((p, b))])
                row = _get(run, level, "" if level == "nation" else p, "difference", key)
                assert row.value == pytest.approx(diff.value[0], abs=1e-12)
                assert row.se == pytest.approx(diff.se[0], abs=1e-12)
                assert row.p_value == pytest.approx(diff.p[0])
                assert row.sign == (int(np.sign(diff.value[0])) if diff.p[0] < 0.05 else 0)
    assert checked > 20
    # a background factor has means, no level shares; its rows carry the questionnaire's labels
    assert not _level_rows(run, "homework_time")
    sleep_yes = _get(run, "nation", "", "mean", group_var="sleep", group_value="1")
    assert sleep_yes.extra["label"] == "达到规定时间" and sleep_yes.extra["item"] == "SLP"
    hw = _get(run, "nation", "", "mean", group_var="homework_time", group_value="2")
    assert hw.extra["label"] == "有时" and hw.extra["order"] == 1


def _level_rows(run: Any, var: str) -> list[Any]:
    from naeq.analysis.models import Estimate

    return list(Estimate.objects.filter(run=run, group_var=var, statistic="level_share"))


@pytest.mark.django_db
def test_group_shares_are_stored_like_factor_shares(gw: ExportWorld) -> None:
    from naeq.analysis import adapters
    from naeq.engines import estimation as est

    run = _start(gw, {"groups": GROUPS})
    inp = adapters.gather(run)
    _dc, dn, _cond = _designs(inp)
    values = inp.groups["migrant"]
    e = est.proportion(dn, values, "1", domain=values != "", rules=est.SuppressionRules(**SMALL))
    row = _get(run, "nation", "", "proportion", "1", group_var="migrant", group_value="1")
    assert row.value == e.value[0] and row.se == e.se[0] and row.extra["item"] == "MIG"
    # by hand: the national-weighted share of 本省其他县 / 外省 among those who know
    w = inp.national_weight
    known = values != ""
    assert row.value == pytest.approx(float((w * (values == "1")).sum() / w[known].sum()))


@pytest.mark.django_db
def test_bad_group_and_factor_specs_are_refused_and_nothing_recorded(gw: ExportWorld) -> None:
    from naeq.analysis.models import EstimationRun
    from naeq.analysis.services import estimation_start
    from naeq.core.errors import InvalidInput

    bad = [
        {"groups": {"boarding": {"item": "MIG", "codes": {"1": [1], "0": [2]}}}},   # not a comparable group
        {"groups": {"migrant": "MIG"}},                                            # a group needs its 1 / 0 codes
        {"groups": {"migrant": {"item": "MIG", "codes": {"yes": [2], "0": [1]}}}},  # codes must be "1" and "0"
        {"factors": {"sex": "HW1"}},                                               # a reserved name
        {"factors": {"sleep": {"item": "SLP", "codes": {"1": [1, 2], "0": [2]}}}},  # an option in two groups
        {"factors": {"sleep": {"item": "SLP", "grade_codes": {"eight": {"1": [1]}}}}},
        {"factors": {"sleep": {"item": "SLP", "colour": "red"}}},
    ]
    for options in bad:
        with pytest.raises(InvalidInput) as exc:
            estimation_start(actor=gw.user("national_admin@A"), cycle=gw.cycle, instrument_code=YEAR_KEY,
                             options=options)
        assert exc.value.code == "bad_options"
        assert any(p.field.split(".")[0] in ("groups", "factors") for p in exc.value.problems), options
    assert not EstimationRun.objects.exists()


@pytest.mark.django_db
def test_a_missing_item_is_a_warning_not_a_failure(gw: ExportWorld) -> None:
    run = _start(gw, {"groups": {"migrant": {"item": "NOPE", "codes": {"1": [1], "0": [2]}}}})
    assert any("NOPE" in w for w in run.warnings)
    from naeq.analysis.models import Estimate

    assert not Estimate.objects.filter(run=run, group_var="migrant").exists()


def test_demo_answers_relate_to_ability() -> None:
    """The demo's simulated questionnaire answers: the factor bars of the demo reports must show something."""
    from naeq.delivery.demo_bank import BACKGROUND_ITEMS, DEMO_FACTORS, DEMO_GROUPS, background_answers

    rng = np.random.default_rng(5)
    theta = rng.normal(0, 1, 20000)
    grade = np.where(rng.random(20000) < 0.5, 4, 8)
    a = background_answers(theta, grade, seed=1)
    assert set(a) == set(BACKGROUND_ITEMS)
    for code, v in a.items():
        k = len(BACKGROUND_ITEMS[code][3])
        assert set(v.tolist()) <= {str(j) for j in range(1, k + 1)} | {"99"}, code
        assert 0.005 < float(np.mean(v == "99")) < 0.04
    def mean_of(code: str, options: set[int]) -> float:
        return float(theta[np.isin(a[code], [str(o) for o in options])].mean())
    assert mean_of("S1Q10", {4}) - mean_of("S1Q10", {1, 2}) > 0.5          # interest
    assert mean_of("S1Q08", {1}) > mean_of("S1Q08", {4})                   # homework time
    assert mean_of("S2Q08", {2, 3}) < mean_of("S2Q08", {1})                # migrant a little lower
    assert mean_of("S2Q09", {1}) < mean_of("S2Q09", {2}) - 0.1             # disadvantaged lower
    assert 0.05 < float(np.isin(a["S2Q08"], ["2", "3"]).mean()) < 0.3
    # grade 8 sleeps less: fewer reach 10 h
    assert np.mean(a["S2Q10"][grade == 8] == "1") < np.mean(a["S2Q10"][grade == 4] == "1")
    # the mapping names the items the bank has and the factor names the reports print
    from naeq.analysis.background import clean_specs, item_of
    from naeq.reports.content import var_names

    assert clean_specs(DEMO_FACTORS, option="factors") == [] and clean_specs(DEMO_GROUPS, option="groups") == []
    assert {item_of(s) for s in [*DEMO_FACTORS.values(), *DEMO_GROUPS.values()]} == set(BACKGROUND_ITEMS)
    assert set(DEMO_FACTORS) == {"homework_time", "sleep", "tutoring", "interest", "pe_lessons"}
    assert set(DEMO_FACTORS) <= set(var_names())


def test_report_gaps_show_migrant_and_disadvantaged_with_level_shares() -> None:
    from naeq.reports.content import Index, Notes, _gaps

    def r(gv: str, gval: str, stat: str, key: str, value: float, sign: int | None = None) -> tuple[Any, ...]:
        return (1, "county", "c/", gv, gval, stat, key, value, 1.0, 100, 0.01 if sign else None, sign, False, "", {})

    rows = [r("sex", "F", "mean", "", 510.0), r("sex", "M", "mean", "", 500.0), r("", "", "difference", "F-M", 10, 1)]
    for v, m in (("1", 480.0), ("0", 500.0)):
        rows += [r("migrant", v, "mean", "", m), r("migrant", v, "at_or_above", "II", 0.8),
                 r("migrant", v, "proportion", v, 0.2 if v == "1" else 0.8)]
        rows += [r("migrant", v, "level_share", k, s) for k, s in zip(("I", "II", "III", "IV"),
                                                                      (0.2, 0.3, 0.3, 0.2), strict=True)]
    rows += [r("", "", "difference", "migrant-nonmigrant", -20.0, -1),
             r("disadvantaged", "1", "mean", "", 470.0), r("disadvantaged", "0", "mean", "", 502.0),
             r("", "", "difference", "disadvantaged-other", -32.0, -1)]
    index = Index.from_values(rows)
    gaps = {g["var"]: g for g in _gaps(index.unit(1, "county", "c/"), Notes())}
    assert list(gaps) == ["sex", "migrant", "disadvantaged"]
    mig = gaps["migrant"]
    assert [x["label"] for x in mig["groups"]] == ["随迁子女", "非随迁子女"]
    assert [c["text"] for c in mig["groups"][0]["levels"]] == ["20.0", "30.0", "30.0", "20.0"]
    assert mig["groups"][0]["share"]["text"] == "20.0" and mig["has_levels"] and mig["has_share"]
    assert [(c["key"], c["label"], c["diff"]["mark"]) for c in mig["contrasts"]] == [
        ("migrant-nonmigrant", "随迁子女 − 非随迁子女", "▼")]
    assert [c["key"] for c in gaps["disadvantaged"]["contrasts"]] == ["disadvantaged-other"]
    assert not gaps["disadvantaged"]["has_levels"] and [c["key"] for c in gaps["sex"]["contrasts"]] == ["F-M"]


@pytest.mark.django_db
def test_demo_questionnaires_feed_named_factors_and_groups(gw: ExportWorld) -> None:
    """The demo's wiring: the bank's background items, the simulated answers (once), the demo's run options."""
    from naeq.analysis.demo import demo_options
    from naeq.analysis.models import Estimate
    from naeq.delivery.demo_bank import BACKGROUND_TITLE, demo_background_responses, demo_bank_load
    from naeq.delivery.models import Attempt, TestSession

    assert demo_options(gw.cycle) == {}  # no demo questionnaire yet: nothing mapped
    demo_bank_load(actor=None, year=gw.cycle.year)
    takers = [(t.pk, t.school_id, t.county_id, 8, t.path) for t in gw.takers]
    theta = np.random.default_rng(3).normal(0, 1, len(takers))
    assert demo_background_responses(gw.cycle, takers, theta, seed=4) == 3 * len(takers)
    assert demo_background_responses(gw.cycle, takers, theta, seed=4) == 0  # once
    assert TestSession.objects.filter(title=BACKGROUND_TITLE).count() == 8  # one per school and grade
    assert Attempt.objects.filter(instrument__code="questionnaire_2").count() == len(takers)
    opts = demo_options(gw.cycle)
    run = _start(gw, opts)
    names = set(Estimate.objects.filter(run=run, level="nation", statistic="mean").exclude(group_var="")
                .values_list("group_var", flat=True))
    assert {"homework_time", "sleep", "tutoring", "interest", "pe_lessons", "migrant", "disadvantaged"} <= names
    assert Estimate.objects.filter(run=run, level="nation", key="migrant-nonmigrant").count() == 1
    assert set(Estimate.objects.filter(run=run, group_var="tutoring").values_list("group_value", flat=True)) <= {
        "0", "1"}
