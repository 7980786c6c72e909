"""Item response functions: values at known points, shapes, padding, information against numerical derivatives."""

from __future__ import annotations

import numpy as np
import pytest

from naeq.engines.errors import EngineError
from naeq.engines.irt.models import (
    ItemParameters,
    category_probabilities,
    expected_score,
    item_information,
    test_information,
)
from naeq.engines.irt.simulate import simulate_items


def _items() -> ItemParameters:
    return ItemParameters(items=("r", "t", "h", "p", "g"), model=np.array(["rasch", "2pl", "3pl", "pcm", "gpcm"]),
                          a=np.array([1.0, 1.7, 1.2, 1.0, 0.6]),
                          b=np.array([[0.3, np.nan, np.nan], [-0.5, np.nan, np.nan], [0.8, np.nan, np.nan],
                                      [-1.0, 0.2, 1.1], [-0.4, 0.9, np.nan]]),
                          c=np.array([0.0, 0.0, 0.2, 0.0, 0.0]), n_categories=np.array([2, 2, 2, 4, 3]))


def test_probabilities_at_known_points() -> None:
    p = _items()
    theta = np.array([-1.0, 0.2, 0.3, 0.8, 0.9])
    prob = category_probabilities(theta, p)
    assert prob.shape == (5, 5, 4)
    np.testing.assert_allclose(prob.sum(axis=2), 1.0, atol=1e-12)
    # beyond an item's categories the probability is exactly 0
    assert np.all(prob[:3, :, 2:] == 0) and np.all(prob[4, :, 3] == 0)
    # Rasch at θ = b: 1/2; 2PL: σ(1.7·(−1 + 0.5))
    assert prob[0, 2, 1] == pytest.approx(0.5)
    assert prob[1, 0, 1] == pytest.approx(1 / (1 + np.exp(-1.7 * (-1.0 + 0.5))))
    # 3PL at θ = b: c + (1 − c)/2
    assert prob[2, 3, 1] == pytest.approx(0.2 + 0.8 * 0.5)
    # PCM: adjacent categories are equally likely at θ = b_v (P_k / P_{k−1} = exp(θ − b_k))
    assert prob[3, 1, 2] == pytest.approx(prob[3, 1, 1])
    # GPCM at θ = 0.9 = b_2: categories 1 and 2 equally likely
    assert prob[4, 4, 2] == pytest.approx(prob[4, 4, 1])


def test_three_pl_tends_to_its_asymptotes() -> None:
    prob = category_probabilities(np.array([-40.0, 40.0]), _items())
    assert prob[2, 0, 1] == pytest.approx(0.2)
    assert prob[2, 1, 1] == pytest.approx(1.0)


def test_information_is_the_derivative_identity() -> None:
    # GPCM family: I = a · dE[X]/dθ; 3PL: I = P'² / (P (1 − P)) — both checked against central differences.
    p = _items()
    theta = np.linspace(-3, 3, 13)
    h = 1e-5
    de = (expected_score(theta + h, p) - expected_score(theta - h, p)) / (2 * h)
    info = item_information(theta, p)
    gp = [0, 1, 3, 4]
    np.testing.assert_allclose(info[gp], p.a[gp, None] * de[gp], rtol=1e-6, atol=1e-9)
    pr = category_probabilities(theta, p)[2, :, 1]
    np.testing.assert_allclose(info[2], de[2] ** 2 / (pr * (1 - pr)), rtol=1e-6)
    np.testing.assert_allclose(test_information(theta, p), info.sum(axis=0))


def test_validation_messages() -> None:
    base = {"items": ("x",), "a": [1.0], "b": [[0.0]], "c": [0.0], "n_categories": [2]}
    with pytest.raises(EngineError, match="unknown model"):
        ItemParameters(model=np.array(["4pl"]), **base)
    with pytest.raises(EngineError, match="cannot have 3 categories"):
        ItemParameters(**{**base, "model": np.array(["2pl"]), "n_categories": [3], "b": [[0.0, 1.0]]})
    with pytest.raises(EngineError, match="lower asymptote"):
        ItemParameters(**{**base, "model": np.array(["3pl"]), "c": [1.2]})
    with pytest.raises(EngineError, match="finite"):
        ItemParameters(**{**base, "model": np.array(["2pl"]), "a": [np.nan]})
    with pytest.raises(EngineError, match="unique"):
        ItemParameters(items=("x", "x"), model=np.array(["2pl", "2pl"]), a=[1, 1], b=[[0], [0]], c=[0, 0],
                       n_categories=[2, 2])


def test_rows_round_trip_and_read_only() -> None:
    p = simulate_items(["2pl", "3pl", "gpcm", "pcm"], seed=3, n_categories=[2, 2, 4, 3])
    q = ItemParameters.from_rows(p.to_rows())
    assert q.items == p.items
    np.testing.assert_array_equal(q.b, p.b)
    np.testing.assert_array_equal(q.a, p.a)
    with pytest.raises(ValueError):
        p.a[0] = 2.0
    sub = p.select(["i003", "i001"])
    assert sub.items == ("i003", "i001") and sub.b.shape == (2, 3)
