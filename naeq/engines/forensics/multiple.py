"""Multiple-testing control: Bonferroni (family-wise) and Benjamini–Hochberg (false discovery rate).

References: Bonferroni (1936); Benjamini & Hochberg (1995) J. R. Stat. Soc. B 57, 289–300.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray


def _p(p: Any) -> NDArray[np.float64]:
    arr = np.asarray(p, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(arr)) or np.any((arr < 0) | (arr > 1)):
        raise ValueError("p-values must be finite numbers in [0, 1]")
    return arr


def bonferroni(p: Any, m: int | None = None) -> NDArray[np.float64]:
    """Bonferroni-adjusted p-values ``min(1, m p)``; ``m`` defaults to the number of p-values.

    Examples
    --------
    >>> bonferroni([0.01, 0.2]).tolist()
    [0.02, 0.4]
    """
    arr = _p(p)
    return np.minimum(1.0, arr * (len(arr) if m is None else int(m)))


def benjamini_hochberg(p: Any) -> NDArray[np.float64]:
    """BH-adjusted p-values (q-values): ``q_(i) = min_{k ≥ i} min(1, m p_(k) / k)`` in the original order.

    Rejecting every hypothesis with ``q ≤ α`` controls the false discovery rate at ``α`` for independent or
    positively dependent tests.

    Examples
    --------
    >>> benjamini_hochberg([0.01, 0.04, 0.03]).round(3).tolist()
    [0.03, 0.04, 0.04]
    """
    arr = _p(p)
    m = len(arr)
    if m == 0:
        return arr
    order = np.argsort(arr, kind="stable")
    scaled = arr[order] * m / np.arange(1, m + 1)
    q_sorted = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(1.0, q_sorted)
    return out


def holm(p: Any) -> NDArray[np.float64]:
    """Holm (1979) step-down adjusted p-values: family-wise error control, uniformly more powerful than Bonferroni.

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03]).round(3).tolist()
    [0.03, 0.06, 0.06]
    """
    arr = _p(p)
    m = len(arr)
    if m == 0:
        return arr
    order = np.argsort(arr, kind="stable")
    adj = np.maximum.accumulate(np.minimum(1.0, arr[order] * (m - np.arange(m))))
    out = np.empty(m)
    out[order] = adj
    return out


def grouped_min_bonferroni(p: Any, group: Any, n_groups: int) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Per group ``min(1, n_g · min p)`` (a valid p-value for "some member is anomalous") and the member count.

    Groups without members get p = 1 and count 0.
    """
    arr = _p(p)
    g = np.asarray(group, dtype=np.int64).reshape(-1)
    minp = np.ones(n_groups)
    np.minimum.at(minp, g, arr)
    count = np.bincount(g, minlength=n_groups).astype(np.int64)
    return np.minimum(1.0, minp * np.maximum(count, 1)), count
