"""``screen`` end to end: a county where three schools copy at moderate strength is flagged, clean counties are not;
the drivers are the pair indicators."""

from __future__ import annotations

import numpy as np

from naeq.engines.forensics import screen
from tests.engines.forensics.simulate import copy_answers, simulate


def test_three_copying_schools_flag_their_county_and_nothing_else():
    # 15 counties × 4 schools × 20 students, 40 items. County 2's schools 8, 9, 10: four neighbour pairs each copy
    # 50 % of the items (the bench's "moderate" strength). Measured: county 2 combined q ≈ 6e-8, schools 8, 9, 10
    # flagged, nothing else; on the same data before the copying nothing is flagged.
    rng = np.random.default_rng(77)
    sim = simulate(rng, n_schools=60, size=20, schools_per_county=4)
    x = sim.x
    for s in (8, 9, 10):
        for k in range(4):
            src = s * 20 + 2 * k
            x = copy_answers(rng, x, src, np.array([src + 1]), 0.5)
    clean = screen(sim.x, sim.key, school=sim.school, county=sim.county, exact_tests=False)  # before the copying
    assert not clean.counties.flag.any() and not clean.schools.flag.any()
    res = screen(x, sim.key, school=sim.school, county=sim.county, exact_tests=False)
    assert np.flatnonzero(res.counties.flag).tolist() == [2]
    assert res.counties.q["pairs_excess"][2] <= 0.05
    assert set(np.flatnonzero(res.schools.flag)) <= {8, 9, 10}
