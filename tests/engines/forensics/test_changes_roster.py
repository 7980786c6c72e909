"""``changed_after_close`` and ``roster_changed``: the two indicators that need the platform's logs.

Seed rule (2023-national-briefing.txt): "原始数据初筛：利用统计指标，定位数据异常区县". A normal online system
writes no answer after its session closed, and a roster hardly changes in the days before the test; a unit where
either happens systematically is located, one stray event is not a finding.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from naeq.cli import main
from naeq.engines.errors import EngineError
from naeq.engines.forensics import indicators as ind
from naeq.engines.forensics import screen
from tests.engines.forensics.simulate import simulate
from tests.engines.forensics.test_cli import _args, files  # noqa: F401  (the fixture)


def test_changed_after_close_one_stray_sync_is_not_a_finding_a_class_altered_is():
    n_units, per = 200, 30
    unit = np.repeat(np.arange(n_units), per)
    rows = np.array([17, 3001, 4500])  # three stray late syncs in three schools, one person each
    clean = ind.changed_after_close(unit, rows, np.ones(3), n_units, len(unit))
    # floor 0.2 %: P(Bin(30, 0.002) ≥ 1) ≈ 0.058 — far from any multiple-testing threshold
    assert np.nanmin(clean.p) > 0.05
    assert clean.expected[0] == pytest.approx(30 * ind.CHANGED_FLOOR)
    altered = np.r_[rows, np.arange(40 * per, 40 * per + 12)]  # a teacher changes 12 students' answers
    hit = ind.changed_after_close(unit, altered, np.full(len(altered), 4), n_units, len(unit))
    assert int(np.nanargmin(hit.p)) == 40 and hit.p[40] < 1e-20 and hit.statistic[40] == 12
    # several entries of one person are one person; a zero count is no change
    dup = ind.changed_after_close(unit, np.array([0, 0, 0, 31]), np.array([1, 2, 1, 0]), n_units, len(unit))
    assert dup.statistic[0] == 1 and dup.statistic[1] == 0


def test_changed_after_close_base_rate_is_robust_to_cheating_units():
    # A system with a genuine 5 % background of late writes: the median unit rate finds it, and 20 % of the units
    # altering answers wholesale do not raise it (a pooled rate would be 0.24 and hide them).
    rng = np.random.default_rng(4)
    n_units, per = 100, 40
    unit = np.repeat(np.arange(n_units), per)
    late = rng.random(len(unit)) < 0.05
    cheat = np.arange(20)
    late |= np.isin(unit, cheat) & (rng.random(len(unit)) < 0.8)
    rows = np.flatnonzero(late)
    res = ind.changed_after_close(unit, rows, np.ones(len(rows)), n_units, len(unit))
    assert res.expected[50] / per == pytest.approx(0.05, abs=0.02)
    assert (res.p[cheat] < 1e-10).all()
    assert (res.p[20:] < 1e-3).sum() <= 1


def test_changed_after_close_bad_input():
    unit = np.zeros(5, dtype=int)
    with pytest.raises(EngineError, match="non-negative integers"):
        ind.changed_after_close(unit, [1], [-1], 1, 5)
    with pytest.raises(EngineError, match="outside the persons"):
        ind.changed_after_close(unit, [9], [1], 1, 5)
    with pytest.raises(EngineError, match="differ in length"):
        ind.changed_after_close(unit, [1, 2], [1], 1, 5)


def test_rate_excess_tiny_and_zero_pooled_rate():
    n = np.full(300, 30.0)
    x = np.zeros(300)
    # pooled rate zero: nothing to find, every p is 1 (the old normal z gave NaN)
    assert np.all(ind.rate_excess("replaced", x, n).p == 1.0)
    # the nation's only roster change: 1 − (1 − 0.005)^30 ≈ 0.14 with the roster floor; the old normal z with the
    # pooled rate 1/9000 gave z ≈ 5.5 (p ≈ 2·10⁻⁸, a flag)
    x[7] = 1
    one = ind.rate_excess("roster_changed", x, n)
    assert one.p[7] == pytest.approx(1 - (1 - 0.005) ** 30, rel=1e-6)
    # without a floor the exact binomial tail at the pooled rate: 1 − (1 − 1/9000)^30 ≈ 0.0033, not 10⁻⁸
    bare = ind.rate_excess("absent", x, n)
    assert bare.p[7] == pytest.approx(1 - (1 - 1 / 9000) ** 30, rel=1e-6)
    # a school whose roster changed by a third just before the test is found even where changes are rare
    x[42] = 10
    hit = ind.rate_excess("roster_changed", x, n)
    assert int(np.argmin(hit.p)) == 42 and hit.p[42] < 1e-12 and hit.p[7] > 0.1


def test_rate_excess_binomial_tail_is_calibrated_on_clean_data():
    # 2,000 null units at 4 %: the share with p ≤ 0.01 stays at or below 1 % (binomial 99.9 % bound 1.8 %)
    rng = np.random.default_rng(12)
    n = rng.integers(25, 40, 2000).astype(float)
    x = rng.binomial(n.astype(int), 0.04).astype(float)
    p = ind.rate_excess("absent", x, n).p
    assert (p <= 0.01).mean() <= 0.018 and (p <= 0.05).mean() <= 0.065


def test_screen_changed_and_roster_flag_the_altering_county():
    rng = np.random.default_rng(21)
    sim = simulate(rng, n_schools=60, size=20, schools_per_county=4)
    n_s = 60
    sampled = np.full(n_s, 22.0)
    roster = rng.binomial(22, 0.003, n_s).astype(float)
    rows = np.array([5, 300, 777])  # stray syncs
    clean = screen(sim.x, sim.key, school=sim.school, county=sim.county, exact_tests=False,
                   participation={"roster_changed": (roster, sampled)}, changed=(rows, np.ones(3)))
    assert "changed_after_close" in clean.counties.p and "roster_changed" in clean.schools.p
    assert not clean.counties.flag.any() and not clean.schools.flag.any()
    altered = np.r_[rows, np.flatnonzero(sim.school == 13)[:10], np.flatnonzero(sim.school == 14)[:8]]
    roster2 = roster.copy()
    roster2[[13, 14]] = 7  # stronger students swapped in just before the test
    res = screen(sim.x, sim.key, school=sim.school, county=sim.county, exact_tests=False,
                 participation={"roster_changed": (roster2, sampled)},
                 changed=(altered, np.full(len(altered), 3)))
    assert np.flatnonzero(res.counties.flag).tolist() == [3]
    assert set(np.flatnonzero(res.schools.flag)) == {13, 14}
    assert res.counties.q["changed_after_close"][3] <= 0.05 and res.counties.q["roster_changed"][3] <= 0.05


def _write(path: Path, header: list[str], rows: list[list[object]]) -> str:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return str(path)


def test_cli_changes_and_roster_column(files):  # noqa: F811
    tmp, f, persons = files
    changes = _write(tmp / "changes.csv", ["person", "changed"],
                     [[p, 5] for p in persons[100:112]] + [[persons[3], 1]])
    part = _write(tmp / "participation_r.csv", ["school", "sampled", "absent", "roster_changed"],
                  [[f"S{s:02d}", 22, 1, 6 if s == 5 else 0] for s in range(12)])
    out = tmp / "out_changes"
    res = CliRunner().invoke(main, [*_args(f, out, participation=part), "--changes", changes, "--fast"])
    assert res.exit_code == 0, res.output
    schools = {r["unit"]: r for r in csv.DictReader((out / "schools.csv").open(encoding="utf-8"))}
    assert schools["S05"]["changed_after_close_stat"] == "12" and schools["S05"]["flag"] == "1"
    assert "changed_after_close" in schools["S05"]["drivers"] and "roster_changed" in schools["S05"]["drivers"]
    assert schools["S00"]["changed_after_close_stat"] == "1" and "changed_after_close" not in schools["S00"]["drivers"]


@pytest.mark.parametrize(("text", "expect"), [
    ("person,changed\nP0000,2\nP0000,1\n", ["changes_bad.csv", "第3行", "列“person”", "重复（第2行已出现）"]),
    ("person,changed\nP0000,-1\n", ["changes_bad.csv", "第2行", "列“changed”", "应不小于0"]),
    ("person,changed\nP0000,1.5\n", ["changes_bad.csv", "第2行", "列“changed”", "应为整数"]),
    ("person,changed\nNOBODY,1\n", ["changes_bad.csv", "第2行", "列“person”", "未知的考生“NOBODY”"]),
    ("person,count\nP0000,1\n", ["changes_bad.csv", "第1行", "列“changed”", "缺少必需的列"]),
])
def test_cli_changes_bad_input(files, text, expect):  # noqa: F811
    tmp, f, _ = files
    bad = tmp / "changes_bad.csv"
    bad.write_text(text, encoding="utf-8")
    out = tmp / "out_bad_changes"
    res = CliRunner().invoke(main, [*_args(f, out), "--changes", str(bad)])
    assert res.exit_code == 1, res.output
    for piece in expect:
        assert piece in res.output
    assert not out.exists()


def test_cli_roster_above_sampled_is_refused(files):  # noqa: F811
    tmp, f, _ = files
    bad = _write(tmp / "part_bad.csv", ["school", "sampled", "roster_changed"], [["S00", 20, 21]])
    res = CliRunner().invoke(main, _args(f, tmp / "o", participation=bad))
    assert res.exit_code == 1 and "part_bad.csv 第2行 列“roster_changed”" in res.output
    help_ = CliRunner().invoke(main, ["screen", "--help"])
    assert "--changes" in help_.output and "roster_changed" in help_.output
