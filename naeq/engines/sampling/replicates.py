"""Replicate weights: paired jackknife (JK2, full or half) and Fay's balanced repeated replication.

Zones (variance strata) are formed by pairing the PSUs in sort order (``sort_key``, then first appearance):
PSUs 1+2 form zone 1, 3+4 zone 2, ...; with an odd number of PSUs the last one joins the last zone, which becomes
a triple. With ``within`` (schools within a county), zones are formed separately in every group and share the
replicate columns (for estimates about one group); with ``stratum`` (counties within a province), zones are formed
separately in every stratum and each has its own replicates (for national and provincial estimates). A group or
stratum with a single PSU contributes no variance (factor 1 in every replicate). Counties are the PSUs
for national and provincial estimates, schools (zones within each county) for county estimates.

* ``jk2`` (half JK2, TIMSS/NAEP style): one replicate per zone; in a pair the first PSU's weights are set to 0
  and the second's doubled; variance ``Σ_r (θ_r − θ)²``.
* ``jk2_full``: both halves of every pair (two replicates, each dropping one PSU and doubling the other),
  variance factor ½ per replicate: ``½ Σ_r (θ_r − θ)²`` (Wolter 2007, §4.5).
* A triple, under either JK2 variant, gives three delete-one replicates (the two kept PSUs × 3/2) with factor
  2/3 (the JKn rule ``(n_h − 1)/n_h``), which is unbiased for a total's variance.
* With ``max_zones`` (JK2 only), pair zones beyond it are folded: zone ``h`` perturbs replicate ``h mod M``.
* ``fay`` (Fay's BRR, Judkins 1990): from a Sylvester Hadamard matrix of order ``K`` (the smallest power of 2
  greater than the number of zones), replicate ``r`` multiplies the first PSU of zone ``h`` by ``2 − ρ`` and the
  second by ``ρ`` when ``H[r, h+1] = +1`` (the reverse otherwise); the variance is ``Σ_r (θ_r − θ)² / (K (1−ρ)²)``.
  A triple is split into halves {first} and {second, third}.

The variance is centred at the full-sample estimate (R ``survey``: ``svrepdesign(..., mse = TRUE)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from naeq.engines.sampling.checks import as_finite
from naeq.engines.sampling.spec import REPLICATE_SCHEMES


@dataclass(frozen=True)
class ReplicateScheme:
    """How to turn replicate estimates into a variance: ``scale * Σ_r rscales[r] (θ_r − θ)²``.

    ``psu`` the PSU labels in zone order, ``zone`` and ``member`` (0, 1, 2) of each."""

    kind: str
    scale: float
    rscales: NDArray[np.float64]
    psu: NDArray[Any]
    zone: NDArray[np.int64]
    member: NDArray[np.int64]

    @property
    def n_replicates(self) -> int:
        return len(self.rscales)


def jk2_zones(psu: NDArray[Any], sort_key: NDArray[Any] | None = None, within: NDArray[Any] | None = None,
              stratum: NDArray[Any] | None = None
              ) -> tuple[NDArray[Any], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Pair the PSUs into zones in sort order.

    ``within`` (n,): pairs are formed in every group and the zones are numbered from 0 in every group (the groups
    share the replicate columns: for estimates about one group at a time, e.g. schools within counties).
    ``stratum`` (n,): pairs are formed in every stratum and the zones are numbered across strata (every zone has
    its own replicates: for estimates over several strata and for each stratum, e.g. counties within provinces).
    Returns (PSU labels in zone order, zone, member (0, 1, 2; -1 for a lone PSU), group number of each PSU, and
    the PSU number, in that order, of every input row)."""
    p = np.asarray(psu)
    if p.ndim != 1 or len(p) == 0:
        raise ValueError("psu must be a non-empty one-dimensional array")
    if within is not None and stratum is not None:
        raise ValueError("give `within` or `stratum`, not both")
    labels, first, inv = np.unique(p, return_index=True, return_inverse=True)
    key = np.zeros(len(p), dtype=np.int64) if sort_key is None else np.asarray(sort_key)
    groups = within if within is not None else stratum
    grp = (np.zeros(len(p), dtype=np.int64) if groups is None
           else np.unique(np.asarray(groups), return_inverse=True)[1])
    if key.shape != p.shape or grp.shape != p.shape:
        raise ValueError("sort_key, within and stratum must have the shape of psu")
    g_psu = grp[first]
    if groups is not None and (grp != g_psu[inv]).any():
        raise ValueError("a PSU must lie within one group of `within` / `stratum`")
    order = np.lexsort((first, key[first], g_psu))
    g_sorted = g_psu[order]
    n_psu = len(labels)
    k = np.arange(n_psu) - np.searchsorted(g_sorted, g_sorted)
    counts = np.bincount(g_sorted)
    size = counts[g_sorted]
    if groups is None and n_psu < 2:
        raise ValueError("replicate weights need at least 2 PSUs")
    zone = k // 2
    member = k % 2
    odd_last = (size % 2 == 1) & (k == size - 1) & (size > 1)
    zone[odd_last] -= 1
    member[odd_last] = 2
    member[size == 1] = -1  # a lone PSU in its group: no zone, factor 1 everywhere
    if stratum is not None:
        zones_per = np.where(counts >= 2, counts // 2, 0)
        zone = zone + np.concatenate(([0], np.cumsum(zones_per)))[:-1][g_sorted]
    rank = np.empty(n_psu, dtype=np.int64)
    rank[order] = np.arange(n_psu)
    return labels[order], zone, member, g_sorted, rank[inv]


def _factors_jk2(zone: NDArray[np.int64], member: NDArray[np.int64], group: NDArray[np.int64], full: bool,
                 max_zones: int | None, shared: bool) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(n_psu, R) multiplicative factors and the rscales. Pair zones first, then three columns per triple (one
    set shared by all groups when ``shared``)."""
    n_psu = len(zone)
    n_groups = int(group.max()) + 1
    triple_zone = np.full(n_groups, -1, dtype=np.int64)
    triple_zone[group[member == 2]] = zone[member == 2]
    in_triple = (zone == triple_zone[group]) & (member >= 0)
    pairs = (member >= 0) & ~in_triple
    pair_ids, pair_col = np.unique(zone[pairs], return_inverse=True)
    n_pairs = len(pair_ids)
    folds = n_pairs if max_zones is None else min(n_pairs, max_zones)
    per = 2 if full else 1
    base = folds * per
    t = np.flatnonzero(in_triple)
    # Triple sets: one shared by all groups, or one per triple zone.
    t_set = (np.zeros(len(t), dtype=np.int64) if shared
             else np.unique(zone[t], return_inverse=True)[1].astype(np.int64))
    n_sets = int(t_set.max()) + 1 if len(t) else 0
    n_rep = base + 3 * n_sets
    f = np.ones((n_psu, n_rep))
    rows = np.flatnonzero(pairs)
    col = (pair_col % max(folds, 1)) * per
    m = member[rows]
    # Half: drop member 0, double member 1. Full: replicate 2h drops member 0, 2h+1 drops member 1.
    f[rows, col] = np.where(m == 0, 0.0, 2.0)
    if full:
        f[rows, col + 1] = np.where(m == 1, 0.0, 2.0)
    rscales = np.full(n_rep, 0.5 if full else 1.0)
    if len(t):
        c0 = base + 3 * t_set
        for j in range(3):  # the three delete-one replicates of each triple
            f[t, c0 + j] = np.where(member[t] == j, 0.0, 1.5)
        rscales[base:] = 2.0 / 3.0
    return f, rscales


def sylvester_hadamard(order: int) -> NDArray[np.float64]:
    """The Sylvester Hadamard matrix of ``order`` (a power of 2)."""
    if order < 1 or order & (order - 1):
        raise ValueError("order must be a power of 2")
    h = np.ones((1, 1))
    while h.shape[0] < order:
        h = np.block([[h, h], [h, -h]])
    return h


def _factors_fay(zone: NDArray[np.int64], member: NDArray[np.int64], rho: float
                 ) -> tuple[NDArray[np.float64], int]:
    n_zones = int(zone[member >= 0].max()) + 1 if (member >= 0).any() else 1
    order = 1
    while order <= n_zones:
        order *= 2
    h = sylvester_hadamard(order)
    sign = h[:, np.maximum(zone, 0) + 1].T  # (n_psu, K)
    first = member == 0
    f = np.where(first[:, None], np.where(sign > 0, 2.0 - rho, rho), np.where(sign > 0, rho, 2.0 - rho))
    f[member < 0] = 1.0
    return f, order


def replicate_factors(psu: NDArray[Any], *, scheme: str = "jk2", sort_key: NDArray[Any] | None = None,
                      within: NDArray[Any] | None = None, stratum: NDArray[Any] | None = None,
                      max_zones: int | None = None, fay_rho: float = 0.5
                      ) -> tuple[NDArray[np.float64], ReplicateScheme, NDArray[np.int64]]:
    """(n_psu, R) factors per PSU, the scheme, and the PSU number (row of the factors) of every input row."""
    if scheme not in REPLICATE_SCHEMES:
        raise ValueError(f"scheme must be one of {REPLICATE_SCHEMES}, got {scheme!r}")
    labels, zone, member, group, row_psu = jk2_zones(psu, sort_key, within, stratum)
    if scheme == "fay":
        if not 0.0 <= fay_rho < 1.0:
            raise ValueError("fay_rho must lie in [0, 1)")
        f, k = _factors_fay(zone, member, fay_rho)
        sch = ReplicateScheme("fay", 1.0 / (k * (1.0 - fay_rho) ** 2), np.ones(k), labels, zone, member)
    else:
        if max_zones is not None and max_zones < 1:
            raise ValueError("max_zones must be at least 1")
        f, rs = _factors_jk2(zone, member, group, scheme == "jk2_full", max_zones, shared=stratum is None)
        sch = ReplicateScheme(scheme, 1.0, rs, labels, zone, member)
    return f, sch, row_psu


def replicate_weights(weights: NDArray[Any], psu: NDArray[Any], *, scheme: str = "jk2",
                      sort_key: NDArray[Any] | None = None, within: NDArray[Any] | None = None,
                      stratum: NDArray[Any] | None = None, max_zones: int | None = None, fay_rho: float = 0.5
                      ) -> tuple[NDArray[np.float64], ReplicateScheme]:
    """(n, R) replicate weights of the rows and the :class:`ReplicateScheme` for :func:`replicate_se`.

    ``within`` (n,) forms zones separately within each group (e.g. schools within counties, for county
    estimates); the replicate columns are shared, a group with fewer zones keeps factor 1 in the rest.
    ``stratum`` (n,) forms zones within each stratum but gives every zone its own replicates (counties within
    provinces, for national and provincial estimates)."""
    w = as_finite(weights, "weights")
    if w.ndim != 1 or len(w) != len(psu):
        raise ValueError("weights and psu must be one-dimensional and of equal length")
    f, sch, row_psu = replicate_factors(psu, scheme=scheme, sort_key=sort_key, within=within, stratum=stratum,
                                        max_zones=max_zones, fay_rho=fay_rho)
    return w[:, None] * f[row_psu], sch


def jk2_replicates(weights: NDArray[Any], psu: NDArray[Any], *, sort_key: NDArray[Any] | None = None,
                   max_zones: int | None = None, full: bool = False) -> NDArray[np.float64]:
    """(n, R) JK2 replicate weights (half by default, ``full=True`` for both halves); see the module docstring.

    >>> jk2_replicates(np.ones(4), np.array([1, 1, 2, 2])).tolist()
    [[0.0], [0.0], [2.0], [2.0]]
    """
    return replicate_weights(weights, psu, scheme="jk2_full" if full else "jk2", sort_key=sort_key,
                             max_zones=max_zones)[0]


def fay_brr_replicates(weights: NDArray[Any], psu: NDArray[Any], *, sort_key: NDArray[Any] | None = None,
                       rho: float = 0.5) -> NDArray[np.float64]:
    """(n, K) Fay-BRR replicate weights; see the module docstring."""
    return replicate_weights(weights, psu, scheme="fay", sort_key=sort_key, fay_rho=rho)[0]


def scheme_for(kind: str, n_replicates: int, *, fay_rho: float = 0.5) -> ReplicateScheme:
    """A scheme with equal factors: ``jk2`` (1), ``jk2_full`` (½), ``fay`` (1/(R(1−ρ)²)); for replicate weights
    without a triple zone."""
    empty = np.zeros(0, dtype=np.int64)
    if kind == "jk2":
        return ReplicateScheme(kind, 1.0, np.ones(n_replicates), empty, empty, empty)
    if kind == "jk2_full":
        return ReplicateScheme(kind, 1.0, np.full(n_replicates, 0.5), empty, empty, empty)
    if kind == "fay":
        return ReplicateScheme(kind, 1.0 / (n_replicates * (1 - fay_rho) ** 2), np.ones(n_replicates), empty, empty,
                               empty)
    raise ValueError(f"scheme must be one of {REPLICATE_SCHEMES}, got {kind!r}")


def replicate_se(values: NDArray[Any], weights: NDArray[Any], replicate_weights: NDArray[Any],
                 scheme: ReplicateScheme | str) -> float | NDArray[np.float64]:
    """Standard error of the weighted mean (a proportion for 0/1 values) from replicate weights.

    ``values`` (n,) or (n, k); returns a float, or (k,) SEs. ``θ = Σ w y / Σ w`` and
    ``SE = sqrt(scale · Σ_r rscales_r (θ_r − θ)²)``. ``scheme`` is a :class:`ReplicateScheme` (from
    :func:`replicate_weights`; needed when a zone is a triple, whose replicates have factor 2/3) or a name for
    :func:`scheme_for` (equal factors).
    """
    y = as_finite(values, "values")
    w = as_finite(weights, "weights")
    rw = as_finite(replicate_weights, "replicate_weights")
    if rw.ndim != 2 or rw.shape[0] != len(w) or y.shape[0] != len(w):
        raise ValueError("values, weights and replicate_weights must have the same number of rows")
    sch = scheme_for(scheme, rw.shape[1]) if isinstance(scheme, str) else scheme
    if len(sch.rscales) != rw.shape[1]:
        raise ValueError(f"the scheme has {len(sch.rscales)} replicates, the weights {rw.shape[1]}")
    y2 = y[:, None] if y.ndim == 1 else y
    theta = (w @ y2) / w.sum()
    theta_r = (rw.T @ y2) / rw.sum(axis=0)[:, None]
    var = sch.scale * (sch.rscales[:, None] * (theta_r - theta) ** 2).sum(axis=0)
    se = np.sqrt(var)
    return float(se[0]) if y.ndim == 1 else se
