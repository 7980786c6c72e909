"""Questionnaire indices: Cronbach's α against a hand value and the ANOVA identity (Hoyt 1941), reverse coding,
WLE and EAP reliability against the simulation truth, the standardisation, and the engine contract."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

from naeq.engines.errors import EngineError
from naeq.engines.irt import questionnaire
from naeq.engines.irt.data import Responses, responses_from_long
from naeq.engines.irt.questionnaire import (
    cronbach_alpha,
    questionnaire_index,
    reverse_code,
    wle_reliability,
)
from naeq.engines.irt.simulate import simulate, simulate_items, simulate_responses


def test_module_examples_run() -> None:
    assert doctest.testmod(questionnaire, raise_on_error=False).failed == 0


def test_alpha_by_hand() -> None:
    """Four persons × three items (rows 1 2 2 / 2 3 3 / 3 3 4 / 4 4 4). Sample variances: items 5/3, 2/3, 11/12
    (sum 3.25); totals 5, 8, 10, 12 have variance 26.75/3 = 8.916667. α = 3/2 · (1 − 3.25/8.916667) = 0.953271."""
    alpha, n = cronbach_alpha(np.array([[1, 2, 2], [2, 3, 3], [3, 3, 4], [4, 4, 4]]))
    assert n == 4
    assert alpha == pytest.approx(1.5 * (1 - 3.25 / (26.75 / 3)), abs=1e-12)
    assert alpha == pytest.approx(0.953271, abs=1e-6)


def test_alpha_equals_hoyts_anova_reliability() -> None:
    """An independent closed form: from the persons × items two-way ANOVA without replication,
    α = 1 − MS_residual / MS_persons (Hoyt 1941)."""
    rng = np.random.default_rng(0)
    x = np.clip(np.round(rng.normal(size=(60, 1)) + rng.normal(0, 0.8, (60, 5)) + 2), 0, 4)
    n, k = x.shape
    grand = x.mean()
    ss_p = k * np.sum((x.mean(axis=1) - grand) ** 2)
    ss_i = n * np.sum((x.mean(axis=0) - grand) ** 2)
    ss_r = np.sum((x - grand) ** 2) - ss_p - ss_i
    hoyt = 1 - (ss_r / ((n - 1) * (k - 1))) / (ss_p / (n - 1))
    assert cronbach_alpha(x)[0] == pytest.approx(hoyt, abs=1e-12)
    # incomplete rows are left out (listwise)
    y = np.vstack([x, [[1, -1, 2, 3, 4]], [[np.nan, 1, 1, 1, 1]]])
    assert cronbach_alpha(y) == pytest.approx((hoyt, 60), abs=1e-12)
    # integer weights equal repeated rows
    w = rng.integers(1, 4, 60)
    assert cronbach_alpha(x, weights=w)[0] == pytest.approx(cronbach_alpha(np.repeat(x, w, axis=0))[0], abs=1e-12)


def _pcm_sample(n: int = 3000, seed: int = 8) -> tuple[Responses, np.ndarray]:
    s = simulate("pcm", n, n_items=8, n_categories=4, seed=seed)
    return s.responses, s.theta


def test_reliabilities_match_the_simulation_truth() -> None:
    """With θ known, the reliability of an estimate is its squared correlation with θ (WLE = θ + error with
    error uncorrelated with θ; EAP = E[θ | x], so corr² = var(EAP)/var(θ)). 3,000 persons on 8 four-category
    PCM items (reliability ≈ 0.8): the sampling SD of a squared correlation is ≈ 0.01, tolerance 0.03."""
    responses, theta = _pcm_sample()
    q = questionnaire_index(responses)
    r2_wle = np.corrcoef(q.wle.theta, theta)[0, 1] ** 2
    r2_eap = np.corrcoef(q.eap.theta, theta)[0, 1] ** 2
    assert q.wle_reliability == pytest.approx(r2_wle, abs=0.03)
    assert q.eap_reliability == pytest.approx(r2_eap, abs=0.03)
    assert 0.6 < q.alpha < 0.95 and q.alpha_n == 3000
    assert not q.calibration_warnings


def test_reverse_coded_items_are_turned_before_scaling() -> None:
    """Two items are worded negatively in the data (their categories reversed): naming them in ``reverse``
    gives exactly the index of the unreversed data; forgetting them lowers α and the reliability."""
    responses, _ = _pcm_sample(1500, seed=4)
    flipped = reverse_code(responses, ["i002", "i005"])
    assert np.array_equal(reverse_code(flipped, ["i002", "i005"]).score, responses.score)
    straight = questionnaire_index(responses)
    turned = questionnaire_index(flipped, reverse=["i002", "i005"])
    assert np.allclose(turned.index, straight.index, atol=1e-10)
    assert turned.reversed_items == ("i002", "i005")
    wrong = questionnaire_index(flipped)
    assert wrong.alpha < straight.alpha - 0.2


def test_index_is_standardised_in_the_reference_population() -> None:
    responses, _ = _pcm_sample(1200, seed=6)
    rng = np.random.default_rng(1)
    w = rng.uniform(0.5, 3.0, responses.n_persons)
    ref = rng.random(responses.n_persons) < 0.5
    q = questionnaire_index(responses, weights=w, reference=ref, mean=50.0, sd=10.0)
    m = np.average(q.index[ref], weights=w[ref])
    s = np.sqrt(np.average((q.index[ref] - m) ** 2, weights=w[ref]))
    assert m == pytest.approx(50.0, abs=1e-9) and s == pytest.approx(10.0, abs=1e-9)
    assert np.allclose(q.index_se, 10.0 * q.wle.se / q.reference_sd)
    # fixed item parameters (e.g. from the base cycle) reproduce the same WLEs without calibrating
    fixed = questionnaire_index(responses, params=q.params, weights=w, reference=ref, mean=50.0, sd=10.0)
    assert np.allclose(fixed.index, q.index, atol=1e-8)
    assert fixed.calibration_warnings == ()


def test_persons_without_answers_get_no_index() -> None:
    items = simulate_items("pcm", 4, seed=2, n_categories=3)
    r = simulate_responses(items, np.random.default_rng(0).normal(size=200), seed=3)
    keep = r.person != 7                                           # person 7 answered nothing
    r7 = Responses(person=r.person[keep], item=r.item[keep], score=r.score[keep], persons=r.persons,
                   items=r.items, n_categories=r.n_categories)
    q = questionnaire_index(r7)
    assert np.isnan(q.index[7]) and np.isfinite(np.delete(q.index, 7)).all()


def test_row_order_does_not_matter() -> None:
    responses, _ = _pcm_sample(600, seed=3)
    persons = responses.persons[responses.person]
    items = np.asarray(responses.items, dtype=object)[responses.item]
    max_scores = dict(zip(responses.items, (responses.n_categories - 1).tolist(), strict=True))
    perm = np.random.default_rng(5).permutation(len(responses))
    shuffled = responses_from_long(persons[perm], items[perm], responses.score[perm], max_scores)
    a, b = questionnaire_index(responses), questionnaire_index(shuffled)
    assert np.array_equal(a.persons, b.persons)
    assert np.allclose(a.index, b.index, atol=1e-8)


def test_bad_input_is_rejected() -> None:
    responses, _ = _pcm_sample(300, seed=2)
    with pytest.raises(EngineError, match="not among the scale's items"):
        questionnaire_index(responses, reverse=["q99"])
    with pytest.raises(EngineError, match="weights must be finite"):
        questionnaire_index(responses, weights=np.full(responses.n_persons, np.nan))
    with pytest.raises(EngineError, match="at least two items"):
        questionnaire_index(responses.subset_items(["i001"]))
    with pytest.raises(ValueError, match="pcm"):
        questionnaire_index(responses, model="3pl")
    with pytest.raises(EngineError, match="no item parameters"):
        questionnaire_index(responses, params=simulate_items("pcm", 2, seed=1, n_categories=4))
    with pytest.raises(EngineError, match="infinite"):
        cronbach_alpha(np.array([[1.0, np.inf], [2.0, 1.0]]))
    with pytest.raises(EngineError, match="at least two persons"):
        wle_reliability(np.array([0.1, np.nan]), np.array([0.3, 0.3]))
