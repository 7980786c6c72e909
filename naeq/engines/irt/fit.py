"""Item fit: S-X² (Orlando & Thissen 2000; Kang & Chen 2008 for polytomous items) and infit/outfit mean squares.

S-X²
    Within each booklet pattern (persons who took the same items), persons are grouped by summed score s. The
    observed proportion O_jks of persons with score s who scored k on item j is compared with the model's
    expectation, which needs no ability estimate::

        E_jks = ∫ P_jk(θ) f_{−j}(s − k | θ) φ(θ) dθ / ∫ f(s | θ) φ(θ) dθ

    where f and f_{−j} are the summed-score distributions with and without item j, computed by the Lord &
    Wingersky (1984) recursion on the quadrature grid, and φ the population density of the calibration.
    X² = Σ_s N_s Σ_k (O_jks − E_jks)² / E_jks; adjacent score groups are merged from the low end until every
    expected cell count is at least ``min_expected`` (default 1, as Orlando & Thissen), the extreme scores (0
    and the maximum) are left out for dichotomous items (their O and E are identical by construction); the
    contributions of all patterns are summed, df = Σ groups·(K_j − 1) − free parameters of item j, and the
    p-value is the χ² upper tail.
Infit / outfit (Wright & Masters 1982)
    With standardised residuals z_ij = (x_ij − E_ij)/√V_ij at a point estimate θ̂_i: outfit = mean z²,
    infit = Σ (x − E)² / Σ V. Reported with the Wilson–Hilferty t transform of each mean square (its model
    variance from the fourth central moments) and the two-sided normal p-value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from naeq.engines.irt.data import Responses
from naeq.engines.irt.grid import Grid
from naeq.engines.irt.likelihood import _aligned
from naeq.engines.irt.models import ItemParameters, category_probabilities
from naeq.engines.irt.patterns import booklet_patterns


@dataclass(frozen=True)
class ItemFit:
    """One row per item: S-X² (statistic, df, p), infit/outfit mean squares with t and p; NaN where not defined."""

    items: tuple[str, ...]
    sx2: NDArray[np.float64]
    sx2_df: NDArray[np.int64]
    sx2_p: NDArray[np.float64]
    infit: NDArray[np.float64]
    infit_t: NDArray[np.float64]
    outfit: NDArray[np.float64]
    outfit_t: NDArray[np.float64]
    outfit_p: NDArray[np.float64]
    infit_p: NDArray[np.float64]

    def flagged(self, alpha: float = 0.01) -> tuple[str, ...]:
        """Items whose S-X² p-value is below ``alpha``."""
        return tuple(i for i, p in zip(self.items, self.sx2_p, strict=True) if np.isfinite(p) and p < alpha)


def _lord_wingersky(prob: NDArray[np.float64], kcat: NDArray[np.int64]) -> NDArray[np.float64]:
    """Summed-score distribution f[s, q] of items with probabilities prob (n, Q, K) and categories kcat (n,)."""
    q = prob.shape[1]
    total = int((kcat - 1).sum())
    f = np.zeros((total + 1, q))
    f[0] = 1.0
    top = 0
    for i in range(prob.shape[0]):
        ki = int(kcat[i])
        new = np.zeros_like(f)
        for k in range(ki):
            new[k: top + k + 1] += f[: top + 1] * prob[i, :, k][None, :]
        f = new
        top += ki - 1
    return f


def _collapse(n_s: NDArray[np.float64], expected: NDArray[np.float64], observed: NDArray[np.float64],
              min_expected: float) -> tuple[float, int]:
    """Merge adjacent score groups from the low end until every expected count n·E ≥ min_expected; returns
    (X², number of groups). expected/observed are (S, K) proportions."""
    chi = 0.0
    groups = 0
    acc_n = 0.0
    acc_e = np.zeros(expected.shape[1])
    acc_o = np.zeros(expected.shape[1])
    pending: list[tuple[float, NDArray[np.float64], NDArray[np.float64]]] = []
    for s in range(len(n_s)):
        if n_s[s] <= 0:
            continue
        acc_n += n_s[s]
        acc_e = acc_e + n_s[s] * expected[s]
        acc_o = acc_o + n_s[s] * observed[s]
        if np.all(acc_e >= min_expected):
            pending.append((acc_n, acc_e, acc_o))
            acc_n, acc_e, acc_o = 0.0, np.zeros_like(acc_e), np.zeros_like(acc_o)
    if acc_n > 0:
        if pending:
            n0, e0, o0 = pending.pop()
            pending.append((n0 + acc_n, e0 + acc_e, o0 + acc_o))
        else:
            pending.append((acc_n, acc_e, acc_o))
    for _n, e, o in pending:
        ok = e > 0
        chi += float(np.sum((o[ok] - e[ok]) ** 2 / e[ok]))
        groups += 1
    return chi, groups


def sx2(responses: Responses, params: ItemParameters, nodes: NDArray[np.float64],
        weights: NDArray[np.float64], *, n_free: NDArray[np.int64] | None = None,
        min_expected: float = 1.0, min_persons: int = 20) -> tuple[NDArray[np.float64], NDArray[np.int64],
                                                                  NDArray[np.float64]]:
    """S-X² per item (statistic, df, p); ``weights`` (Q,) the population quadrature weights (sum 1),
    ``n_free`` the free parameters per item (default: counted from each item's model). Booklet patterns with fewer
    than ``min_persons`` persons are left out (their score groups could not reach the expected counts anyway)."""
    params = _aligned(responses, params)
    j_items = responses.n_items
    if n_free is None:
        n_free = (params.n_categories - 1) + np.isin(params.model, ["2pl", "3pl", "gpcm"]) + (params.model == "3pl")
    w = np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    prob_all = category_probabilities(nodes, params)                             # (J, Q, K)
    pattern, design = booklet_patterns(responses)
    raw = responses.raw_scores()
    dense = np.full((responses.n_persons, j_items), -1, dtype=np.int16)  # scores < 2¹⁵: a quarter of the memory
    dense[responses.person, responses.item] = responses.score
    chi = np.zeros(j_items)
    cells = np.zeros(j_items, dtype=np.int64)
    for b in range(design.shape[0]):
        items_b = np.flatnonzero(design[b])
        who = np.flatnonzero(pattern == b)
        if len(items_b) < 2 or len(who) < min_persons:
            continue
        kc = params.n_categories[items_b]
        total = int((kc - 1).sum())
        f_all = _lord_wingersky(prob_all[items_b], kc)                           # (T+1, Q)
        denom = f_all @ w                                                       # (T+1,)
        raw_who = raw[who]
        n_s = np.bincount(raw_who, minlength=total + 1).astype(np.float64)
        for pos, j in enumerate(items_b):
            rest = np.delete(np.arange(len(items_b)), pos)
            f_rest = _lord_wingersky(prob_all[items_b[rest]], kc[rest])           # (T+1-(K-1), Q)
            kj = int(params.n_categories[j])
            expected = np.zeros((total + 1, kj))
            for k in range(kj):
                expected[k: k + f_rest.shape[0], k] = (f_rest * prob_all[j, :, k][None, :]) @ w
            with np.errstate(invalid="ignore", divide="ignore"):
                expected = np.where(denom[:, None] > 0, expected / denom[:, None], 0.0)
            obs_counts = np.bincount(raw_who * kj + dense[who, j], minlength=(total + 1) * kj).reshape(
                total + 1, kj).astype(np.float64)
            with np.errstate(invalid="ignore", divide="ignore"):
                observed = np.where(n_s[:, None] > 0, obs_counts / np.maximum(n_s[:, None], 1), 0.0)
            keep = np.ones(total + 1, dtype=bool)
            if kj == 2:
                keep[0] = keep[total] = False
            c2, groups = _collapse(n_s[keep], expected[keep], observed[keep], min_expected)
            chi[j] += c2
            cells[j] += groups * (kj - 1)
    df = cells - n_free
    with np.errstate(invalid="ignore"):
        p = np.where(df > 0, stats.chi2.sf(chi, np.maximum(df, 1)), np.nan)
    return np.where(cells > 0, chi, np.nan), df.astype(np.int64), p


# From this many responses the moments come from item tables on a fine θ grid (:mod:`naeq.engines.irt.grid`).
MIN_TABLE_RESPONSES = 100_000
_CHUNK = 1_000_000


def _moments(p: NDArray[np.float64], k: NDArray[np.float64]) -> tuple[NDArray[np.float64], ...]:
    """E[X], Var(X) and the fourth central moment from category probabilities (..., K)."""
    e = p @ k
    dev = k - e[..., None]
    d2 = dev * dev
    return e, np.einsum("...k,...k->...", p, d2), np.einsum("...k,...k->...", p, d2 * d2)


def _moments_exact(params: ItemParameters, item: NDArray[np.int64], t: NDArray[np.float64],
                   k: NDArray[np.float64]) -> tuple[NDArray[np.float64], ...]:
    """The moments of each response's item at its person's θ (grouped by item to reuse the model code)."""
    p = np.zeros((len(item), len(k)))
    order = np.argsort(item, kind="stable")
    bounds = np.searchsorted(item[order], np.arange(len(params) + 1))
    for j in range(len(params)):
        idx = order[bounds[j]: bounds[j + 1]]
        if len(idx):
            pj = category_probabilities(t[idx], params.take([j]))[0]
            p[idx, : pj.shape[1]] = pj
    return _moments(p, k)


def _grid_tables(params: ItemParameters, theta: NDArray[np.float64], k: NDArray[np.float64]) -> tuple[
        Grid, tuple[NDArray[np.float64], ...]]:
    """The moments as (J, G) tables on a grid of spacing h = 0.005 over the range of θ̂. The moments are sums of
    terms like exp(±a·k·θ) ratios whose fourth derivatives are at most ≈ (a·K)⁴ times the function itself, also
    in the tails where V is tiny, so the interpolation error is relative: ≲ (a·K·h)⁴/24 < 3·10⁻⁷ for a ≤ 2.5,
    K ≤ 4 — far below what the mean squares are reported to (tested against the exact path)."""
    grid = Grid(float(theta.min()) - 0.01, float(theta.max()) + 0.01)
    p = category_probabilities(grid.points, params)                            # (J, G, K)
    if p.shape[2] < len(k):
        p = np.concatenate([p, np.zeros((*p.shape[:2], len(k) - p.shape[2]))], axis=2)
    return grid, _moments(p, k)


def _read_grid(tables: tuple[Grid, tuple[NDArray[np.float64], ...]], item: NDArray[np.int64],
               person: NDArray[np.int64], theta: NDArray[np.float64]) -> tuple[NDArray[np.float64], ...]:
    """The tabulated moments of each response's item at its person's θ̂ (4-point Lagrange interpolation)."""
    grid, tabs = tables
    cols, w = grid.stencil(theta[person])
    base = item * grid.n + cols[:, 0]
    out = []
    for tab in tabs:
        flat = tab.reshape(-1)
        val = flat[base] * w[:, 0]
        for c in range(1, 4):
            val += flat[base + c] * w[:, c]
        out.append(val)
    return tuple(out)


def infit_outfit(responses: Responses, params: ItemParameters, theta: NDArray[np.float64]) -> tuple[
        NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64],
        NDArray[np.float64], NDArray[np.float64]]:
    """(infit, infit_t, infit_p, outfit, outfit_t, outfit_p) per item at person estimates ``theta`` (P,);
    persons with a non-finite θ̂ are left out."""
    params = _aligned(responses, params)
    j_items = responses.n_items
    theta = np.asarray(theta, dtype=np.float64)
    finite = np.isfinite(theta)
    kmax = params.max_categories
    k = np.arange(kmax, dtype=np.float64)
    n_ok = int(finite[responses.person].sum())
    span = float(np.ptp(theta[finite])) if finite.any() else 0.0
    grid_path = n_ok >= MIN_TABLE_RESPONSES and n_ok > 0 and span <= 40.0
    tables = _grid_tables(params, theta[finite], k) if grid_path else None
    # per-item sums over the responses, in chunks (bounded temporaries: no 8-million-row arrays at national scale)
    n = np.zeros(j_items)
    s_out = np.zeros(j_items)
    sum_v = np.zeros(j_items)
    s_r2 = np.zeros(j_items)
    s_c4v = np.zeros(j_items)
    s_c4m = np.zeros(j_items)
    for lo in range(0, len(responses), _CHUNK):
        sl = slice(lo, lo + _CHUNK)
        ok = finite[responses.person[sl]]
        item = responses.item[sl][ok]
        person = responses.person[sl][ok]
        x = responses.score[sl][ok].astype(np.float64)
        if tables is not None:
            e, v, c4 = _read_grid(tables, item, person, theta)
        else:
            e, v, c4 = _moments_exact(params, item, theta[person], k)
        v = np.maximum(v, 1e-12)
        r2 = (x - e) ** 2
        n += np.bincount(item, minlength=j_items)
        s_out += np.bincount(item, weights=r2 / v, minlength=j_items)
        sum_v += np.bincount(item, weights=v, minlength=j_items)
        s_r2 += np.bincount(item, weights=r2, minlength=j_items)
        s_c4v += np.bincount(item, weights=c4 / v**2, minlength=j_items)
        s_c4m += np.bincount(item, weights=c4 - v**2, minlength=j_items)
    outfit = s_out / np.maximum(n, 1)
    infit = s_r2 / np.maximum(sum_v, 1e-300)
    q_out = np.sqrt(np.maximum(s_c4v / np.maximum(n, 1) ** 2 - 1 / np.maximum(n, 1), 1e-12))
    q_in = np.sqrt(np.maximum(s_c4m / np.maximum(sum_v, 1e-300) ** 2, 1e-12))

    def wh(ms: NDArray[np.float64], q: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.asarray((np.cbrt(ms) - 1) * (3 / q) + q / 3)

    in_t = wh(infit, q_in)
    out_t = wh(outfit, q_out)
    none = n == 0
    res = []
    for arr in (infit, in_t, 2 * stats.norm.sf(np.abs(in_t)), outfit, out_t, 2 * stats.norm.sf(np.abs(out_t))):
        res.append(np.where(none, np.nan, arr))
    return res[0], res[1], res[2], res[3], res[4], res[5]


def item_fit(responses: Responses, params: ItemParameters, *, nodes: NDArray[np.float64],
             weights: NDArray[np.float64], theta: NDArray[np.float64], min_expected: float = 1.0,
             min_persons: int = 20) -> ItemFit:
    """S-X² and infit/outfit for every item.

    ``nodes``/``weights`` from the calibration (``result.nodes``, ``result.weights[0]``; for several groups
    pass the mixture ``weights`` — S-X² assumes one population); ``theta`` person point estimates (e.g. WLE).
    """
    s, df, p = sx2(responses, params, nodes, weights, min_expected=min_expected, min_persons=min_persons)
    infit, in_t, in_p, outfit, out_t, out_p = infit_outfit(responses, params, theta)
    return ItemFit(items=responses.items, sx2=s, sx2_df=df, sx2_p=p, infit=infit, infit_t=in_t, infit_p=in_p,
                   outfit=outfit, outfit_t=out_t, outfit_p=out_p)
