"""Third stage: students within each sampled school and grade, by simple random sampling without replacement.

``n`` students (30) are drawn from the whole grade, not by class; a grade of ``n`` or fewer is taken whole.
Vectorised over all schools at once: every student position gets an independent uniform key, and the ``n``
smallest keys of each school are taken (a uniformly random ``n``-subset), with one integer sort by (school, key)
over all positions of the schools larger than ``n``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from naeq.engines.sampling.checks import as_finite


@dataclass(frozen=True)
class StudentSample:
    """``school``: row of the ``enrollment`` array each sampled student belongs to; ``position``: 0-based position
    in that school's list (roster order), increasing within a school; ``pi``: the student's inclusion probability
    ``m / N``; ``taken`` (per school): m = min(n, N)."""

    school: NDArray[np.int64]
    position: NDArray[np.int64]
    pi: NDArray[np.float64]
    taken: NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.school)


def draw_students(enrollment: NDArray[Any], n_per_school: int, rng: np.random.Generator) -> StudentSample:
    """SRS without replacement of ``n_per_school`` positions out of each school's ``enrollment``.

    >>> s = draw_students(np.array([5, 40]), 30, np.random.default_rng(0))
    >>> s.taken.tolist(), s.position[:5].tolist(), float(s.pi[-1])
    ([5, 30], [0, 1, 2, 3, 4], 0.75)
    """
    enr_f = as_finite(enrollment, "enrollment")
    if enr_f.ndim != 1 or (enr_f < 0).any() or (enr_f != np.floor(enr_f)).any():
        raise ValueError("enrollment must be a one-dimensional array of non-negative integers")
    if n_per_school < 1:
        raise ValueError("n_per_school must be at least 1")
    enr = enr_f.astype(np.int64)
    taken = np.minimum(enr, n_per_school)
    school_of = np.repeat(np.arange(len(enr)), enr)
    start = np.concatenate(([0], np.cumsum(enr)))[:-1]
    pos = np.arange(len(school_of)) - start[school_of]
    whole = taken[school_of] == enr[school_of]
    # Only schools larger than n need keys; the others are taken whole.
    part = ~whole
    # One int64 sort key per position: school number in the high bits, 40 random bits below (ties, at 2^-40
    # per pair, would only fall back to position order).
    ps, pp = school_of[part], pos[part]
    if len(enr) >= 2**22:
        raise ValueError("at most 4,194,304 schools per call")
    keys = (ps << 40) | rng.integers(0, 2**40, size=len(ps), dtype=np.int64)
    order = np.argsort(keys, kind="stable")
    ps, pp = ps[order], pp[order]
    part_size = np.where(taken < enr, enr, 0)
    offset = np.concatenate(([0], np.cumsum(part_size)))[:-1]
    rank = np.arange(len(ps)) - offset[ps]
    pick = rank < n_per_school
    sch = np.concatenate([school_of[whole], ps[pick]])
    posn = np.concatenate([pos[whole], pp[pick]])
    o = np.lexsort((posn, sch))
    sch, posn = sch[o], posn[o]
    with np.errstate(divide="ignore", invalid="ignore"):
        pi_school = np.where(enr > 0, taken / np.maximum(enr, 1), 0.0)
    return StudentSample(school=sch, position=posn, pi=pi_school[sch], taken=taken)
