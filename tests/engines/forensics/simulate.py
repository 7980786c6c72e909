"""Simulated responses with known truth for the forensics tests (the model of the engine: 2PL key, distractors
chosen by ability-free item-specific attractiveness), plus injectors of copying and preknowledge."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit


@dataclass
class Sim:
    x: NDArray[np.int64]
    key: NDArray[np.int64]
    school: NDArray[np.int64]
    county: NDArray[np.int64]
    theta: NDArray[np.float64]
    a: NDArray[np.float64]
    b: NDArray[np.float64]


def simulate(rng: np.random.Generator, n_schools: int, size: int, n_items: int = 40, n_options: int = 4,
             schools_per_county: int = 10, school_sd: float = 0.5) -> Sim:
    n = n_schools * size
    th = np.repeat(rng.normal(0, school_sd, n_schools), size) + rng.normal(0, np.sqrt(1 - school_sd**2), n)
    a = rng.uniform(0.7, 2.0, n_items)
    b = rng.normal(0, 1, n_items)
    key = rng.integers(0, n_options, n_items)
    correct = rng.random((n, n_items)) < expit(a * (th[:, None] - b))
    attract = rng.dirichlet(np.full(n_options - 1, 2.0), n_items)
    cum = np.cumsum(attract, axis=1)
    pick = (rng.random((n, n_items))[:, :, None] > cum[None, :, :]).sum(axis=2)  # 0..K−2 among wrong options
    pick = np.minimum(pick, n_options - 2)
    wrong = pick + (pick >= key)  # skip the key
    x = np.where(correct, key, wrong).astype(np.int64)
    school = np.repeat(np.arange(n_schools), size)
    return Sim(x, key, school, school // schools_per_county, th, a, b)


def copy_answers(rng: np.random.Generator, x: NDArray[np.int64], source: int, copiers: NDArray[np.int64],
                 share: float) -> NDArray[np.int64]:
    """Copiers take the source's option on a random ``share`` of the items."""
    out = x.copy()
    for c in copiers:
        items = rng.random(x.shape[1]) < share
        out[c, items] = x[source, items]
    return out


def preknowledge(rng: np.random.Generator, x: NDArray[np.int64], key: NDArray[np.int64], rows: NDArray[np.int64],
                 items: NDArray[np.int64], rate: float = 0.9) -> NDArray[np.int64]:
    """Persons ``rows`` answer the leaked ``items`` correctly with probability ``rate``."""
    out = x.copy()
    hit = rng.random((len(rows), len(items))) < rate
    sub = out[np.ix_(rows, items)]
    out[np.ix_(rows, items)] = np.where(hit, key[items], sub)
    return out
