"""Second stage: schools within each sampled county, separately for grade 4 and grade 8.

For every county and grade (a *group*):

* **Eligibility.** A school is in the grade-g frame when it has grade-g students (a nine-year or twelve-year school
  is in both frames and may be drawn for both grades). A school with fewer than ``exclude_below`` students in the
  grade is excluded and reported (``SchoolSample.excluded``).
* **Counts and reallocation.** The design asks ``n_4`` (12) and ``n_8`` (8) schools. A county with fewer eligible
  schools than that takes all of them and, with ``reallocate``, gives the shortfall to the other grade as far as
  it has schools: ``n_4' = min(n_4 + max(0, n_8 - E_8), E_4)`` and ``n_8' = min(n_8 + max(0, n_4 - E_4), E_8)``
  where ``E_g`` is the number of eligible schools (real counties show 13+8 and 15+6).
* **Measure of size (small-school rule).** ``MOS = max(enrollment, min_cluster_size)`` (TIMSS): a school smaller
  than a cluster of 30 is drawn as if it had 30, so that its students (all of whom are taken) do not get huge
  weights.
* **Implicit stratification.** Sorted by urban/rural class (统计用城乡分类代码, 111 → 220) then by MOS, in a
  serpentine: ascending in the first class present, descending in the next, and so on (so that neighbours in the
  list, and hence replacements, are similar); ties by school code.
* **Selection.** Systematic PPS on MOS with certainty selections (:mod:`naeq.engines.sampling.pps`), one random
  start per group, groups in (county code, grade) order.
* **Replacements (TIMSS).** For each sampled school, replacement 1 is the next school in the sorted list and
  replacement 2 the previous one, when that school exists in the same county and grade, is not sampled (for
  either grade) and is not already a replacement in this grade (replacement 1 is assigned first). A replacement
  carries its own π, but when it participates it takes the weight of the school it replaces.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from naeq.engines.sampling.frames import URBAN_RURAL, SchoolFrame
from naeq.engines.sampling.pps import grouped_inclusion_probabilities, systematic_pps
from naeq.engines.sampling.spec import GRADES, SampleDesign

ROLES: tuple[str, ...] = ("sampled", "replacement1", "replacement2")


@dataclass(frozen=True)
class SchoolSample:
    """Sampled schools and their replacements, one row per (school, grade, role).

    Rows are ordered by county code, grade, then sort position; ``role`` is 0 sampled, 1 first replacement,
    2 second replacement (names in :data:`ROLES`). ``replaces`` is the row (in this table) of the sampled school a
    replacement stands in for, -1 for sampled rows; ``replacement1`` / ``replacement2`` are the rows of a sampled
    school's replacements (-1 when none). ``pi`` is the school's own inclusion probability within its county and
    grade, ``mos`` its measure of size, ``enrollment`` its grade enrollment.

    ``groups`` is the plan per (county, grade): ``county``, ``grade``, ``planned`` (the design's count),
    ``eligible``, ``allocated`` (after reallocation), ``excluded`` (schools below ``exclude_below``) and
    ``excluded_students``. ``pi4`` / ``pi8`` are the π of every frame school for that grade (0 outside the sampled
    counties or when not eligible).
    """

    index: NDArray[np.int64]
    code: NDArray[np.str_]
    county: NDArray[np.str_]
    grade: NDArray[np.int64]
    role: NDArray[np.int8]
    replaces: NDArray[np.int64]
    replacement1: NDArray[np.int64]
    replacement2: NDArray[np.int64]
    pi: NDArray[np.float64]
    certainty: NDArray[np.bool_]
    mos: NDArray[np.float64]
    enrollment: NDArray[np.int64]
    urban_rural: NDArray[np.str_]
    sort_pos: NDArray[np.int64]
    groups: dict[str, NDArray[Any]]
    pi4: NDArray[np.float64]
    pi8: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.index)

    @property
    def sampled(self) -> NDArray[np.bool_]:
        return self.role == 0


def allocate_schools(eligible: NDArray[np.int64], planned: NDArray[np.int64], reallocate: bool) -> NDArray[np.int64]:
    """Schools per county and grade, shape (C, 2) for grades (4, 8): capped at the eligible count, the shortfall
    of one grade moved to the other when ``reallocate``.

    >>> allocate_schools(np.array([[10, 20], [30, 6], [3, 2]]), np.array([12, 8]), True).tolist()
    [[10, 10], [14, 6], [3, 2]]
    """
    e = np.asarray(eligible, dtype=np.int64)
    p = np.broadcast_to(np.asarray(planned, dtype=np.int64), e.shape)
    if not reallocate:
        return np.minimum(p, e)
    short = np.maximum(p - e, 0)
    return np.minimum(p + short[:, ::-1], e)


def _urban_rural_rank(codes: NDArray[np.str_]) -> NDArray[np.int64]:
    known = np.asarray(URBAN_RURAL, dtype=np.str_)
    rank = np.searchsorted(known, codes)
    rank = np.minimum(rank, len(known) - 1)
    # Unknown codes sort after the known ones.
    return np.where(known[rank] == codes, rank, len(known)).astype(np.int64)


def draw_schools(frame: SchoolFrame, design: SampleDesign, rng: np.random.Generator, *,
                 counties: NDArray[Any] | None = None) -> SchoolSample:
    """Draw schools in ``counties`` (county codes; None: every county in the frame). See the module docstring."""
    sd = design.schools
    in_sample = (np.ones(len(frame), dtype=bool) if counties is None
                 else np.isin(frame.county, np.asarray(counties, dtype=np.str_)))
    county_codes, county_idx = np.unique(frame.county, return_inverse=True)
    n_c = len(county_codes)
    planned = np.array([sd.count(g) for g in GRADES], dtype=np.int64)

    # Long table of (school, grade) candidates.
    rows: list[NDArray[np.int64]] = []
    grades: list[NDArray[np.int64]] = []
    for g in GRADES:
        has = in_sample & (frame.enrollment(g) > 0)
        rows.append(np.flatnonzero(has))
        grades.append(np.full(int(has.sum()), g, dtype=np.int64))
    school = np.concatenate(rows)
    grade = np.concatenate(grades)
    gslot = (grade == 8).astype(np.int64)
    enr = np.where(grade == 4, frame.g4[school], frame.g8[school])
    excluded = enr < sd.exclude_below
    group_all = county_idx[school] * 2 + gslot
    n_excl = np.bincount(group_all, weights=excluded, minlength=2 * n_c).astype(np.int64)
    n_excl_students = np.bincount(group_all, weights=np.where(excluded, enr, 0), minlength=2 * n_c).astype(np.int64)
    keep = ~excluded
    school, grade, gslot, enr, group = school[keep], grade[keep], gslot[keep], enr[keep], group_all[keep]

    eligible = np.bincount(group, minlength=2 * n_c).reshape(n_c, 2)
    alloc = allocate_schools(eligible, planned, sd.reallocate)
    alloc = np.where(np.isin(county_codes, frame.county[in_sample])[:, None], alloc, 0)

    mos = np.maximum(enr, sd.min_cluster_size).astype(np.float64)
    ur = _urban_rural_rank(frame.urban_rural[school])
    # Serpentine: rank of the urban/rural class among those present in the group; odd ranks sort by size descending.
    present = np.unique(group * 16 + ur)
    first = np.searchsorted(present // 16, present // 16)
    class_rank = np.arange(len(present)) - first
    rank = class_rank[np.searchsorted(present, group * 16 + ur)]
    keys: list[NDArray[Any]] = []
    for key in sd.sort:
        if key == "urban_rural":
            keys.append(ur)
        elif key == "size":
            keys.append(np.where((rank % 2 == 1) & sd.serpentine, -mos, mos))
        elif key == "code":
            keys.append(school)
        else:
            raise ValueError(f"unknown school sort key {key!r}")
    code_rank = np.argsort(np.argsort(frame.code[school], kind="stable"), kind="stable")
    order = np.lexsort((code_rank, *reversed(keys), group))
    school, grade, gslot, enr, group = school[order], grade[order], gslot[order], enr[order], group[order]
    mos = mos[order]

    pi = grouped_inclusion_probabilities(mos, alloc.ravel(), group)
    selected = systematic_pps(pi, rng, group)

    # Replacements: next (1) and previous (2) in the sorted list of the same group.
    n = len(school)
    sampled_school = np.zeros(len(frame), dtype=bool)
    sampled_school[school[selected]] = True
    free = ~sampled_school[school]
    nxt = np.arange(n) + 1
    prv = np.arange(n) - 1
    ok1 = np.zeros(n, dtype=bool)
    ok1[:-1] = selected[:-1] & (group[1:] == group[:-1]) & free[1:]
    used = np.zeros(n, dtype=bool)
    used[nxt[ok1]] = True
    ok2 = np.zeros(n, dtype=bool)
    ok2[1:] = selected[1:] & (group[:-1] == group[1:]) & free[:-1] & ~used[:-1]
    if sd.replacements < 2:
        ok2[:] = False
    if sd.replacements < 1:
        ok1[:] = False

    # Output rows: sampled, replacement 1, replacement 2; then ordered by group and sort position.
    pos_group_start = np.searchsorted(group, group)
    sort_pos = np.arange(n) - pos_group_start
    src = np.concatenate([np.flatnonzero(selected), nxt[ok1], prv[ok2]])
    role = np.concatenate([np.zeros(int(selected.sum()), np.int8), np.ones(int(ok1.sum()), np.int8),
                           np.full(int(ok2.sum()), 2, np.int8)])
    of = np.concatenate([np.flatnonzero(selected), np.flatnonzero(ok1), np.flatnonzero(ok2)])  # sampled position
    out_order = np.lexsort((role, src))
    src, role, of = src[out_order], role[out_order], of[out_order]
    row_of_pos = np.full(n, -1, dtype=np.int64)
    row_of_pos[src[role == 0]] = np.flatnonzero(role == 0)
    replaces = np.where(role == 0, -1, row_of_pos[of])
    r1 = np.full(len(src), -1, dtype=np.int64)
    r2 = np.full(len(src), -1, dtype=np.int64)
    r1[replaces[role == 1]] = np.flatnonzero(role == 1)
    r2[replaces[role == 2]] = np.flatnonzero(role == 2)

    pis = []
    for slot in (0, 1):
        full = np.zeros(len(frame))
        m = gslot == slot
        full[school[m]] = pi[m]
        pis.append(full)
    groups = {
        "county": np.repeat(county_codes, 2), "grade": np.tile(np.asarray(GRADES, dtype=np.int64), n_c),
        "planned": np.tile(planned, n_c) * np.repeat(np.isin(county_codes, frame.county[in_sample]), 2),
        "eligible": eligible.ravel(), "allocated": alloc.ravel(), "excluded": n_excl,
        "excluded_students": n_excl_students,
    }
    idx = school[src]
    return SchoolSample(index=idx, code=frame.code[idx], county=frame.county[idx], grade=grade[src], role=role,
                        replaces=replaces, replacement1=r1, replacement2=r2, pi=pi[src], certainty=pi[src] >= 1.0,
                        mos=mos[src], enrollment=enr[src], urban_rural=frame.urban_rural[idx],
                        sort_pos=sort_pos[src], groups=groups, pi4=pis[0], pi8=pis[1])
