"""Pair statistics: null calibration (type I error at α = 10⁻³ and 10⁻⁴), ω's null moments, power against copying,
exact tails against binomial references, clusters of one source with many copies."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from naeq.engines.forensics import bonferroni, clusters, compound_binomial_sf, fit_option_model, pair_statistics
from tests.engines.forensics.simulate import copy_answers, simulate


@pytest.fixture(scope="module")
def null_run():
    rng = np.random.default_rng(20260701)
    sim = simulate(rng, n_schools=150, size=20)
    model = fit_option_model(sim.x, sim.key)
    return sim, model, pair_statistics(model, sim.x, sim.school)


@pytest.mark.parametrize("alpha", [1e-3, 1e-4])
@pytest.mark.parametrize("stat", ["omega_p", "gbt_p", "ii_p"])
def test_type_one_error_at_or_below_nominal(null_run, stat, alpha):
    # 150 schools × C(20, 2) = 28,500 pairs under no copying. The allowance is the 99.9 % point of Bin(m, α) for
    # independent tests (pairs sharing a person are dependent, which widens the spread a little; the bound still
    # fails for a statistic whose real size is 2α or more: 57 vs ≤ 46 at 10⁻³).
    _, _, ps = null_run
    m = len(ps)
    assert m == 150 * 190
    bound = stats.binom.ppf(0.999, m, alpha)
    assert (getattr(ps, stat) <= alpha).sum() <= bound


def test_omega_null_mean_zero_sd_one_with_known_parameters():
    # With the generating a, b and θ the directional ω is standardised by construction: mean 0, SD 1. 2 × 9,500
    # directional values; mean tolerance 0.05 (≈ 5 SE of a mean, pairs are dependent), SD within 0.9–1.1 (ω is a
    # sum of 40 skewed Bernoulli terms; its SD differs from 1 by the normal approximation only).
    rng = np.random.default_rng(7)
    sim = simulate(rng, n_schools=50, size=20)
    model = fit_option_model(sim.x, sim.key, a=sim.a, b=sim.b, theta=sim.theta)
    ps = pair_statistics(model, sim.x, sim.school, exact_tests=False)
    w = np.r_[ps.omega, ps.omega_other]
    assert abs(w.mean()) < 0.05
    assert 0.9 < w.std() < 1.1


def test_omega_with_estimated_parameters_is_not_anticonservative(null_run):
    # With fitted θ the index is slightly conservative (θ absorbs part of each person's own matches); it must never
    # be inflated: the upper 1 % of directional ω stays below the normal 99 % point plus 0.1.
    _, _, ps = null_run
    w = np.r_[ps.omega, ps.omega_other]
    assert abs(w.mean()) < 0.15
    assert np.quantile(w, 0.99) < stats.norm.ppf(0.99) + 0.1


@pytest.mark.parametrize(("share", "omega_power", "gbt_power"), [(0.5, 0.6, 0.4), (0.7, 0.85, 0.75)])
def test_power_against_copying(share, omega_power, gbt_power):
    # Strength: 40 copiers each take the source's option on ``share`` of the 40 items (a neighbour copying half or
    # 70 % of the test). Measured power at α = 10⁻³ (this seed): ω 0.72 / 0.95, GBT 0.50 / 0.88 at 50 % / 70 %;
    # the bounds sit ~0.1 below so seed noise (SE ≈ 0.07 for 40 pairs) rarely matters while
    # a wrong sign or a lost variance term drops power far below them.
    rng = np.random.default_rng(11)
    sim = simulate(rng, n_schools=40, size=20)
    sources = np.arange(40) * 20
    x = sim.x
    for s in sources:
        x = copy_answers(rng, x, int(s), np.array([s + 1]), share)
    model = fit_option_model(x, sim.key)
    ps = pair_statistics(model, x, sim.school)
    hit = np.isin(ps.first, sources) & (ps.second == ps.first + 1)
    assert hit.sum() == 40
    assert (ps.omega_p[hit] <= 1e-3).mean() >= omega_power
    assert (ps.gbt_p[hit] <= 1e-3).mean() >= gbt_power
    assert (ps.omega_p[~hit] <= 1e-3).mean() <= 2e-3


def test_compound_binomial_equals_binomial_and_enumeration():
    # Equal π: the tail is scipy's binomial survival function (scipy.stats.binom.sf, scipy ≥ 1.11).
    pi = np.full((4, 12), 0.3)
    obs = np.array([0, 3, 7, 12])
    np.testing.assert_allclose(compound_binomial_sf(pi, obs), stats.binom.sf(obs - 1, 12, 0.3), rtol=1e-12)
    # Unequal π: brute-force enumeration of the 2⁶ outcomes.
    p = np.array([0.1, 0.5, 0.9, 0.3, 0.0, 0.7])
    probs = {}
    for bits in itertools.product((0, 1), repeat=6):
        pr = np.prod([q if b else 1 - q for q, b in zip(p, bits, strict=True)])
        probs[sum(bits)] = probs.get(sum(bits), 0.0) + pr
    for m in range(7):
        want = sum(v for k, v in probs.items() if k >= m)
        assert compound_binomial_sf(p[None], np.array([m]))[0] == pytest.approx(want, abs=1e-12)


def test_one_source_many_copies_form_one_cluster_with_the_source():
    # A proctor's answer sheet copied by 8 students of one school (70 % of items): one cluster, its hub the source.
    rng = np.random.default_rng(3)
    sim = simulate(rng, n_schools=30, size=20)
    source = 45
    copiers = np.arange(46, 54)
    x = copy_answers(rng, sim.x, source, copiers, 0.7)
    model = fit_option_model(x, sim.key)
    ps = pair_statistics(model, x, sim.school, exact_tests=False)
    flag = bonferroni(ps.omega_p) <= 0.01
    cl = clusters(len(x), ps.first[flag], ps.second[flag], model.theta)
    members = np.flatnonzero(cl.label == cl.label[source])
    assert cl.label[source] >= 0
    assert set(copiers) <= set(members)
    assert cl.source[cl.label[source]] == source
    assert len(cl.size) == 1  # no cluster among the clean schools


def test_pairs_only_within_groups_and_ordered():
    rng = np.random.default_rng(5)
    sim = simulate(rng, n_schools=4, size=5, n_items=10)
    grp = np.array([0, 0, 1, 1, 1, 2, 2, 2, 2, 3] * 2)
    ps = pair_statistics(fit_option_model(sim.x, sim.key), sim.x, grp)
    assert np.all(grp[ps.first] == grp[ps.second])
    assert np.all(ps.first < ps.second)
    assert len(ps) == sum(c * (c - 1) // 2 for c in np.bincount(grp))
    assert np.all(np.diff(ps.first * 100 + ps.second) > 0)


def test_booklets_not_administered_items_are_left_out():
    # Two booklets sharing 20 of 40 items (−1 = not administered): pairs count only items both took, and the null
    # rate at 10⁻³ stays within the binomial bound (as in the complete design).
    rng = np.random.default_rng(12)
    sim = simulate(rng, n_schools=80, size=20)
    x = sim.x.copy()
    booklet = np.arange(len(x)) % 2
    x[booklet == 0, 30:] = -1
    x[booklet == 1, :10] = -1
    model = fit_option_model(x, sim.key)
    ps = pair_statistics(model, x, sim.school)
    same = booklet[ps.first] == booklet[ps.second]
    assert np.all(ps.common[same] == 30) and np.all(ps.common[~same] == 20)
    assert np.all(ps.matches <= ps.common)
    for p in (ps.omega_p, ps.gbt_p, ps.ii_p):
        assert (p <= 1e-3).sum() <= stats.binom.ppf(0.999, len(ps), 1e-3)
