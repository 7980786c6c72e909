"""lz* null distribution and power; Bonferroni and Benjamini–Hochberg against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

from naeq.engines.forensics import benjamini_hochberg, bonferroni, lz_star
from naeq.engines.forensics.multiple import grouped_min_bonferroni


def _responses(rng, n, a, b):
    th = rng.normal(size=n)
    return th, (rng.random((n, len(a))) < expit(a * (th[:, None] - b))).astype(float)


def test_lz_star_null_distribution_is_standard_normal():
    # Snijders' correction makes lz* ≈ N(0, 1) at the estimated θ (asymptotically in the test length). 4,000
    # simulees, 40 2PL items, WLE θ: measured mean 0.115, SD 0.97, lower 5 % tail 4.9 % (a small positive mean at
    # 40 items is the known finite-test skew of the statistic). Bounds: |mean| < 0.15, SD 0.9–1.1, and the tail
    # that the flags use within 3–7 % (a missing correction term or a wrong weight moves it outside).
    rng = np.random.default_rng(2001)
    a, b = rng.uniform(0.7, 2.0, 40), rng.normal(size=40)
    _, u = _responses(rng, 4000, a, b)
    z = lz_star(u, np.ones_like(u, dtype=bool), a, b)
    z = z[np.isfinite(z)]
    assert len(z) > 3900
    assert abs(z.mean()) < 0.15
    assert 0.9 < z.std() < 1.1
    assert 0.03 < (z < -1.645).mean() < 0.07


def test_lz_star_detects_random_responding_on_easy_items():
    # Aberrance: 200 able simulees answer the 20 easiest items at random (p = .25) — misfit lowers lz*; at least
    # 60 % fall below −1.645 (measured ≈ 85 %), against 5 % of fitting persons.
    rng = np.random.default_rng(2002)
    a, b = rng.uniform(0.7, 2.0, 40), rng.normal(size=40)
    _th, u = _responses(rng, 200, a, b)
    easy = np.argsort(b)[:20]
    u[:, easy] = rng.random((200, 20)) < 0.25
    z = lz_star(u, np.ones_like(u, dtype=bool), a, b)
    assert np.nanmean(z < -1.645) >= 0.6


def test_lz_star_nan_for_extreme_scores_and_respects_taken():
    a, b = np.ones(5), np.linspace(-1, 1, 5)
    u = np.array([[1, 1, 1, 1, 1], [0, 0, 0, 0, 0], [1, 1, 0, 1, 0]], dtype=float)
    taken = np.ones_like(u, dtype=bool)
    z = lz_star(u, taken, a, b)
    assert np.isnan(z[0]) and np.isnan(z[1]) and np.isfinite(z[2])
    taken[2, 4] = False
    u2 = u.copy()
    u2[2, 4] = 1.0  # not administered: its value must not matter
    np.testing.assert_allclose(lz_star(u2, taken, a, b)[2], lz_star(u, taken, a, b)[2])


def test_bonferroni_and_bh_hand_values():
    p = np.array([0.010, 0.040, 0.030, 0.200, 0.001])
    np.testing.assert_allclose(bonferroni(p), [0.05, 0.2, 0.15, 1.0, 0.005])
    np.testing.assert_allclose(bonferroni(p, m=100), [1.0, 1.0, 1.0, 1.0, 0.1])
    # By hand: sorted 0.001, 0.010, 0.030, 0.040, 0.200 → m p / k = 0.005, 0.025, 0.05, 0.05, 0.2; the running
    # minimum from the top leaves them unchanged; back in the input order:
    np.testing.assert_allclose(benjamini_hochberg(p), [0.025, 0.05, 0.05, 0.2, 0.005])
    # A step-up case: 0.02, 0.03 with m = 2 → 0.04, 0.03 → q = 0.03, 0.03.
    np.testing.assert_allclose(benjamini_hochberg([0.02, 0.03]), [0.03, 0.03])
    with pytest.raises(ValueError):
        benjamini_hochberg([0.1, np.nan])


def test_grouped_min_bonferroni():
    p, n = grouped_min_bonferroni([0.01, 0.2, 0.3, 0.04], [0, 0, 2, 2], 3)
    np.testing.assert_allclose(p, [0.02, 1.0, 0.08])
    assert n.tolist() == [2, 0, 2]


def test_key_parameters_from_the_irt_engine_give_its_probabilities_and_lz():
    # Cross-engine reference: the option model's key probability with parameters taken from naeq.engines.irt must
    # equal that engine's own 2PL category probability (same logistic metric, no D constant) to rounding.
    from naeq.engines.errors import EngineError
    from naeq.engines.forensics import fit_option_model
    from naeq.engines.forensics.options import key_parameters
    from naeq.engines.irt.models import ItemParameters, category_probabilities

    rng = np.random.default_rng(31)
    items = tuple(f"i{j}" for j in range(12))
    a, b = rng.uniform(0.6, 2.0, 12), rng.normal(size=12)
    params = ItemParameters(items=items, model=["2pl"] * 11 + ["rasch"], a=np.r_[a[:11], 1.0], b=b[:, None],
                            c=np.zeros(12), n_categories=np.full(12, 2))
    order = list(reversed(items))
    ka, kb = key_parameters(params, order)
    th = rng.normal(size=300)
    x = rng.integers(0, 4, (300, 12))
    model = fit_option_model(x, np.zeros(12, dtype=int), a=ka, b=kb, theta=th)
    want = category_probabilities(th, params)[:, :, 1].T[:, ::-1]
    np.testing.assert_allclose(model.p_correct(th), want, atol=1e-12)
    with pytest.raises(EngineError, match="no parameters"):
        key_parameters(params, ["nope"])
    poly = ItemParameters(items=("p1",), model=["gpcm"], a=[1.0], b=[[0.0, 1.0]], c=[0.0], n_categories=[3])
    with pytest.raises(EngineError, match="not dichotomous"):
        key_parameters(poly, ["p1"])
