"""The fast paths of the engine give the results of the straightforward ones.

* person estimates (WLE, MAP) from per-booklet-pattern tables on a fine θ grid (:class:`persons._PatternSums`)
  against the per-response sums; tolerance 1e-8 on θ and SE: the interpolation error bound of the module
  (< 1e-8 on θ) — a wrong table (an item missing from a pattern, a wrong 3PL score term) moves θ by > 1e-3;
* the fast WLE solves Warm's equation evaluated exactly (per response) at its own estimate;
* the item-parameter SEs on the E-step's pattern blocks against the per-response cross products: the same sums
  in another order, so equal to rounding (1e-10 relative).
"""

from __future__ import annotations

import numpy as np
import pytest

from naeq.engines.irt import calibrate as cal
from naeq.engines.irt import persons
from naeq.engines.irt.data import Responses
from naeq.engines.irt.estep import EStep
from naeq.engines.irt.mstep import Priors
from naeq.engines.irt.simulate import rotated_booklets, simulate_items, simulate_responses


def _data(n: int = 1500, seed: int = 8) -> tuple[Responses, object]:
    rng = np.random.default_rng(seed)
    params = simulate_items(["2pl", "3pl", "gpcm", "pcm", "rasch", "2pl"] * 6, seed=rng, n_categories=4)
    theta = rng.normal(0.0, 1.3, n)
    theta[:20] = -5.0     # all-wrong and all-right response vectors: the extremes of the WLE
    theta[20:40] = 5.0
    design = rotated_booklets(len(params), 6, 2)
    r = simulate_responses(params, theta, seed=rng, design=design, booklet=rng.integers(0, 6, n))
    return r, params


@pytest.mark.parametrize("method", ["wle", "map"])
def test_pattern_tables_give_the_per_response_estimates(method: str, monkeypatch: pytest.MonkeyPatch) -> None:
    r, params = _data()
    built = []
    real = persons._PatternSums

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        built.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(persons, "MIN_TABLE_RESPONSES", 10**12)
    slow = persons.estimate_persons(r, params, method)
    monkeypatch.setattr(persons, "MIN_TABLE_RESPONSES", 0)
    monkeypatch.setattr(persons, "_PatternSums", spy)
    fast = persons.estimate_persons(r, params, method)
    assert built, "the fast path was not taken"
    assert slow.converged and fast.converged
    assert np.array_equal(slow.at_bound, fast.at_bound)
    assert np.abs(fast.theta - slow.theta).max() < 1e-8
    assert np.abs(fast.se - slow.se).max() < 1e-8
    if method == "wle":
        assert (slow.raw_score == 0).any() and (slow.raw_score == slow.max_score).any()


def test_fast_wle_solves_warms_equation(monkeypatch: pytest.MonkeyPatch) -> None:
    r, params = _data(n=800, seed=3)
    monkeypatch.setattr(persons, "MIN_TABLE_RESPONSES", 0)
    est = persons.wle(r, params)
    s, info, jj = persons.derivatives(r, params, est.theta)
    inside = ~est.at_bound
    g = s + jj / (2 * info)
    # at the root of the per-response equation to the Newton tolerance 1e-6 in θ, i.e. |g| < 1e-6 · I
    assert np.all(np.abs(g[inside]) < 1e-6 * info[inside] + 1e-9)
    assert np.allclose(est.se[inside], 1 / np.sqrt(info[inside]), rtol=1e-8)


@pytest.mark.parametrize("weighted", [False, True])
def test_block_standard_errors_equal_the_per_response_ones(weighted: bool) -> None:
    r, params = _data(n=1200, seed=5)
    res = cal.calibrate(r, dict(zip(params.items, params.model, strict=True)), compute_se=False, max_iter=30)
    p = res.params
    es = EStep(r, min_dense_cells=0)
    assert es.dense
    kmax = p.max_categories
    free = np.zeros((len(p), kmax + 1), dtype=bool)
    for j in range(len(p)):
        free[j, 0] = p.model[j] not in ("rasch", "pcm")
        free[j, 1: p.n_categories[j]] = True
        free[j, kmax] = p.model[j] == "3pl"
    w = np.random.default_rng(1).uniform(0.5, 2.0, r.n_persons) if weighted else None
    ref = cal._xpd_standard_errors(r, p, res.posterior, res.nodes, free, Priors(), w)
    got = cal._xpd_standard_errors_blocks(es, r, p, res.posterior[es.order], res.nodes, free, Priors(),
                                          None if w is None else w[es.order])
    assert np.array_equal(np.isnan(ref), np.isnan(got))
    ok = np.isfinite(ref)
    assert ok.sum() > len(p)
    assert np.allclose(got[ok], ref[ok], rtol=1e-10, atol=0)


def test_fit_moments_on_the_grid_equal_the_exact_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    from naeq.engines.irt import fit

    r, params = _data(n=1500, seed=9)
    theta = persons.wle(r, params).theta
    monkeypatch.setattr(fit, "MIN_TABLE_RESPONSES", 10**12)
    exact = fit.infit_outfit(r, params, theta)
    calls = []
    real = fit._read_grid

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(fit, "MIN_TABLE_RESPONSES", 0)
    monkeypatch.setattr(fit, "_read_grid", spy)
    grid = fit.infit_outfit(r, params, theta)
    assert calls
    # mean squares and their t: relative interpolation error < 3e-7 per response (fit module), 1e-6 here
    for a, b in zip(exact, grid, strict=True):
        assert np.allclose(b, a, rtol=1e-6, atol=1e-9, equal_nan=True)


@pytest.mark.parametrize("weighted", [False, True])
def test_fused_single_precision_estep_matches_the_double_precision_one(weighted: bool) -> None:
    from naeq.engines.irt.likelihood import log_probability_table, posterior

    r, params = _data(n=3000, seed=11)
    nodes = np.linspace(-6, 6, 41)
    table = log_probability_table(params, nodes, r.max_categories).reshape(r.n_items, r.max_categories, 41)
    es = EStep(r, min_dense_cells=0)
    assert es.dense
    rng = np.random.default_rng(2)
    group = rng.integers(0, 3, r.n_persons)[es.order]
    log_w = np.stack([-0.5 * ((nodes - m) / s) ** 2 for m, s in ((0, 1), (0.5, 0.8), (-0.3, 1.2))])
    log_w -= np.log(np.exp(log_w).sum(axis=1, keepdims=True))
    wt = rng.uniform(0.5, 2.0, r.n_persons) if weighted else None
    counts, logml, mass = es.posterior_counts(table, log_w, group, wt)
    # reference: the double-precision sparse products of likelihood.py on the same persons (internal order)
    ll = np.asarray(r.indicator() @ table.reshape(-1, 41))[es.order]
    post, ml_ref = posterior(ll, log_w[group])
    if wt is not None:
        post *= wt[:, None]
        ml_ref = ml_ref * wt
    x = r.indicator()[es.order]
    ref_counts = np.asarray(x.T @ post).reshape(counts.shape)
    ref_mass = np.stack([post[group == k].sum(axis=0) for k in range(3)])
    # single precision: ~1e-5 on a log-likelihood of order 10-100, ~1e-6 relative on sums of weights (estep.py)
    assert np.abs(logml - ml_ref).max() < 1e-4
    assert np.abs(counts - ref_counts).max() < 1e-5 * float(np.abs(ref_counts).max())
    assert np.abs(mass - ref_mass).max() < 1e-5 * float(ref_mass.max())
    assert np.isclose(mass.sum(), post.sum(), rtol=1e-6)
