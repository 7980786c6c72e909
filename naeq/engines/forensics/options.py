"""The option model behind the answer-similarity indices.

Model (stated, as Wollack 1997 requires an option model): the probability that person ``i`` chooses option ``k`` of
item ``j`` is ::

    P(k | θ_i) = P_j(θ_i)                          k = key_j     (2PL: P_j(θ) = σ(a_j (θ − b_j)))
    P(k | θ_i) = (1 − P_j(θ_i)) · D_j(k | bin(θ_i))  k ≠ key_j

where ``D_j(· | bin)`` is the conditional multinomial distribution of the wrong options (an omitted answer counts
as an option of its own) within one of ``n_bins`` ability strata (quantiles of θ), estimated from the data with
+0.5 smoothing. This is the "2PL for the key, conditional multinomial for the distractors given θ" model; it
approximates the nominal response model (Bock 1972) that Wollack used, without its slow fit.

Item parameters and θ may be given (e.g. from ``naeq calibrate``); otherwise they are fitted by alternating
vectorised Newton steps: item logistic regressions on the current θ (started at the normal scores of the
proportions correct), then θ by Warm's (1989) weighted likelihood estimate, with θ standardised each round.

References: Bock (1972) Psychometrika 37; Wollack (1997) Applied Psychological Measurement 21, 307–320; Warm (1989)
Psychometrika 54, 427–450.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit, ndtri
from scipy.stats import rankdata

from naeq.engines.errors import EngineError
from naeq.engines.irt.models import ItemParameters

THETA_BOUND = 5.0


def check_options(options: Any, key: Any) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Validate a response matrix ``(N, J)`` of option codes (−1 = not administered) and a key ``(J,)``."""
    x = np.asarray(options)
    if x.ndim != 2:
        raise ValueError("options must be a 2-D array (persons × items)")
    if x.dtype.kind == "f":
        if not np.all(np.isfinite(x)):
            raise EngineError("options contain NaN or infinite values; code not-administered as −1",
                              code="nonfinite")
        if np.any(x != np.round(x)):
            raise EngineError("options must be integer option codes", code="not_integer")
    x = x.astype(np.int64)
    k = np.asarray(key)
    if k.dtype.kind == "f" and not np.all(np.isfinite(k)):
        raise EngineError("key contains NaN or infinite values", code="nonfinite")
    k = k.astype(np.int64).reshape(-1)
    if k.shape[0] != x.shape[1]:
        raise ValueError(f"key has {k.shape[0]} entries, expected {x.shape[1]} (one per item)")
    if np.any(x < -1) or np.any(k < 0):
        raise EngineError("option codes must be ≥ 0 (−1 = not administered) and keys ≥ 0", code="bad_code")
    if x.shape[0] < 2 or np.any((x >= 0).sum(axis=0) == 0):
        raise EngineError("every item needs responses and there must be at least two persons", code="too_few")
    return x, k


def key_parameters(params: ItemParameters, items: Any) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """2PL ``(a, b)`` of the keys of ``items`` (in that order) from an IRT engine calibration (``naeq.engines.irt``).

    Rasch and 2PL items map directly; a 3PL item is accepted only with ``c = 0`` (the forensic option model and lz*
    are written for the 2PL); polytomous items are refused with a message naming them.

    Examples
    --------
    >>> from naeq.engines.irt.models import ItemParameters
    >>> p = ItemParameters(items=("i1", "i2"), model=["2pl", "rasch"], a=[1.5, 1.0], b=[[0.2], [-0.5]], c=[0, 0],
    ...                    n_categories=[2, 2])
    >>> [v.tolist() for v in key_parameters(p, ["i2", "i1"])]
    [[1.0, 1.5], [-0.5, 0.2]]
    """
    try:
        sel = params.select(list(items))
    except KeyError as exc:
        raise EngineError(f"item {exc.args[0]} has no parameters in the calibration", code="missing_item") from None
    bad = [str(it) for it, m, c in zip(sel.items, sel.model, sel.c, strict=True)
           if m not in ("rasch", "2pl") and not (m == "3pl" and c == 0)]
    if bad:
        raise EngineError(f"items {', '.join(bad[:5])} are not dichotomous Rasch/2PL items; the forensic model needs "
                          "a 2PL key probability", code="not_2pl")
    return np.asarray(sel.a, dtype=np.float64).copy(), np.asarray(sel.b[:, 0], dtype=np.float64).copy()


def wle_2pl(u: NDArray[np.float64], taken: NDArray[np.bool_], a: NDArray[np.float64], b: NDArray[np.float64],
            *, start: NDArray[np.float64] | None = None, max_iter: int = 60, tol: float = 1e-6) -> NDArray[np.float64]:
    """Warm's WLE of θ under the 2PL for every row at once (bounded to ±5; a row without items gets 0).

    Solves ``Σ_j a_j (u_j − P_j) + J(θ) / (2 I(θ)) = 0`` with ``I = Σ a² P Q`` and ``J = Σ a³ P Q (1 − 2P)``.
    """
    m = taken.astype(np.float64)
    theta = np.zeros(u.shape[0]) if start is None else np.clip(np.asarray(start, dtype=np.float64), -THETA_BOUND,
                                                               THETA_BOUND)
    for _ in range(max_iter):
        p = expit(a * (theta[:, None] - b))
        pq = p * (1 - p) * m
        info = (pq * a**2).sum(axis=1)
        jj = (pq * a**3 * (1 - 2 * p)).sum(axis=1)
        score = (m * a * (u - p)).sum(axis=1) + np.where(info > 0, jj / (2 * np.maximum(info, 1e-12)), 0.0)
        step = np.clip(score / np.maximum(info, 1e-6), -1.0, 1.0)
        theta = np.clip(theta + step, -THETA_BOUND, THETA_BOUND)
        if np.max(np.abs(step)) < tol:
            break
    return theta


def _fit_items(u: NDArray[np.float64], m: NDArray[np.float64], theta: NDArray[np.float64],
               a: NDArray[np.float64], b: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    # logit P = α + β θ, per item, Newton on (α, β) for all items at once, with a weak ridge for stability.
    beta, alpha = a.copy(), -a * b
    for _ in range(25):
        p = expit(alpha + beta * theta[:, None])
        w = p * (1 - p) * m
        r = (u - p) * m
        g0, g1 = r.sum(axis=0) - 0.01 * alpha, (r * theta[:, None]).sum(axis=0) - 0.01 * (beta - 1)
        h00 = w.sum(axis=0) + 0.01
        h01 = (w * theta[:, None]).sum(axis=0)
        h11 = (w * theta[:, None] ** 2).sum(axis=0) + 0.01
        det = h00 * h11 - h01**2
        d0, d1 = (h11 * g0 - h01 * g1) / det, (h00 * g1 - h01 * g0) / det
        alpha, beta = alpha + np.clip(d0, -2, 2), np.clip(beta + np.clip(d1, -1, 1), 0.2, 4.0)
        if max(np.max(np.abs(d0)), np.max(np.abs(d1))) < 1e-6:
            break
    return beta, -alpha / beta


@dataclass(frozen=True)
class OptionModel:
    """A fitted option model. Arrays are read-only.

    Attributes
    ----------
    key : (J,) correct option codes
    n_options : int, ``K`` (codes 0..K−1)
    a, b : (J,) 2PL slope and difficulty of the key
    theta : (N,) abilities (WLE), one per row of the fitted matrix
    bins : (n_bins − 1,) θ cut points of the distractor strata
    distractors : (n_bins, J, K) conditional probabilities of the wrong options (0 at the key)
    """

    key: NDArray[np.int64]
    n_options: int
    a: NDArray[np.float64]
    b: NDArray[np.float64]
    theta: NDArray[np.float64]
    bins: NDArray[np.float64]
    distractors: NDArray[np.float64]

    def __post_init__(self) -> None:
        for name in ("key", "a", "b", "theta", "bins", "distractors"):
            arr = np.array(getattr(self, name))
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    def p_correct(self, theta: NDArray[np.float64]) -> NDArray[np.float64]:
        """``(n, J)`` probability of the key at the given abilities."""
        return np.asarray(expit(self.a * (np.asarray(theta)[:, None] - self.b)))

    def probabilities(self, rows: NDArray[np.int64], taken: NDArray[np.bool_] | None = None) -> NDArray[np.float64]:
        """``(n, J, K)`` option probabilities of the given rows of the fitted matrix (zero where not taken)."""
        th = self.theta[rows]
        pc = self.p_correct(th)
        d = self.distractors[np.searchsorted(self.bins, th)]  # (n, J, K)
        p = d * (1 - pc)[:, :, None]
        j = np.arange(len(self.key))
        p[:, j, self.key] = pc
        if taken is not None:
            p *= taken[:, :, None]
        return p


def fit_option_model(options: Any, key: Any, *, a: Any = None, b: Any = None, theta: Any = None,
                     n_bins: int = 5, n_rounds: int = 3) -> OptionModel:
    """Fit the option model to ``options`` ``(N, J)`` (codes 0..K−1, −1 = not administered) and ``key`` ``(J,)``.

    Parameters
    ----------
    a, b : optional (J,) 2PL parameters of the key (then not re-estimated)
    theta : optional (N,) abilities on the same scale (then not re-estimated)
    n_bins : number of ability strata of the distractor model

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[0, 1, 2], [0, 0, 0], [1, 1, 2], [0, 2, 1]])
    >>> m = fit_option_model(x, [0, 1, 2], n_bins=2)
    >>> m.probabilities(np.arange(4)).sum(axis=2).round(6).tolist()[0]
    [1.0, 1.0, 1.0]
    """
    x, k = check_options(options, key)
    n, j = x.shape
    taken = x >= 0
    m = taken.astype(np.float64)
    u = (x == k).astype(np.float64) * m
    n_opt = int(max(x.max(), k.max())) + 1
    fixed_items = a is not None and b is not None
    a_ = np.ones(j) if a is None else np.asarray(a, dtype=np.float64).reshape(-1).copy()
    b_ = np.zeros(j) if b is None else np.asarray(b, dtype=np.float64).reshape(-1).copy()
    for name, arr in (("a", a_), ("b", b_)):
        if arr.shape != (j,) or not np.all(np.isfinite(arr)):
            raise EngineError(f"{name} must hold {j} finite values", code="bad_parameters")
    if theta is not None:
        th = np.asarray(theta, dtype=np.float64).reshape(-1).copy()
        if th.shape != (n,) or not np.all(np.isfinite(th)):
            raise EngineError(f"theta must hold {n} finite values", code="bad_parameters")
    else:
        prop = (u.sum(axis=1) + 0.5) / (m.sum(axis=1) + 1.0)
        th = ndtri((rankdata(prop) - 0.5) / n)  # mid-ranks: ties do not depend on the row order
        for _ in range(n_rounds):
            if not fixed_items:
                a_, b_ = _fit_items(u, m, th, a_, b_)
            th = wle_2pl(u, taken, a_, b_, start=None if fixed_items else th)
            if not fixed_items:
                th = (th - th.mean()) / max(th.std(), 1e-9)
            else:
                break
    cuts = np.quantile(th, np.linspace(0, 1, n_bins + 1)[1:-1]) if n_bins > 1 else np.empty(0)
    stratum = np.searchsorted(cuts, th)
    counts = np.zeros((max(n_bins, 1), j, n_opt))
    rows, cols = np.nonzero(taken & (x != k))
    np.add.at(counts, (stratum[rows], cols, x[rows, cols]), 1.0)
    seen = np.zeros((j, n_opt), dtype=bool)
    seen[np.nonzero(taken)[1], x[taken]] = True
    seen[np.arange(j), k] = False
    counts = (counts + 0.5) * seen[None]
    total = counts.sum(axis=2, keepdims=True)
    # An item nobody answered wrongly: spread over the options seen anywhere (keeps probabilities summing to 1).
    fallback = np.where(np.arange(n_opt)[None] != k[:, None], 1.0, 0.0)[None] / max(n_opt - 1, 1)
    dist = np.where(total > 0, counts / np.where(total > 0, total, 1.0), fallback)
    return OptionModel(key=k, n_options=n_opt, a=a_, b=b_, theta=th, bins=cuts, distractors=dist)
