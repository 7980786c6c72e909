"""Engine behaviour beyond the R reference: suppression, between-school statistics against a hand computation
and simulation, contracts (row order, inputs not mutated, NaN rejected), levels and part-whole bookkeeping."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from naeq.engines.errors import EngineError
from naeq.engines.estimation import (
    BalancedCountyRule,
    Design,
    SuppressionRules,
    balanced_county,
    between_school_share,
    difference,
    levels,
    mean,
    part_whole,
    percentile,
    regression,
)
from naeq.engines.estimation.results import NO_SUPPRESSION
from naeq.engines.sampling import replicate_weights


def school_design(n_school: int, per: int, rng: np.random.Generator, *, icc: float = 0.2,
                  weights: bool = True) -> tuple[Design, np.ndarray]:
    school = np.repeat(np.arange(n_school), per)
    n = len(school)
    y = rng.normal(0, np.sqrt(icc), n_school)[school] + rng.normal(0, np.sqrt(1 - icc), n)
    w = rng.uniform(10, 30, n) if weights else np.ones(n)
    rw, _ = replicate_weights(w, school, scheme="jk2")
    return Design(w, rw, schools=school), y


def test_icc_equals_the_textbook_anova_estimate_when_balanced_and_unweighted() -> None:
    rng = np.random.default_rng(1)
    d, y = school_design(12, 15, rng, weights=False)
    est = between_school_share(d, y, rules=NO_SUPPRESSION)
    groups = y.reshape(12, 15)
    msb = 15 * ((groups.mean(axis=1) - y.mean()) ** 2).sum() / 11
    msw = ((groups - groups.mean(axis=1, keepdims=True)) ** 2).sum() / (180 - 12)
    assert est.value[0] == pytest.approx((msb - msw) / (msb + 14 * msw), rel=1e-12)
    eta = between_school_share(d, y, definition="eta_squared", rules=NO_SUPPRESSION)
    assert eta.value[0] == pytest.approx(msb * 11 / (msb * 11 + msw * 168), rel=1e-12)
    cv = between_school_share(d, y + 500, definition="cv", rules=NO_SUPPRESSION)
    assert cv.value[0] == pytest.approx(groups.mean(axis=1).std() / (y.mean() + 500), rel=1e-12)


def test_icc_recovers_the_population_value_by_simulation() -> None:
    """Would catch a wrong n0 or MSW denominator (both bias the ANOVA estimator by ~10% here)."""
    rng = np.random.default_rng(2)
    vals = [float(between_school_share(*school_design(40, 20, rng, icc=0.2), rules=NO_SUPPRESSION).value[0])
            for _ in range(150)]
    assert np.mean(vals) == pytest.approx(0.2, abs=0.01)  # MC SE of the mean ≈ 0.004


def test_between_school_share_by_county_is_vectorised_and_equals_one_county_at_a_time() -> None:
    rng = np.random.default_rng(3)
    d, y = school_design(30, 12, rng)
    county = (d.school_codes // 10).astype(int)
    pv = np.column_stack([y, y + rng.normal(0, 0.3, len(y))])
    allc = between_school_share(d, pv, by=county, rules=NO_SUPPRESSION)
    for c in range(3):
        one = between_school_share(d, pv, domain=county == c, rules=NO_SUPPRESSION)
        k = allc.index(c)
        assert allc.value[k] == pytest.approx(one.value[0], rel=1e-12)
        assert allc.se[k] == pytest.approx(one.se[0], rel=1e-12)


def test_balanced_county_applies_level_and_rate_thresholds() -> None:
    rng = np.random.default_rng(4)
    d, y = school_design(40, 15, rng, icc=0.05)
    county = (d.school_codes // 20).astype(int)
    score = 500 + 100 * y + np.where(county == 0, 80, -40)
    res = balanced_county(d, score, county, BalancedCountyRule(cuts=(420, 500, 600)), rules=NO_SUPPRESSION)
    by = {r.county[0]: r for r in res}
    assert by[0].level == "III" and by[0].level_ok  # mean ≈ 580: III is [500, 600)
    assert by[1].level == "II" and not by[1].level_ok and not by[1].passed
    assert by[0].rate_ok == (by[0].rate < 0.15)
    assert by[0].passed == (by[0].level_ok and by[0].rate_ok)


def test_suppression_rules_flag_small_groups_few_schools_and_high_cv() -> None:
    rng = np.random.default_rng(5)
    d, y = school_design(20, 10, rng)
    g = np.where(d.school_codes < 3, "small", "big")  # 3 schools, 30 students
    e = mean(d, y + 500, by=g)
    big, small = e.index("big"), e.index("small")
    assert not e.suppressed[big] and e.reason[big] == ""
    assert e.suppressed[small] and e.reason[small] == "min_n,min_schools"
    near_zero = mean(d, y * 0.01 + rng.normal(0, 1, len(y)) * 0.0 + 0.001 * rng.normal(size=len(y)))
    assert "max_cv" in near_zero.reason[0]
    relaxed = mean(d, y + 500, by=g, rules=SuppressionRules(min_n=20, min_schools=3, max_cv=None))
    assert not relaxed.suppressed.any()
    assert e.n[small] == 30 and e.n_schools[small] == 3
    assert e.sum_weights[small] == pytest.approx(d.weights[d.school_codes < 3].sum())


def test_levels_sum_to_one_and_at_least_matches_the_sum_of_upper_levels() -> None:
    rng = np.random.default_rng(6)
    d, y = school_design(20, 10, rng)
    s = 500 + 100 * np.column_stack([y, y + 0.1])
    e = levels(d, s, [420, 500, 580], rules=NO_SUPPRESSION)
    v = dict(zip(e.term, e.value, strict=True))
    assert sum(v[f"level[{c}]"] for c in ("I", "II", "III", "IV")) == pytest.approx(1.0)
    assert v["level[>=II]"] == pytest.approx(1 - v["level[I]"])
    # a score equal to a cut is in the higher level
    exact = levels(d, np.full(len(y), 500.0), [420, 500, 580], rules=NO_SUPPRESSION)
    assert exact.value[exact.term.index("level[III]")] == 1.0


def test_row_order_does_not_matter_and_inputs_are_not_mutated() -> None:
    rng = np.random.default_rng(7)
    d, y = school_design(16, 8, rng)
    pv = 500 + 100 * np.column_stack([y, y + 0.05, y - 0.05])
    x = rng.normal(size=len(y))
    perm = rng.permutation(len(y))
    d2 = Design(d.weights[perm], d.replicates[perm], schools=d.schools[perm] if d.schools is not None else None)
    pv_copy = pv.copy()
    for f in (lambda dd, p, xx: mean(dd, p), lambda dd, p, xx: percentile(dd, p, [0.5]),
              lambda dd, p, xx: regression(dd, p, xx), lambda dd, p, xx: between_school_share(dd, p)):
        a, b = f(d, pv, x), f(d2, pv[perm], x[perm])
        np.testing.assert_allclose(a.value, b.value, rtol=1e-10)
        np.testing.assert_allclose(a.se, b.se, rtol=1e-10)
    np.testing.assert_array_equal(pv, pv_copy)


def test_nan_and_negative_weights_are_rejected_with_a_clear_message() -> None:
    w = np.ones(4)
    rw = np.array([[0., 2.], [0., 2.], [2., 0.], [2., 0.]])
    with pytest.raises(EngineError, match="finite"):
        mean(Design(w, rw), np.array([1.0, np.nan, 2.0, 3.0]))
    with pytest.raises(EngineError, match="non-negative"):
        Design(np.array([1.0, -1.0, 1.0, 1.0]), rw)
    inside_one_psu = mean(Design(w, rw), np.arange(4.0), by=np.array([0, 0, 1, 1]))
    assert np.isnan(inside_one_psu.se).all() and all("no_se" in r for r in inside_one_psu.reason)


def test_differences_need_the_same_design_and_give_significance() -> None:
    rng = np.random.default_rng(8)
    d, y = school_design(30, 20, rng)
    sex = rng.integers(0, 2, len(y))
    e = mean(d, 500 + 100 * y + 30 * sex, by=sex)
    diff = difference(d, e, [e.index(1)], e, [e.index(0)])
    assert diff.value[0] == pytest.approx(e.value[e.index(1)] - e.value[e.index(0)])
    assert diff.significant[0] and diff.p[0] < 0.05
    other, _ = school_design(30, 20, rng)
    with pytest.raises(EngineError, match="same replicate weights"):
        difference(other, e, [0], e, [1])
    whole = mean(d, 500 + 100 * y + 30 * sex)
    pw = part_whole(d, e, whole, ["all", "all"])
    assert len(pw.value) == 2 and (pw.se > 0).all()


def test_rubin_between_pv_variance_enters_with_one_plus_one_over_m() -> None:
    rng = np.random.default_rng(9)
    d, y = school_design(20, 10, rng)
    shift = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    e = mean(d, y[:, None] + shift[None, :], rules=NO_SUPPRESSION)
    one = mean(d, y, rules=NO_SUPPRESSION)
    assert e.between[0] == pytest.approx(shift.var(ddof=1))
    assert e.se[0] ** 2 == pytest.approx(one.se[0] ** 2 + 1.2 * shift.var(ddof=1))
    assert np.isfinite(e.df[0]) and e.df[0] > 4


def _population(rng: np.random.Generator) -> dict[str, Any]:
    n_school = 1500
    size = np.clip(np.round(rng.lognormal(4.2, 0.6, n_school)), 25, 400).astype(int)
    school = np.repeat(np.arange(n_school), size)
    theta = 500 + rng.normal(0, 45, n_school)[school] + rng.normal(0, 90, len(school))
    return {"size": size, "start": np.concatenate(([0], np.cumsum(size)[:-1])), "theta": theta}


@pytest.mark.slow
def test_95_percent_intervals_of_a_mean_cover_the_truth_93_to_97_percent() -> None:
    """Repeated two-stage samples (PPS schools by the sampling engine's systematic PPS, 20 students by SRS) from
    one synthetic population; JK2 replicates from the sampling engine; 5 PVs drawn from each student's posterior
    given a noisy score. Would catch a missing (1 + 1/M) B term (coverage ≈ 0.90), a JK2 factor of ½ (≈ 0.83) or
    a wrong centring."""
    from naeq.engines.sampling import draw_students, pps_inclusion_probabilities, systematic_pps

    rng = np.random.default_rng(20261202)
    pop = _population(rng)
    truth = pop["theta"].mean()
    mu, var = truth, pop["theta"].var()
    sd_e = 60.0
    lam = var / (var + sd_e ** 2)
    hits, reps = 0, 800
    for _ in range(reps):
        order = rng.permutation(len(pop["size"]))
        size = pop["size"][order]
        pi_s = pps_inclusion_probabilities(size.astype(float), 40)
        take = systematic_pps(pi_s, rng)
        sch = np.flatnonzero(take)
        st = draw_students(size[sch], 20, rng)
        rows = pop["start"][order[sch]][st.school] + st.position
        w = 1.0 / (pi_s[sch][st.school] * st.pi)
        rw, _ = replicate_weights(w, st.school, scheme="jk2")
        obs = pop["theta"][rows] + rng.normal(0, sd_e, len(rows))
        pvs = (mu + lam * (obs - mu))[:, None] + rng.normal(0, np.sqrt(lam) * sd_e, (len(rows), 5))
        e = mean(Design(w, rw), pvs, rules=NO_SUPPRESSION)
        from scipy import stats

        half = stats.t.ppf(0.975, e.df[0]) * e.se[0]
        hits += abs(e.value[0] - truth) <= half
    assert 0.93 <= hits / reps <= 0.97, hits / reps


def test_jkn_with_the_sampling_engines_triples_matches_its_replicate_se() -> None:
    """The sampling engine's SEs (checked against R survey JKn with rscales 2/3 in tests/engines/sampling) and
    ours agree when a zone is a triple (odd number of schools)."""
    from naeq.engines.sampling import replicate_se

    rng = np.random.default_rng(10)
    school = np.repeat(np.arange(11), 9)
    w = rng.uniform(5, 20, len(school))
    y = rng.normal(500, 100, len(school))
    rw, scheme = replicate_weights(w, school, scheme="jk2")
    assert (scheme.rscales < 1).any()  # the triple's replicates
    e = mean(Design(w, rw, method="JKn", scale=scheme.scale, rscales=scheme.rscales), y, rules=NO_SUPPRESSION)
    assert e.se[0] == pytest.approx(replicate_se(y, w, rw, scheme), rel=1e-12)


def test_trend_adds_the_link_error_to_two_independent_samples() -> None:
    from naeq.engines.estimation import trend

    rng = np.random.default_rng(11)
    d1, y1 = school_design(20, 15, rng)
    d2, y2 = school_design(20, 15, rng)
    now = mean(d1, 510 + 100 * y1, rules=NO_SUPPRESSION)
    then = mean(d2, 500 + 100 * y2, rules=NO_SUPPRESSION)
    tr = trend(now, [0], then, [0], link_error=3.0)
    assert tr.value[0] == pytest.approx(now.value[0] - then.value[0])
    assert tr.se[0] == pytest.approx(np.sqrt(now.se[0] ** 2 + then.se[0] ** 2 + 9.0))
    no_link = trend(now, [0], then, [0])
    assert no_link.se[0] < tr.se[0] and no_link.p[0] <= tr.p[0]
    with pytest.raises(EngineError, match="link error"):
        trend(now, [0], then, [0], link_error=-1.0)


def test_a_weight_of_two_equals_the_row_repeated_in_its_school() -> None:
    rng = np.random.default_rng(12)
    school = np.repeat(np.arange(10), 6)
    w = np.ones(len(school))
    w[::5] = 2.0
    y = rng.normal(500, 100, len(school))
    rw, _ = replicate_weights(w, school, scheme="jk2")
    rep = np.repeat(np.arange(len(school)), w.astype(int))
    rw1, _ = replicate_weights(np.ones(len(rep)), school[rep], scheme="jk2")
    a = mean(Design(w, rw), y, rules=NO_SUPPRESSION)
    b = mean(Design(np.ones(len(rep)), rw1), y[rep], rules=NO_SUPPRESSION)
    assert a.value[0] == pytest.approx(b.value[0], rel=1e-12)
    assert a.se[0] == pytest.approx(b.se[0], rel=1e-12)
