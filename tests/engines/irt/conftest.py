"""Shared helpers for the IRT engine tests: the reference data sets and their reference values."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from naeq.engines.irt.data import Responses

REFERENCE = Path(__file__).resolve().parent / "reference"


def load_dense(name: str) -> tuple[tuple[str, ...], np.ndarray]:
    """A reference data set (reference/<name>.csv): item ids and the person × item matrix (NaN = NA)."""
    lines = (REFERENCE / f"{name}.csv").read_text().splitlines()
    items = tuple(lines[0].split(","))
    data = np.array([[np.nan if v == "NA" else float(v) for v in line.split(",")] for line in lines[1:]])
    return items, data


def load_responses(name: str) -> Responses:
    items, data = load_dense(name)
    return Responses.from_dense(data, items)


def load_table(name: str) -> list[dict[str, str]]:
    """A reference CSV whose first line is a '#' comment naming the software versions."""
    lines = (REFERENCE / name).read_text().splitlines()
    assert lines[0].startswith("#"), f"{name} must start with the software versions"
    return list(csv.DictReader(lines[1:]))


@pytest.fixture(scope="session")
def reference_responses() -> dict[str, Responses]:
    return {name: load_responses(name) for name in ("rasch_booklets", "pcm", "twopl", "threepl", "gpcm")}
