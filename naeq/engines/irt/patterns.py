"""Booklet patterns: persons who were administered exactly the same set of items.

Summed-score statistics (S-X², Mantel–Haenszel matching) are only meaningful among persons who took the same
items, so they are computed per pattern and then combined.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from naeq.engines.irt.data import Responses


def booklet_patterns(responses: Responses) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """(pattern of every person (P,), pattern × item administered matrix (B, J)); pattern ids by first
    appearance order of the sorted unique item sets (deterministic, row-order free)."""
    dense = np.zeros((responses.n_persons, responses.n_items), dtype=bool)
    dense[responses.person, responses.item] = True
    packed = np.ascontiguousarray(np.packbits(dense, axis=1))
    width = packed.shape[1]
    rows = packed.view(np.dtype((np.void, width))).reshape(-1) if width else np.zeros(len(packed), "V1")
    uniq, inverse = np.unique(rows, return_inverse=True)                   # one row = one opaque key: fast
    design = np.unpackbits(np.frombuffer(uniq.tobytes(), dtype=np.uint8).reshape(len(uniq), -1)[:, :width],
                           axis=1, count=responses.n_items).astype(bool)
    return inverse.reshape(-1).astype(np.int64), design
