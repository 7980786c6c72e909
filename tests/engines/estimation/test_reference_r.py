"""Estimates and SEs equal R ``survey`` 4.1.1 (``svrepdesign`` + ``withPV`` + ``MIcombine``) on the same data.

Reference values: reference/reference.csv, made by reference/make_reference.R from reference/data.csv (made by
reference/make_data.py). Tolerance: relative 1e-8 (issue 8, Correctness). The computations are the same
sums in a different order, so agreement is to ~1e-13; 1e-8 leaves room for BLAS summation order only, and would
catch any convention difference (scale, rscales, mse centring, Rubin's (1 + 1/M), Woodruff's t quantile), each of
which moves the SEs by 1e-3 or more.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from naeq.engines.estimation import (
    Design,
    difference,
    levels,
    mean,
    part_whole,
    percentile,
    proportion,
    regression,
)
from naeq.engines.estimation.results import NO_SUPPRESSION

from .conftest import reference

REL = 1e-8
REFERENCE = reference()
CASES = sorted({(r["design"], r["statistic"]) for r in REFERENCE})


def _group(label: str) -> tuple[str, Any]:
    if label == "all":
        return "all", None
    name, value = label.split("=")
    return name, float(value)


def ours(design: Design, data: dict[str, Any], statistic: str) -> dict[tuple[str, str], tuple[float, float]]:
    """(group label, term) -> (value, se) in the reference's labels."""
    c, pvs = data["col"], data["pvs"]
    out: dict[tuple[str, str], tuple[float, float]] = {}

    def put(est: Any, by_name: str | None, rename: Any = None) -> None:
        for k in range(len(est)):
            g = "all" if by_name is None else f"{by_name}={int(est.group[k][0])}"
            term = rename(est.term[k]) if rename else est.term[k]
            out[(g, term)] = (float(est.value[k]), float(est.se[k]))

    r = NO_SUPPRESSION
    if statistic == "mean":
        put(mean(design, pvs, rules=r), None)
        put(mean(design, pvs, by=c["county"], rules=r), "county")
        put(mean(design, pvs, by=c["sex"], rules=r), "sex")
    elif statistic == "mean_x1":
        put(mean(design, c["x1"], rules=r), None)
        put(mean(design, c["x1"], by=c["county"], rules=r), "county")
    elif statistic == "proportion":
        for by, name in ((None, None), (c["county"], "county")):
            put(proportion(design, pvs >= 500, True, by=by, rules=r), name, lambda t: "p[>=500]")
    elif statistic == "levels":
        put(levels(design, pvs, [420, 500, 580], rules=r), None)
    elif statistic == "percentile":
        q = [0.1, 0.25, 0.5, 0.75, 0.9]
        put(percentile(design, pvs, q, rules=r), None)
        put(percentile(design, pvs, q, by=c["county"], rules=r), "county")
    elif statistic == "regression":
        put(regression(design, pvs, np.column_stack([c["x1"], c["sex"]]), names=["x1", "sex"], rules=r), None)
    elif statistic == "difference":
        by_c = mean(design, pvs, by=c["county"], rules=r)
        whole = mean(design, pvs, rules=r)
        by_s = mean(design, pvs, by=c["sex"], rules=r)
        d = difference(design, by_c, [by_c.index(1.0)], by_c, [by_c.index(2.0)])
        out[("county=1-county=2", "mean")] = (float(d.value[0]), float(d.se[0]))
        pw = part_whole(design, by_c, whole, ["all"] * len(by_c))
        out[("county=1-all", "mean")] = (float(pw.value[0]), float(pw.se[0]))
        d = difference(design, by_s, [by_s.index(1.0)], by_s, [by_s.index(0.0)])
        out[("sex=1-sex=0", "mean")] = (float(d.value[0]), float(d.se[0]))
    return out


@pytest.mark.parametrize(("design_name", "statistic"), CASES)
def test_matches_r_survey(ref_data: dict[str, Any], ref_designs: dict[str, Design], design_name: str,
                          statistic: str) -> None:
    got = ours(ref_designs[design_name], ref_data, statistic)
    rows = [r for r in REFERENCE if r["design"] == design_name and r["statistic"] == statistic]
    assert rows
    for r in rows:
        key = (r["group"], r["term"])
        assert key in got, f"{key} not computed; have {sorted(got)}"
        value, se = got[key]
        assert value == pytest.approx(float(r["value"]), rel=REL), (key, "value")
        assert se == pytest.approx(float(r["se"]), rel=REL), (key, "se")
        assert se > 0


def test_part_whole_se_is_not_the_independent_formula(ref_data: dict[str, Any], ref_designs: dict[str, Design]
                                                      ) -> None:
    """A county is part of the whole: the naive √(SE_c² + SE_all²) overstates the SE of county − all."""
    d = ref_designs["jk2"]
    by_c = mean(d, ref_data["pvs"], by=ref_data["col"]["county"], rules=NO_SUPPRESSION)
    whole = mean(d, ref_data["pvs"], rules=NO_SUPPRESSION)
    pw = part_whole(d, by_c, whole, ["all"] * 3)
    naive = np.sqrt(by_c.se ** 2 + whole.se[0] ** 2)
    assert (pw.se < naive * 0.95).all()
