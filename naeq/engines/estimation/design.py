"""The replicate-weight design: final weights, replicate weights and the variance formula of R ``survey``.

``svrepdesign(type=, rho=, scale=, rscales=, mse=)`` conventions, matched exactly (survey 4.1.1):

=========  =======================  ===========  ================================================
method     scale                    rscales      notes
=========  =======================  ===========  ================================================
``JK2``    1                        1            R ignores any scale/rscales given for JK2
``Fay``    1 / (R (1 − ρ)²)         1            ρ required (default here 0.5, Fay-BRR of TIMSS)
``JKn``    given (default 1)        given        triples of ``naeq sample``: rscales 2/3
``other``  given (default 1)        given (1)
=========  =======================  ===========  ================================================

``V(θ) = scale · Σ_r rscales_r (θ_r − c)²`` with ``c = θ`` (``mse=True``, the default here and the convention of
``naeq sample``) or ``c`` = the mean of the replicates with ``rscales > 0`` (R's default ``mse=FALSE``).
Replicate weights are *combined* weights (``combined.weights=TRUE``): full weights already multiplied by the
replicate factors.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray

from naeq.engines.errors import EngineError

METHODS = ("JK2", "Fay", "JKn", "other")


def finite(values: Any, name: str, *, ndim: tuple[int, ...] = (1, 2)) -> NDArray[np.float64]:
    """A float copy of ``values``; :class:`EngineError` naming the first NaN/infinite element."""
    arr = np.array(values, dtype=np.float64, copy=True)
    if arr.ndim not in ndim:
        raise ValueError(f"{name} must have {' or '.join(map(str, ndim))} dimensions, got {arr.ndim}")
    bad = ~np.isfinite(arr)
    if bad.any():
        first = np.unravel_index(int(np.flatnonzero(bad.ravel())[0]), arr.shape)
        raise EngineError(f"{name} must be finite: element {tuple(int(i) for i in first)} is NaN or infinite; "
                          "remove or impute it first", code="not_finite")
    return arr


@dataclass(frozen=True, eq=False)
class Design:
    """Final weights ``(N,)``, combined replicate weights ``(N, R)`` and the variance formula.

    Parameters
    ----------
    weights : (N,) non-negative final weights
    replicates : (N, R) non-negative replicate weights (the full weight times the replicate factor)
    method : ``"JK2"``, ``"Fay"``, ``"JKn"`` or ``"other"``
    rho : Fay's ρ in [0, 1) (``method="Fay"`` only; default 0.5)
    scale, rscales : for ``JKn`` / ``other`` (see the module table)
    mse : centre the replicates at the full-sample estimate (True) or at their mean (R's default False)
    schools : optional (N,) school (cluster) labels, for the minimum-schools rule and between-school statistics
    df : degrees of freedom of the design; default R's ``degf``: rank of the replicate weights − 1

    Examples
    --------
    >>> d = Design(np.ones(4), np.array([[0., 2.], [0., 2.], [2., 0.], [2., 0.]]), method="JK2")
    >>> d.scale, d.rscales.tolist(), d.n_replicates
    (1.0, [1.0, 1.0], 2)
    """

    weights: NDArray[np.float64]
    replicates: NDArray[np.float64]
    method: str = "JK2"
    rho: float | None = None
    scale: float | None = None
    rscales: NDArray[np.float64] | None = None
    mse: bool = True
    schools: NDArray[Any] | None = None
    df: float | None = None
    token: str = field(default_factory=lambda: uuid.uuid4().hex)

    def __post_init__(self) -> None:
        w = finite(self.weights, "weights", ndim=(1,))
        rw = finite(self.replicates, "replicate weights", ndim=(2,))
        if rw.shape[0] != len(w):
            raise ValueError(f"replicate weights have {rw.shape[0]} rows, weights {len(w)}")
        if rw.shape[1] < 2:
            raise EngineError("at least two replicate weights are needed", code="few_replicates")
        if (w < 0).any() or (rw < 0).any():
            raise EngineError("weights and replicate weights must be non-negative", code="negative_weight")
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        n_rep = rw.shape[1]
        rho = self.rho
        if self.method == "JK2":
            scale, rscales = 1.0, np.ones(n_rep)
        elif self.method == "Fay":
            rho = 0.5 if rho is None else float(rho)
            if not 0.0 <= rho < 1.0:
                raise ValueError("Fay's rho must lie in [0, 1)")
            scale, rscales = 1.0 / (n_rep * (1.0 - rho) ** 2), np.ones(n_rep)
        else:
            scale = 1.0 if self.scale is None else float(self.scale)
            rs = np.ones(n_rep) if self.rscales is None else finite(self.rscales, "rscales", ndim=(1,))
            rscales = np.broadcast_to(rs, (n_rep,)).astype(np.float64) if rs.size in (1, n_rep) else rs
            if len(rscales) != n_rep:
                raise ValueError(f"rscales has length {len(rs)}, should be {n_rep}")
        if self.schools is not None and len(self.schools) != len(w):
            raise ValueError("schools must have one label per row")
        for name, value in (("weights", w), ("replicates", rw), ("rho", rho), ("scale", scale),
                            ("rscales", rscales)):
            object.__setattr__(self, name, value)

    @property
    def n(self) -> int:
        return len(self.weights)

    @property
    def n_replicates(self) -> int:
        return int(self.replicates.shape[1])

    @cached_property
    def degf(self) -> float:
        """``df`` if given, else R ``survey``'s ``degf``: rank of the replicate weights (QR, tol 1e-5) − 1."""
        if self.df is not None:
            return float(self.df)
        gram = self.replicates.T @ self.replicates
        ev = np.linalg.eigvalsh(gram)
        return float((ev > ev.max() * 1e-10).sum() - 1)

    def degf_rows(self, rows: NDArray[np.int64]) -> float:
        """R's ``degf`` of the design subset to ``rows`` (``subset()`` and ``svyby`` recompute it): rank of those
        rows' replicate weights − 1 (``df``, when given, wins)."""
        if self.df is not None:
            return float(self.df)
        rw = self.replicates[rows]
        ev = np.linalg.eigvalsh(rw.T @ rw)
        return float((ev > ev.max() * 1e-10).sum() - 1)

    def variance(self, full: NDArray[np.float64], reps: NDArray[np.float64]) -> NDArray[np.float64]:
        """Replicate variance: ``full`` (...,) the full-sample estimates, ``reps`` (R, ...) the replicates."""
        rscales = np.asarray(self.rscales)
        centre = full if self.mse else reps[rscales > 0].mean(axis=0)
        dev = reps - centre
        rs = rscales.reshape((-1,) + (1,) * (reps.ndim - 1))
        return np.asarray(self.scale * (rs * dev * dev).sum(axis=0), dtype=np.float64)

    @cached_property
    def school_codes(self) -> NDArray[np.int64] | None:
        if self.schools is None:
            return None
        return np.unique(np.asarray(self.schools), return_inverse=True)[1].astype(np.int64).ravel()
