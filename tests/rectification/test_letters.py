"""The problem letter: which estimates become problems (naeq.rectification.letters), and the letter's life.

Seed (collected-county-and-school-plans.txt, 篇四): "直接将监测中发现的主要问题发函至各省政府办公厅，且只列问题不谈
经验，要求制订整改方案、限期整改" — problems only, never praise."""

from __future__ import annotations

from typing import Any

import pytest

from naeq.analysis.models import Estimate
from naeq.core.errors import InvalidInput, NotFound
from naeq.core.models import AuditEvent
from naeq.rectification import access, services
from naeq.rectification.letters import Rules, derive, derive_all
from naeq.rectification.models import LetterStatus, ProblemLetter
from tests.rectification import factories as f
from tests.rectification.conftest import Rect

PRAISE = ("高于全国", "优于", "较好", "经验", "优秀", "显著高于全国平均")


def test_rules_find_the_weak_provinces_problems(rect: Rect) -> None:
    found = derive(rect.run, rect.world.regions["A"])
    rules = [p.rule for p in found]
    assert rules == ["mean_below_nation", "share_below_nation", "urban_rural_gap", "diff_rate", "sleep_share"]
    mean = found[0]
    assert mean.estimate.key == "vs_nation" and mean.estimate.sign == -1
    assert mean.target == ("mean", "", "", "") and mean.better == 1
    assert "480.0" in mean.text and "500.0" in mean.text and "20.0" in mean.text
    assert mean.evidence["inputs_hash"] == rect.run.inputs_hash and mean.evidence["run"] == rect.run.pk
    share = found[1]
    # 0.72 vs 0.80 with SEs 0.015 and 0.004: z = −0.08/0.01552 ≈ −5.15, p < 1e-6
    assert share.evidence["p_value"] < 1e-6 and share.evidence["se"] == pytest.approx((0.015**2 + 0.004**2) ** 0.5)
    gap = found[2]
    assert gap.better == -1 and gap.target == ("difference", "urban_rural", "", "urban-rural")
    county = found[3]
    assert county.region_id == rect.world.regions["A1a"].pk and county.value == 0.22
    # the sex gap (6 points, not significant) and the homework share (0.26 vs 0.25, p ≈ 0.6) are not problems;
    # county A1b's 校际差异率 0.10 is under 0.15
    assert not any(p.region_id == rect.world.regions["A1b"].pk for p in found)


def test_thresholds_are_configurable(rect: Rect) -> None:
    a = rect.world.regions["A"]
    assert "urban_rural_gap" not in [p.rule for p in derive(rect.run, a, Rules(gap_points=30.0))]
    rules = [p.rule for p in derive(rect.run, a, Rules(diff_rate_max=0.09))]
    assert rules.count("diff_rate") == 2
    assert [p.rule for p in derive(rect.run, a, Rules(enabled=("sleep_share",)))] == ["sleep_share"]
    assert Rules.from_dict(Rules(alpha=0.01).as_dict()) == Rules(alpha=0.01)


def test_a_province_above_the_nation_gets_no_problems_and_no_letter(rect: Rect) -> None:
    assert derive_all(rect.cycle.pk, rect.world.regions["B"]) == []
    with pytest.raises(InvalidInput) as exc:
        services.letter_draft(actor=rect.admin, cycle=rect.cycle, province=rect.world.regions["B"])
    assert exc.value.code == "no_problems"
    assert not ProblemLetter.objects.filter(province=rect.world.regions["B"]).exists()


def test_no_problem_text_praises(rect: Rect) -> None:
    letter = services.letter_draft(actor=rect.admin, cycle=rect.cycle, province=rect.world.regions["A"])
    for p in letter.problems.all():
        # "高于全国" is the shortfall itself where lower is better (the share at 待提高)
        for word in PRAISE if p.better == 1 else [w for w in PRAISE if w != "高于全国"]:
            assert word not in p.text, (p.rule, p.text)
        assert "显著低于" in p.text or "较大" in p.text


def test_suppressed_estimates_are_never_used(rect: Rect) -> None:
    a = rect.world.regions["A"]
    r = f.run(rect.cycle, "chinese")
    f.est(r, None, "mean", 500.0, 0.8)
    f.est(r, None, "at_or_above", 0.80, 0.004, key="II")
    f.est(r, a, "mean", 470.0, 9.0, suppressed=True)
    f.est(r, a, "difference", -30.0, 9.0, key="vs_nation", p=0.001, sign=-1, suppressed=True)
    f.est(r, a, "at_or_above", 0.60, 0.02, key="II", suppressed=True)
    f.est(r, rect.world.regions["A1a"], "diff_rate", 0.40, 0.05, suppressed=True)
    assert derive(r, a) == []
    # nor the nation's side of a comparison
    r2 = f.run(rect.cycle, "science")
    f.est(r2, None, "at_or_above", 0.80, 0.004, key="II", suppressed=True)
    f.est(r2, a, "at_or_above", 0.60, 0.02, key="II")
    assert derive(r2, a) == []


def test_pe_rules(rect: Rect) -> None:
    a = rect.world.regions["A"]
    r = f.run(rect.cycle, "pe_field_test")
    for key, nat, prov in (("obesity", 0.10, 0.16), ("poor_vision", 0.52, 0.53), ("pass", 0.90, 0.84)):
        f.est(r, None, "proportion", nat, 0.002, key=key)
        f.est(r, a, "proportion", prov, 0.01, key=key)
    found = derive(r, a)
    assert [p.rule for p in found] == ["pe_obesity", "pe_pass"]  # vision: 0.53 vs 0.52, p ≈ 0.32
    assert found[0].better == -1 and found[1].better == 1
    assert "肥胖率为16.0%" in found[0].text


def test_draft_edit_issue_and_immutability(rect: Rect) -> None:
    a = rect.world.regions["A"]
    coord = rect.user("province_coordinator@A")
    with pytest.raises(NotFound):
        services.letter_draft(actor=coord, cycle=rect.cycle, province=a)
    letter = services.letter_draft(actor=rect.admin, cycle=rect.cycle, province=a)
    assert letter.status == LetterStatus.DRAFT and letter.number == ""
    assert letter.problems.count() == 5 and letter.rules["runs"] == [rect.run.pk]
    # the province does not see the draft
    assert not access.letters_visible(actor=coord).exists()
    first = letter.problems.get(seq=1)
    services.problem_edit(actor=rect.admin, problem_id=first.pk, text="（改写后的问题表述）")
    services.problem_remove(actor=rect.admin, problem_id=letter.problems.get(seq=5).pk)
    issued = services.letter_issue(actor=rect.admin, letter_id=letter.pk)
    assert issued.number == "监测函〔2023〕1号" and issued.issued_at is not None
    assert access.letter_access(actor=coord, letter_id=letter.pk).pk == letter.pk
    assert access.letters_visible(actor=rect.user("county_liaison@A")).count() == 1
    with pytest.raises(NotFound):
        access.letter_access(actor=rect.user("province_coordinator@B"), letter_id=letter.pk)
    for call in (lambda: services.problem_edit(actor=rect.admin, problem_id=first.pk, text="x"),
                 lambda: services.letter_issue(actor=rect.admin, letter_id=letter.pk),
                 lambda: services.letter_draft(actor=rect.admin, cycle=rect.cycle, province=a)):
        with pytest.raises(InvalidInput) as exc:
            call()
        assert exc.value.code == "letter_issued"
    first.refresh_from_db()
    assert first.text == "（改写后的问题表述）"
    actions = list(AuditEvent.objects.filter(action__startswith="rectification.").values_list("action", flat=True))
    assert actions == ["rectification.letter_draft", "rectification.problem_edit", "rectification.problem_remove",
                       "rectification.letter_issue"]


# --------------------------------------------------------------------------------------------- county rules
# Seed (篇六, a city's plan for its district): "结合反馈芜湖市三山区接受国家义务教育质量监测所反馈的四个方面问题", and
# (篇四) "要求分管教育副县长（区）长到会并认领问题": a letter's problems reach down to the counties, which claim them.
# In a one-province world (the demo) these are the only problems the scores can show.


def _one_province(rect: Rect, code: str = "english") -> tuple[Any, Any, Any, Any]:
    r = f.run(rect.cycle, code)
    a, a1a, a1b = rect.world.regions["A"], rect.world.regions["A1a"], rect.world.regions["A1b"]
    f.one_province_world(r, a)
    return r, a, a1a, a1b


def test_county_below_the_nation_and_its_province_is_one_problem(rect: Rect) -> None:
    r, a, a1a, a1b = _one_province(rect)
    f.county(r, a1a, 470.0, vs_nation=(-30.0, 0.00001, -1), vs_province=(-28.0, 0.00002, -1))
    f.county(r, a1b, 497.0, vs_nation=(-3.0, 0.62, 0), vs_province=(-3.0, 0.62, 0))
    found = derive(r, a)
    assert [(p.rule, p.region_id) for p in found] == [("county_below_nation", a1a.pk)]
    p = found[0]
    assert p.estimate.key == "vs_nation" and p.estimate.sign == -1 and p.path == a1a.path
    assert p.target == ("mean", "", "", "") and p.better == 1
    assert "470.0分" in p.text and "全国" in p.text and "全省" in p.text and "30.0分" in p.text
    assert "28.0分" in p.text and p.text.startswith("甲省一市a县")
    assert set(p.evidence["estimates"]) == {"county", "vs_nation", "vs_province", "nation", "province"}
    assert p.evidence["threshold"] == 15.0 and p.evidence["difference"] == -30.0
    # the county is the responsible unit: its plan starts from its own mean
    letter = services.letter_draft(actor=rect.admin, cycle=rect.cycle, province=a)
    problem = letter.problems.get(rule="county_below_nation")
    assert problem.region_id == a1a.pk and services.baseline_for(problem, a1a).value == 470.0  # type: ignore[union-attr]
    assert letter.rules["county_gap_points"] == 15.0 and "county_low_share" in letter.rules["enabled"]


def test_county_below_its_province_only(rect: Rect) -> None:
    r, a, a1a, _a1b = _one_province(rect)
    f.county(r, a1a, 480.0, vs_nation=(-20.0, 0.09, 0), vs_province=(-21.0, 0.001, -1))
    found = derive(r, a)
    assert [p.rule for p in found] == ["county_below_province"]
    assert "显著低于全省平均水平" in found[0].text and "全国" not in found[0].text
    assert found[0].estimate.key == "vs_province"
    assert derive(r, a, Rules(enabled=("county_below_nation",))) == []


def test_county_mean_rules_need_significance_and_the_gap(rect: Rect) -> None:
    r, a, a1a, a1b = _one_province(rect)
    # 30 points below but not significant (sign 0): not a problem
    f.county(r, a1a, 470.0, vs_nation=(-30.0, 0.08, 0), vs_province=(-30.0, 0.08, 0))
    # significant but only 10 points: under the 15-point line
    f.county(r, a1b, 490.0, vs_nation=(-10.0, 0.01, -1), vs_province=(-10.0, 0.01, -1))
    assert derive(r, a) == []
    got = derive(r, a, Rules(county_gap_points=8.0))
    assert [(p.rule, p.region_id) for p in got] == [("county_below_nation", a1b.pk)]
    # above the nation (sign +1) is never a problem, however large
    r2, a, a1a, _b = _one_province(rect, "science")
    f.county(r2, a1a, 540.0, vs_nation=(40.0, 0.0001, 1), vs_province=(40.0, 0.0001, 1))
    assert derive(r2, a, Rules(county_gap_points=0.0)) == []


def test_county_low_share(rect: Rect) -> None:
    r, a, a1a, a1b = _one_province(rect)
    # 25% at 待提高 against the nation's 10% (SEs 0.03, 0.004): z ≈ 4.96
    f.county(r, a1a, 495.0, vs_nation=(-5.0, 0.4, 0), low=(0.25, 0.03))
    # 13% ± 0.03: 3 points above, not significant; and under the 5-point line
    f.county(r, a1b, 499.0, vs_nation=(-1.0, 0.9, 0), low=(0.13, 0.03))
    found = derive(r, a)
    assert [(p.rule, p.region_id) for p in found] == [("county_low_share", a1a.pk)]
    p = found[0]
    assert p.target == ("level_share", "", "", "I") and p.better == -1 and p.value == 0.25
    assert p.evidence["se"] == pytest.approx((0.03**2 + 0.004**2) ** 0.5) and p.evidence["p_value"] < 1e-5
    assert p.evidence["level"] == "I" and "待提高水平的比例为25.0%" in p.text and "10.0%" in p.text
    assert "显著高于全国" in p.text
    # significant but under the line: 13% ± 0.002 is 3 points above the nation
    r2, a, _x, a1b = _one_province(rect, "science")
    f.county(r2, a1b, 499.0, low=(0.13, 0.002))
    assert derive(r2, a) == []
    assert [p.rule for p in derive(r2, a, Rules(county_share_gap=0.02))] == ["county_low_share"]


def test_county_low_share_needs_the_lowest_level(rect: Rect) -> None:
    """Without at-or-above rows the lowest level is unknown: the rule finds nothing rather than guess."""
    r = f.run(rect.cycle, "english")
    a, a1a = rect.world.regions["A"], rect.world.regions["A1a"]
    f.est(r, None, "mean", 500.0, 2.0)
    for code, v in f.LEVELS.items():
        f.est(r, None, "level_share", v, 0.004, key=code)
    f.county(r, a1a, 495.0, low=(0.40, 0.02))
    assert derive(r, a) == []


def test_county_rules_skip_suppressed_estimates(rect: Rect) -> None:
    r, a, a1a, a1b = _one_province(rect)
    f.county(r, a1a, 460.0, vs_nation=(-40.0, 0.0001, -1), vs_province=(-40.0, 0.0001, -1), low=(0.35, 0.03),
             suppressed=True)
    # the county's own rows are fine, but the nation's share at 待提高 is suppressed in this run
    f.county(r, a1b, 499.0, low=(0.35, 0.03))
    assert [p.rule for p in derive(r, a)] == ["county_low_share"]
    r2 = f.run(rect.cycle, "science")
    f.est(r2, None, "mean", 500.0, 2.0)
    f.nation_levels(r2)
    f.est(r2, a, "mean", 500.0, 2.0)
    r2.estimates.filter(level="nation", statistic="level_share", key="I").update(suppressed=True)
    f.county(r2, a1b, 499.0, low=(0.35, 0.03))
    assert derive(r2, a) == []
    # a suppressed difference with an unsuppressed mean: still nothing
    r3, a, a1a, _b = _one_province(rect, "chinese")
    f.county(r3, a1a, 460.0, vs_nation=(-40.0, 0.0001, -1))
    r3.estimates.filter(level="county", statistic="difference").update(suppressed=True)
    assert derive(r3, a) == []


def test_one_province_letter_lists_county_problems_of_every_subject(rect: Rect) -> None:
    """The demo's world: nothing at province level, the counties' shortfalls per subject."""
    Estimate.objects.filter(run=rect.run).delete()
    a, a1a, a1b = rect.world.regions["A"], rect.world.regions["A1a"], rect.world.regions["A1b"]
    for code in ("chinese", "math"):
        r = f.run(rect.cycle, code)
        f.one_province_world(r, a)
        f.county(r, a1a, 470.0, vs_nation=(-30.0, 0.00001, -1), vs_province=(-30.0, 0.00001, -1),
                 low=(0.24, 0.03))
        f.county(r, a1b, 530.0, vs_nation=(30.0, 0.00001, 1), vs_province=(30.0, 0.00001, 1), low=(0.04, 0.01))
    letter = services.letter_draft(actor=rect.admin, cycle=rect.cycle, province=a)
    got = list(letter.problems.order_by("seq").values_list("instrument_code", "rule", "path"))
    assert got == [("chinese", "county_below_nation", a1a.path), ("chinese", "county_low_share", a1a.path),
                   ("math", "county_below_nation", a1a.path), ("math", "county_low_share", a1a.path)]
    # the province is the nation: the same comparison is said once
    mean = letter.problems.filter(rule="county_below_nation").first()
    assert mean is not None and "显著低于全国和全省平均水平（500.0分），相差30.0分（p < 0.001）" in mean.text
    assert mean.comparison.startswith("低于全国和全省30.0分")
    for p in letter.problems.all():
        # "高于全国" is the shortfall itself where lower is better (the share at 待提高)
        for word in PRAISE if p.better == 1 else [w for w in PRAISE if w != "高于全国"]:
            assert word not in p.text, (p.rule, p.text)
