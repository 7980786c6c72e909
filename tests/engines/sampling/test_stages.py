"""The three stages: county allocation and draw, schools per county and grade with replacements, students."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from naeq.engines.errors import EngineError
from naeq.engines.sampling import (
    CountyDesign,
    SampleDesign,
    SchoolDesign,
    SchoolFrame,
    allocate_counties,
    allocate_schools,
    county_frame,
    draw_counties,
    draw_schools,
    draw_students,
)
from tests.engines.sampling.conftest import make_frame


def _design(**schools: object) -> SampleDesign:
    return dataclasses.replace(SampleDesign(), schools=dataclasses.replace(SchoolDesign(), **schools))


# --- counties ---------------------------------------------------------------------------------------------------

def test_allocation_is_proportional_with_a_minimum_and_sums_to_the_total() -> None:
    n = np.array([167, 117, 16, 20, 25, 3])
    alloc = allocate_counties(n, 34, 2)
    assert alloc.sum() == 34
    assert (alloc >= np.minimum(n, 2)).all() and (alloc <= n).all()
    # 167 of 348 counties -> about 16 of the 34.
    assert alloc[0] == pytest.approx(34 * 167 / 348, abs=1.5)
    assert allocate_counties(np.array([3, 1]), 10, 2).tolist() == [3, 1]  # capped at all counties


def test_allocation_that_cannot_meet_the_minimum_is_an_error() -> None:
    with pytest.raises(EngineError, match="min_per_province"):
        allocate_counties(np.array([10, 10, 10]), 5, 2)


def test_counties_are_drawn_per_province_with_designated_counties_flagged(frame: SchoolFrame) -> None:
    cf = county_frame(frame)
    agreement = cf.code[0]
    design = dataclasses.replace(SampleDesign(), counties=CountyDesign(total=6, min_per_province=1,
                                                                       agreement=(str(agreement),)))
    cs = draw_counties(cf, design, np.random.default_rng(4))
    per_prov = {p: int((cs.province[cs.national] == p).sum()) for p in np.unique(cf.province)}
    assert per_prov == cs.allocation
    assert sum(cs.allocation.values()) == 6
    assert str(agreement) in cs.code.tolist()
    row = cs.code.tolist().index(str(agreement))
    assert cs.designated[row] == "agreement"
    if not cs.national[row]:
        assert cs.pi[row] == 1.0
    # pi of a national county = n_p * size / province total (no county here is large enough to be certain).
    prov = cs.province[0]
    m = cf.province == prov
    expected = cs.allocation[str(prov)] * cf.size[m] / cf.size[m].sum()
    np.testing.assert_allclose(cs.pi_frame[m], expected)


def test_unknown_designated_county_is_an_error(frame: SchoolFrame) -> None:
    design = dataclasses.replace(SampleDesign(), counties=CountyDesign(total=6, application=("999999",)))
    with pytest.raises(EngineError, match="999999"):
        draw_counties(county_frame(frame), design, np.random.default_rng(0))


# --- schools ----------------------------------------------------------------------------------------------------

def test_reallocation_between_grades() -> None:
    # 10 primaries -> 10 + 10; 6 middle schools -> 14 + 6 (as real counties show 15+6 / 13+8).
    got = allocate_schools(np.array([[10, 30], [40, 6], [40, 40], [2, 3]]), np.array([12, 8]), True)
    assert got.tolist() == [[10, 10], [14, 6], [12, 8], [2, 3]]
    assert allocate_schools(np.array([[10, 30]]), np.array([12, 8]), False).tolist() == [[10, 8]]


def test_schools_per_county_and_grade_with_exact_probabilities(frame: SchoolFrame) -> None:
    ss = draw_schools(frame, SampleDesign(), np.random.default_rng(11))
    g = ss.groups
    for county, grade, alloc in zip(g["county"], g["grade"], g["allocated"], strict=True):
        m = ss.sampled & (ss.county == county) & (ss.grade == grade)
        assert m.sum() == alloc
    # pi = n' * MOS / total' within county and grade, MOS = max(enrollment, 30).
    county = g["county"][0]
    m = (frame.county == county) & (frame.g4 > 0)
    mos = np.maximum(frame.g4[m], 30).astype(float)
    from naeq.engines.sampling import pps_inclusion_probabilities

    np.testing.assert_allclose(ss.pi4[m], pps_inclusion_probabilities(mos, int(g["allocated"][0])))
    assert (ss.pi4[frame.g4 == 0] == 0).all()


def test_nine_year_schools_are_in_both_grade_frames(frame: SchoolFrame) -> None:
    nine = frame.level == "nine_year"
    ss = draw_schools(frame, SampleDesign(), np.random.default_rng(1))
    assert (ss.pi4[nine] > 0).all() and (ss.pi8[nine] > 0).all()
    assert (ss.pi8[frame.level == "primary"] == 0).all()


def test_replacements_are_neighbours_never_sampled_never_reused(frame: SchoolFrame) -> None:
    ss = draw_schools(frame, SampleDesign(), np.random.default_rng(2))
    sampled_codes = set(ss.code[ss.sampled].tolist())
    reps = ~ss.sampled
    assert reps.any()
    assert not sampled_codes & set(ss.code[reps].tolist())
    for grade in (4, 8):
        codes = ss.code[reps & (ss.grade == grade)]
        assert len(codes) == len(set(codes.tolist()))
    for i in np.flatnonzero(reps):
        j = ss.replaces[i]
        assert ss.sampled[j] and ss.county[j] == ss.county[i] and ss.grade[j] == ss.grade[i]
        offset = 1 if ss.role[i] == 1 else -1
        assert ss.sort_pos[i] == ss.sort_pos[j] + offset
        assert (ss.replacement1[j] if ss.role[i] == 1 else ss.replacement2[j]) == i


def test_serpentine_sort_within_urban_rural_classes() -> None:
    codes = [f"1110101{i:03d}" for i in range(8)]
    f = SchoolFrame.from_columns(code=codes, county=["110101"] * 8, level=["primary"] * 8,
                                 urban_rural=["111"] * 4 + ["121"] * 4, g4=[50, 90, 70, 60, 40, 80, 100, 35],
                                 g8=[0] * 8)
    ss = draw_schools(f, _design(per_county=((4, 2), (8, 0)), replacements=2), np.random.default_rng(0))
    pos = {c: -1 for c in codes}
    # Recover the sort order from the pi (increasing in MOS) and sort positions of every row of the output.
    for c, p in zip(ss.code.tolist(), ss.sort_pos.tolist(), strict=True):
        pos[c] = p
    known = {c: p for c, p in pos.items() if p >= 0}
    # class 111 ascending (50, 60, 70, 90), class 121 descending (100, 80, 40, 35)
    expected = {c: i for i, c in enumerate([codes[k] for k in (0, 3, 2, 1, 6, 5, 4, 7)])}
    assert all(expected[c] == p for c, p in known.items())


def test_small_schools_use_the_minimum_cluster_size_and_tiny_ones_are_excluded() -> None:
    f = SchoolFrame.from_columns(code=[f"1110101{i:03d}" for i in range(6)], county=["110101"] * 6,
                                 level=["primary"] * 6, urban_rural=["220"] * 6, g4=[2, 10, 25, 60, 120, 300],
                                 g8=[0] * 6)
    ss = draw_schools(f, _design(per_county=((4, 2), (8, 0)), exclude_below=5), np.random.default_rng(0))
    assert ss.pi4[0] == 0  # 2 students < 5: excluded
    g = ss.groups
    assert g["excluded"][0] == 1 and g["excluded_students"][0] == 2
    # MOS 30, 30, 60, 120, 300: 2 * 300 / 540 > 1, so 300 is certain; one more draw over 240.
    np.testing.assert_allclose(ss.pi4[1:], [30 / 240, 30 / 240, 60 / 240, 120 / 240, 1.0])
    assert ss.pi4[1] == ss.pi4[2]  # 10 and 25 students both count as 30


def test_simulated_school_selection_frequencies_match_pi() -> None:
    """1,500 draws of one county: each school's selection frequency in grade 4 within 4.5 binomial SEs of π4.
    Catches a sort or start bug that favours the first or last schools in the list."""
    f = make_frame(seed=8, n_counties=1, n_provinces=1)
    design = SampleDesign()
    rng = np.random.default_rng(99)
    reps = 1_500
    hits = np.zeros(len(f))
    pi4 = None
    for _ in range(reps):
        ss = draw_schools(f, design, rng)
        pi4 = ss.pi4
        m = ss.sampled & (ss.grade == 4)
        hits[ss.index[m]] += 1
    assert pi4 is not None
    rand = (pi4 > 0) & (pi4 < 1)
    z = (hits[rand] / reps - pi4[rand]) / np.sqrt(pi4[rand] * (1 - pi4[rand]) / reps)
    assert np.abs(z).max() < 4.5
    assert (hits[pi4 >= 1] == reps).all()


# --- students ---------------------------------------------------------------------------------------------------

def test_students_thirty_per_school_or_all() -> None:
    enr = np.array([0, 5, 30, 31, 200])
    st = draw_students(enr, 30, np.random.default_rng(3))
    assert st.taken.tolist() == [0, 5, 30, 30, 30]
    assert np.bincount(st.school, minlength=5).tolist() == [0, 5, 30, 30, 30]
    for s in range(5):
        pos = st.position[st.school == s]
        assert len(np.unique(pos)) == len(pos) and (pos < enr[s]).all()
    np.testing.assert_allclose(st.pi[st.school == 4], 30 / 200)
    np.testing.assert_allclose(st.pi[st.school == 1], 1.0)


def test_student_positions_are_uniform() -> None:
    """4,000 schools of 60 students in one call: each position's frequency within 4.5 SEs of 1/2."""
    st = draw_students(np.full(4_000, 60), 30, np.random.default_rng(17))
    freq = np.bincount(st.position, minlength=60) / 4_000
    z = (freq - 0.5) / np.sqrt(0.25 / 4_000)
    assert np.abs(z).max() < 4.5


def test_simulated_county_selection_frequencies_match_pi_over_many_seeds() -> None:
    """2,000 draws with seeds 0..1999: every county's selection frequency within 4.5 binomial SEs of its π
    (n_p · size / total of its province, after certainty). Catches an allocation or start that favours the
    first or last counties of a province."""
    f = make_frame(seed=31, n_counties=24, n_provinces=2)
    cf = county_frame(f)
    design = dataclasses.replace(SampleDesign(), counties=CountyDesign(total=8, min_per_province=1))
    reps = 2_000
    hits = np.zeros(len(cf))
    pi = None
    for seed in range(reps):
        cs = draw_counties(cf, design, np.random.default_rng(seed))
        pi = cs.pi_frame
        hits[cs.index] += 1
    assert pi is not None
    rand = (pi > 0) & (pi < 1)
    assert rand.sum() >= 20
    z = (hits[rand] / reps - pi[rand]) / np.sqrt(pi[rand] * (1 - pi[rand]) / reps)
    assert np.abs(z).max() < 4.5
    assert (hits[pi >= 1] == reps).all()
