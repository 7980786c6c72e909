"""Linking through anchor items: exact recovery of known constants, hand-computed moment methods, an independent
brute-force Stocking-Lord minimum, recovery after calibration noise, and the jackknife link error.

R's equateIRT and plink are not packaged by Debian (``apt-cache search r-cran-`` lists neither), so the reference
values here are computed by hand (shown in the comments) and by an independent implementation in this file."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
from scipy import optimize

from naeq.engines.errors import EngineError
from naeq.engines.irt import linking
from naeq.engines.irt.calibrate import calibrate
from naeq.engines.irt.linking import link, linking_constants, transform_items
from naeq.engines.irt.models import ItemParameters, category_probabilities
from naeq.engines.irt.simulate import simulate_items, simulate_responses

METHODS = ["stocking-lord", "haebara", "mean-mean", "mean-sigma"]


def _mixed() -> ItemParameters:
    """2PL, 3PL and GPCM (3 and 4 categories) items on the base scale."""
    return simulate_items(["2pl"] * 4 + ["3pl"] * 3 + ["gpcm"] * 3, seed=12, n_categories=[2] * 7 + [3, 4, 3])


def _ab(r: linking.LinkingResult) -> np.ndarray:
    return np.array([r.A, r.B])


def test_module_examples_run() -> None:
    assert doctest.testmod(linking, raise_on_error=False).failed == 0


def test_transform_keeps_every_probability() -> None:
    """P*(Aθ + B) = P(θ) for every item type (the definition of a scale transformation); Rasch and PCM items
    become 2PL and GPCM items when A ≠ 1."""
    items = simulate_items(["rasch", "2pl", "3pl", "pcm", "gpcm"], seed=3, n_categories=4)
    theta = np.linspace(-3, 3, 13)
    t = transform_items(items, 1.7, -0.3)
    assert np.allclose(category_probabilities(1.7 * theta - 0.3, t), category_probabilities(theta, items),
                       atol=1e-12)
    assert t.model.tolist() == ["2pl", "2pl", "3pl", "gpcm", "gpcm"]
    assert transform_items(items, 1.0, 0.5).model.tolist() == items.model.tolist()


@pytest.mark.parametrize("method", METHODS)
def test_known_constants_recovered_exactly_from_noise_free_parameters(method: str) -> None:
    """The new calibration is the base items on the scale θ_new = (θ_base − B)/A: every method must return A and
    B (up to the optimiser's tolerance: 1e-7) and put the anchors back on their base values."""
    base = _mixed()
    A, B = 1.3, -0.4
    new = transform_items(base, 1 / A, -B / A)
    r = link(new, base, method=method)
    assert np.allclose(_ab(r), (A, B), rtol=0, atol=1e-7)
    assert np.allclose(r.transformed.a, base.a, atol=1e-6)
    assert np.allclose(np.nan_to_num(r.transformed.b), np.nan_to_num(base.b), atol=1e-6)
    assert not r.fixed_slope
    assert r.link_error == pytest.approx(0.0, abs=1e-6)       # every anchor agrees: no link error


def test_rasch_anchors_give_a_shift_only() -> None:
    base = simulate_items(["rasch"] * 6 + ["pcm"] * 2, seed=4, n_categories=3)
    new = transform_items(base, 1.0, 0.8)                      # the new scale is 0.8 logits higher
    for method in METHODS:
        r = link(new, base, method=method)
        assert r.fixed_slope and r.A == 1.0
        assert abs(r.B + 0.8) < 1e-7
        assert r.transformed.model.tolist() == base.model.tolist()


# Hand-computed example (three 2PL anchors):
#   base a = 1.0, 1.5, 0.5   b = −1.0, 0.0, 1.5        new a = 0.8, 1.1, 0.45   b = −0.5, 0.4, 1.6
#   mean/mean:  A = mean(a_new)/mean(a_base) = (2.35/3)/(3/3) = 0.783333…
#               B = mean(b_base) − A mean(b_new) = 0.166667 − 0.783333 · 0.5 = −0.225
#   mean/sigma: sd(b_base) = √(3.166667/3) = 1.027402, sd(b_new) = √(2.22/3) = 0.860233
#               A = 1.194331, B = 0.166667 − 1.194331 · 0.5 = −0.430499
HAND_BASE = ItemParameters(items=("x", "y", "z"), model=np.array(["2pl"] * 3), a=np.array([1.0, 1.5, 0.5]),
                           b=np.array([[-1.0], [0.0], [1.5]]), c=np.zeros(3), n_categories=np.full(3, 2))
HAND_NEW = ItemParameters(items=("x", "y", "z"), model=np.array(["2pl"] * 3), a=np.array([0.8, 1.1, 0.45]),
                          b=np.array([[-0.5], [0.4], [1.6]]), c=np.zeros(3), n_categories=np.full(3, 2))


def test_moment_methods_match_the_hand_computation() -> None:
    a, b, _ = linking_constants(HAND_NEW, HAND_BASE, method="mean-mean")
    assert a == pytest.approx(2.35 / 3, abs=1e-12) and b == pytest.approx(-0.225, abs=1e-12)
    a, b, _ = linking_constants(HAND_NEW, HAND_BASE, method="mean-sigma")
    assert a == pytest.approx(1.194331, abs=1e-6) and b == pytest.approx(-0.430499, abs=1e-6)


def _tcc_loss(A: float, B: float, new: ItemParameters, base: ItemParameters, haebara: bool) -> float:
    """Independent re-implementation with explicit loops and the closed-form 2PL curve (base grid: 41 points on
    [−4, 4], N(0, 1) weights), for the hand example's 2PL items only."""
    total = 0.0
    grid = [-4 + 0.2 * q for q in range(41)]
    weights = [math.exp(-t * t / 2) for t in grid]
    norm = sum(weights)
    for t, w in zip(grid, weights, strict=True):
        tb, tn, h = 0.0, 0.0, 0.0
        for j in range(3):
            pb = 1 / (1 + math.exp(-base.a[j] * (t - base.b[j, 0])))
            pn = 1 / (1 + math.exp(-(new.a[j] / A) * (t - (A * new.b[j, 0] + B))))
            tb, tn = tb + pb, tn + pn
            h += 2 * (pb - pn) ** 2                            # both categories: (Δp)² + (Δ(1−p))²
        total += (w / norm) * (h if haebara else (tb - tn) ** 2)
    return total


@pytest.mark.parametrize("method", ["stocking-lord", "haebara"])
def test_characteristic_curve_methods_find_the_independent_minimum(method: str) -> None:
    """On the hand example (the anchors disagree, so the criterion is not 0), Nelder-Mead on the independent
    loop implementation reaches the same A, B (to 1e-5, Nelder-Mead's tolerance here) and the same loss, and the
    curve solution has a lower loss than the mean/mean solution."""
    haebara = method == "haebara"
    ref = optimize.minimize(lambda x: _tcc_loss(x[0], x[1], HAND_NEW, HAND_BASE, haebara), x0=[1.0, 0.0],
                            method="Nelder-Mead", options={"xatol": 1e-9, "fatol": 1e-16, "maxiter": 5000})
    r = link(HAND_NEW, HAND_BASE, method=method, jackknife=False)
    assert np.allclose(_ab(r), tuple(ref.x), rtol=0, atol=1e-5)
    assert r.criterion == pytest.approx(ref.fun, rel=1e-6, abs=1e-14)
    mm = link(HAND_NEW, HAND_BASE, method="mean-mean", jackknife=False)
    assert _tcc_loss(mm.A, mm.B, HAND_NEW, HAND_BASE, haebara) > r.criterion
    assert abs(r.A - mm.A) > 0.01                               # the example does separate the methods


def test_constants_recovered_after_calibration_noise() -> None:
    """Two separate calibrations (each fixes its own population at N(0, 1)) of 2,000 persons: the base year
    N(0, 1), the new year N(0.5, 1.2²) on 20 items of which 15 are anchors. True constants A = 1.2, B = 0.5.
    Tolerance 0.1: the SE of B is about √(1/2000 + 1.44/2000) ≈ 0.035 from the two population means plus the
    anchors' noise (a comparable amount), A has a similar SE; 0.1 is about three SEs. The jackknife link error
    must be positive and of that order."""
    rng = np.random.default_rng(99)
    items = simulate_items("2pl", 25, seed=5)
    base_items, new_items = items.take(np.arange(20)), items.take(np.arange(5, 25))
    rb = simulate_responses(base_items, rng.normal(0, 1, 2000), seed=rng)
    rn = simulate_responses(new_items, rng.normal(0.5, 1.2, 2000), seed=rng)
    fb, fn = calibrate(rb, "2pl"), calibrate(rn, "2pl")
    for method in ("stocking-lord", "haebara", "mean-mean"):
        r = link(fn.params, fb.params, method=method)
        assert len(r.anchors) == 15
        assert np.allclose(_ab(r), (1.2, 0.5), rtol=0, atol=0.1), method
        assert 0.005 < r.link_error < 0.1
    # the unique items of the new year land near their true base-scale values
    r = link(fn.params, fb.params)
    unique = r.transformed.select(items.items[20:])
    assert np.allclose(unique.b[:, 0], items.b[20:, 0], atol=0.3)


def test_jackknife_link_error_of_a_shift_is_the_se_of_the_mean_difference() -> None:
    """With Rasch anchors and mean/mean, B = mean_j(b_base − b_new) and its delete-one jackknife SE is exactly
    sd(d)/√n (the jackknife reproduces the usual SE of a mean)."""
    base = simulate_items("rasch", 8, seed=7)
    d = np.random.default_rng(1).normal(0.3, 0.1, 8)
    new = ItemParameters(items=base.items, model=base.model, a=base.a, b=base.b - d[:, None], c=base.c,
                         n_categories=base.n_categories)
    r = link(new, base, method="mean-mean")
    assert abs(r.B - d.mean()) < 1e-12
    assert r.link_error == pytest.approx(d.std(ddof=1) / math.sqrt(8), rel=1e-10)
    assert r.se_B == pytest.approx(r.link_error, rel=1e-12)
    # units (pairs of items) left out together: the jackknife over 4 unit means
    groups = {item: f"u{k // 2}" for k, item in enumerate(base.items)}
    ru = link(new, base, method="mean-mean", anchor_groups=groups)
    unit_means = d.reshape(4, 2).mean(axis=1)
    assert ru.link_error == pytest.approx(unit_means.std(ddof=1) / 2, rel=1e-10)


def test_anchor_order_and_mapping_do_not_matter() -> None:
    base = _mixed()
    new = transform_items(base, 0.9, 0.2)
    perm = np.random.default_rng(2).permutation(len(base))
    r1 = link(new, base)
    r2 = link(new.take(perm), base)
    assert np.allclose(_ab(r1), (r2.A, r2.B), rtol=0, atol=1e-9)
    renamed = ItemParameters(items=tuple(f"new_{i}" for i in new.items), model=new.model, a=new.a, b=new.b,
                             c=new.c, n_categories=new.n_categories)
    r3 = link(renamed, base, anchors={f"new_{i}": i for i in base.items})
    assert np.allclose(_ab(r3), (r1.A, r1.B), rtol=0, atol=1e-9)


def test_inputs_are_not_mutated() -> None:
    base = _mixed()
    new = transform_items(base, 0.9, 0.2)
    a0, b0 = new.a.copy(), new.b.copy()
    link(new, base)
    assert np.array_equal(new.a, a0) and np.array_equal(new.b, b0, equal_nan=True)


def test_bad_linking_input_is_rejected() -> None:
    base = _mixed()
    with pytest.raises(EngineError, match="at least two anchor items"):
        link(base.take([0]), base.take([0]))
    with pytest.raises(EngineError, match="not in the base"):
        link(base, base.take([0, 1]), anchors=["i001", "i003"])
    three = base.take([7, 8, 9])
    other = ItemParameters(items=three.items, model=np.array(["gpcm"] * 3), a=three.a,
                           b=np.column_stack([three.b[:, 0], three.b[:, 0] + 1, np.full(3, np.nan)]),
                           c=three.c, n_categories=np.array([3, 3, 3]))
    with pytest.raises(EngineError, match="categories in the new"):
        link(other, three)
    with pytest.raises(ValueError, match="unknown linking method"):
        link(base, base, method="equipercentile")
    with pytest.raises(ValueError, match="density"):
        link(base, base, density=np.full(41, np.nan))
    with pytest.raises(EngineError, match="finite with A > 0"):
        transform_items(base, float("nan"), 0.0)
