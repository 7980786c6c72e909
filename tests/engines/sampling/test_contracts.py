"""The engine contract (STYLE.md): same seed, same output; inputs not mutated; row order does not matter;
integer weights equal repeated rows; NaN and infinities rejected with a clear message."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from naeq.engines.sampling import (
    SampleDesign,
    SchoolFrame,
    adjust_nonresponse,
    calibrate_to_totals,
    draw_sample,
    draw_students,
    frame_hash,
    jk2_replicates,
    replicate_se,
    replicate_weights,
)
from tests.engines.sampling.conftest import make_frame

DESIGN = dataclasses.replace(SampleDesign(), counties=dataclasses.replace(SampleDesign().counties, total=6,
                                                                          min_per_province=1))


def _sample_key(s: object) -> tuple[list[str], list[tuple[str, int, int]], np.ndarray]:
    st = s.students  # type: ignore[attr-defined]
    return (sorted(s.counties.code.tolist()),  # type: ignore[attr-defined]
            sorted(zip(st["school_code"].tolist(), st["grade"].tolist(), st["position"].tolist(), strict=True)),
            np.sort(st["weight"]))


def test_same_seed_same_sample_and_another_seed_another() -> None:
    f = make_frame()
    a, b, c = draw_sample(f, DESIGN, 7), draw_sample(f, DESIGN, 7), draw_sample(f, DESIGN, 8)
    ka, kb, kc = _sample_key(a), _sample_key(b), _sample_key(c)
    assert ka[0] == kb[0] and ka[1] == kb[1]
    np.testing.assert_array_equal(ka[2], kb[2])
    np.testing.assert_array_equal(a.replicates_national.factors, b.replicates_national.factors)
    assert ka[1] != kc[1]
    assert a.record()["seed"] == 7 and a.record()["frame_hash"] == frame_hash(f)
    assert a.record()["design"]["schools"]["per_county"] == {"grade4": 12, "grade8": 8}
    assert a.code_version


def test_frame_row_order_does_not_matter() -> None:
    f = make_frame()
    perm = np.random.default_rng(1).permutation(len(f))
    g = f.take(perm)
    assert frame_hash(g) == frame_hash(f)
    ka, kb = _sample_key(draw_sample(f, DESIGN, 3)), _sample_key(draw_sample(g, DESIGN, 3))
    assert ka[0] == kb[0] and ka[1] == kb[1]
    np.testing.assert_allclose(ka[2], kb[2], rtol=1e-12)


def test_frame_hash_sees_every_change() -> None:
    f = make_frame()
    g4 = f.g4.copy()
    g4[3] += 1
    assert frame_hash(dataclasses.replace(f, g4=g4)) != frame_hash(f)
    ur = f.urban_rural.copy()
    ur[0] = "112"
    assert frame_hash(dataclasses.replace(f, urban_rural=ur)) != frame_hash(f)


def test_inputs_are_not_mutated() -> None:
    f = make_frame()
    before = {k: getattr(f, k).copy() for k in ("code", "county", "g4", "g8", "urban_rural")}
    draw_sample(f, DESIGN, 2)
    for k, v in before.items():
        np.testing.assert_array_equal(getattr(f, k), v)
    w = np.array([1.0, 2, 3, 4])
    cells = np.array([0, 0, 1, 1])
    resp = np.array([True, False, True, True])
    adjust_nonresponse(w, cells, resp)
    calibrate_to_totals(w, cells, {0: 5, 1: 9})
    jk2_replicates(w, cells)
    enr = np.array([40, 3])
    draw_students(enr, 30, np.random.default_rng(0))
    assert w.tolist() == [1, 2, 3, 4] and resp.tolist() == [True, False, True, True] and enr.tolist() == [40, 3]


def test_integer_weights_equal_repeated_rows() -> None:
    rng = np.random.default_rng(4)
    n = 60
    psu = np.repeat(np.arange(12), 5)
    y = rng.normal(size=n)
    w = rng.integers(1, 4, size=n).astype(float)
    rw, sch = replicate_weights(w, psu, scheme="jk2_full")
    rep = np.repeat(np.arange(n), w.astype(int))
    rw1, sch1 = replicate_weights(np.ones(len(rep)), psu[rep], scheme="jk2_full")
    assert replicate_se(y, w, rw, sch) == pytest.approx(replicate_se(y[rep], np.ones(len(rep)), rw1, sch1),
                                                        rel=1e-12)
    cells = psu % 3
    resp = rng.random(n) < 0.8
    adj = adjust_nonresponse(w, cells, resp)
    adj1 = adjust_nonresponse(np.ones(len(rep)), cells[rep], resp[rep])
    np.testing.assert_allclose(np.bincount(rep, weights=adj1), adj, rtol=1e-12)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_infinity_are_rejected_with_the_name_and_position(bad: float) -> None:
    w = np.array([1.0, 2.0, bad])
    with pytest.raises(ValueError, match=r"weights must be finite: element 2"):
        adjust_nonresponse(w, np.zeros(3), np.ones(3, dtype=bool))
    with pytest.raises(ValueError, match=r"weights must be finite"):
        jk2_replicates(w, np.arange(3))
    with pytest.raises(ValueError, match=r"values must be finite"):
        replicate_se(np.array([1.0, bad]), np.ones(2), np.ones((2, 1)), "jk2")
    with pytest.raises(ValueError, match=r"enrollment must be finite"):
        draw_students(np.array([3.0, bad]), 30, np.random.default_rng(0))


def test_negative_enrollment_and_duplicate_codes_are_rejected() -> None:
    from naeq.engines.errors import EngineError

    with pytest.raises(EngineError, match="g4 enrollment must be >= 0"):
        SchoolFrame.from_columns(code=["a", "b"], county=["110101"] * 2, level=["primary"] * 2,
                                 urban_rural=["111"] * 2, g4=[3, -1], g8=[0, 0])
    with pytest.raises(EngineError, match="unique"):
        SchoolFrame.from_columns(code=["a", "a"], county=["110101"] * 2, level=["primary"] * 2,
                                 urban_rural=["111"] * 2, g4=[3, 1], g8=[0, 0])
