"""First stage: counties within provinces by systematic PPS, with certainty selections and designated counties.

Allocation (design): the ``total`` counties are shared among provinces (the explicit strata) in proportion to
their number of counties, each province getting at least ``min_per_province`` and at most all of its counties;
the fractional parts are rounded by largest remainders (Hamilton's method), ties to the lower province code.

Within a province the counties are sorted by ``design.counties.sort`` (default: city code, then size; with
``serpentine`` the size order alternates between consecutive cities) and drawn by systematic PPS on
size = grade-4 + grade-8 enrollment (:mod:`naeq.engines.sampling.pps`). Counties whose size alone exceeds the
sampling interval are certainty selections (π = 1).

Designated counties (协议县 agreement, 申请县 application) are taken as designated: one that the PPS draw did not
select is added with π = 1 and ``national = False`` (it does not enter national or provincial estimates); one that
the draw did select keeps its π and ``national = True``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from naeq.engines.errors import EngineError
from naeq.engines.sampling.frames import CountyFrame
from naeq.engines.sampling.pps import grouped_inclusion_probabilities, systematic_pps
from naeq.engines.sampling.spec import SampleDesign


@dataclass(frozen=True)
class CountySample:
    """Sampled counties, in draw order (province, then frame sort order).

    ``index`` rows of the :class:`CountyFrame`; ``pi`` the PPS inclusion probability (1 for certainty and for
    designated counties added outside the draw); ``certainty``; ``national`` (False for designated counties that
    the PPS draw did not select); ``designated`` ("" / "agreement" / "application"); ``sort_pos`` the position in
    the province's sorted frame; ``allocation`` counties allocated per province (province code -> n).
    """

    index: NDArray[np.int64]
    code: NDArray[np.str_]
    province: NDArray[np.str_]
    pi: NDArray[np.float64]
    certainty: NDArray[np.bool_]
    national: NDArray[np.bool_]
    designated: NDArray[np.str_]
    sort_pos: NDArray[np.int64]
    allocation: dict[str, int]
    pi_frame: NDArray[np.float64]  # (n_counties,) π of every frame county (0 when not selectable)

    def __len__(self) -> int:
        return len(self.index)


def allocate_counties(n_counties: NDArray[np.int64], total: int, minimum: int) -> NDArray[np.int64]:
    """Counties per stratum: proportional to ``n_counties`` with at least ``minimum`` (and at most all), summing to
    ``min(total, sum(n_counties))``; largest remainders.

    >>> allocate_counties(np.array([100, 50, 10, 2]), 20, 2).tolist()
    [11, 5, 2, 2]
    """
    n = np.asarray(n_counties, dtype=np.int64)
    target = int(min(total, n.sum()))
    lower = np.minimum(n, minimum)
    if lower.sum() > target:
        raise EngineError(f"the minimum of {minimum} counties per province needs {int(lower.sum())} counties, more "
                          f"than the total {target}; lower counties.min_per_province or raise counties.total",
                          code="allocation_infeasible")
    # Fix strata at their bounds until the proportional share of the rest respects every bound (a few passes).
    fixed = np.zeros(len(n), dtype=bool)
    alloc = lower.astype(np.float64)
    for _ in range(len(n) + 1):
        free = ~fixed
        budget = target - alloc[fixed].sum()
        share = np.zeros(len(n))
        if n[free].sum() > 0:
            share[free] = budget * n[free] / n[free].sum()
        low_hit = free & (share < lower)
        high_hit = free & (share > n)
        if not (low_hit.any() or high_hit.any()):
            alloc[free] = share[free]
            break
        alloc[low_hit] = lower[low_hit]
        alloc[high_hit] = n[high_hit]
        fixed |= low_hit | high_hit
    base = np.floor(alloc + 1e-9).astype(np.int64)
    short = target - int(base.sum())
    if short > 0:
        rem = np.where(base < n, alloc - base, -1.0)
        order = np.lexsort((np.arange(len(n)), -rem))
        base[order[:short]] += 1
    return base


def _sort_order(frame: CountyFrame, keys: tuple[str, ...], serpentine: bool) -> NDArray[np.int64]:
    """Frame rows in sampling order: province, then the design's keys (the last key varies fastest)."""
    prov_codes, prov = np.unique(frame.province, return_inverse=True)
    cols: list[NDArray[np.float64] | NDArray[np.int64]] = []
    for key in keys:
        if key == "size":
            size = frame.size.astype(np.float64)
            if serpentine and "city" in keys:
                _, city = np.unique(frame.city, return_inverse=True)
                # Alternate the size direction between consecutive cities of a province.
                city_rank = city - np.array([city[prov == p].min() for p in range(len(prov_codes))])[prov]
                size = np.where(city_rank % 2 == 1, -size, size)
            cols.append(size)
        elif key == "city":
            cols.append(np.unique(frame.city, return_inverse=True)[1])
        elif key == "code":
            cols.append(np.unique(frame.code, return_inverse=True)[1])
        else:
            raise ValueError(f"unknown county sort key {key!r}")
    return np.lexsort((np.arange(len(frame)), *reversed(cols), prov)).astype(np.int64)


def draw_counties(frame: CountyFrame, design: SampleDesign, rng: np.random.Generator) -> CountySample:
    """Draw the first stage (see the module docstring). One random start per province, in province-code order."""
    cd = design.counties
    prov_codes, prov = np.unique(frame.province, return_inverse=True)
    eligible = frame.size > 0
    n_per = np.bincount(prov, weights=eligible, minlength=len(prov_codes)).astype(np.int64)
    alloc = allocate_counties(n_per, cd.total, cd.min_per_province)
    order = _sort_order(frame, cd.sort, cd.serpentine)
    pi_sorted = grouped_inclusion_probabilities(frame.size[order], alloc, prov[order])
    sel_sorted = systematic_pps(pi_sorted, rng, prov[order])
    pi = np.empty(len(frame))
    pi[order] = pi_sorted
    selected = np.zeros(len(frame), dtype=bool)
    selected[order] = sel_sorted
    pos = np.empty(len(frame), dtype=np.int64)
    pos[order] = np.arange(len(frame))
    starts = np.searchsorted(prov[order], np.arange(len(prov_codes)))
    pos = pos - starts[prov]

    designated = np.full(len(frame), "", dtype="<U11")
    known = set(frame.code.tolist())
    for kind, codes in (("agreement", cd.agreement), ("application", cd.application)):
        missing = [c for c in codes if c not in known]
        if missing:
            raise EngineError(f"designated {kind} counties not in the frame: {', '.join(missing)}",
                              code="designated_county_unknown")
        designated[np.isin(frame.code, np.asarray(codes, dtype=np.str_))] = kind
    take = selected | (designated != "")
    idx = order[take[order]]  # draw order
    national = selected[idx]
    pi_out = np.where(national, pi[idx], 1.0)
    return CountySample(index=idx, code=frame.code[idx], province=frame.province[idx], pi=pi_out,
                        certainty=pi_out >= 1.0, national=national, designated=designated[idx],
                        sort_pos=pos[idx],
                        allocation={str(c): int(a) for c, a in zip(prov_codes.tolist(), alloc.tolist(), strict=True)},
                        pi_frame=pi)
