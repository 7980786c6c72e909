"""Calibration by marginal ML: recovery of known parameters, booklet designs, mixed models, groups, anchors,
priors, standard errors against replication, and the errors a user can act on.

Tolerances: with correct SEs the RMSE of an estimate over items is about the RMS of its SEs; the bound 1.5 × RMS(SE)
leaves room for the sampling variability of an RMSE over ~20–40 items (sqrt(χ²_20/20) exceeds 1.3 with probability
< 2.5 %) and fails on a biased estimator or SEs too small by a third.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from naeq.engines.errors import ConvergenceWarning, EngineError
from naeq.engines.irt import estep as estep_module
from naeq.engines.irt.calibrate import calibrate
from naeq.engines.irt.data import Responses, responses_from_long
from naeq.engines.irt.estep import EStep
from naeq.engines.irt.likelihood import log_probability_table
from naeq.engines.irt.mstep import NO_PRIORS, Priors
from naeq.engines.irt.simulate import rotated_booklets, simulate, simulate_items, simulate_responses


def _rmse(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.sqrt(np.nanmean((x - y) ** 2)))


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.nanmean(x**2)))


def test_2pl_recovery_within_standard_errors() -> None:
    s = simulate("2pl", 3000, n_items=20, seed=1)
    fit = calibrate(s.responses, "2pl")
    assert fit.converged and not fit.warnings
    assert _rmse(fit.params.b[:, 0], s.params.b[:, 0]) < 1.5 * _rms(fit.params.b_se[:, 0])
    assert _rmse(fit.params.a, s.params.a) < 1.5 * _rms(fit.params.a_se)
    assert np.isnan(fit.params.c_se).all() and np.all(fit.params.c == 0)


def test_mixed_models_on_a_six_booklet_design() -> None:
    # 2PL, 3PL, GPCM, PCM and Rasch items in one calibration; each person answers 2 of 6 blocks (1/3 of the items):
    # catches a booklet design treated as wrong answers (b would be biased upward by ~1 logit) and a model mix-up.
    models = ["2pl", "3pl", "gpcm", "pcm", "rasch", "2pl"] * 6
    s = simulate(models, 6000, n_booklets=6, seed=2, n_categories=3)
    assert len(s.responses) == 6000 * 12
    fit = calibrate(s.responses, dict(zip(s.params.items, s.params.model, strict=True)))
    assert fit.converged
    steps = np.isfinite(s.params.b)
    free_a = np.isin(s.params.model, ["2pl", "3pl", "gpcm"])
    not3 = s.params.model != "3pl"
    # non-3PL difficulties and steps: within their SEs
    assert _rmse(fit.params.b[not3][steps[not3]], s.params.b[not3][steps[not3]]) < 1.5 * _rms(
        fit.params.b_se[not3][steps[not3]])
    assert _rmse(fit.params.a[free_a & not3], s.params.a[free_a & not3]) < 1.5 * _rms(fit.params.a_se[free_a & not3])
    # 3PL items are recovered more loosely (the Beta(5,17) prior on c shrinks c toward 0.2): 0.25 logits on b,
    # 0.06 on c; Rasch/PCM slopes stay at 1.
    t = ~not3
    assert _rmse(fit.params.b[t, 0], s.params.b[t, 0]) < 0.25
    assert _rmse(fit.params.c[t], s.params.c[t]) < 0.06
    assert np.all(fit.params.a[np.isin(s.params.model, ["rasch", "pcm"])] == 1.0)


def test_rasch_estimates_the_population_sd() -> None:
    # Rasch/PCM only: a = 1, mean 0 fixed, SD estimated (simulated 1.3).
    s = simulate("rasch", 4000, n_items=25, seed=3, group_sds=(1.3,))
    fit = calibrate(s.responses, "rasch")
    assert fit.group_sds[0] == pytest.approx(1.3, abs=0.05)
    assert fit.group_means[0] == 0.0
    assert _rmse(fit.params.b[:, 0] - fit.params.b[:, 0].mean(), s.params.b[:, 0] - s.params.b[:, 0].mean()) < 0.06


def test_multiple_groups_recover_means_and_sds() -> None:
    # Grade 2 (group 1) is 0.6 higher and more spread (SD 1.2); group 0 fixed N(0, 1). The truth to compare with
    # is the sample's: group 1's abilities standardised by group 0's sample mean and SD. The SE of the estimated
    # mean difference with 2 × 2,500 persons and 20 items is ≈ 0.035, so ±0.08 is ~2.3 SE.
    s = simulate("2pl", 5000, n_items=20, seed=4, group_means=(0.0, 0.6), group_sds=(1.0, 1.2))
    fit = calibrate(s.responses, "2pl", groups=s.group)
    t0, t1 = s.theta[s.group == 0], s.theta[s.group == 1]
    assert fit.group_labels == (0, 1)
    assert fit.group_means[1] == pytest.approx((t1.mean() - t0.mean()) / t0.std(), abs=0.08)
    assert fit.group_sds[1] == pytest.approx(t1.std() / t0.std(), abs=0.08)
    assert abs(fit.group_means[1] - 0.6) < 0.15
    # a single-group fit of the same data is misspecified and puts group 1 on the wrong scale
    one = calibrate(s.responses, "2pl")
    assert _rmse(fit.params.b[:, 0], s.params.b[:, 0]) < _rmse(one.params.b[:, 0], s.params.b[:, 0])
    # reference group by label
    swapped = calibrate(s.responses, "2pl", groups=s.group, reference_group=1)
    assert swapped.group_labels == (1, 0) and swapped.group_means[0] == 0.0


def test_fixed_anchor_items_set_the_scale() -> None:
    # The population is N(0.5, 1.1²); with half the items fixed at their true values the scale is theirs, the
    # free items and the population mean/SD are estimated on it.
    rng = np.random.default_rng(5)
    p = simulate_items("2pl", 20, seed=rng)
    r = simulate_responses(p, rng.normal(0.5, 1.1, 4000), seed=rng)
    anchors = p.take(np.arange(10))
    fit = calibrate(r, "2pl", fixed=anchors)
    np.testing.assert_array_equal(fit.params.b[:10, 0], p.b[:10, 0])
    assert np.isnan(fit.params.b_se[:10]).all()
    assert fit.group_means[0] == pytest.approx(0.5, abs=0.08)
    assert fit.group_sds[0] == pytest.approx(1.1, abs=0.08)
    assert _rmse(fit.params.b[10:, 0], p.b[10:, 0]) < 1.5 * _rms(fit.params.b_se[10:, 0])
    assert fit.settings["fixed_items"] == p.items[:10]


def test_priors_shrink_toward_their_means() -> None:
    s = simulate("2pl", 300, n_items=10, seed=6)
    free = calibrate(s.responses, "2pl", priors=NO_PRIORS)
    tight = calibrate(s.responses, "2pl", priors=Priors(a=(0.0, 0.05), b=(0.0, 0.1), c=None))
    # lognormal(0, 0.05) on a: every log slope within 3 prior SDs of 0, much closer on average than without it
    assert np.max(np.abs(np.log(tight.params.a))) < 0.15
    assert np.mean(np.abs(np.log(tight.params.a))) < 0.5 * np.mean(np.abs(np.log(free.params.a)))
    assert np.mean(np.abs(tight.params.b[:, 0])) < 0.5 * np.mean(np.abs(free.params.b[:, 0]))


def test_standard_errors_match_replication_spread() -> None:
    # 30 replications of 600 persons × 8 items (2PL): the mean cross-product SE must match the empirical SD of the
    # estimates. With 30 replications an SD has a relative SE of ≈ 1/sqrt(58) ≈ 0.13 per item; pooled over 8
    # items ≈ 0.05, so [0.8, 1.25] holds for correct SEs and fails if they are off by a factor √2.
    params = simulate_items("2pl", 8, seed=7)
    rng = np.random.default_rng(8)
    est_a, est_b, se_a, se_b = [], [], [], []
    for _ in range(30):
        r = simulate_responses(params, rng.normal(size=600), seed=rng)
        fit = calibrate(r, "2pl", priors=NO_PRIORS)
        est_a.append(fit.params.a)
        est_b.append(fit.params.b[:, 0])
        se_a.append(fit.params.a_se)
        se_b.append(fit.params.b_se[:, 0])
    ratio_a = np.mean(se_a, axis=0) / np.std(est_a, axis=0, ddof=1)
    ratio_b = np.mean(se_b, axis=0) / np.std(est_b, axis=0, ddof=1)
    assert 0.8 < float(np.mean(ratio_a)) < 1.25
    assert 0.8 < float(np.mean(ratio_b)) < 1.25


def test_gpcm_standard_errors_match_replication_spread() -> None:
    # The polytomous path of the cross-product SEs (slope and every step): 25 replications of 800 persons × 5
    # GPCM items with 3–4 categories; same reasoning and bounds as the 2PL check (relative SE of a replication SD
    # ≈ 0.14 per parameter, pooled over 5 slopes or 17 steps).
    params = simulate_items("gpcm", 5, seed=17, n_categories=[3, 4, 4, 3, 4])
    rng = np.random.default_rng(18)
    est_a, est_b, se_a, se_b = [], [], [], []
    for _ in range(25):
        r = simulate_responses(params, rng.normal(size=800), seed=rng)
        fit = calibrate(r, "gpcm", priors=NO_PRIORS)
        est_a.append(fit.params.a)
        est_b.append(fit.params.b)
        se_a.append(fit.params.a_se)
        se_b.append(fit.params.b_se)
    steps = np.isfinite(params.b)
    ratio_a = np.mean(se_a, axis=0) / np.std(est_a, axis=0, ddof=1)
    ratio_b = (np.mean(se_b, axis=0) / np.std(est_b, axis=0, ddof=1))[steps]
    assert 0.8 < float(np.mean(ratio_a)) < 1.25
    assert 0.8 < float(np.mean(ratio_b)) < 1.25


def test_dense_and_sparse_e_steps_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    s = simulate(["2pl", "gpcm", "3pl"] * 10, 500, n_booklets=3, seed=9, n_categories=4)
    dense = EStep(s.responses, min_dense_cells=0)
    sparse = EStep(s.responses, min_dense_cells=10**12)
    assert dense.dense and not sparse.dense and len(dense.blocks) == 3
    table = log_probability_table(s.params, np.linspace(-4, 4, 11), 4).reshape(30, 4, 11)
    # the dense path multiplies in single precision: ~1e-6 on a log-likelihood of ~−20, ~1e-6 relative on counts
    np.testing.assert_allclose(dense.loglik(table), sparse.loglik(table)[dense.order], rtol=1e-5, atol=1e-5)
    w = np.random.default_rng(1).random((500, 11))
    np.testing.assert_allclose(dense.counts(w[dense.order]), sparse.counts(w), rtol=1e-5, atol=1e-6)
    # and the calibration is the same to far below the EM tolerance
    f_sparse = calibrate(s.responses, "2pl", tol=1e-6, compute_se=False)
    monkeypatch.setattr(estep_module, "MIN_DENSE_CELLS", 0)
    f_dense = calibrate(s.responses, "2pl", tol=1e-6, compute_se=False)
    np.testing.assert_allclose(f_dense.params.b, f_sparse.params.b, atol=1e-4)
    np.testing.assert_allclose(f_dense.params.a, f_sparse.params.a, atol=1e-4)


def test_acceleration_reaches_the_same_fixed_point() -> None:
    s = simulate(["2pl", "gpcm"] * 6, 1500, seed=10)
    fast = calibrate(s.responses, "2pl", tol=1e-6)
    plain = calibrate(s.responses, "2pl", tol=1e-6, accelerate=False)
    np.testing.assert_allclose(fast.params.b, plain.params.b, atol=2e-4)
    np.testing.assert_allclose(fast.params.a, plain.params.a, atol=2e-4)
    assert fast.iterations < plain.iterations
    assert fast.log_likelihood == pytest.approx(plain.log_likelihood, abs=1e-3)


def test_non_convergence_is_reported() -> None:
    s = simulate("2pl", 500, n_items=10, seed=11)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = calibrate(s.responses, "2pl", max_iter=2)
    assert not fit.converged and fit.iterations == 2
    assert any(issubclass(w.category, ConvergenceWarning) for w in caught)
    assert "max_iter" in fit.warnings[0]


def test_errors_a_user_can_act_on() -> None:
    r = responses_from_long(["a", "b", "c", "a"], ["x", "x", "x", "y"], [0, 1, 1, 1], {"x": 1, "y": 2, "z": 1})
    with pytest.raises(EngineError, match=r"without any response.*z"):
        calibrate(r.subset_items(["x", "z"]), "2pl")
    with pytest.raises(EngineError, match="category nobody obtained: y"):
        calibrate(r.subset_items(["x", "y"]), "2pl")
    with pytest.raises(EngineError, match="does not fit its 3 score categories"):
        calibrate(r.subset_items(["x", "y"]), {"x": "2pl", "y": "3pl"})
    with pytest.raises(EngineError, match="no model given for items y"):
        calibrate(r.subset_items(["x", "y"]), {"x": "2pl"})
    with pytest.raises(EngineError, match="unknown model"):
        calibrate(r, "4pl")


def test_model_names_for_polytomous_items() -> None:
    s = simulate(["rasch", "pcm"] * 4, 800, seed=12)
    fit = calibrate(s.responses, "rasch")
    assert list(fit.params.model) == ["rasch", "pcm"] * 4
    fit2 = calibrate(s.responses, "2pl")
    assert list(fit2.params.model) == ["2pl", "gpcm"] * 4
    assert fit2.aic > 0 and fit2.bic > fit2.aic


def test_responses_type_is_the_engine_layout() -> None:
    s = simulate("2pl", 50, n_items=4, seed=13)
    assert isinstance(s.responses, Responses)
    design = rotated_booklets(12, 4, 2)
    assert design.sum(axis=0).tolist() == [2] * 12 and design.sum(axis=1).tolist() == [6] * 4


def test_default_3pl_priors_keep_a_hard_item_finite() -> None:
    # Seed 3 has a hard 3PL item (b = 3.3) whose slope runs along a likelihood ridge to the bound of 20 without a
    # slope prior (and EM crawls for ~150 cycles); the default lognormal(0, 0.5) keeps it finite and EM short.
    s = simulate("3pl", 3000, n_items=20, seed=3)
    fit = calibrate(s.responses, "3pl")
    assert fit.converged and fit.iterations < 60 and not fit.warnings
    assert fit.params.a.max() < 3.0
    assert _rmse(fit.params.c, s.params.c) < 0.06
    with pytest.warns(ConvergenceWarning):
        loose = calibrate(s.responses, "3pl", priors=NO_PRIORS, max_iter=30, compute_se=False)
    assert not loose.converged and loose.params.a.max() > 5       # still climbing after 30 cycles
