"""The ranked chart of a screening run (naeq.quality.charts): an SVG with Chinese text, flagged units in their
colour, the chance line, and the same SVG for the same numbers."""

from __future__ import annotations

import re

from naeq.quality import charts


def test_the_ranked_chart_draws_flagged_units_in_colour() -> None:
    points = [(1e-40, True), (1e-6, True), (0.0, True), (0.2, False), (0.7, False), (1.0, False)]
    svg = charts.ranked_svg(points, n_units=10, level_label="学校")
    assert svg.startswith("<svg") and "</svg>" in svg
    assert "学校综合p值排序" in svg and "前 6 个，共 10 个" in svg and "疑似异常（3）" in svg
    assert "无异常时的期望" in svg and "未标记" in svg
    # one marker per unit, flagged ones in the flag colour
    assert len(re.findall(charts.FLAG_COLOUR, svg, flags=re.I)) >= 1
    assert charts.ranked_svg(points, n_units=10, level_label="学校") == svg   # deterministic


def test_all_units_shown_and_no_points() -> None:
    svg = charts.ranked_svg([(0.5, False), (0.9, False)], n_units=2, level_label="区县")
    assert "共 2 个" in svg and "前 " not in svg and "疑似异常" not in svg
    assert charts.ranked_svg([], n_units=0, level_label="区县") == ""


def test_heights() -> None:
    assert charts._height(1e-5) == 5.0 and charts._height(1.0) == 0.0
    assert charts._height(0.0) == 300.0 and charts._height(float("nan")) == 0.0
