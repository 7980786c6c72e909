"""Plausible values and the conditioning model, checked by simulation with known truth.

The item response side is a dense 2PL written out here (independent of the calibration engine), so a failure
points at the population model. Sizes are small so that the file runs in a few seconds; ``bench/bench_pv.py``
repeats the bias and coverage checks over many more replications.
"""

from __future__ import annotations

import doctest
import warnings

import numpy as np
import pytest

from naeq.engines.errors import ConvergenceWarning, EngineError
from naeq.engines.irt import population
from naeq.engines.irt.population import (
    LatentRegression,
    background_matrix,
    draw_plausible_values,
    plausible_values,
    posterior_moments,
    principal_components,
)
from naeq.engines.irt.scale import pv_mean_sd

NODES = np.linspace(-6.0, 6.0, 61)


def _items(n_items: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    return rng.uniform(0.8, 1.8, n_items), np.linspace(-1.8, 1.8, n_items) + rng.normal(0, 0.2, n_items)


def _loglik(theta: np.ndarray, a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Simulate 2PL responses of persons ``theta`` and return log P(x_i | θ_q) at NODES, (N, Q)."""
    p_true = 1.0 / (1.0 + np.exp(-a * (theta[:, None] - b)))
    x = (rng.random(p_true.shape) < p_true).astype(np.float64)
    pr = 1.0 / (1.0 + np.exp(-a[:, None] * (NODES[None, :] - b[:, None])))       # (J, Q)
    return x @ np.log(pr) + (1.0 - x) @ np.log1p(-pr)


def test_module_examples_run() -> None:
    assert doctest.testmod(population, raise_on_error=False).failed == 0


# ------------------------------------------------------------------------------------------- simulation checks


def test_population_mean_and_sd_recovered_without_bias() -> None:
    """Issue bar: population mean and SD from PVs unbiased within 0.02 SD.

    40 replications of 1,000 persons on 12 items (reliability ≈ 0.8), θ ~ N(0.3, 0.8²). The Monte Carlo SE of
    the mean bias is 0.8/√40,000 = 0.004 and of the SD bias ≈ 0.8/√80,000 = 0.003, so 0.02·0.8 = 0.016 is four
    or more Monte Carlo SEs. Would catch: EAPs used instead of draws (SD shrunk by ≈ 10%), draws from the
    likelihood alone or from a wrong prior (SD inflated), a wrong M-step for σ (missing the posterior variance),
    and the jitter's variance left uncorrected on a coarse grid."""
    rng = np.random.default_rng(2024)
    a, b = _items(12, rng)
    mu, sigma = 0.3, 0.8
    means, sds, eap_sds = [], [], []
    for r in range(40):
        theta = rng.normal(mu, sigma, 1000)
        ll = _loglik(theta, a, b, rng)
        pv = plausible_values(ll, NODES, seed=r, fine=None)      # moments only: the 61 nodes suffice
        est, sd = pv_mean_sd(pv.values)
        means.append(float(est.estimate))
        sds.append(float(sd.mean()))
        eap_sds.append(float(pv.posterior_mean.std()))
    assert abs(np.mean(means) - mu) < 0.02 * sigma
    assert abs(np.mean(sds) - sigma) < 0.02 * sigma
    # the contrast that shows the test has teeth: EAPs understate the SD by far more than the tolerance
    assert np.mean(eap_sds) < sigma - 0.05


def test_rubin_intervals_for_the_population_mean_cover_95_percent() -> None:
    """Issue bar: 95% intervals (PV mean ± 1.96 Rubin SE) cover the true mean 93–97% of the time.

    400 replications of 300 persons on 10 items: the Monte Carlo SE of a 95% coverage is √(.95·.05/400) = 1.1
    points, so the band is ±1.8 SE around 95% (the bench runs 2,000+ replications). Would catch: a Rubin total
    variance without the between-PV part (intervals too short because the measurement error is ignored: ≈ 91%),
    PVs drawn without the population prior, or a biased population mean."""
    rng = np.random.default_rng(77)
    a, b = _items(10, rng)
    mu, sigma = -0.2, 1.1
    cover = 0
    cover_within_only = 0
    n_rep = 400
    for r in range(n_rep):
        theta = rng.normal(mu, sigma, 300)
        ll = _loglik(theta, a, b, rng)
        # fine=None: draws on the 61 nodes (the mean needs only the draws' moments; keeps 400 fits fast)
        pv = plausible_values(ll, NODES, seed=10_000 + r, regression=LatentRegression(tol=1e-4), fine=None)
        est, _ = pv_mean_sd(pv.values)
        cover += abs(float(est.estimate) - mu) <= 1.96 * float(est.se)
        cover_within_only += abs(float(est.estimate) - mu) <= 1.96 * float(np.sqrt(est.within))
    assert 0.93 <= cover / n_rep <= 0.97
    assert cover_within_only < cover  # the between-PV variance matters


def test_posterior_intervals_of_persons_cover_their_true_theta() -> None:
    """Each person's 95% posterior interval (from 200 draws under the fitted conditioning model) covers the
    person's true θ 93–97% of the time (4,000 persons: Monte Carlo SE 0.35 points; with 200 draws the empirical
    2.5–97.5% quantile interval holds ≈ 94.1% of the distribution it samples, well inside the band). Would
    catch: a posterior that is too narrow or too wide (wrong σ, missing jitter correction on a coarse grid, a
    regression that ignores the background), or draws that are not from the posterior."""
    rng = np.random.default_rng(5)
    n = 4000
    a, b = _items(10, rng)
    x1 = rng.normal(size=n)
    x2 = rng.integers(0, 2, n).astype(float)
    theta = 0.4 * x1 + 0.5 * x2 + rng.normal(0, 0.8, n)
    ll = _loglik(theta, a, b, rng)
    bg = background_matrix({"x1": x1, "x2": x2})
    pv = plausible_values(ll, NODES, bg, n_draws=200, seed=9, draw_coefficients=False)
    lo, hi = np.quantile(pv.values, [0.025, 0.975], axis=1)
    coverage = float(np.mean((theta >= lo) & (theta <= hi)))
    assert 0.93 <= coverage <= 0.97
    # the regression recovers the generating model: slopes on standardised x: 0.4·sd(x1), 0.5·sd(x2)
    model = pv.model
    assert model is not None and model.converged
    assert abs(model.sigma[0] - 0.8) < 0.05


def test_coefficient_covariance_matches_the_sampling_spread() -> None:
    """The observed-information covariance of Γ̂ (used to draw one regression per PV) against the spread of Γ̂
    over 150 replications of 400 persons with the same background values (the covariance is conditional on
    them): the mean model SE of each coefficient within 15% of the empirical SD (the Monte Carlo SE of an SD
    from 150 replications is ≈ 6%). Would catch: the complete-data covariance σ²(C'C)⁻¹ (too small by the
    missing information, ≈ 20% in SE with 8 items), or the information not scaled back to the sample size."""
    rng = np.random.default_rng(404)
    a, b = _items(8, rng)
    x = rng.normal(size=400)
    est, ses = [], []
    for _ in range(150):
        theta = 0.2 + 0.5 * x + rng.normal(0, 0.8, 400)
        ll = _loglik(theta, a, b, rng)
        model = LatentRegression(tol=1e-6).fit(ll, NODES, x[:, None])
        est.append(model.gamma)
        ses.append(np.sqrt(np.diag(model.gamma_cov)))
    spread = np.std(est, axis=0, ddof=1)
    assert np.allclose(np.mean(ses, axis=0), spread, rtol=0.15)
    # weights are normalised to the sample size: weights summing to a population give the same covariance
    w = rng.uniform(0.5, 1.5, 400)
    one = LatentRegression().fit(ll, NODES, x[:, None], weights=w)
    many = LatentRegression().fit(ll, NODES, x[:, None], weights=w * 250.0)
    assert np.allclose(one.gamma_cov, many.gamma_cov, rtol=1e-6)


def test_draws_of_the_coefficients_widen_the_between_pv_variance() -> None:
    """One regression draw per PV adds the model's uncertainty to the spread between PVs. A shift δ of the
    prior mean moves a posterior mean by ≈ δ·v_i/σ², so the between-PV variance of the mean grows by about
    Var(intercept)·mean(v/σ²)² (0.0009 here, against a between-PV variance of ≈ 0.0018 without the draws;
    200 PVs estimate each to ±10%). Would catch: the coefficient draws not reaching the posterior."""
    rng = np.random.default_rng(6)
    a, b = _items(6, rng)
    theta = rng.normal(0, 1, 300)
    ll = _loglik(theta, a, b, rng)
    with_draws = plausible_values(ll, NODES, n_draws=200, seed=1, fine=None)
    fixed = plausible_values(ll, NODES, n_draws=200, seed=1, fine=None, draw_coefficients=False)
    model = with_draws.model
    assert model is not None
    b_with = with_draws.values.mean(axis=0).var(ddof=1)
    b_fixed = fixed.values.mean(axis=0).var(ddof=1)
    added = model.gamma_cov[0, 0] * np.mean(model.posterior_sd**2 / model.sigma[0] ** 2) ** 2
    assert b_with - b_fixed > 0.4 * added
    assert b_with - b_fixed < 2.0 * added


def test_group_difference_recovered_with_conditioning_and_attenuated_without() -> None:
    """The known effect (Mislevy et al. 1992): a secondary analysis by a background variable is unbiased only
    when that variable is in the conditioning model; without it the PV group difference shrinks towards 0 by
    about the reliability. True difference 0.5 SD; 3,000 persons on 8 items (reliability ≈ 0.75).

    Would catch: conditioning variables not used in the prior (both differences attenuated), or PVs drawn from
    the regression prediction without the likelihood."""
    rng = np.random.default_rng(31)
    n = 3000
    a, b = _items(8, rng)
    urban = rng.integers(0, 2, n)
    theta = 0.5 * urban + rng.normal(0, 1, n)
    ll = _loglik(theta, a, b, rng)
    true_diff = theta[urban == 1].mean() - theta[urban == 0].mean()
    cond = plausible_values(ll, NODES, background_matrix({"urban": urban}, categorical=["urban"]), seed=1)
    plain = plausible_values(ll, NODES, seed=1)

    def diff(v: np.ndarray) -> float:
        return float(v[urban == 1].mean() - v[urban == 0].mean())

    d_cond, d_plain = diff(cond.values), diff(plain.values)
    # SE of a PV difference here ≈ √(2·1.1/1500) ≈ 0.04 (sampling) — compared with the sample's own true
    # difference, only the measurement part remains (≈ 0.02): 0.06 is three of those
    assert abs(d_cond - true_diff) < 0.06
    assert d_plain < true_diff - 0.06
    reliability = np.var(plain.posterior_mean) / (np.var(plain.posterior_mean) + np.mean(plain.posterior_sd**2))
    assert abs(d_plain - reliability * true_diff) < 0.06


def test_many_background_variables_through_principal_components() -> None:
    """Twenty correlated background variables (with missing values and a categorical one): the components
    kept explain ≥ 90% of the variance and the conditioning recovers the group structure they carry."""
    rng = np.random.default_rng(11)
    n = 2000
    f = rng.normal(size=(n, 2))
    load = rng.normal(size=(2, 20))
    x = f @ load + 0.5 * rng.normal(size=(n, 20))
    x[rng.random(x.shape) < 0.05] = np.nan
    region = rng.choice(["east", "middle", "west"], n)
    theta = 0.6 * f[:, 0] + 0.3 * (region == "east") + rng.normal(0, 0.8, n)
    variables: dict[str, object] = {f"q{k}": x[:, k] for k in range(20)}
    variables["region"] = region
    bg = background_matrix(variables, categorical=["region"])
    assert "region=middle" in bg.columns and "region=west" in bg.columns and "q0:missing" in bg.columns
    a, b = _items(15, rng)
    ll = _loglik(theta, a, b, rng)
    pv = plausible_values(ll, NODES, bg, seed=2, regression=LatentRegression(variance=0.9))
    model = pv.model
    assert model is not None and model.components is not None
    comps = model.components
    assert comps.explained.sum() >= 0.9 and comps.explained[:-1].sum() < 0.9   # the fewest that reach 90%
    # correlation of PVs with the factor reproduces the truth (0.6 / sd(θ))
    true_r = np.corrcoef(theta, f[:, 0])[0, 1]
    pv_r = np.mean([np.corrcoef(pv.values[:, m], f[:, 0])[0, 1] for m in range(5)])
    assert abs(pv_r - true_r) < 0.04


def test_multiple_groups_have_their_own_mean_and_sd() -> None:
    """Two grades on one scale, N(−0.5, 0.8²) and N(0.7, 1.2²): recovered per group within 0.06 (1,500 persons
    each: SE of a mean ≈ 0.03, of an SD ≈ 0.03)."""
    rng = np.random.default_rng(3)
    a, b = _items(20, rng)
    grade = np.repeat([4, 8], 1500)
    theta = np.where(grade == 4, rng.normal(-0.5, 0.8, 3000), rng.normal(0.7, 1.2, 3000))
    ll = _loglik(theta, a, b, rng)
    model = LatentRegression().fit(ll, NODES, groups=grade)
    assert model.groups == (4, 8)
    assert np.allclose(model.group_mean, [-0.5, 0.7], atol=0.06)
    assert np.allclose(model.group_sd, [0.8, 1.2], atol=0.06)


def test_booklet_design_mixed_items_and_two_grades_through_the_calibration() -> None:
    """End to end on the calibration engine: mixed 2PL/3PL/GPCM items in a 3-booklet rotation (each student
    sees two thirds of the items; not-administered items carry no information), two grades N(0, 1) and
    N(0.8, 1.2²) calibrated together (grade 4 identifies the scale), then PVs with the grades as groups. The PV
    mean and SD of each grade are recovered within 0.08 (2,000 students per grade: sampling SE ≈ 0.025, item
    parameter error about as much again). Would catch: the population model misreading sparse
    log-likelihoods, group labels or the calibration's metric."""
    from naeq.engines.irt.calibrate import calibrate
    from naeq.engines.irt.likelihood import log_likelihood
    from naeq.engines.irt.simulate import simulate

    models = ["2pl"] * 12 + ["3pl"] * 6 + ["gpcm"] * 6
    sim = simulate(models, 4000, seed=17, n_categories=3, n_booklets=3, group_means=(0.0, 0.8),
                   group_sds=(1.0, 1.2))
    grade = np.where(sim.group == 0, "g4", "g8")
    fit = calibrate(sim.responses, dict(zip(sim.params.items, models, strict=True)), groups=grade)
    ll = log_likelihood(sim.responses, fit.params, NODES)
    pv = plausible_values(ll, NODES, groups=grade, seed=3, keys=sim.responses.persons)
    for label, mean, sd in (("g4", 0.0, 1.0), ("g8", 0.8, 1.2)):
        sel = grade == label
        est, sds = pv_mean_sd(pv.values[sel])
        assert abs(float(est.estimate) - mean) < 0.08, label
        assert abs(float(sds.mean()) - sd) < 0.08, label


# ---------------------------------------------------------------------------------------- the draws themselves


@pytest.mark.parametrize("spacing", [0.1, 0.5])
def test_draws_reproduce_a_known_normal_posterior(spacing: float) -> None:
    """A Gaussian likelihood N(y; θ, τ²) with a N(μ, s²) prior has a normal posterior with known moments. The
    draws must reproduce its mean, SD and quantiles, also on a coarse grid (spacing 0.5 with posterior SD 0.42):
    the spline refinement gives the shape (quantiles), and without it the shrinkage still gives the mean and SD
    (the uncorrected jitter would inflate the variance by 0.5²/12 / 0.18 = 12%). 200,000 draws: Monte
    Carlo SE of the SD ≈ 0.0006; tolerance 0.005 allows the quadrature's own error on the coarse grid."""
    nodes = np.arange(-6.0, 6.0 + 1e-9, spacing)
    y, tau, mu, s = np.array([0.7, -1.2]), 0.5, 0.2, 0.8
    ll = -0.5 * ((y[:, None] - nodes[None, :]) / tau) ** 2
    post_var = 1.0 / (1.0 / tau**2 + 1.0 / s**2)
    post_mean = post_var * (y / tau**2 + mu / s**2)
    pv = draw_plausible_values(ll, nodes, mu, s, n_draws=100_000, seed=4)
    assert np.allclose(pv.values.mean(axis=1), post_mean, atol=0.005)
    assert np.allclose(pv.values.std(axis=1), np.sqrt(post_var), atol=0.005)
    # on the given nodes only (no spline refinement) the shrinkage still keeps the first two moments
    raw = draw_plausible_values(ll, nodes, mu, s, n_draws=100_000, seed=4, fine=None)
    assert np.allclose(raw.values.mean(axis=1), post_mean, atol=0.005)
    assert np.allclose(raw.values.std(axis=1), np.sqrt(post_var), atol=0.005)
    q = np.quantile(pv.values, [0.05, 0.5, 0.95], axis=1)
    z = np.array([-1.6448536, 0.0, 1.6448536])
    assert np.allclose(q, post_mean[None, :] + z[:, None] * np.sqrt(post_var), atol=0.02)


def test_posterior_moments_match_the_closed_form() -> None:
    y, tau = np.array([0.0, 1.5]), 0.6
    ll = -0.5 * ((y[:, None] - NODES[None, :]) / tau) ** 2
    m, sd = posterior_moments(ll, NODES, prior_mean=np.array([0.0, -1.0]), prior_sd=1.0)
    pv_ = 1.0 / (1.0 / tau**2 + 1.0)
    assert np.allclose(m, pv_ * (y / tau**2 + np.array([0.0, -1.0])), atol=1e-6)
    assert np.allclose(sd, np.sqrt(pv_), atol=1e-6)


# ----------------------------------------------------------------------------------------- background matrix


def test_background_matrix_codes_standardises_and_marks_missing() -> None:
    bg = background_matrix({"sex": np.array(["f", "m", "m", "f", None], dtype=object),
                            "ses": np.array([1.0, 2.0, np.nan, 3.0, 2.0]),
                            "const": np.ones(5)}, categorical=["sex"])
    assert bg.columns == ("sex=m", "sex:missing", "ses", "ses:missing")
    assert bg.dropped == ("const",)
    z = np.asarray(bg.matrix)
    assert np.allclose(z.mean(axis=0), 0.0) and np.allclose(z.std(axis=0), 1.0)
    # the missing ses value is set to the observed mean (2.0), so it sits at the column's mean after standardising
    assert z[2, 2] == pytest.approx(0.0)
    assert z[:, 3].argmax() == 2


def test_principal_components_match_an_eigendecomposition() -> None:
    rng = np.random.default_rng(8)
    x = rng.normal(size=(500, 6)) @ rng.normal(size=(6, 6))
    z = (x - x.mean(0)) / x.std(0)
    pc = principal_components(z, variance=0.8)
    eig = np.sort(np.linalg.eigvalsh(np.cov(z.T, bias=True)))[::-1]
    share = eig / eig.sum()
    k = int(np.searchsorted(np.cumsum(share), 0.8) + 1)
    assert pc.n_components == k
    assert np.allclose(pc.explained, share[:k])
    assert np.allclose(pc.scores.var(axis=0), eig[:k])
    assert principal_components(z, variance=1.0, max_components=2).n_components == 2


def test_non_numeric_background_must_be_declared_categorical() -> None:
    with pytest.raises(EngineError, match="declare it categorical"):
        background_matrix({"school_type": np.array(["a", "b"], dtype=object)})


# --------------------------------------------------------------------------------------------- the contract


def _small() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    a, b = _items(8, rng)
    x = rng.normal(size=200)
    theta = 0.5 * x + rng.normal(0, 0.9, 200)
    return _loglik(theta, a, b, rng), background_matrix({"x": x}).matrix


def test_same_seed_same_values_another_seed_others() -> None:
    ll, bg = _small()
    one = plausible_values(ll, NODES, bg, seed=5).values
    assert np.array_equal(one, plausible_values(ll, NODES, bg, seed=5).values)
    assert np.array_equal(one, plausible_values(ll, NODES, bg, seed=np.random.default_rng(5)).values)
    assert not np.allclose(one, plausible_values(ll, NODES, bg, seed=6).values)


def test_inputs_are_not_mutated() -> None:
    ll, bg = _small()
    ll0, bg0 = ll.copy(), np.array(bg)
    w = np.ones(len(ll))
    plausible_values(ll, NODES, bg, weights=w, seed=1)
    assert np.array_equal(ll, ll0) and np.array_equal(bg, bg0) and np.array_equal(w, np.ones(len(ll)))


def test_row_order_does_not_matter() -> None:
    """Permuting persons permutes the results: the fit is the same up to rounding and, with person keys, every
    person receives the same plausible values."""
    ll, bg = _small()
    keys = np.array([f"p{i:04d}" for i in range(len(ll))])
    perm = np.random.default_rng(3).permutation(len(ll))
    a = plausible_values(ll, NODES, bg, seed=2, keys=keys)
    b = plausible_values(ll[perm], NODES, np.asarray(bg)[perm], seed=2, keys=keys[perm])
    assert a.model is not None and b.model is not None
    assert np.allclose(a.model.gamma, b.model.gamma, atol=1e-10)
    assert np.allclose(a.model.sigma, b.model.sigma, atol=1e-10)
    assert np.allclose(a.values[perm], b.values, atol=1e-9)


def test_integer_weights_equal_repeated_rows() -> None:
    ll, bg = _small()
    w = np.random.default_rng(4).integers(1, 4, len(ll))
    rep = np.repeat(np.arange(len(ll)), w)
    fw = LatentRegression(tol=1e-9).fit(ll, NODES, bg, weights=w.astype(float))
    fr = LatentRegression(tol=1e-9, max_components=fw.gamma.size - 1).fit(ll[rep], NODES, np.asarray(bg)[rep])
    assert np.allclose(fw.gamma, fr.gamma, atol=1e-7)
    assert np.allclose(fw.sigma, fr.sigma, atol=1e-7)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input_is_rejected_with_the_row(bad: float) -> None:
    ll, bg = _small()
    ll = ll.copy()
    ll[17, 3] = bad
    with pytest.raises(EngineError, match="person row 17"):
        plausible_values(ll, NODES, bg, seed=1)
    ll2, bg2 = _small()
    w = np.ones(len(ll2))
    w[0] = bad
    with pytest.raises(EngineError, match="weights"):
        plausible_values(ll2, NODES, bg2, weights=w, seed=1)
    b3 = np.array(bg2)
    b3[5, 0] = bad
    with pytest.raises(EngineError, match="NaN or infinite"):
        plausible_values(ll2, NODES, b3, seed=1)


def test_seed_is_required_and_shapes_checked() -> None:
    ll, _ = _small()
    with pytest.raises(ValueError, match="explicit seed"):
        plausible_values(ll, NODES, seed=None)
    with pytest.raises(ValueError, match="quadrature nodes"):
        plausible_values(ll, NODES[:-1], seed=1)


def test_non_convergence_is_warned() -> None:
    ll, bg = _small()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = LatentRegression(max_iter=1).fit(ll, NODES, bg)
    assert not model.converged
    assert any(issubclass(w.category, ConvergenceWarning) for w in caught)
