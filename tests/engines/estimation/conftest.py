"""The reference data set (reference/data.csv, made by reference/make_data.py) as designs."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from naeq.engines.estimation import Design

REF = Path(__file__).with_name("reference")


def load() -> dict[str, Any]:
    with (REF / "data.csv").open() as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], np.array(rows[1:], dtype=np.float64)
    col = {h: body[:, i] for i, h in enumerate(header)}
    jk = np.column_stack([col[h] for h in header if h.startswith("jk")])
    fay = np.column_stack([col[h] for h in header if h.startswith("fay")])
    pvs = np.column_stack([col[f"pv{m}"] for m in range(1, 6)])
    return {"col": col, "jk": jk, "fay": fay, "pvs": pvs}


@pytest.fixture(scope="session")
def ref_data() -> dict[str, Any]:
    return load()


def designs(data: dict[str, Any]) -> dict[str, Design]:
    c = data["col"]
    school = c["school"].astype(int)
    return {"jk2": Design(c["w"], data["jk"], method="JK2", schools=school),
            "fay": Design(c["w"], data["fay"], method="Fay", rho=0.5, schools=school),
            "jk2_nomse": Design(c["w"], data["jk"], method="JK2", mse=False, schools=school)}


@pytest.fixture(scope="session")
def ref_designs(ref_data: dict[str, Any]) -> dict[str, Design]:
    return designs(ref_data)


def reference() -> list[dict[str, str]]:
    with (REF / "reference.csv").open() as fh:
        lines = [ln for ln in fh if not ln.startswith("#")]
    return list(csv.DictReader(lines))
