"""The engine contract of STYLE.md for the IRT engine: same seed same output; inputs not mutated; row order does
not matter; NaN and infinities rejected with a clear message. (The IRT engine takes no case weights, so the
"integer weights equal repeated rows" clause does not apply.)"""

from __future__ import annotations

import numpy as np
import pytest

from naeq.engines.irt.calibrate import calibrate
from naeq.engines.irt.data import ResponseDataError, responses_from_long
from naeq.engines.irt.dif import mantel_haenszel
from naeq.engines.irt.fit import item_fit
from naeq.engines.irt.models import ItemParameters, category_probabilities
from naeq.engines.irt.persons import eap, map_estimate, wle
from naeq.engines.irt.simulate import simulate


def _long(seed: int = 51) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, int]]:
    s = simulate(["2pl", "gpcm", "3pl", "pcm"] * 4, 700, n_booklets=2, seed=seed)
    r = s.responses
    persons = np.array([f"s{p:04d}" for p in r.persons])[r.person]
    items = np.array(r.items)[r.item]
    return persons, items, r.score.astype(float), dict(zip(r.items, (r.n_categories - 1).tolist(), strict=True))


def test_same_seed_same_output() -> None:
    a, b = simulate("gpcm", 300, n_items=6, seed=52), simulate("gpcm", 300, n_items=6, seed=52)
    np.testing.assert_array_equal(a.responses.score, b.responses.score)
    np.testing.assert_array_equal(a.params.b, b.params.b)
    assert not np.array_equal(simulate("gpcm", 300, n_items=6, seed=53).responses.score, a.responses.score)
    f1, f2 = calibrate(a.responses, "gpcm"), calibrate(b.responses, "gpcm")
    np.testing.assert_array_equal(f1.params.b, f2.params.b)
    np.testing.assert_array_equal(f1.params.b_se, f2.params.b_se)


def test_inputs_are_not_mutated() -> None:
    persons, items, scores, maxs = _long()
    copies = persons.copy(), items.copy(), scores.copy(), dict(maxs)
    r = responses_from_long(persons, items, scores, maxs)
    fit = calibrate(r, "3pl")
    prior = np.zeros(r.n_persons)
    eap(r, fit.params, prior_mean=prior)
    wle(r, fit.params)
    np.testing.assert_array_equal(persons, copies[0])
    np.testing.assert_array_equal(items, copies[1])
    np.testing.assert_array_equal(scores, copies[2])
    assert maxs == copies[3] and np.all(prior == 0)


def test_row_order_does_not_matter() -> None:
    persons, items, scores, maxs = _long()
    perm = np.random.default_rng(54).permutation(len(scores))
    r1 = responses_from_long(persons, items, scores, maxs)
    r2 = responses_from_long(persons[perm], items[perm], scores[perm], maxs)
    f1, f2 = calibrate(r1, "2pl"), calibrate(r2, "2pl")
    np.testing.assert_allclose(f1.params.b, f2.params.b, atol=1e-9)
    np.testing.assert_allclose(f1.params.a_se, f2.params.a_se, atol=1e-9)
    assert f1.log_likelihood == pytest.approx(f2.log_likelihood, abs=1e-6)
    np.testing.assert_array_equal(r1.persons, r2.persons)            # persons are sorted ids either way
    for fn in (eap, map_estimate, wle):
        np.testing.assert_allclose(fn(r1, f1.params).theta, fn(r2, f1.params).theta, atol=1e-9)
    group = (np.arange(r1.n_persons) % 2)
    d1 = mantel_haenszel(r1, group, reference=0, focal=1)
    d2 = mantel_haenszel(r2, group, reference=0, focal=1)
    np.testing.assert_allclose(d1.chi2, d2.chi2)
    theta = wle(r1, f1.params).theta
    x1 = item_fit(r1, f1.params, nodes=f1.nodes, weights=f1.weights[0], theta=theta)
    x2 = item_fit(r2, f1.params, nodes=f1.nodes, weights=f1.weights[0], theta=theta)
    np.testing.assert_allclose(x1.sx2, x2.sx2)
    np.testing.assert_allclose(x1.infit, x2.infit)


def test_nan_and_infinity_are_rejected_with_a_clear_message() -> None:
    persons, items, scores, maxs = _long()
    bad = scores.copy()
    bad[[10, 20]] = [np.nan, np.inf]
    with pytest.raises(ResponseDataError, match=r"2 row\(s\) with a missing, NaN or infinite score.*row 11, 21"):
        responses_from_long(persons, items, bad, maxs)
    with pytest.raises(ValueError, match="theta must be finite"):
        category_probabilities(np.array([0.0, np.nan]), simulate("2pl", 5, n_items=2, seed=1).params)
    with pytest.raises(Exception, match="finite"):
        ItemParameters(items=("a",), model=np.array(["2pl"]), a=[np.inf], b=[[0.0]], c=[0.0], n_categories=[2])
    r = responses_from_long(persons, items, scores, maxs)
    with pytest.raises(ValueError, match="finite"):
        eap(r, simulate(["2pl", "gpcm", "3pl", "pcm"] * 4, 5, seed=51).params, prior_mean=np.nan)
