"""The whole three-stage draw in one call, and the final weights once participation is known.

Random streams: ``SeedSequence(seed).spawn(3)`` gives one generator each for counties, schools and students, so
a draw is reproducible from its seed alone and a change in one stage's code does not shift the others' numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import numpy as np
from numpy.typing import NDArray

from naeq.engines.sampling.counties import CountySample, draw_counties
from naeq.engines.sampling.frames import SchoolFrame, county_frame, frame_hash
from naeq.engines.sampling.replicates import ReplicateScheme, replicate_factors
from naeq.engines.sampling.schools import SchoolSample, draw_schools
from naeq.engines.sampling.spec import SampleDesign
from naeq.engines.sampling.students import draw_students
from naeq.engines.sampling.weights import adjust_nonresponse, calibrate_to_totals

Progress = Callable[[str], None]


def code_version() -> str:
    """The installed naeq version (recorded with every draw)."""
    try:
        return metadata.version("naeq")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree without install
        return "unknown"


@dataclass(frozen=True)
class ReplicateSet:
    """Replicate weights stored compactly: ``factors[psu_of_row[i], r]`` multiplies row i's full weight."""

    factors: NDArray[np.float64]
    psu_of_row: NDArray[np.int64]
    scheme: ReplicateScheme

    def dense(self, weights: NDArray[Any]) -> NDArray[np.float64]:
        """(n, R) replicate weights for the rows' full-sample ``weights``."""
        return np.asarray(weights, dtype=np.float64)[:, None] * self.factors[self.psu_of_row]


@dataclass(frozen=True)
class Sample:
    """The result of :func:`draw_sample`: every stage, the students with their weights, and the replicates.

    ``students`` is a dict of equal-length arrays: ``school_row`` (row of ``schools``), ``school_code``,
    ``county``, ``province``, ``grade``, ``position`` (0-based, in the school's grade list), ``pi_county``,
    ``pi_school``, ``pi_student``, ``national`` (the county is in the national sample), ``base_weight`` (national:
    1/(π_c π_s π_st)), ``base_weight_county`` (1/(π_s π_st)), ``weight_county`` (final, calibrated so that it sums
    to the frame enrollment in every county and grade), ``weight`` (final national: weight_county / π_county; 0
    outside the national sample). ``replicates_national`` (PSU = county, rows with ``national``) and
    ``replicates_county`` (PSU = school, zones within county) apply to ``weight`` and ``weight_county``.
    """

    design: SampleDesign
    seed: int
    code_version: str
    frame_hash: str
    counties: CountySample
    schools: SchoolSample
    students: dict[str, NDArray[Any]]
    replicates_national: ReplicateSet
    replicates_county: ReplicateSet

    def record(self) -> dict[str, Any]:
        """What a run records: design, seed, code version, frame hash and counts."""
        return {"design": self.design.as_dict(), "seed": self.seed, "code_version": self.code_version,
                "frame_hash": self.frame_hash, "counts": self.counts()}

    def counts(self) -> dict[str, int]:
        s = self.schools
        return {"counties": len(self.counties), "counties_national": int(self.counties.national.sum()),
                "school_grades": int(s.sampled.sum()), "schools": len(np.unique(s.index[s.sampled])),
                "replacements": int((~s.sampled).sum()), "students": len(self.students["grade"])}


def frame_totals(frame: SchoolFrame) -> dict[str, float]:
    """Frame enrollment by ``"<county>:<grade>"`` (the calibration totals)."""
    out: dict[str, float] = {}
    for g in (4, 8):
        codes, inv = np.unique(frame.county, return_inverse=True)
        tot = np.bincount(inv, weights=frame.enrollment(g).astype(np.float64), minlength=len(codes))
        out.update({f"{c}:{g}": float(t) for c, t in zip(codes.tolist(), tot.tolist(), strict=True)})
    return out


def final_weights(*, school_pi: NDArray[Any], school_cells: NDArray[Any] | tuple[NDArray[Any], ...],
                  school_responded: NDArray[Any], student_school: NDArray[Any], student_pi: NDArray[Any],
                  student_present: NDArray[Any], calib_group: NDArray[Any] | None = None,
                  calib_totals: dict[Any, float] | None = None) -> NDArray[np.float64]:
    """Within-county final student weights from the school and student stages and participation.

    Parameters
    ----------
    school_pi : (S,) π of each *originally sampled* school (a participating replacement stands in for it).
    school_cells : (S,) non-response cell labels (or a tuple of label arrays), e.g. (county, grade).
    school_responded : (S,) the school or one of its replacements took part.
    student_school : (n,) index into S of each sampled student's school (students of responding schools).
    student_pi : (n,) π of each student within the school and grade; student_present : (n,) took the test.
    calib_group, calib_totals : optional final ratio adjustment (e.g. ``"county:grade"`` labels and frame
        enrollments), see :func:`calibrate_to_totals`.

    Returns (n,) weights: ``1/π_s`` adjusted within school cells, times ``1/π_st`` adjusted within school and grade
    (students absent get 0), calibrated when totals are given.
    """
    ws = adjust_nonresponse(1.0 / np.asarray(school_pi, dtype=np.float64), school_cells,
                            np.asarray(school_responded, dtype=bool))
    sidx = np.asarray(student_school, dtype=np.int64)
    w = ws[sidx] / np.asarray(student_pi, dtype=np.float64)
    w = adjust_nonresponse(w, sidx, np.asarray(student_present, dtype=bool))
    if calib_group is not None and calib_totals is not None:
        w = calibrate_to_totals(w, calib_group, calib_totals)
    return w


def draw_sample(frame: SchoolFrame, design: SampleDesign, seed: int, *,
                progress: Progress | None = None) -> Sample:
    """The full draw: counties, schools (with replacements), students, weights under full participation, and the
    national and county replicate weights. Reproducible from ``seed``."""
    if seed < 0:
        raise ValueError("seed must be non-negative")
    note = progress or (lambda _stage: None)
    r_county, r_school, r_student = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
    fhash = frame_hash(frame)
    note("counties")
    cframe = county_frame(frame)
    cs = draw_counties(cframe, design, r_county)
    note("schools")
    ss = draw_schools(frame, design, r_school, counties=cs.code)
    note("students")
    samp = np.flatnonzero(ss.sampled)
    st = draw_students(ss.enrollment[samp], design.students.per_school, r_student)
    row = samp[st.school]
    county_of_row = ss.county[row]
    c_pos = np.searchsorted(cs.code, county_of_row, sorter=np.argsort(cs.code))
    c_at = np.argsort(cs.code)[c_pos]
    grade = ss.grade[row]
    note("weights")
    calib_key = np.char.add(np.char.add(county_of_row, ":"), grade.astype(str))
    w_county = final_weights(school_pi=ss.pi[samp], school_cells=_school_cells(ss, samp, design),
                             school_responded=np.ones(len(samp), dtype=bool), student_school=st.school,
                             student_pi=st.pi, student_present=np.ones(len(st), dtype=bool),
                             calib_group=calib_key, calib_totals=frame_totals(frame))
    pi_c = cs.pi[c_at]
    national = cs.national[c_at]
    students: dict[str, NDArray[Any]] = {
        "school_row": row, "school_code": ss.code[row], "county": county_of_row, "province": cs.province[c_at],
        "grade": grade, "position": st.position, "pi_county": pi_c, "pi_school": ss.pi[row], "pi_student": st.pi,
        "national": national, "base_weight": 1.0 / (pi_c * ss.pi[row] * st.pi),
        "base_weight_county": 1.0 / (ss.pi[row] * st.pi), "weight_county": w_county,
        "weight": np.where(national, w_county / pi_c, 0.0),
    }
    note("replicates")
    rd = design.replicates
    # National: PSU = county, paired within province in draw order, every zone its own replicates (so that
    # provincial estimates are right too); designated-only counties form one lone PSU: factor 1 (weight 0 anyway).
    c_psu = np.where(national, county_of_row, "")
    f_n, sch_n, psu_n = replicate_factors(c_psu, scheme=rd.scheme, sort_key=np.where(national, c_at, -1),
                                          stratum=np.where(national, cs.province[c_at], ""),
                                          max_zones=rd.max_zones, fay_rho=rd.fay_rho)
    f_c, sch_c, psu_c = replicate_factors(ss.code[row], scheme=rd.scheme, sort_key=(grade == 8) * 100_000 +
                                          ss.sort_pos[row], within=county_of_row, max_zones=rd.max_zones,
                                          fay_rho=rd.fay_rho)
    return Sample(design=design, seed=seed, code_version=code_version(), frame_hash=fhash, counties=cs,
                  schools=ss, students=students, replicates_national=ReplicateSet(f_n, psu_n, sch_n),
                  replicates_county=ReplicateSet(f_c, psu_c, sch_c))


def _school_cells(ss: SchoolSample, rows: NDArray[np.int64], design: SampleDesign) -> tuple[NDArray[Any], ...]:
    cols = {"county": ss.county[rows], "grade": ss.grade[rows], "urban_rural": ss.urban_rural[rows]}
    return tuple(cols[k] for k in design.nonresponse.school_cells)
