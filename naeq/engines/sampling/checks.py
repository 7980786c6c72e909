"""Input checks shared by the sampling engine: one place, messages that say what to do."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray


def as_finite(values: Any, name: str, *, dtype: Any = np.float64) -> NDArray[Any]:
    """``values`` as a new array of ``dtype``; ValueError naming ``name`` and the first bad position on NaN/inf."""
    arr = np.array(values, dtype=dtype, copy=True)
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr)
        if bad.any():
            first = int(np.flatnonzero(bad.ravel())[0])
            raise ValueError(f"{name} must be finite: element {first} is {arr.ravel()[first]!r} (NaN or infinite); "
                             "remove or impute it first")
    return arr


def same_length(n: int, **arrays: NDArray[Any]) -> None:
    for name, arr in arrays.items():
        if len(arr) != n:
            raise ValueError(f"{name} has {len(arr)} rows, expected {n}")
