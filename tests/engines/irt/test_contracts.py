"""The engine contract of STYLE.md for the IRT engine: same seed same output; inputs not mutated; row order does
not matter; integer case weights equal repeated persons (calibrate's ``weights``); NaN and infinities rejected
with a clear message."""

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


def test_integer_weights_equal_repeated_persons() -> None:
    # calibrate(weights=w) with integer w is the same as w copies of each person: estimates, SEs, group moments
    # and log-likelihood (to the EM tolerance, which the tighter tol makes ~1e-7).
    s = simulate(["2pl", "gpcm", "3pl"] * 3, 300, seed=55, group_means=(0.0, 0.5))
    r = s.responses
    w = np.random.default_rng(56).integers(1, 4, r.n_persons)
    copies = np.repeat(np.arange(r.n_persons), w)                    # original person of each copy
    first = np.concatenate([[0], np.cumsum(w)[:-1]])
    rows = [np.flatnonzero(r.person == p) for p in range(r.n_persons)]
    person = np.concatenate([np.repeat(first[p] + np.arange(w[p]), len(rows[p])) for p in range(r.n_persons)])
    pick = np.concatenate([np.tile(rows[p], w[p]) for p in range(r.n_persons)])
    rep = type(r)(person=person, item=r.item[pick], score=r.score[pick], persons=np.arange(len(copies)),
                  items=r.items, n_categories=r.n_categories)
    weighted = calibrate(r, "3pl", groups=s.group, weights=w, tol=1e-7)
    repeated = calibrate(rep, "3pl", groups=s.group[copies], tol=1e-7)
    np.testing.assert_allclose(weighted.params.b, repeated.params.b, atol=1e-5)
    np.testing.assert_allclose(weighted.params.a_se, repeated.params.a_se, rtol=1e-4)
    np.testing.assert_allclose(weighted.group_means, repeated.group_means, atol=1e-5)
    assert weighted.log_likelihood == pytest.approx(repeated.log_likelihood, rel=1e-7)
    with pytest.raises(Exception, match="non-negative"):
        calibrate(r, "2pl", weights=-w)
