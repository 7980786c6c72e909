"""A small simulation with known truth: two-stage samples (4 provinces × 6 counties, 6 schools per county, 15
students per school) from a model with county, school and student effects around a true national mean of 500, five
noisy plausible values, JK2 replicates (counties paired within provinces for the national set, schools paired
within counties for the county set). Over 60 samples the national mean's 95% interval from :func:`compute` must
cover 500 about 95% of the time, and county − nation comparisons of a county 30 points above must mostly be ▲.
No database: the arrays go straight into the run's computation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from naeq.analysis.adapters import EstimationInputs, ReplicateSet
from naeq.analysis.services import DEFAULTS, compute

TRUTH = 500.0


def _sample(rng: np.random.Generator, shift_county: int = 0) -> EstimationInputs:
    provinces, counties, schools, students, m = 4, 6, 6, 15, 5
    rows = []
    for p in range(provinces):
        for c in range(counties):
            ce = rng.normal(0, 20) + (30.0 if (p, c) == (0, shift_county) else 0.0)
            for s in range(schools):
                se = rng.normal(0, 25)
                for _ in range(students):
                    rows.append((p, c, s, TRUTH + ce + se + rng.normal(0, 80)))
    p_ix = np.array([r[0] for r in rows])
    c_ix = np.array([r[1] for r in rows])
    s_ix = np.array([r[2] for r in rows])
    y = np.array([r[3] for r in rows])
    n = len(y)
    pvs = y[:, None] + rng.normal(0, 25, size=(n, m))
    w = np.ones(n)
    # national JK2: in province p, pair k = counties (2k, 2k+1); replicate (p, k) drops 2k and doubles 2k+1
    pairs = counties // 2
    nat = np.repeat(w[:, None], provinces * pairs, axis=1)
    for p in range(provinces):
        for k in range(pairs):
            r = p * pairs + k
            nat[(p_ix == p) & (c_ix == 2 * k), r] = 0.0
            nat[(p_ix == p) & (c_ix == 2 * k + 1), r] = 2.0
    # county JK2: replicate k perturbs school pair k in every county
    cnt = np.repeat(w[:, None], schools // 2, axis=1)
    for k in range(schools // 2):
        cnt[s_ix == 2 * k, k] = 0.0
        cnt[s_ix == 2 * k + 1, k] = 2.0
    county = np.array([f"{11 + p}0000/{11 + p}0100/{11 + p}01{c + 1:02d}/" for p, c in zip(p_ix, c_ix, strict=True)])
    province = np.array([f"{11 + p}0000/" for p in p_ix])
    school = np.array([f"S{p}{c}{s}" for p, c, s in zip(p_ix, c_ix, s_ix, strict=True)])
    return EstimationInputs(
        taker_ids=np.arange(n, dtype=np.int64), pvs=pvs, final_weight=w, national_weight=w.copy(),
        county_reps=ReplicateSet(cnt, "jk2", 1.0, np.ones(cnt.shape[1])),
        national_reps=ReplicateSet(nat, "jk2", 1.0, np.ones(nat.shape[1])), county=county, province=province,
        school=school, sex=np.array(["MF"[i % 2] for i in range(n)]), urban_rural=np.full(n, "urban"),
        cuts=(420.0, 500.0, 580.0))


@pytest.mark.slow
def test_national_interval_covers_the_truth() -> None:
    rng = np.random.default_rng(20261203)
    covered, above = 0, 0
    reps = 60
    opts = {**DEFAULTS, "quantiles": [0.5]}
    for _ in range(reps):
        inp = _sample(rng)
        rows = compute(inp, opts)
        nat = next(r for r in rows if r["level"] == "nation" and r["statistic"] == "mean" and not r["group_var"])
        t = stats.t.ppf(0.975, nat["extra"]["df"]) if nat["extra"]["df"] else 1.96
        covered += abs(nat["value"] - TRUTH) <= t * nat["se"]
        shifted = next(r for r in rows if r["level"] == "county" and r["path"] == "110000/110100/110101/"
                       and r["key"] == "vs_nation")
        above += shifted["sign"] == 1
    print(f"coverage {covered}/{reps}, county ▲ {above}/{reps}")
    assert 0.88 <= covered / reps <= 1.0, covered
    assert above >= reps // 3, above  # a 30-point county advantage is usually detected
