"""Person fit: Snijders' (2001) lz*, the standardised log-likelihood corrected for the estimated θ.

For dichotomous 2PL items with ``P_j = σ(a_j(θ − b_j))``, ``w_j = log(P_j / (1 − P_j))``, ``r_j = a_j`` and the
estimating equation ``Σ_j (u_j − P_j) r_j + r_0(θ) = 0`` (WLE: ``r_0 = J(θ) / (2 I(θ))``)::

    c_n   = Σ_j P'_j w_j / Σ_j P'_j r_j            (P'_j = a_j P_j Q_j)
    W*    = Σ_j (u_j − P_j) w_j + c_n r_0(θ̂)
    τ²    = Σ_j (w_j − c_n r_j)² P_j Q_j
    lz*   = W* / τ                                  (asymptotically N(0, 1); small values = misfit)

Reference: Snijders (2001) Psychometrika 66, 331–342; Magis, Raîche & Béland (2012) Applied Psychological
Measurement 36, 277–296 (the WLE form).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit

from naeq.engines.forensics.options import wle_2pl


def lz_star(scores: Any, taken: Any, a: Any, b: Any, theta: Any = None) -> NDArray[np.float64]:
    """lz* for every row of ``scores`` ``(N, J)`` (0/1; ignored where ``taken`` is False).

    ``theta`` defaults to the WLE; a row with a zero or perfect score, or fewer than two items, gets NaN.

    Examples
    --------
    >>> import numpy as np
    >>> u = np.array([[1, 1, 0, 0], [0, 0, 1, 1]])
    >>> z = lz_star(u, np.ones_like(u, bool), np.ones(4), np.array([-1.5, -0.5, 0.5, 1.5]))
    >>> bool(z[0] > z[1])
    True
    """
    u = np.asarray(scores, dtype=np.float64)
    m = np.asarray(taken, dtype=bool)
    a_ = np.asarray(a, dtype=np.float64)
    b_ = np.asarray(b, dtype=np.float64)
    th = wle_2pl(u * m, m, a_, b_) if theta is None else np.asarray(theta, dtype=np.float64)
    mf = m.astype(np.float64)
    p = expit(a_ * (th[:, None] - b_))
    pq = p * (1 - p) * mf
    w = a_ * (th[:, None] - b_)
    info = (pq * a_**2).sum(axis=1)
    jj = (pq * a_**3 * (1 - 2 * p)).sum(axis=1)
    r0 = jj / (2 * np.maximum(info, 1e-12))
    cn = (pq * a_ * w).sum(axis=1) / np.maximum((pq * a_**2).sum(axis=1), 1e-12)
    wstar = ((u - p) * w * mf).sum(axis=1) + cn * r0
    tau2 = (((w - cn[:, None] * a_) ** 2) * pq).sum(axis=1)
    raw = (u * mf).sum(axis=1)
    n = mf.sum(axis=1)
    bad = (raw <= 0) | (raw >= n) | (n < 2) | (tau2 <= 0)
    return np.where(bad, np.nan, wstar / np.sqrt(np.where(tau2 > 0, tau2, 1.0)))
