"""Probability-proportional-to-size (PPS) inclusion probabilities and systematic selection, one group or many.

Inclusion probabilities with certainty selections (Särndal, Swensson & Wretman 1992, §3.6; the same rule as R
``sampling::inclusionprobabilities``): a unit with ``n * size / total >= 1`` is taken with certainty (π = 1) and
removed; ``n`` and ``total`` are reduced and the rule is applied again until no unit remains at or above 1. The
remaining units get exactly ``π_i = n' * size_i / total'`` where ``n'`` and ``total'`` are the sample size and the
total size of the non-certainty remainder.

Systematic PPS (Madow 1949; Cochran 1977, §9A.7): over the units in their sorted order, with cumulated
probabilities ``C_i = π_1 + ... + π_i`` and one random start ``u ~ U(0, 1)``, unit ``i`` is selected when an
integer ``k`` has ``C_{i-1} <= u + k < C_i``. Each non-certainty unit is then selected with probability exactly
``π_i`` and the sample size is exactly ``n'``. Every function works on many groups at once (a group is, e.g., one
county and grade): the arrays are flat, ``group`` says which group a unit belongs to, and there are no Python
loops over units or groups.

Example
-------
>>> import numpy as np
>>> pps_inclusion_probabilities(np.array([100.0, 10, 10, 10, 10]), 3).round(3).tolist()
[1.0, 0.5, 0.5, 0.5, 0.5]
>>> sel = systematic_pps(np.array([1.0, 0.5, 0.5, 0.5, 0.5]), np.random.default_rng(1))
>>> int(sel.sum()), bool(sel[0])
(3, True)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from naeq.engines.sampling.checks import as_finite

#: Probabilities this close to 1 count as certainty (guards against n * size / total = 0.9999999999).
CERTAINTY_TOL = 1e-12


def _group_index(group: NDArray[Any] | None, n_units: int) -> tuple[NDArray[np.int64], int]:
    if group is None:
        return np.zeros(n_units, dtype=np.int64), 1
    g = np.asarray(group)
    if g.shape != (n_units,):
        raise ValueError(f"group must have shape ({n_units},), got {g.shape}")
    if g.dtype.kind in "iu" and (n_units == 0 or g.min() >= 0):
        return g.astype(np.int64, copy=False), int(g.max()) + 1 if n_units else 0
    uniq, inv = np.unique(g, return_inverse=True)
    return inv.astype(np.int64), len(uniq)


def grouped_inclusion_probabilities(size: NDArray[Any], n: NDArray[Any] | int,
                                    group: NDArray[Any] | None = None) -> NDArray[np.float64]:
    """PPS inclusion probabilities with iterative certainty capping, for every group at once.

    Parameters
    ----------
    size : (N,) array of non-negative finite sizes (measures of size).
    n : sample size per group: an int (every group) or an (G,) array indexed by group number.
    group : (N,) group labels, or None for one group. Integer labels ``0..G-1`` index ``n`` directly; other labels
        are numbered in sorted order.

    Returns
    -------
    (N,) probabilities in [0, 1]; in each group they sum to ``min(n_g, number of units with size > 0)``.
    Units of size 0 get 0.
    """
    s = as_finite(size, "size")
    if s.ndim != 1:
        raise ValueError("size must be one-dimensional")
    if (s < 0).any():
        raise ValueError("size must be non-negative")
    gi, n_groups = _group_index(group, len(s))
    if np.ndim(n) == 1 and group is not None and np.asarray(group).dtype.kind in "iu":
        n_groups = max(n_groups, int(np.size(n)))  # integer labels index n; trailing groups may be empty
    n_arr = np.broadcast_to(np.asarray(n, dtype=np.int64), (n_groups,)) if np.ndim(n) == 0 else np.asarray(n)
    if n_arr.shape != (n_groups,):
        raise ValueError(f"n must be an int or have one entry per group ({n_groups}), got shape {n_arr.shape}")
    if (n_arr < 0).any():
        raise ValueError("n must be non-negative")
    positive = s > 0
    n_pos = np.bincount(gi, weights=positive, minlength=n_groups)
    n_eff = np.minimum(n_arr, n_pos).astype(np.float64)
    certain = np.zeros(len(s), dtype=bool)
    pi = np.zeros(len(s))
    while True:
        rest = positive & ~certain
        total = np.bincount(gi, weights=np.where(rest, s, 0.0), minlength=n_groups)
        n_rest = n_eff - np.bincount(gi, weights=certain, minlength=n_groups)
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(total > 0, n_rest / total, 0.0)
        pi = np.where(rest, s * factor[gi], 0.0)
        new = rest & (pi >= 1.0 - CERTAINTY_TOL)
        if not new.any():
            break
        certain |= new
    pi[certain] = 1.0
    return pi


def pps_inclusion_probabilities(size: NDArray[Any], n: int) -> NDArray[np.float64]:
    """PPS inclusion probabilities of ``n`` draws from one group, with certainty capping (see the module).

    >>> pps_inclusion_probabilities(np.array([1.0, 2, 3, 4]), 2).round(12).tolist()
    [0.2, 0.4, 0.6, 0.8]
    """
    if int(n) != n or n < 0:
        raise ValueError("n must be a non-negative integer")
    return grouped_inclusion_probabilities(size, int(n))


def systematic_pps(pi: NDArray[Any], rng: np.random.Generator, group: NDArray[Any] | None = None, *,
                   starts: NDArray[np.float64] | None = None) -> NDArray[np.bool_]:
    """Systematic selection with the given inclusion probabilities, in the given (sorted) order, per group.

    Parameters
    ----------
    pi : (N,) inclusion probabilities in [0, 1], e.g. from :func:`grouped_inclusion_probabilities`; within each
        group the probabilities of the units below 1 must sum to an integer (up to 1e-6).
    rng : the generator that draws one start ``u ~ U(0, 1)`` per group (in group-number order).
    group : (N,) group labels; units of a group need not be contiguous, their order in the arrays is the frame's
        sort order.
    starts : (G,) the random starts to use instead of drawing them (for tests).

    Returns
    -------
    (N,) boolean mask of the selected units; every unit with π = 1 is selected.
    """
    p = as_finite(pi, "pi")
    if ((p < 0) | (p > 1 + CERTAINTY_TOL)).any():
        raise ValueError("inclusion probabilities must lie in [0, 1]")
    gi, n_groups = _group_index(group, len(p))
    certain = p >= 1.0 - CERTAINTY_TOL
    q = np.where(certain, 0.0, p)
    # Stable sort by group keeps the frame order within each group.
    order = np.argsort(gi, kind="stable")
    g_sorted = gi[order]
    cum = np.cumsum(q[order])
    group_total = np.bincount(gi, weights=q, minlength=n_groups)
    n_int = np.rint(group_total)
    if (np.abs(group_total - n_int) > 1e-6).any():
        raise ValueError("within each group the probabilities below 1 must sum to an integer sample size")
    before = np.concatenate(([0.0], np.cumsum(group_total)))[:-1]  # cumulated total of the earlier groups
    cum_in = cum - before[g_sorted]
    prev_in = cum_in - q[order]
    # Rescale so that each group's last cumulated value is its integer size exactly (removes rounding drift).
    with np.errstate(divide="ignore", invalid="ignore"):
        fix = np.where(group_total > 0, n_int / group_total, 1.0)
    cum_in *= fix[g_sorted]
    prev_in *= fix[g_sorted]
    u = rng.random(n_groups) if starts is None else np.asarray(starts, dtype=np.float64)
    if u.shape != (n_groups,):
        raise ValueError(f"starts must have shape ({n_groups},)")
    ug = u[g_sorted]
    # Number of integers k with prev <= u + k < cum: ceil(cum - u) - ceil(prev - u).
    hits = np.ceil(cum_in - ug) - np.ceil(prev_in - ug)
    sel_sorted = hits > 0.5
    selected = np.empty(len(p), dtype=bool)
    selected[order] = sel_sorted
    return selected | certain
