"""The engine contract: same input gives the same output, inputs are not mutated, row order does not matter,
NaN and infinities are rejected with a clear message, results are frozen."""

from __future__ import annotations

import numpy as np
import pytest

from naeq.engines.errors import EngineError
from naeq.engines.forensics import fit_option_model, pair_statistics, screen
from tests.engines.forensics.simulate import copy_answers, simulate


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(42)
    sim = simulate(rng, n_schools=24, size=15, n_items=20, schools_per_county=4)
    x = copy_answers(rng, sim.x, 0, np.arange(1, 6), 0.8)
    return sim, x


def _run(x, sim, perm=None):
    school, county = sim.school, sim.county
    if perm is not None:
        x, school, county = x[perm], school[perm], county[perm]
    return screen(x, sim.key, school=school, county=county, exact_tests=True)


def test_same_input_same_output_and_no_mutation(data):
    sim, x = data
    before = x.copy()
    key = sim.key.copy()
    r1, r2 = _run(x, sim), _run(x, sim)
    np.testing.assert_array_equal(x, before)
    np.testing.assert_array_equal(sim.key, key)
    np.testing.assert_array_equal(r1.pairs.omega, r2.pairs.omega)
    np.testing.assert_array_equal(r1.schools.combined_p, r2.schools.combined_p)
    copied = (r1.pairs.first == 0) & (r1.pairs.second <= 5)
    assert np.sum(r1.pairs.omega_p[copied] < 1e-3) >= 3  # the injected copying shows (0 → 1..5, 80 % of 20 items)


def test_row_order_does_not_matter(data):
    sim, x = data
    perm = np.random.default_rng(1).permutation(len(x))
    r1, r2 = _run(x, sim), _run(x, sim, perm)
    np.testing.assert_allclose(r2.model.theta, r1.model.theta[perm], atol=1e-6)
    np.testing.assert_allclose(r2.lz, r1.lz[perm], atol=1e-6, equal_nan=True)
    # Pairs are keyed by the persons, not by rows.
    key1 = {(min(a, b), max(a, b)): w for a, b, w in zip(r1.pairs.first, r1.pairs.second, r1.pairs.omega,
                                                          strict=True)}
    for a, b, w in zip(perm[r2.pairs.first], perm[r2.pairs.second], r2.pairs.omega, strict=True):
        assert key1[(min(a, b), max(a, b))] == pytest.approx(w, abs=1e-6)
    np.testing.assert_allclose(r2.schools.combined_p, r1.schools.combined_p, atol=1e-9)


def test_nan_and_infinities_rejected(data):
    sim, x = data
    bad = x.astype(float)
    bad[3, 2] = np.nan
    with pytest.raises(EngineError, match="NaN"):
        fit_option_model(bad, sim.key)
    bad[3, 2] = np.inf
    with pytest.raises(EngineError, match="NaN or infinite"):
        screen(bad, sim.key, school=sim.school, county=sim.county)
    with pytest.raises(EngineError, match="theta"):
        fit_option_model(x, sim.key, theta=np.full(len(x), np.nan))
    with pytest.raises(EngineError, match="more than one county"):
        county = sim.county.copy()
        county[1] = county[1] + 1
        screen(x, sim.key, school=sim.school, county=county)


def test_results_are_frozen(data):
    sim, x = data
    model = fit_option_model(x, sim.key)
    ps = pair_statistics(model, x, sim.school, exact_tests=False)
    with pytest.raises(ValueError):
        ps.omega[0] = 0.0
    with pytest.raises(ValueError):
        model.theta[0] = 0.0
