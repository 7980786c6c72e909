"""Inter-rater agreement for constructed-response scoring: exact and adjacent agreement, Cohen's quadratic-weighted
kappa, and the rolling accuracy of a rater on pre-scored check papers.

Pure numpy; no Django. Scores are integer score points ``0..max_score`` of one item.

Definitions
-----------
For ``n`` responses scored by two raters, ``a`` and ``b`` (arrays of shape ``(n,)``):

* exact agreement ``mean(a == b)``;
* adjacent agreement ``mean(|a - b| <= 1)`` — "exact or adjacent", the share within one score point, as NAEP and
  PISA report it;
* Cohen's (1968) weighted kappa with quadratic weights over the item's score points ``0..K`` (``K = max_score``):
  ``O`` the ``(K+1)×(K+1)`` table of observed proportions, ``E = outer(rowsum(O), colsum(O))`` the table expected
  under independence, ``w_ij = (i - j)² / K²``, and ``κ = 1 − Σ w·O / Σ w·E``. The categories are the score
  points, not only those observed, so a 0-vs-2 disagreement weighs 4 whether or not 1 occurs (this equals
  ``sklearn.metrics.cohen_kappa_score(a, b, labels=range(K + 1), weights="quadratic")``). κ is undefined (NaN)
  when ``Σ w·E = 0``, i.e. both raters gave one and the same score to every response.

Example
-------
>>> r = agreement([0, 1, 2, 2], [0, 1, 1, 2], max_score=2)
>>> (r.n, r.exact, r.adjacent)
(4, 0.75, 1.0)
>>> round(r.kappa, 4)
0.8
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

ArrayLike = npt.ArrayLike | Sequence[float]


@dataclass(frozen=True)
class Agreement:
    """Agreement of two raters on ``n`` responses of one item."""

    n: int
    exact: float  # share with a == b
    adjacent: float  # share with |a - b| <= 1 (exact included)
    kappa: float  # quadratic-weighted kappa over the score points 0..max_score; NaN when undefined
    mean_a: float
    mean_b: float
    max_score: int


def _scores(x: ArrayLike, name: str, max_score: int) -> np.ndarray:
    arr = np.asarray(x, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values; drop unscored responses first")
    if np.any(arr != np.round(arr)):
        raise ValueError(f"{name} must hold whole score points")
    if arr.size and (arr.min() < 0 or arr.max() > max_score):
        raise ValueError(f"{name} must lie in 0..{max_score}")
    return arr.astype(np.int64)


def _check_max(max_score: int) -> int:
    if isinstance(max_score, bool) or int(max_score) != max_score or max_score < 1:
        raise ValueError("max_score must be a whole number of at least 1")
    return int(max_score)


def quadratic_weighted_kappa(a: ArrayLike, b: ArrayLike, *, max_score: int) -> float:
    """Cohen's quadratic-weighted kappa of two raters' scores ``a`` and ``b`` (shape ``(n,)``) over the score
    points ``0..max_score``. NaN when fewer than one response or when it is undefined (see the module)."""
    k = _check_max(max_score)
    x, y = _scores(a, "a", k), _scores(b, "b", k)
    if x.shape != y.shape:
        raise ValueError(f"a and b must have the same length, got {x.size} and {y.size}")
    if x.size == 0:
        return float("nan")
    m = k + 1
    observed = np.bincount(x * m + y, minlength=m * m).reshape(m, m) / x.size
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0))
    i = np.arange(m)
    w = (i[:, None] - i[None, :]) ** 2 / float(k * k)
    denominator = float((w * expected).sum())
    if denominator == 0.0:
        return float("nan")
    return float(1.0 - (w * observed).sum() / denominator)


def agreement(a: ArrayLike, b: ArrayLike, *, max_score: int) -> Agreement:
    """Exact and adjacent agreement and the quadratic-weighted kappa of two raters' scores."""
    k = _check_max(max_score)
    x, y = _scores(a, "a", k), _scores(b, "b", k)
    if x.shape != y.shape:
        raise ValueError(f"a and b must have the same length, got {x.size} and {y.size}")
    n = int(x.size)
    if n == 0:
        nan = float("nan")
        return Agreement(n=0, exact=nan, adjacent=nan, kappa=nan, mean_a=nan, mean_b=nan, max_score=k)
    d = np.abs(x - y)
    return Agreement(n=n, exact=float(np.mean(d == 0)), adjacent=float(np.mean(d <= 1)),
                     kappa=quadratic_weighted_kappa(x, y, max_score=k), mean_a=float(x.mean()),
                     mean_b=float(y.mean()), max_score=k)


def rolling_accuracy(hits: ArrayLike, *, window: int) -> np.ndarray:
    """Trailing share of hits over the last ``window`` check papers, in scoring order.

    ``hits`` (shape ``(n,)``) is 1 where the rater gave a check paper its agreed score and 0 where not. Element
    ``t`` of the result is ``mean(hits[max(0, t-window+1) : t+1])``: the first ``window - 1`` values average over
    fewer papers (callers decide how many papers a flag needs).

    >>> rolling_accuracy([1, 1, 0, 0, 1], window=2).tolist()
    [1.0, 1.0, 0.5, 0.0, 0.5]
    """
    if isinstance(window, bool) or int(window) != window or window < 1:
        raise ValueError("window must be a whole number of at least 1")
    h = np.asarray(hits, dtype=float)
    if h.ndim != 1:
        raise ValueError(f"hits must be one-dimensional, got shape {h.shape}")
    if not np.all(np.isin(h, (0.0, 1.0))):
        raise ValueError("hits must be 0 or 1")
    if h.size == 0:
        return np.zeros(0)
    c = np.concatenate([[0.0], np.cumsum(h)])
    t = np.arange(1, h.size + 1)
    lo = np.maximum(0, t - int(window))
    return (c[t] - c[lo]) / (t - lo)


__all__ = ["Agreement", "agreement", "quadratic_weighted_kappa", "rolling_accuracy"]
