"""Weights and replicate weights: R ``survey`` reference SEs, frame totals, non-response adjustment."""

from __future__ import annotations

import numpy as np
import pytest

from naeq.engines.errors import EngineError
from naeq.engines.sampling import (
    SampleDesign,
    adjust_nonresponse,
    base_weights,
    calibrate_to_totals,
    draw_sample,
    fay_brr_replicates,
    final_weights,
    jk2_replicates,
    replicate_se,
    replicate_weights,
    sylvester_hadamard,
)
from tests.engines.sampling.conftest import make_frame, read_reference

# R prints 15 significant digits and both sides sum the same terms in a different order: 1e-10 relative is far
# above rounding and far below any real difference (a wrong factor, zone or centring changes the SE by > 1e-3).
RTOL = 1e-10


def _r(case: str) -> dict[str, float]:
    ref = read_reference("se_reference.csv")
    i = int(np.flatnonzero(ref["case"] == case)[0])
    return {k: float(v[i]) for k, v in ref.items() if k != "case"}


def _check(case: str, values: dict[str, np.ndarray], w: np.ndarray, rw: np.ndarray, scheme: object) -> None:
    r = _r(case)
    for col, key in (("y", "mean"), ("b", "prop")):
        y = values[col]
        assert (w @ y) / w.sum() == pytest.approx(r[f"estimate_{key}"], rel=RTOL)
        assert replicate_se(y, w, rw, scheme) == pytest.approx(r[f"se_{key}"], rel=RTOL), (case, key)


def test_full_jk2_with_a_triple_matches_survey_jkn() -> None:
    d = read_reference("se_data.csv")
    rw, scheme = replicate_weights(d["w"], d["psu"], scheme="jk2_full")
    assert scheme.n_replicates == 2 * 19 + 3  # 19 pairs, one triple
    _check("jk2_full", d, d["w"], rw, scheme)


def test_half_jk2_matches_survey() -> None:
    d = read_reference("se_data.csv")
    rw, scheme = replicate_weights(d["w"], d["psu"], scheme="jk2")
    np.testing.assert_array_equal(scheme.zone[:4], [0, 0, 1, 1])
    _check("jk2", d, d["w"], rw, scheme)


def test_pairs_only_half_jk2_matches_survey_type_jk2_with_the_plain_scheme_name() -> None:
    d = read_reference("se_data.csv")
    keep = d["psu"] != 41
    d2 = {k: v[keep] for k, v in d.items()}
    rw = jk2_replicates(d2["w"], d2["psu"])
    assert rw.shape[1] == 20
    _check("jk2_pairs_only", d2, d2["w"], rw, "jk2")


def test_fay_brr_matches_survey() -> None:
    d = read_reference("se_data.csv")
    rw, scheme = replicate_weights(d["w"], d["psu"], scheme="fay", fay_rho=0.5)
    assert scheme.n_replicates == 32 and scheme.scale == pytest.approx(1 / (32 * 0.25))
    np.testing.assert_array_equal(fay_brr_replicates(d["w"], d["psu"]), rw)
    _check("fay", d, d["w"], rw, scheme)


def test_zones_within_groups_match_survey_jkn_with_county_by_zone_strata() -> None:
    """Schools as PSUs, zones within counties, replicate columns shared by the counties: each county's SE
    equals survey's for that county (subset of the JKn design with county x zone strata)."""
    d = read_reference("se_grouped_data.csv")
    rw, scheme = replicate_weights(d["w"], d["school"], scheme="jk2_full", within=d["county"])
    assert scheme.n_replicates == 2 * 2 + 3  # county 1: two pairs and a triple; the others fit in those columns
    for county in (1, 2, 3):
        m = d["county"] == county
        _check(f"grouped_jk2_full_county{county}", {k: v[m] for k, v in d.items()}, d["w"][m], rw[m], scheme)


def test_hadamard_is_orthogonal() -> None:
    h = sylvester_hadamard(16)
    np.testing.assert_array_equal(h @ h.T, 16 * np.eye(16))


def test_max_zones_folds_pairs() -> None:
    rw = jk2_replicates(np.ones(8), np.arange(8), max_zones=2)
    assert rw.shape == (8, 2)
    np.testing.assert_array_equal(rw[:, 0], [0, 2, 1, 1, 0, 2, 1, 1])


def test_base_weights_and_nonresponse_and_calibration() -> None:
    assert base_weights(np.array([0.5]), np.array([0.2]), np.array([0.5])).tolist() == [20.0]
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        base_weights(np.array([0.0]))
    w = np.array([10.0, 10, 20, 5, 5])
    cells = np.array(["a", "a", "a", "b", "b"])
    adj = adjust_nonresponse(w, cells, np.array([True, False, True, True, True]))
    np.testing.assert_allclose(adj, [40 / 3, 0, 80 / 3, 5, 5])
    assert adj[:3].sum() == pytest.approx(40)
    with pytest.raises(EngineError, match="no respondent"):
        adjust_nonresponse(w, cells, np.array([False, False, False, True, True]))
    cal = calibrate_to_totals(adj, cells, {"a": 100, "b": 30})
    assert cal[:3].sum() == pytest.approx(100) and cal[3:].sum() == pytest.approx(30)


def test_final_weights_with_refusals_replacements_and_absences() -> None:
    # Three sampled schools in one cell; school 1 refused with no replacement taking part; school 2's place was
    # taken by its replacement (responded = True). Students: two per school, one absent in school 0.
    school_pi = np.array([0.5, 0.25, 0.5])
    responded = np.array([True, False, True])
    student_school = np.array([0, 0, 2, 2])
    student_pi = np.array([0.1, 0.1, 0.2, 0.2])
    present = np.array([True, False, True, True])
    w = final_weights(school_pi=school_pi, school_cells=np.zeros(3), school_responded=responded,
                      student_school=student_school, student_pi=student_pi, student_present=present)
    # School weights 2, 4, 2 -> respondents x 8/4 = 4, 0, 4; students: 4/0.1 = 40 each, the absent one's 40 moves
    # to the present one -> 80, 0; school 2: 4/0.2 = 20, 20.
    np.testing.assert_allclose(w, [80, 0, 20, 20])


def test_draw_weights_sum_to_frame_enrollment_by_county_and_grade() -> None:
    f = make_frame(seed=21, n_counties=16, n_provinces=4)
    design = SampleDesign()
    import dataclasses

    design = dataclasses.replace(design, counties=dataclasses.replace(design.counties, total=8, min_per_province=1))
    s = draw_sample(f, design, seed=5)
    st = s.students
    for county in np.unique(st["county"]):
        for grade in (4, 8):
            m = (st["county"] == county) & (st["grade"] == grade)
            total = f.enrollment(grade)[f.county == county].sum()
            assert st["weight_county"][m].sum() == pytest.approx(total, rel=1e-12)
            if m.any():
                pi_c = st["pi_county"][m][0]
                assert st["weight"][m].sum() == pytest.approx(total / pi_c, rel=1e-12)
    # County MOS = the same enrollment, so the national weights sum to the national frame enrollment exactly.
    assert st["weight"].sum() == pytest.approx(f.g4.sum() + f.g8.sum(), rel=1e-12)
    # Base weights are the inverse product of the three stages' probabilities.
    np.testing.assert_allclose(st["base_weight"], 1 / (st["pi_county"] * st["pi_school"] * st["pi_student"]))
    # National replicates: counties are the PSUs; every replicate drops whole counties.
    rn = s.replicates_national.dense(st["weight"])
    assert rn.shape[1] == s.replicates_national.scheme.n_replicates
    for county in np.unique(st["county"])[:3]:
        m = st["county"] == county
        ratios = rn[m] / st["weight"][m][:, None]
        assert (np.ptp(ratios, axis=0) == 0).all()
    se = replicate_se(st["grade"] == 4, st["weight"], rn, s.replicates_national.scheme)
    assert 0 < se < 0.5


def test_designated_county_outside_the_draw_has_no_national_weight() -> None:
    import dataclasses

    f = make_frame(seed=21, n_counties=16, n_provinces=4)
    base = SampleDesign()
    trial = dataclasses.replace(base, counties=dataclasses.replace(base.counties, total=4, min_per_province=1))
    drawn = set(draw_sample(f, trial, seed=5).counties.code.tolist())
    outside = sorted(set(f.county.tolist()) - drawn)[0]
    design = dataclasses.replace(trial, counties=dataclasses.replace(trial.counties, application=(outside,)))
    s = draw_sample(f, design, seed=5)
    assert set(s.counties.code.tolist()) == drawn | {outside}
    st = s.students
    m = st["county"] == outside
    assert m.any() and not st["national"][m].any() and (st["weight"][m] == 0).all()
    assert (st["weight_county"][m] > 0).all() and (st["pi_county"][m] == 1).all()
    # Its rows form one lone PSU in the national replicates: factor 1 everywhere.
    rn = s.replicates_national
    assert (rn.factors[rn.psu_of_row[m]] == 1).all()


def test_a_lone_psu_in_its_group_contributes_no_variance() -> None:
    rw, scheme = replicate_weights(np.ones(5), np.array([1, 2, 3, 4, 5]), within=np.array([0, 0, 1, 1, 2]))
    np.testing.assert_array_equal(rw[4], np.ones(rw.shape[1]))
    assert scheme.member.tolist() == [0, 1, 0, 1, -1]


def test_zones_within_strata_with_their_own_replicates_match_survey_jkn() -> None:
    """Counties within provinces: pairs within each stratum, every zone its own replicates; the pooled SE
    equals survey's JKn with stratum x zone strata, and so does each stratum's (zones of other strata leave it
    unchanged)."""
    d = read_reference("se_grouped_data.csv")
    rw, scheme = replicate_weights(d["w"], d["school"], scheme="jk2_full", stratum=d["county"])
    # county 1: 2 pairs + a triple, county 2: 2 pairs, county 3: 1 pair -> 5 pairs x 2 + 3.
    assert scheme.n_replicates == 5 * 2 + 3
    _check("stratified_jk2_full", d, d["w"], rw, scheme)
    for county in (1, 2, 3):
        m = d["county"] == county
        _check(f"grouped_jk2_full_county{county}", {k: v[m] for k, v in d.items()}, d["w"][m], rw[m], scheme)


def test_every_triple_in_strata_gets_its_own_three_replicates() -> None:
    rw, scheme = replicate_weights(np.ones(6), np.arange(6), stratum=np.array([0, 0, 0, 1, 1, 1]))
    assert rw.shape == (6, 6)
    np.testing.assert_array_equal(rw[:3, 3:], np.ones((3, 3)))
    np.testing.assert_array_equal(rw[3:, :3], np.ones((3, 3)))
    np.testing.assert_allclose(scheme.rscales, 2 / 3)


def test_national_zones_never_cross_provinces() -> None:
    import dataclasses

    f = make_frame(seed=21, n_counties=16, n_provinces=4)
    base = SampleDesign()
    design = dataclasses.replace(base, counties=dataclasses.replace(base.counties, total=11, min_per_province=2))
    s = draw_sample(f, design, seed=9)
    sch = s.replicates_national.scheme
    prov = {c: c[:2] for c in sch.psu.tolist()}
    for z in np.unique(sch.zone[sch.member >= 0]):
        members = sch.psu[(sch.zone == z) & (sch.member >= 0)]
        assert len({prov[c] for c in members.tolist()}) == 1
        assert 2 <= len(members) <= 3
    # Provinces with an odd number of sampled counties have a triple: three replicates with factor 2/3.
    odd = sum(n % 2 for n in s.counties.allocation.values() if n > 1)
    assert int((sch.rscales == 2 / 3).sum()) == 3 * odd


def test_collapsed_cells_keep_fine_cells_only_when_all_have_respondents() -> None:
    from naeq.engines.sampling import collapse_cells

    county = np.array(["a"] * 6 + ["b"] * 4)
    ur = np.array(["111", "111", "121", "121", "210", "210", "111", "111", "121", "121"])
    responded = np.array([True, False, True, True, False, False, True, False, False, True])
    cells = collapse_cells(responded, (county, ur), county)
    # County a: urban/rural 210 has no respondent -> the whole county is one cell; county b keeps its two cells.
    assert len(set(cells[:6].tolist())) == 1
    assert len(set(cells[6:8].tolist())) == 1 and len(set(cells[8:].tolist())) == 1 and cells[6] != cells[8]
    assert cells[0] not in set(cells[6:].tolist())
    w = np.full(10, 5.0)
    adj = adjust_nonresponse(w, cells, responded)
    assert adj[:6].sum() == pytest.approx(30) and adj[6:8].sum() == pytest.approx(10)
    with pytest.raises(EngineError, match="no respondent"):
        adjust_nonresponse(w, (county, ur), responded)
