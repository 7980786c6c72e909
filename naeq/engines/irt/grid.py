"""Smooth functions of θ tabulated once on a fine grid and read back by 4-point Lagrange interpolation.

Used where the same item-level function of θ is needed at hundreds of thousands of distinct θ (person
estimates, fit residuals): one table of J × G values instead of an exp/normalise per response. On a grid of
spacing h the interpolation error is at most h⁴/24 · max|f⁽⁴⁾| (at the grid ends; 9/16 of that inside), i.e.
2.6·10⁻¹¹ · max|f⁽⁴⁾| for h = 0.005; the callers state what that means for their results.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

SPACING = 0.005


class Grid:
    """An equally spaced grid ``lo, lo + h, …`` of ``n`` ≥ 4 points."""

    def __init__(self, lo: float, hi: float, spacing: float = SPACING) -> None:
        n = max(4, int(np.ceil((hi - lo) / spacing - 1e-9)) + 1)
        self.lo = float(lo)
        self.h = (hi - lo) / (n - 1) if hi > lo else spacing
        self.n = n
        self.points = self.lo + self.h * np.arange(n)

    def stencil(self, theta: NDArray[np.float64]) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Columns (m, 4) of each θ's 4-point stencil and the Lagrange weights (m, 4); θ outside the grid is
        extrapolated from the end stencil (callers keep θ inside)."""
        u = (theta - self.lo) / self.h
        i0 = np.clip(np.floor(u).astype(np.int64) - 1, 0, self.n - 4)
        v = u - i0                                            # in [1, 2] inside, [0, 1] or [2, 3] at the ends
        w = np.empty((len(theta), 4))
        w[:, 0] = -(v - 1) * (v - 2) * (v - 3) / 6
        w[:, 1] = v * (v - 2) * (v - 3) / 2
        w[:, 2] = -v * (v - 1) * (v - 3) / 2
        w[:, 3] = v * (v - 1) * (v - 2) / 6
        return i0[:, None] + np.arange(4)[None, :], w

    def read(self, table: NDArray[np.float64], row: NDArray[np.int64], theta: NDArray[np.float64]
             ) -> NDArray[np.float64]:
        """table[row_i](θ_i) for every i: ``table`` (R, n) values on the grid, ``row`` (m,), ``theta`` (m,)."""
        cols, w = self.stencil(theta)
        return np.einsum("mk,mk->m", table[row[:, None], cols], w)
