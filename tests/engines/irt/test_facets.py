"""The many-facet partial-credit model (naeq.engines.irt.facets): recovery of known truth, standard errors against
the numerical Hessian of the marginal likelihood and against the spread over replications (interval coverage),
identification, rater fit, validation. The comparison with eRm's LPCM is in test_facets_reference.py."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.special import logsumexp

from naeq.engines.errors import EngineError
from naeq.engines.irt.data import ResponseDataError
from naeq.engines.irt.facets import (
    fit_facets,
    marginal_log_likelihood,
    ratings_from_long,
    simulate_ratings,
)


def test_recovers_rater_severities_steps_and_sigma_of_a_double_scored_design() -> None:
    # The design of the issue: 1,500 students, 4 tasks scored 0–4, 8 raters in [−0.8, 0.8], 25 % double scored.
    # Catches a sign error (harsh raters would come out lenient), a shifted category, a wrong scale (σ), and
    # double ratings treated as one (SEs too small, z beyond 3).
    sim = simulate_ratings(1500, n_items=4, max_score=4, n_raters=8, double_share=0.25, sigma=1.2, seed=11)
    res = fit_facets(sim.ratings)
    assert res.converged
    z = (res.severity - sim.severity) / res.severity_se
    assert np.all(np.abs(z) < 3), z
    assert np.corrcoef(res.severity, sim.severity)[0, 1] > 0.95
    assert abs(res.severity.sum()) < 1e-10                     # sum-to-zero identification
    assert np.all((res.severity_se > 0.02) & (res.severity_se < 0.08))
    # steps: μ = 0 fixes their location to the sample's θ mean, so compare within 3 SE plus the sampling error of
    # the mean of θ (σ/√n ≈ 0.03)
    step_err = np.abs(res.steps - sim.steps) - 0.1
    assert np.all(step_err < 3 * res.steps_se), res.steps - sim.steps
    assert abs(res.sigma - 1.2) < 3 * res.sigma_se + 0.01
    # ratings per rater: first and second ratings are counted separately
    assert res.rater_n.sum() == len(sim.ratings)


def test_standard_errors_are_the_observed_information_of_the_marginal_likelihood() -> None:
    # Louis's formula against a central-difference Hessian of the very function maximised (2 tasks 0–3, 4 raters):
    # a missing term (the posterior variance of the score, the prior's curvature in log σ, the pairs of ratings of
    # one person) changes the SEs by several per cent; agreement is to finite-difference accuracy.
    sim = simulate_ratings(400, n_items=2, max_score=3, n_raters=4, double_share=0.5, seed=3)
    res = fit_facets(sim.ratings, tol=1e-9)
    mask = np.isfinite(res.steps)
    n_steps = int(mask.sum())
    cmat = np.vstack([np.eye(3), -np.ones((1, 3))])
    x0 = np.concatenate([res.steps[mask], res.severity[:3], [np.log(res.sigma)]])

    def f(x: np.ndarray) -> float:
        steps = np.full(res.steps.shape, np.nan)
        steps[mask] = x[:n_steps]
        return marginal_log_likelihood(sim.ratings, steps, cmat @ x[n_steps:-1], float(np.exp(x[-1])))

    assert f(x0) == pytest.approx(res.log_likelihood, rel=1e-12)
    h, n = 1e-3, len(x0)
    hess = np.zeros((n, n))
    for a in range(n):
        for b in range(a, n):
            ea, eb = np.eye(n)[a] * h, np.eye(n)[b] * h
            hess[a, b] = hess[b, a] = (f(x0 + ea + eb) - f(x0 + ea - eb) - f(x0 - ea + eb) + f(x0 - ea - eb)) / (
                4 * h * h)
    cov = np.linalg.inv(-hess)
    se_rho = np.sqrt(np.diag(cmat @ cov[n_steps:-1, n_steps:-1] @ cmat.T))
    np.testing.assert_allclose(res.severity_se, se_rho, rtol=1e-4)
    np.testing.assert_allclose(res.steps_se[mask], np.sqrt(np.diag(cov))[:n_steps], rtol=1e-4)
    assert res.sigma_se == pytest.approx(res.sigma * np.sqrt(cov[-1, -1]), rel=1e-4)
    # at the maximum the gradient is zero: no coordinate direction raises the likelihood
    for a in range(n):
        e = np.eye(n)[a] * 1e-4
        assert f(x0 + e) <= f(x0) + 1e-7 and f(x0 - e) <= f(x0) + 1e-7


def test_95_percent_intervals_of_the_severities_cover_the_truth_at_the_nominal_rate() -> None:
    # 12 replications × 8 raters = 96 intervals. With true coverage 0.95 the count of misses is Binomial(96, 0.05)
    # (mean 4.8); fewer than 12 misses has probability > 0.998. SEs half the right size (double ratings treated
    # as independent persons, say) would miss about a third of the time; SEs twice too large would miss none —
    # so at least one miss is required too (probability of none under 0.95 coverage: 0.007).
    misses = total = 0
    for rep in range(12):
        sim = simulate_ratings(500, n_items=4, max_score=4, n_raters=8, double_share=0.25, seed=1000 + rep)
        res = fit_facets(sim.ratings, tol=1e-5)
        misses += int(np.sum(np.abs(res.severity - sim.severity) > 1.96 * res.severity_se))
        total += len(sim.severity)
    assert total == 96
    assert 1 <= misses < 12, misses


def test_anchoring_a_rater_gives_the_same_fit_shifted() -> None:
    sim = simulate_ratings(600, n_items=3, max_score=2, n_raters=5, seed=8)
    free = fit_facets(sim.ratings, tol=1e-8)
    anchored = fit_facets(sim.ratings, anchor="R03", tol=1e-8)
    k = list(sim.ratings.raters).index("R03")
    assert anchored.severity[k] == 0.0 and anchored.severity_se[k] == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(anchored.severity, free.severity - free.severity[k], atol=2e-5)
    # δ and ρ trade off one for one: every step moves by the anchor's sum-zero severity
    np.testing.assert_allclose(anchored.steps, free.steps + free.severity[k], atol=2e-5)
    assert anchored.log_likelihood == pytest.approx(free.log_likelihood, abs=1e-6)
    assert anchored.sigma == pytest.approx(free.sigma, abs=1e-6)
    # differences between raters do not depend on the identification, nor do their SEs
    d_free = free.severity_cov[0, 0] + free.severity_cov[1, 1] - 2 * free.severity_cov[0, 1]
    d_anch = anchored.severity_cov[0, 0] + anchored.severity_cov[1, 1] - 2 * anchored.severity_cov[0, 1]
    assert d_anch == pytest.approx(d_free, rel=1e-4)
    with pytest.raises(EngineError, match="anchor"):
        fit_facets(sim.ratings, anchor="R99")


def test_row_order_does_not_matter_and_inputs_are_not_mutated() -> None:
    sim = simulate_ratings(300, n_items=2, max_score=3, n_raters=4, seed=5)
    r = sim.ratings
    rows = (r.persons[r.person], np.array(r.items)[r.item], r.raters[r.rater], r.score.copy())
    perm = np.random.default_rng(1).permutation(len(r))
    a = fit_facets(ratings_from_long(*rows, {"T1": 3, "T2": 3}))
    b = fit_facets(ratings_from_long(*(x[perm] for x in rows), {"T1": 3, "T2": 3}))
    np.testing.assert_allclose(a.severity, b.severity, atol=1e-10)
    np.testing.assert_allclose(a.severity_se, b.severity_se, rtol=1e-8)
    np.testing.assert_allclose(a.rater_infit, b.rater_infit, rtol=1e-8)
    assert np.array_equal(rows[3], r.score)


def _rescore(sim: object, rater: str, how: str, seed: int) -> object:
    """The simulated ratings with one rater's scores replaced: ``noisy`` (uniform at random) or ``central``
    (everything pulled to the middle category: 0→1, 4→3)."""
    r = sim.ratings  # type: ignore[attr-defined]
    score = r.score.copy()
    mine = r.raters[r.rater] == rater
    rng = np.random.default_rng(seed)
    if how == "noisy":
        score[mine] = rng.integers(0, 5, int(mine.sum()))
    else:
        score[mine] = np.clip(score[mine], 1, 3)
    return ratings_from_long(r.persons[r.person], np.array(r.items)[r.item], r.raters[r.rater], score,
                             {i: 4 for i in r.items})


def test_rater_fit_is_one_under_the_model_and_catches_noisy_and_central_raters() -> None:
    sim = simulate_ratings(1500, n_items=4, max_score=4, n_raters=8, seed=21)
    res = fit_facets(sim.ratings)
    # expectation 1 under the model (posterior-averaged residuals); at n ≈ 940 ratings per rater the sampling SD
    # of a mean square is ≈ 0.05
    assert np.all(np.abs(res.rater_infit - 1) < 0.15) and np.all(np.abs(res.rater_outfit - 1) < 0.15)
    assert np.all(np.abs(res.item_infit - 1) < 0.1)
    noisy = fit_facets(_rescore(sim, "R02", "noisy", 1))
    k = list(sim.ratings.raters).index("R02")
    assert noisy.rater_infit[k] > 1.3 and noisy.rater_outfit[k] > 1.3
    others = np.delete(np.arange(8), k)
    assert np.all(noisy.rater_infit[others] < 1.15)
    central = fit_facets(_rescore(sim, "R05", "central", 2))
    k = list(sim.ratings.raters).index("R05")
    assert central.rater_infit[k] < 0.85 and central.rater_outfit[k] < 0.85


def test_a_harsh_rater_is_flagged_and_a_near_average_one_is_not() -> None:
    sev = np.array([1.0, 0.1, -0.1, -0.2, 0.0, -0.3, -0.2, -0.3])
    sim = simulate_ratings(1200, n_items=4, max_score=4, n_raters=8, severity=sev - sev.mean(), seed=4)
    res = fit_facets(sim.ratings)
    flags = res.flagged(z=2.0, min_logit=0.3)
    assert flags[0] and res.severity[0] > 0.8
    assert not flags[1:5].any()          # near average: |ρ| below 0.3 logits even when significant
    rows = res.rater_rows()
    assert rows[0]["rater"] == "R01" and rows[0]["flagged"] and rows[0]["z"] > 10
    assert {"n", "severity", "se", "infit", "outfit"} <= set(rows[0])
    # a stricter size threshold drops it, a looser one keeps it
    assert not res.flagged(min_logit=1.5)[0] and res.flagged(z=3, min_logit=0.5)[0]


def test_simulated_probabilities_are_the_model() -> None:
    # the simulator and the likelihood agree: category shares of one rater on one task at θ ≈ N(0, 1) match the
    # model's marginal probabilities (catches a simulator that uses another sign convention than the fit).
    sim = simulate_ratings(20000, n_items=1, max_score=3, n_raters=2, severity=[0.6, -0.6], double_share=0.0,
                           seed=9)
    r = sim.ratings
    nodes = np.linspace(-6, 6, 121)
    w = np.exp(-0.5 * nodes**2)
    w /= w.sum()
    for k, rho in enumerate((0.6, -0.6)):
        kk = np.arange(4)
        cum = np.concatenate([[0.0], np.cumsum(sim.steps[0])])
        eta = kk[None, :] * (nodes[:, None] - rho) - cum[None, :]
        p = np.exp(eta - logsumexp(eta, axis=1, keepdims=True))
        expected = w @ p
        got = np.bincount(r.score[r.rater == k], minlength=4) / np.sum(r.rater == k)
        np.testing.assert_allclose(got, expected, atol=0.015)


def test_bad_ratings_are_refused_with_their_rows() -> None:
    good = (["s1", "s1", "s2"], ["t1", "t1", "t1"], ["a", "b", "a"], [2, 1, 0])
    with pytest.raises(ResponseDataError) as e:
        ratings_from_long(*good[:3], [2, 5, 0], {"t1": 4})
    assert e.value.reason == "out_of_range" and e.value.rows == (2,)
    with pytest.raises(ResponseDataError) as e:
        ratings_from_long(["s1", "s1"], ["t1", "t1"], ["a", "a"], [1, 2], {"t1": 4})
    assert e.value.reason == "duplicate" and e.value.rows == (2,)
    with pytest.raises(ResponseDataError) as e:
        ratings_from_long(*good[:3], [2, 1.5, 0], {"t1": 4})
    assert e.value.reason == "non_integer"
    with pytest.raises(ResponseDataError) as e:
        ratings_from_long(*good[:3], [2, float("nan"), 0], {"t1": 4})
    assert e.value.reason == "non_finite"
    with pytest.raises(ResponseDataError) as e:
        ratings_from_long(good[0], ["t1", "t9", "t1"], good[2], good[3], {"t1": 4})
    assert e.value.reason == "unknown_item" and e.value.rows == (2,)
    # a category nobody obtained cannot have its step estimated
    with pytest.raises(EngineError, match="nobody obtained"):
        fit_facets(ratings_from_long(*good, {"t1": 4}))


def test_disconnected_raters_are_named_in_the_warnings() -> None:
    # two raters, each scoring different persons only: linked through the population assumption alone
    rng = np.random.default_rng(3)
    n = 400
    persons = np.arange(n)
    rater = np.where(persons < n // 2, "a", "b")
    score = rng.integers(0, 3, n)
    r = ratings_from_long(persons, np.full(n, "t1"), rater, score, {"t1": 2})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = fit_facets(r)
    assert any("share no person" in w for w in res.warnings)
