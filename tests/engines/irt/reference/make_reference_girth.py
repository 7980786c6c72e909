"""Reference values from girth (marginal maximum likelihood, N(0, 1) population) for 2PL, 1PL and GPCM.

Run from the repository root after make_data.py (girth is in the ``bench`` extra, not needed by the tests):

    .venv/bin/pip install girth
    .venv/bin/python tests/engines/irt/reference/make_reference_girth.py

Writes girth_<model>.csv with a first comment line naming girth's, numpy's and Python's versions. girth's
``pcm_mml`` estimates a slope per item, i.e. it is the generalised partial credit model; its ``onepl_mml``
estimates one common slope with a N(0, 1) population (compare with naeq's Rasch by b·a and a = σ).
Polytomous difficulties: girth returns b_1, …, b_{K−1} per item, NaN-padded.
"""

from __future__ import annotations

import platform
from importlib.metadata import version
from pathlib import Path

import girth
import numpy as np

HERE = Path(__file__).resolve().parent
OPTIONS = {"quadrature_n": 61, "quadrature_bounds": (-6, 6), "max_iteration": 500}


def load(name: str) -> tuple[list[str], np.ndarray]:
    lines = (HERE / f"{name}.csv").read_text().splitlines()
    items = lines[0].split(",")
    data = np.array([[int(v) for v in line.split(",")] for line in lines[1:]])
    return items, data.T                                         # girth wants items × persons


def header() -> str:
    return (f"# girth {version('girth')}; numpy {np.__version__}; Python {platform.python_version()}; "
            f"options {OPTIONS}")


def main() -> None:
    items, data = load("twopl")
    res = girth.twopl_mml(data, options=OPTIONS)
    rows = [header(), "item,a,b"] + [f"{i},{x:.8f},{y:.8f}" for i, x, y in
                                     zip(items, res["Discrimination"], res["Difficulty"], strict=True)]
    (HERE / "girth_2pl.csv").write_text("\n".join(rows) + "\n")

    items, data = load("twopl")
    res = girth.onepl_mml(data, options=OPTIONS)
    disc = float(np.atleast_1d(res["Discrimination"])[0])
    rows = [header(), "item,a,b"] + [f"{i},{disc:.8f},{y:.8f}" for i, y in zip(items, res["Difficulty"], strict=True)]
    (HERE / "girth_1pl.csv").write_text("\n".join(rows) + "\n")

    # girth 0.8.0's threepl_mml fails under numpy 2 / scipy 1.17 ("setting an array element with a sequence" in
    # its inner fminbound), so there is no girth 3PL reference; the 3PL is checked by parameter recovery instead.
    items, data = load("gpcm")
    res = girth.pcm_mml(data, options=OPTIONS)
    rows = [header(), "item,step,a,b"]
    for j, item in enumerate(items):
        steps = np.asarray(res["Difficulty"][j], dtype=float)
        steps = steps[np.isfinite(steps)]
        rows += [f"{item},{v + 1},{res['Discrimination'][j]:.8f},{s:.8f}" for v, s in enumerate(steps)]
    (HERE / "girth_gpcm.csv").write_text("\n".join(rows) + "\n")
    print("wrote girth_2pl.csv, girth_1pl.csv, girth_gpcm.csv")


if __name__ == "__main__":
    main()
