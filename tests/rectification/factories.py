"""Estimation runs and estimates built by hand for the rectification tests (the contract of naeq.analysis.models:
the "analysis" helper's runs fill the same rows)."""

from __future__ import annotations

import hashlib
from typing import Any

from django.utils import timezone

from naeq.analysis.models import Estimate, EstimationRun, RunStatus


def run(cycle: Any, code: str = "math") -> EstimationRun:
    digest = hashlib.sha256(f"rect:{cycle.year}:{code}:{EstimationRun.objects.count()}".encode()).hexdigest()
    return EstimationRun.objects.create(cycle=cycle, instrument_code=code, status=RunStatus.DONE, progress=1.0,
                                        inputs_hash=digest, code_version="test", finished_at=timezone.now())


def est(r: EstimationRun, region: Any, statistic: str, value: float, se: float, *, key: str = "", gv: str = "",
        gval: str = "", p: float | None = None, sign: int | None = None, suppressed: bool = False,
        n: int = 3000) -> Estimate:
    level = "nation" if region is None else region.level
    return Estimate.objects.create(run=r, level=level, region=region, path=region.path if region else "",
                                   group_var=gv, group_value=gval, statistic=statistic, key=key, value=value, se=se,
                                   n=n, n_schools=n // 30, p_value=p, sign=sign, suppressed=suppressed,
                                   suppress_reason="min_n" if suppressed else "")


def weak_province(r: EstimationRun, nation_region: None, prov: Any, counties: list[Any], *,
                  nation: bool = True) -> None:
    """A province below the nation in the mean and the 中等及以上 share, with a large urban–rural gap, one county
    above the 校际差异率 threshold, and fewer pupils sleeping enough (with the nation's rows unless ``nation`` is
    false)."""
    if nation:
        _nation(r)
    _weak(r, prov, counties)


def _nation(r: EstimationRun) -> None:
    est(r, None, "mean", 500.0, 0.8)
    est(r, None, "at_or_above", 0.80, 0.004, key="II")
    est(r, None, "proportion", 0.60, 0.005, gv="sleep", gval="1", key="1")
    est(r, None, "proportion", 0.20, 0.004, gv="homework_time", gval="3", key="3")
    est(r, None, "proportion", 0.05, 0.002, gv="homework_time", gval="4", key="4")


def _weak(r: EstimationRun, prov: Any, counties: list[Any]) -> None:
    est(r, prov, "mean", 480.0, 3.0)
    est(r, prov, "difference", -20.0, 3.1, key="vs_nation", p=0.0001, sign=-1)
    est(r, prov, "at_or_above", 0.72, 0.015, key="II")
    est(r, prov, "difference", 24.0, 5.0, key="urban-rural", gv="urban_rural", p=0.0001, sign=1)
    est(r, prov, "difference", 6.0, 4.0, key="F-M", gv="sex", p=0.13, sign=0)
    est(r, prov, "proportion", 0.50, 0.02, gv="sleep", gval="1", key="1")
    est(r, prov, "proportion", 0.21, 0.02, gv="homework_time", gval="3", key="3")
    est(r, prov, "proportion", 0.05, 0.01, gv="homework_time", gval="4", key="4")
    est(r, counties[0], "diff_rate", 0.22, 0.03)
    est(r, counties[0], "mean", 470.0, 6.0)
    est(r, counties[1], "diff_rate", 0.10, 0.03)
    est(r, counties[1], "mean", 476.0, 6.5)


def strong_province(r: EstimationRun, prov: Any, counties: list[Any]) -> None:
    """A province at or above the nation in everything (the nation's rows come from :func:`weak_province`)."""
    est(r, prov, "mean", 530.0, 3.0)
    est(r, prov, "difference", 30.0, 3.1, key="vs_nation", p=0.0001, sign=1)
    est(r, prov, "at_or_above", 0.90, 0.01, key="II")
    est(r, prov, "difference", 4.0, 5.0, key="urban-rural", gv="urban_rural", p=0.4, sign=0)
    est(r, prov, "proportion", 0.75, 0.02, gv="sleep", gval="1", key="1")
    est(r, prov, "proportion", 0.10, 0.02, gv="homework_time", gval="3", key="3")
    est(r, prov, "proportion", 0.02, 0.01, gv="homework_time", gval="4", key="4")
    for c in counties:
        est(r, c, "diff_rate", 0.08, 0.02)


LEVELS = {"I": 0.10, "II": 0.40, "III": 0.35, "IV": 0.15}


def nation_levels(r: EstimationRun, shares: dict[str, float] | None = None, se: float = 0.004) -> None:
    """The nation's level shares and at-or-above shares (the lowest level, 待提高 = I, has no at-or-above row, as
    the estimation runs write them)."""
    shares = shares or LEVELS
    codes = list(shares)
    for code, v in shares.items():
        est(r, None, "level_share", v, se, key=code)
    for j in range(1, len(codes)):
        est(r, None, "at_or_above", sum(shares[c] for c in codes[j:]), se, key=codes[j])


def one_province_world(r: EstimationRun, prov: Any) -> None:
    """The demo's shape: one province that is the whole nation (same means, its vs_nation difference 0, sign 0)."""
    est(r, None, "mean", 500.0, 2.0)
    nation_levels(r)
    est(r, prov, "mean", 500.0, 2.0)
    est(r, prov, "difference", 0.0, 0.0, key="vs_nation", p=1.0, sign=0)


def county(r: EstimationRun, region: Any, mean: float, *, vs_nation: tuple[float, float, int] | None = None,
           vs_province: tuple[float, float, int] | None = None, low: tuple[float, float] | None = None,
           low_code: str = "I", se: float = 6.0, suppressed: bool = False) -> None:
    """A county's mean, its differences to the nation / its province as (value, p, sign), and its share at the
    lowest level as (value, SE)."""
    est(r, region, "mean", mean, se, suppressed=suppressed)
    for key, d in (("vs_nation", vs_nation), ("vs_province", vs_province)):
        if d is not None:
            est(r, region, "difference", d[0], se * 1.05, key=key, p=d[1], sign=d[2], suppressed=suppressed)
    if low is not None:
        est(r, region, "level_share", low[0], low[1], key=low_code, suppressed=suppressed)
