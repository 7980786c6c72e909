"""PPS inclusion probabilities and systematic selection: exact formulas, R ``sampling`` reference, simulation."""

from __future__ import annotations

import numpy as np
import pytest

from naeq.engines.sampling import grouped_inclusion_probabilities, pps_inclusion_probabilities, systematic_pps
from tests.engines.sampling.conftest import read_reference


def test_probabilities_match_r_sampling_inclusionprobabilities() -> None:
    ref = read_reference("inclusion_probabilities.csv")
    cases = ref["case"].astype(int)
    for k in np.unique(cases):
        m = cases == k
        ours = pps_inclusion_probabilities(ref["size"][m], int(ref["n"][m][0]))
        # R prints 15 significant digits; both compute n * size / total in double precision.
        np.testing.assert_allclose(ours, ref["pi"][m], rtol=1e-12, atol=1e-14, err_msg=f"case {k}")
    # The same cases all at once, as groups.
    together = grouped_inclusion_probabilities(ref["size"], np.array([int(ref["n"][cases == k][0])
                                                                     for k in np.unique(cases)]), cases - 1)
    np.testing.assert_allclose(together, ref["pi"], rtol=1e-12, atol=1e-14)


def test_exact_formula_with_iterative_certainty() -> None:
    size = np.array([500.0, 300, 20, 20, 20, 20, 20, 10, 5, 5])
    pi = pps_inclusion_probabilities(size, 5)
    # 500 is certain at once (5*500/920 > 1); then 300 (4*300/420 > 1); the rest share n = 3 over total 120.
    np.testing.assert_allclose(pi, [1, 1, *(3 * size[2:] / 120)])
    assert pi.sum() == pytest.approx(5)


def test_more_draws_than_units_takes_all_with_positive_size() -> None:
    pi = pps_inclusion_probabilities(np.array([3.0, 0.0, 2.0]), 5)
    np.testing.assert_array_equal(pi, [1.0, 0.0, 1.0])


def test_systematic_selection_is_exact_in_size_and_certainty() -> None:
    rng = np.random.default_rng(5)
    size = rng.lognormal(3, 1, size=400)
    group = np.repeat(np.arange(20), 20)
    n = rng.integers(1, 15, size=20)
    pi = grouped_inclusion_probabilities(size, n, group)
    for _ in range(50):
        sel = systematic_pps(pi, rng, group)
        np.testing.assert_array_equal(np.bincount(group, weights=sel).astype(int), n)
        assert sel[pi >= 1].all()


def test_known_start_selects_the_units_whose_interval_holds_it() -> None:
    pi = np.array([0.5, 0.5, 0.5, 0.5])  # cumulated 0.5, 1, 1.5, 2
    sel = systematic_pps(pi, np.random.default_rng(0), starts=np.array([0.25]))
    np.testing.assert_array_equal(sel, [True, False, True, False])  # 0.25 in [0, .5), 1.25 in [1, 1.5)
    sel = systematic_pps(pi, np.random.default_rng(0), starts=np.array([0.75]))
    np.testing.assert_array_equal(sel, [False, True, False, True])


def _frequencies(select: np.ndarray, n_units: int, n_reps: int) -> np.ndarray:
    return select.reshape(n_reps, n_units).mean(axis=0)


def test_simulated_selection_frequencies_match_the_probabilities() -> None:
    """20,000 independent draws (one group each, in one vectorised call): every unit's selection frequency is
    within 4.5 binomial standard errors of its π. The same check rejects a selection shifted by one position
    (an off-by-one in the start or the cumulation), so it has the power to catch that bug."""
    rng = np.random.default_rng(20261123)
    size = np.array([400.0, 5, 8, 13, 21, 34, 55, 89, 144, 12, 30, 3, 70, 90, 17, 60, 45, 9, 26, 110])
    n, reps = 6, 20_000
    pi = pps_inclusion_probabilities(size, n)
    assert pi[0] == 1.0 and (pi[1:] < 1).all()
    group = np.repeat(np.arange(reps), len(size))
    sel = systematic_pps(np.tile(pi, reps), rng, group)
    freq = _frequencies(sel, len(size), reps)
    rand = pi < 1
    z = (freq[rand] - pi[rand]) / np.sqrt(pi[rand] * (1 - pi[rand]) / reps)
    # 19 units: P(max |z| > 4.5) < 19 * 7e-6; the seed is fixed, so the test is deterministic anyway.
    assert np.abs(z).max() < 4.5
    assert (freq[~rand] == 1).all()
    shifted = np.roll(sel.reshape(reps, len(size)), 1, axis=1).ravel()
    z_bad = (_frequencies(shifted, len(size), reps)[rand] - pi[rand]) / np.sqrt(pi[rand] * (1 - pi[rand]) / reps)
    assert np.abs(z_bad).max() > 4.5


def test_probabilities_below_one_must_sum_to_an_integer() -> None:
    with pytest.raises(ValueError, match="integer sample size"):
        systematic_pps(np.array([0.3, 0.3, 0.3]), np.random.default_rng(0))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_and_infinite_sizes_are_rejected(bad: float) -> None:
    with pytest.raises(ValueError, match=r"size must be finite: element 1"):
        pps_inclusion_probabilities(np.array([1.0, bad, 2.0]), 1)


def test_negative_sizes_are_rejected() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        pps_inclusion_probabilities(np.array([1.0, -1.0]), 1)
