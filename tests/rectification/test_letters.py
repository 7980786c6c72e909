"""The problem letter: which estimates become problems (naeq.rectification.letters), and the letter's life.

Seed (collected-county-and-school-plans.txt, plan six): "直接将监测中发现的主要问题发函至各省政府办公厅，且只列问题不谈
经验，要求制订整改方案、限期整改" — problems only, never praise."""

from __future__ import annotations

import pytest

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
        for word in PRAISE:
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
