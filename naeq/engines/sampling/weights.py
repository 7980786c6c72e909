"""Weights: base weights from inclusion probabilities, non-response adjustment within cells, calibration to totals.

* Base weight (Kish 1965; Lohr 2019, §6.2): ``w = 1 / (π_county · π_school|county · π_student|school)``; the county
  factor is 1 for estimates about one county (the county is then fixed, not sampled).
* Non-response adjustment within cells (Lohr 2019, §8.5): in every cell the respondents' weights are multiplied by
  ``Σ_cell w / Σ_cell,respondents w`` and the non-respondents' set to 0, so each cell keeps its weighted total.
* Calibration to known totals (post-stratification, Lohr 2019, §4.4): in every group the weights are multiplied by
  ``T_g / Σ_g w`` so that they sum to the frame total ``T_g`` exactly (up to floating-point rounding).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from naeq.engines.errors import EngineError
from naeq.engines.sampling.checks import as_finite


def base_weights(*pis: NDArray[Any]) -> NDArray[np.float64]:
    """``1 / Π_k π_k`` elementwise over the stage probabilities (all of one shape, each in (0, 1]).

    >>> base_weights(np.array([0.5, 1.0]), np.array([0.1, 0.25])).tolist()
    [20.0, 4.0]
    """
    if not pis:
        raise ValueError("give at least one array of inclusion probabilities")
    prod = np.ones(np.shape(pis[0]))
    for k, p in enumerate(pis):
        arr = as_finite(p, f"pi[{k}]")
        if arr.shape != prod.shape:
            raise ValueError(f"pi[{k}] has shape {arr.shape}, expected {prod.shape}")
        if ((arr <= 0) | (arr > 1)).any():
            raise ValueError(f"pi[{k}] must lie in (0, 1]")
        prod = prod * arr
    return 1.0 / prod


def _codes(cells: NDArray[Any] | tuple[NDArray[Any], ...], n: int) -> NDArray[np.int64]:
    """Integer cell codes from one label array or a tuple of label arrays (their combination)."""
    parts = cells if isinstance(cells, tuple) else (cells,)
    code = np.zeros(n, dtype=np.int64)
    for part in parts:
        arr = np.asarray(part)
        if arr.shape != (n,):
            raise ValueError(f"cell labels must have shape ({n},), got {arr.shape}")
        _, inv = np.unique(arr, return_inverse=True)
        code = code * (int(inv.max()) + 1 if n else 1) + inv
    return np.unique(code, return_inverse=True)[1].astype(np.int64)


def adjust_nonresponse(weights: NDArray[Any], cells: NDArray[Any] | tuple[NDArray[Any], ...],
                       responded: NDArray[Any]) -> NDArray[np.float64]:
    """Weighting-class non-response adjustment.

    Parameters
    ----------
    weights : (n,) non-negative weights of every eligible unit, respondents and non-respondents.
    cells : (n,) cell labels, or a tuple of label arrays whose combination is the cell.
    responded : (n,) booleans.

    Returns
    -------
    (n,) adjusted weights: respondents' weights times ``Σ_cell w / Σ_cell,resp w``; 0 for non-respondents.
    Raises :class:`EngineError` (``empty_cell``) when a cell with positive weight has no respondent: collapse it
    with a neighbouring cell first.

    >>> adjust_nonresponse(np.array([1.0, 1, 2, 2]), np.array([0, 0, 1, 1]), np.array([True, False, True, True]))
    array([2., 0., 2., 2.])
    """
    w = as_finite(weights, "weights")
    if (w < 0).any():
        raise ValueError("weights must be non-negative")
    r = np.asarray(responded)
    if r.dtype != bool or r.shape != w.shape:
        raise ValueError("responded must be a boolean array of the weights' shape")
    code = _codes(cells, len(w))
    total = np.bincount(code, weights=w)
    resp = np.bincount(code, weights=np.where(r, w, 0.0), minlength=len(total))
    empty = (resp <= 0) & (total > 0)
    if empty.any():
        raise EngineError(f"{int(empty.sum())} non-response cell(s) have no respondent; collapse them with a "
                          "neighbouring cell", code="empty_cell")
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(resp > 0, total / resp, 0.0)
    return np.where(r, w * factor[code], 0.0)


def collapse_cells(responded: NDArray[Any], *levels: NDArray[Any] | tuple[NDArray[Any], ...]
                   ) -> NDArray[np.int64]:
    """Non-response cells that all have a respondent, by collapsing nested levels.

    ``levels`` run from the finest to the coarsest, each nested in the next (e.g. county × grade × urban/rural,
    then county × grade). Within a coarse cell, the finer cells are kept only if every one of them has a
    respondent; otherwise the whole coarse cell is used. Returns (n,) integer cell codes for
    :func:`adjust_nonresponse`; a coarsest cell without respondents still fails there.

    Fine cells 1 and 2 share coarse cell 0 and cell 2 has no respondent, so both become coarse cell 0; cell 3 stays.

    >>> r = np.array([True, False, True, True])
    >>> collapse_cells(r, (np.array([1, 2, 3, 3]), np.array([0, 0, 1, 1])), np.array([0, 0, 1, 1])).tolist()
    [1, 1, 0, 0]
    """
    if not levels:
        raise ValueError("give at least one level of cells")
    resp = np.asarray(responded)
    if resp.dtype != bool:
        raise ValueError("responded must be boolean")
    n = len(resp)
    codes = [_codes(level, n) for level in levels]
    top = len(codes) - 1
    decided = np.full(n, top, dtype=np.int64)
    for lev in range(top - 1, -1, -1):
        has = np.bincount(codes[lev], weights=resp, minlength=int(codes[lev].max()) + 1 if n else 0) > 0
        bad = ~has[codes[lev]]
        parent_bad = np.bincount(codes[lev + 1], weights=bad) > 0
        move = (decided == lev + 1) & ~parent_bad[codes[lev + 1]]
        decided[move] = lev
    chosen = np.choose(decided, codes) if len(codes) > 1 else codes[0]
    key = decided * (max(int(c.max()) for c in codes) + 1 if n else 1) + chosen
    return np.unique(key, return_inverse=True)[1].astype(np.int64)


def calibrate_to_totals(weights: NDArray[Any], group: NDArray[Any],
                        totals: Mapping[Any, float] | NDArray[Any]) -> NDArray[np.float64]:
    """Ratio-adjust ``weights`` so that they sum to ``totals[g]`` within every group ``g``.

    ``totals`` is a mapping from group label to total, or an array aligned with ``np.unique(group)``. A group
    whose weights sum to 0 with a positive total raises :class:`EngineError` (``empty_group``).

    >>> calibrate_to_totals(np.array([1.0, 3, 5]), np.array(["a", "a", "b"]), {"a": 8, "b": 10}).tolist()
    [2.0, 6.0, 10.0]
    """
    w = as_finite(weights, "weights")
    labels, inv = np.unique(np.asarray(group), return_inverse=True)
    if isinstance(totals, Mapping):
        missing = [lab for lab in labels.tolist() if lab not in totals]
        if missing:
            raise ValueError(f"no total for group(s) {missing[:5]}")
        t = np.array([float(totals[lab]) for lab in labels.tolist()])
    else:
        t = as_finite(totals, "totals")
        if t.shape != labels.shape:
            raise ValueError(f"totals must have one entry per group ({len(labels)}), got shape {t.shape}")
    s = np.bincount(inv, weights=w, minlength=len(labels))
    bad = (s <= 0) & (t > 0)
    if bad.any():
        raise EngineError(f"group {labels[bad][0]!r} has a positive total but no weight to calibrate",
                          code="empty_group")
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(s > 0, t / s, 0.0)
    return w * factor[inv]
