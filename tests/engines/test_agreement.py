"""naeq.engines.agreement against scikit-learn's values (tests/marking/reference/kappa_sklearn.csv, made by the
script beside it), by simulation with known truth, and the engine contract (no mutation, order-free, bad input
rejected with a clear message)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from naeq.engines.agreement import agreement, quadratic_weighted_kappa, rolling_accuracy

REFERENCE = Path(__file__).resolve().parents[1] / "marking" / "reference" / "kappa_sklearn.csv"


def _reference() -> list[dict[str, str]]:
    with REFERENCE.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_reference_file_covers_every_case_kind() -> None:
    names = {r["case"].split("_")[0] for r in _reference()}
    assert {"noisy", "independent", "perfect", "offset", "unused", "reversed"} <= names
    assert all(r["software"].startswith("scikit-learn ") for r in _reference())


@pytest.mark.parametrize("row", _reference(), ids=lambda r: r["case"])
def test_matches_scikit_learn(row: dict[str, str]) -> None:
    a = [int(x) for x in row["a"].split()]
    b = [int(x) for x in row["b"].split()]
    r = agreement(a, b, max_score=int(row["max_score"]))
    # Both compute the same closed form in double precision; only the order of a few dozen additions differs,
    # so agreement to 1e-12 is expected (an error in the weights or margins would show at 1e-2 or worse).
    assert r.kappa == pytest.approx(float(row["kappa_quadratic"]), abs=1e-12)
    assert r.exact == pytest.approx(float(row["exact"]), abs=1e-15)
    assert r.adjacent == pytest.approx(float(row["adjacent"]), abs=1e-15)
    assert r.n == len(a)


def test_hand_computed_example() -> None:
    # O = [[1,0,0],[0,1,0],[0,1,1]]/4; row margins (1,1,2)/4, column margins (1,2,1)/4; w = (i-j)²/4.
    # Σ w·O = (1/4)·(1/4) = 1/16; Σ w·E = 20/64 · 1/4 = 5/16 → κ = 1 − 1/5 = 0.8.
    assert quadratic_weighted_kappa([0, 1, 2, 2], [0, 1, 1, 2], max_score=2) == pytest.approx(0.8, abs=1e-15)


def test_simulation_with_known_truth() -> None:
    """Independent raters have κ = 0 in the population; identical raters κ = 1; raters who agree with the
    truth with probability p and otherwise score uniformly at random have exact agreement p² + (1 − p²)/(K+1).
    With n = 20,000 the sampling SD of κ under independence is about 1/√n ≈ 0.007 and of an agreement share
    at most 0.0036, so 0.03 and 0.015 are four SDs: a wrong weight or margin would miss by far more."""
    rng = np.random.default_rng(7)
    n, k = 20_000, 4
    a = rng.integers(0, k + 1, size=n)
    b = rng.integers(0, k + 1, size=n)
    assert abs(quadratic_weighted_kappa(a, b, max_score=k)) < 0.03
    assert quadratic_weighted_kappa(a, a, max_score=k) == pytest.approx(1.0)
    truth = rng.integers(0, k + 1, size=n)
    p = 0.8
    ra = np.where(rng.random(n) < p, truth, rng.integers(0, k + 1, size=n))
    rb = np.where(rng.random(n) < p, truth, rng.integers(0, k + 1, size=n))
    expected_exact = p * p + (1 - p * p) / (k + 1)
    assert agreement(ra, rb, max_score=k).exact == pytest.approx(expected_exact, abs=0.015)


def test_undefined_kappa_is_nan_and_empty_input() -> None:
    assert math.isnan(quadratic_weighted_kappa([1, 1, 1], [1, 1, 1], max_score=2))
    r = agreement([], [], max_score=2)
    assert r.n == 0 and math.isnan(r.exact) and math.isnan(r.kappa)


def test_contract_no_mutation_and_order_free() -> None:
    rng = np.random.default_rng(3)
    a = rng.integers(0, 4, size=50)
    b = np.clip(a + rng.choice([-1, 0, 1], size=50), 0, 3)
    a0, b0 = a.copy(), b.copy()
    r1 = agreement(a, b, max_score=3)
    assert np.array_equal(a, a0) and np.array_equal(b, b0)
    perm = rng.permutation(50)
    r2 = agreement(a[perm], b[perm], max_score=3)
    assert r1.kappa == pytest.approx(r2.kappa, abs=1e-14) and r1.exact == r2.exact
    # Swapping the raters leaves every symmetric statistic unchanged.
    assert agreement(b, a, max_score=3).kappa == pytest.approx(r1.kappa, abs=1e-14)


@pytest.mark.parametrize(("a", "b", "max_score", "message"), [
    ([0, 1], [0], 2, "same length"),
    ([0, float("nan")], [0, 1], 2, "NaN"),
    ([0, 3], [0, 1], 2, "0..2"),
    ([0, 0.5], [0, 1], 2, "whole score points"),
    ([0, 1], [0, 1], 0, "max_score"),
    ([[0, 1]], [[0, 1]], 2, "one-dimensional"),
])
def test_bad_input_is_rejected(a: list, b: list, max_score: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        agreement(a, b, max_score=max_score)


def test_rolling_accuracy() -> None:
    assert rolling_accuracy([1, 1, 0, 0, 1], window=2).tolist() == [1.0, 1.0, 0.5, 0.0, 0.5]
    assert rolling_accuracy([1, 0, 1, 1], window=10).tolist() == pytest.approx([1, 0.5, 2 / 3, 0.75])
    assert rolling_accuracy([], window=3).size == 0
    with pytest.raises(ValueError, match="0 or 1"):
        rolling_accuracy([1, 2], window=2)
    with pytest.raises(ValueError, match="window"):
        rolling_accuracy([1], window=0)
