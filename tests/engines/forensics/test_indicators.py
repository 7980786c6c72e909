"""Stage 1 indicators: each against an injected anomaly (found) and clean data (p-values not too small).

Seed rule (2023-national-briefing.txt): "原始数据初筛：利用统计指标，定位数据异常区县" — indicators locate the
anomalous counties; every test below injects one anomaly into one unit and checks it ranks first with a small p,
and that clean units keep their p-values spread (no more flags than the level allows).
"""

from __future__ import annotations

import numpy as np
import pytest

from naeq.engines.forensics import fit_option_model
from naeq.engines.forensics import indicators as ind
from tests.engines.forensics.simulate import preknowledge, simulate


@pytest.fixture(scope="module")
def base():
    rng = np.random.default_rng(99)
    sim = simulate(rng, n_schools=120, size=25)
    return rng, sim


def _scores(x, key):
    taken = x >= 0
    return ((x == key) & taken).astype(float), taken


def test_mean_above_prediction(base):
    rng, _ = base
    ses = rng.normal(size=200)
    urban = rng.integers(0, 2, 200)
    mean = 500 + 35 * ses + 15 * urban + rng.normal(0, 12, 200)
    clean = ind.mean_above_prediction(mean, np.column_stack([ses, urban]))
    assert (clean.p < 0.001).sum() <= 2  # 200 units at 10⁻³: more than 2 means the scale is too small
    mean[17] += 60  # five residual SDs above what its background predicts
    hit = ind.mean_above_prediction(mean, np.column_stack([ses, urban]))
    assert int(np.argmin(hit.p)) == 17 and hit.p[17] < 1e-4
    # A high mean that its background explains is not flagged: the richest unit is raised by its SES alone.
    assert hit.p[int(np.argmax(ses))] > 0.01


def test_between_variance_small(base):
    rng, _ = base
    n_c, per = 40, 8
    county = np.repeat(np.arange(n_c), per)
    school_mean = rng.normal(0, 0.5, n_c * per) + rng.normal(0, np.sqrt(1 / 30), n_c * per)
    n = np.full(n_c * per, 30.0)
    wv = np.ones(n_c * per)
    clean = ind.between_variance_small(county, school_mean, n, wv, n_c)
    assert np.nanmin(clean.p) > 1e-3
    school_mean[county == 5] = 1.2 + rng.normal(0, 0.02, per)  # all schools of county 5 pushed to one level
    hit = ind.between_variance_small(county, school_mean, n, wv, n_c)
    assert int(np.nanargmin(hit.p)) == 5 and hit.p[5] < 1e-3


def test_near_perfect(base):
    _, sim = base
    scores, taken = _scores(sim.x, sim.key)
    model = fit_option_model(sim.x, sim.key)
    clean = ind.near_perfect(sim.school, scores, taken, model.theta, model.a, model.b, 120)
    assert np.nanmin(clean.p) > 1e-3 / 1  # 120 units: min p below 10⁻³ has chance < 12 %
    x = sim.x.copy()
    rows = np.flatnonzero(sim.school == 9)[:12]  # 12 of 25 students handed the answers
    x[rows] = sim.key
    scores2, _ = _scores(x, sim.key)
    model2 = fit_option_model(x, sim.key)
    hit = ind.near_perfect(sim.school, scores2, taken, model2.theta, model2.a, model2.b, 120)
    assert int(np.nanargmin(hit.p)) == 9 and hit.p[9] < 1e-6


def test_item_shift_partial_and_uniform(base):
    rng, sim = base
    model = fit_option_model(sim.x, sim.key)
    scores, taken = _scores(sim.x, sim.key)
    uni, part = ind.item_shift(sim.school, scores, taken, model.theta, model.a, model.b, 120)
    assert np.nanmin(part.p) > 1e-4 and np.nanmin(uni.p) > 1e-4
    leaked = np.argsort(sim.b)[-6:]  # the six hardest items leaked to school 4
    x = preknowledge(rng, sim.x, sim.key, np.flatnonzero(sim.school == 4), leaked, 0.95)
    model2 = fit_option_model(x, sim.key)
    scores2, _ = _scores(x, sim.key)
    _, part2 = ind.item_shift(sim.school, scores2, taken, model2.theta, model2.a, model2.b, 120)
    assert int(np.nanargmin(part2.p)) == 4 and part2.p[4] < 1e-6
    # Uniform raise: school 6's answers are replaced by the key on 80 % of all items (a strong, uniform lift; a
    # weaker one is not separable from a good school without background data — that is mean_above_prediction's job).
    x3 = sim.x.copy()
    rows = np.flatnonzero(sim.school == 6)
    lift = rng.random((len(rows), x3.shape[1])) < 0.8
    x3[rows] = np.where(lift, sim.key, x3[rows])
    model3 = fit_option_model(x3, sim.key)
    scores3, _ = _scores(x3, sim.key)
    uni3, _ = ind.item_shift(sim.school, scores3, taken, model3.theta, model3.a, model3.b, 120)
    assert int(np.nanargmin(uni3.p)) == 6 and uni3.p[6] < 1e-3


def test_rate_excess(base):
    rng, _ = base
    total = rng.integers(25, 40, 150).astype(float)
    absent = rng.binomial(total.astype(int), 0.04).astype(float)
    clean = ind.rate_excess("absent", absent, total)
    assert (clean.p < 1e-3).sum() <= 1
    absent[33] = 14  # 14 of ~30 absent where 4 % is usual
    hit = ind.rate_excess("absent", absent, total)
    assert int(np.argmin(hit.p)) == 33 and hit.p[33] < 1e-6
    with pytest.raises(Exception, match="between 0 and the total"):
        ind.rate_excess("absent", [5.0], [3.0])


def test_response_times(base):
    rng, _ = base
    n_units, per, items = 60, 20, 10
    unit_p = np.repeat(np.arange(n_units), per)
    person = np.repeat(np.arange(n_units * per), items)
    unit = unit_p[person]
    speed = rng.normal(0, 0.4, n_units * per)[person]
    secs = np.exp(3.5 + speed + rng.normal(0, 0.5, len(person)))
    short, uniform = ind.response_times(unit, person, secs, n_units)
    assert np.nanmin(short.p) > 1e-4 and np.nanmin(uniform.p) > 1e-4
    fast = unit == 12
    secs2 = secs.copy()
    secs2[fast] = secs[fast] / 8  # answers entered far faster than reading allows
    even = unit == 20
    secs2[even] = 30 + rng.normal(0, 0.5, even.sum())  # everyone the same pace
    short2, uniform2 = ind.response_times(unit, person, secs2, n_units)
    assert int(np.nanargmin(short2.p)) == 12 and short2.p[12] < 1e-4
    assert int(np.nanargmin(uniform2.p)) == 20 and uniform2.p[20] < 1e-4


def test_pe_heaping_and_repeated(base):
    rng, _ = base
    n_units, per = 50, 30
    unit = np.repeat(np.arange(n_units), per)
    value = np.round(rng.normal(8.5, 0.8, n_units * per), 1)  # 50 m run, seconds with one decimal
    test = np.zeros(len(value), dtype=int)
    dec = np.ones(len(value), dtype=int)
    assert np.nanmin(ind.heaping(unit, test, value, dec, n_units).p) > 1e-4
    assert np.nanmin(ind.repeated(unit, test, value, n_units).p) > 1e-4
    heaped = value.copy()
    heaped[unit == 7] = np.round(heaped[unit == 7] * 2) / 2  # recorded to the half second
    hit = ind.heaping(unit, test, heaped, dec, n_units)
    assert int(np.nanargmin(hit.p)) == 7 and hit.p[7] < 1e-6
    rep = value.copy()
    rep[np.flatnonzero(unit == 3)[:12]] = 8.7  # one value typed for twelve students
    hit2 = ind.repeated(unit, test, rep, n_units)
    assert int(np.nanargmin(hit2.p)) == 3 and hit2.p[3] < 1e-6


def test_straightlining(base):
    rng, _ = base
    n_units, per, items = 40, 25, 6
    persons = n_units * per
    person = np.repeat(np.arange(persons), items)
    unit = (person // per)
    block = np.zeros(len(person), dtype=int)
    value = rng.integers(1, 5, len(person)).astype(float)
    clean = ind.straightlining(unit, person, block, value, n_units)
    assert np.nanmin(clean.p) > 1e-3
    value[(unit == 11) & (person % per < 15)] = 3.0  # 15 of 25 students tick the same box throughout
    hit = ind.straightlining(unit, person, block, value, n_units)
    assert int(np.nanargmin(hit.p)) == 11 and hit.p[11] < 1e-6
