"""Derived indicators against hand-computed examples from the published tables, and by simulation with known truth.

Sources (cited in naeq/pe/configs/standard.yaml): 教育部《国家学生体质健康标准（2014年修订）》（教体艺〔2014〕5号）,
附件 单项指标评分表 — BMI: 四年级男 正常 14.2~20.1, 低体重 ≤14.1, 超重 20.2~22.6, 肥胖 ≥22.7; 四年级女 13.7~19.4,
≤13.6, 19.5~22.0, ≥22.1; 初二男 15.7~22.5, ≤15.6, 22.6~25.2, ≥25.3; 初二女 15.3~22.2, ≤15.2, 22.3~24.8, ≥24.9.
肺活量 四年级男: 100分 2600, 90分 2400, 85分 2150, 70分 1500, 60分 1100, 50分 1030. 50米跑 初二女: 90分 8.2,
85分 8.5, 60分 10.8, 50分 11.0. 立定跳远 初二男: 90分 226, 60分 170, 50分 165. Poor vision: uncorrected vision
of the worse eye below 5.0; 4.9 轻度, 4.6–4.8 中度, ≤4.5 重度 (GB/T 26343—2010).
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from naeq.pe import indicators as ind
from naeq.pe.config import standard

NAN = np.nan


@pytest.fixture(scope="module")
def std() -> ind.Standard:
    return standard()


def test_the_module_imports_neither_django_nor_the_database() -> None:
    tree = ast.parse(Path(ind.__file__).read_text(encoding="utf-8"))
    imported = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {m for m in imported if m.startswith(("django", "naeq"))}, imported


def test_bmi_and_weight_status_hand_computed(std: ind.Standard) -> None:
    # (grade, sex, height cm, weight kg) -> BMI to 0.1 and status, computed by hand:
    cases = [
        (4, "M", 140.0, 40.0, 20.4, "over"),     # 40 / 1.40² = 20.408 -> 20.4: 超重 20.2~22.6
        (4, "M", 140.0, 39.4, 20.1, "normal"),   # 20.102 -> 20.1: top of 正常
        (4, "M", 140.0, 44.5, 22.7, "obese"),    # 22.704 -> 22.7: 肥胖 ≥22.7
        (4, "M", 140.0, 27.6, 14.1, "low"),      # 14.082 -> 14.1: 低体重 ≤14.1
        (4, "F", 130.0, 22.9, 13.6, "low"),      # 13.550 -> 13.6: 低体重 ≤13.6
        (4, "F", 130.0, 37.3, 22.1, "obese"),    # 22.071 -> 22.1: 肥胖 ≥22.1
        (8, "M", 160.0, 64.8, 25.3, "obese"),    # 25.3125 -> 25.3: 肥胖 ≥25.3
        (8, "M", 160.0, 64.5, 25.2, "over"),     # 25.195 -> 25.2: top of 超重
        (8, "F", 160.0, 56.8, 22.2, "normal"),   # 22.1875 -> 22.2: top of 正常
        (8, "F", 160.0, 63.8, 24.9, "obese"),    # 24.922 -> 24.9: 肥胖 ≥24.9
    ]
    g = np.array([c[0] for c in cases])
    s = np.array([c[1] for c in cases], dtype=object)
    b = ind.bmi(np.array([c[2] for c in cases]), np.array([c[3] for c in cases]))
    assert ind.round1(b).tolist() == [c[4] for c in cases]
    assert ind.weight_status(b, g, s, std).tolist() == [c[5] for c in cases]


def test_bmi_rounds_half_up_like_a_person(std: ind.Standard) -> None:
    # 20.15 is stored as 20.1499…; rounded by hand it is 20.2, which is 超重 for a grade-4 boy (not 正常).
    b = ind.bmi(np.array([100.0]), np.array([20.15]))
    assert ind.round1(b).tolist() == [20.2]
    assert ind.weight_status(b, np.array([4]), np.array(["M"], dtype=object), std).tolist() == ["over"]


def test_missing_values_give_no_status(std: ind.Standard) -> None:
    b = ind.bmi(ind.clean([-1, 140.0, None]), ind.clean([30.0, -1, 30.0]))
    assert np.isnan(b).all()
    assert ind.weight_status(b, np.array([4, 4, 4]), np.array(["M"] * 3, dtype=object), std).tolist() == [""] * 3


def test_vision_classes_by_the_worse_eye(std: ind.Standard) -> None:
    left = np.array([5.0, 4.8, 4.5, 5.0, NAN, NAN, 4.9])
    right = np.array([4.9, 5.1, 4.6, 5.2, 4.7, NAN, 5.3])
    worse = ind.worse_eye(left, right)
    assert ind.vision_class(worse, std).tolist() == ["mild", "moderate", "severe", "normal", "moderate", "", "mild"]


def test_item_scores_from_the_published_tables(std: ind.Standard) -> None:
    vc4m = std.tables[("vc", 4, "M")]
    assert ind.item_score(np.array([2600, 2599, 2400, 2399, 1500, 1100, 1099, 749, NAN]), vc4m).tolist()[:8] == [
        100, 95, 90, 85, 70, 60, 50, 0]
    run8f = std.tables[("run50", 8, "F")]  # lower is better
    assert ind.item_score(np.array([8.0, 8.2, 8.3, 10.8, 10.9, 13.0]), run8f).tolist() == [100, 90, 85, 60, 50, 0]
    jump8m = std.tables[("jump", 8, "M")]
    assert ind.item_score(np.array([240, 226, 225, 170, 169]), jump8m).tolist() == [100, 90, 85, 60, 50]
    assert vc4m.published and run8f.published and jump8m.published


def test_items_the_standard_does_not_cover_are_configured_norms(std: ind.Standard) -> None:
    """The 2014 Standard has no grip, no 15 m shuttle and no standing long jump in grade 4: those tables exist (so
    rates can be reported) but are marked as configuration, and say so in their source."""
    for key in [("grip", 4, "M"), ("grip", 8, "F"), ("shuttle", 4, "F"), ("shuttle", 8, "M"), ("jump", 4, "M")]:
        t = std.tables[key]
        assert not t.published, key
        assert "暂定" in t.source, key
    for key in [("vc", 4, "F"), ("vc", 8, "M"), ("run50", 4, "M"), ("run50", 8, "M"), ("jump", 8, "F")]:
        assert std.tables[key].published, key
        assert "教体艺〔2014〕5号" in std.sources["standard"]


def test_best_of_trials() -> None:
    t = np.array([[120, 131, NAN], [NAN, NAN, NAN], [NAN, 140, 138]])
    assert ind.best_of(t, "max").tolist()[0] == 131
    assert np.isnan(ind.best_of(t, "max")[1])
    assert ind.best_of(t, "max")[2] == 140
    assert ind.best_of(np.array([[4.9, 4.6]]), "min").tolist() == [4.6]


def test_group_rates_hand_computed(std: ind.Standard) -> None:
    # Four grade-4 boys: VC 2450 (90, pass, excellent), 1500 (70, pass), 1000 (50, fail), missing.
    gi = ind.group_indicators(
        grades=np.array([4, 4, 4, 4]), sexes=np.array(["M"] * 4, dtype=object),
        height=np.array([140.0, 140.0, 140.0, NAN]), weight=np.array([40.0, 30.0, 44.5, 30.0]),
        vision_l=np.array([5.0, 4.8, 4.4, NAN]), vision_r=np.array([5.1, 5.0, 4.9, NAN]),
        results={"vc": np.array([2450, 1500, 1000, NAN])}, std=std)
    assert gi.passed["vc"] == ind.Rate(3, 2)
    assert gi.excellent["vc"] == ind.Rate(3, 1)
    assert gi.weight_status == {"low": 0, "normal": 1, "over": 1, "obese": 1}  # 20.4 over, 15.3 normal, 22.7 obese
    assert (gi.obesity.k, gi.obesity.n) == (1, 3)
    assert gi.poor_vision == ind.Rate(3, 2)  # 5.0 normal; 4.8 moderate; 4.4 severe
    assert gi.vision["moderate"] == 1 and gi.vision["severe"] == 1


def test_simulated_pass_rates_recover_the_truth(std: ind.Standard) -> None:
    """Known truth: grade-8 girls' 50 m times ~ N(9.6, 0.9²). Pass (60 points) is a time ≤ 10.8 s, excellent (90) ≤
    8.2 s, so the true rates are Φ((10.8-9.6)/0.9) and Φ((8.2-9.6)/0.9), computed with scipy. With n = 4000 the
    binomial SE is ≤ 0.008; the estimates must lie within 4 SE (a wrong direction, a shifted table or an
    off-by-one level would miss by far more). Times are rounded to 0.1 s as recorded, so the truth uses the
    rounding boundaries 10.85 and 8.25."""
    rng = np.random.default_rng(20240523)
    n = 4000
    t = np.round(rng.normal(9.6, 0.9, n), 1)
    gi = ind.group_indicators(grades=np.full(n, 8), sexes=np.full(n, "F", dtype=object), height=np.full(n, NAN),
                              weight=np.full(n, NAN), vision_l=np.full(n, NAN), vision_r=np.full(n, NAN),
                              results={"run50": t}, std=std)
    p_pass = stats.norm.cdf(10.85, 9.6, 0.9)
    p_exc = stats.norm.cdf(8.25, 9.6, 0.9)
    for rate, p in ((gi.passed["run50"].rate, p_pass), (gi.excellent["run50"].rate, p_exc)):
        se = np.sqrt(p * (1 - p) / n)
        assert rate is not None and abs(rate - p) < 4 * se, (rate, p)


def test_inputs_are_not_mutated(std: ind.Standard) -> None:
    h = np.array([140.0, 150.0])
    w = np.array([30.0, -1.0])
    ind.bmi(h, w)
    ind.clean(w)
    assert w.tolist() == [30.0, -1.0]
