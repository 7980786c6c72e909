from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from naeq.engines.sampling import SchoolFrame

REFERENCE = Path(__file__).with_name("reference")


def read_reference(name: str) -> dict[str, np.ndarray]:
    """A reference CSV (first line: a comment with the R and package versions) as columns."""
    with (REFERENCE / name).open(encoding="utf-8") as fh:
        lines = [line for line in fh if not line.startswith("#")]
    rows = list(csv.DictReader(lines))
    out: dict[str, np.ndarray] = {}
    for key in rows[0]:
        vals = [r[key] for r in rows]
        try:
            out[key] = np.array([float(v) for v in vals])
        except ValueError:
            out[key] = np.array(vals)
    return out


def make_frame(seed: int = 3, n_counties: int = 12, n_provinces: int = 3) -> SchoolFrame:
    """A small synthetic frame: counties with 5-60 schools, primaries, juniors and nine-year schools."""
    rng = np.random.default_rng(seed)
    codes, counties, levels, urs, g4s, g8s = [], [], [], [], [], []
    for c in range(n_counties):
        prov = 11 + c % n_provinces
        county = f"{prov}{1 + c // 4:02d}{c % 4 + 1:02d}"
        n = int(rng.integers(5, 60))
        lvl = rng.choice(["primary", "junior", "nine_year"], size=n, p=[0.6, 0.25, 0.15])
        ur = rng.choice(["111", "121", "210", "220"], size=n)
        size = np.maximum(1, rng.lognormal(4.2, 0.9, size=n)).astype(int)
        for i in range(n):
            codes.append(f"1{county}{i:03d}")
            counties.append(county)
            levels.append(lvl[i])
            urs.append(ur[i])
            g4s.append(int(size[i]) if lvl[i] != "junior" else 0)
            g8s.append(int(size[i] * 2) if lvl[i] != "primary" else 0)
    return SchoolFrame.from_columns(code=codes, county=counties, level=levels, urban_rural=urs, g4=g4s, g8=g8s)


@pytest.fixture
def frame() -> SchoolFrame:
    return make_frame()
