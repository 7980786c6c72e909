"""Person estimates: EAP against direct numerical integration, MAP against a scalar optimiser, WLE solving
Warm's equation, SEs against the spread of estimates at a known θ, extreme scores, persons without responses."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, optimize

from naeq.engines.irt.calibrate import calibrate
from naeq.engines.irt.data import responses_from_long
from naeq.engines.irt.models import ItemParameters, category_probabilities
from naeq.engines.irt.persons import eap, estimate_persons, map_estimate, wle
from naeq.engines.irt.simulate import simulate, simulate_items, simulate_responses


def _mixed() -> ItemParameters:
    return simulate_items(["2pl", "3pl", "gpcm", "pcm", "rasch"] * 3, seed=41, n_categories=4)


def _loglik(theta: float, params: ItemParameters, scores: np.ndarray) -> float:
    p = category_probabilities(np.array([theta]), params)[:, 0, :]
    given = scores >= 0
    return float(np.log(p[np.flatnonzero(given), scores[given]]).sum())


def _one_person(params: ItemParameters, scores: np.ndarray):  # type: ignore[no-untyped-def]
    idx = np.flatnonzero(scores >= 0)
    return responses_from_long(["p"] * len(idx), [params.items[j] for j in idx], scores[idx],
                               dict(zip(params.items, params.n_categories - 1, strict=True)))


def test_eap_matches_numerical_integration() -> None:
    params = _mixed()
    scores = np.array([1, 0, 2, 3, 1, 0, 1, -1, 2, 0, 1, 1, 3, -1, 0])   # two items not administered
    r = _one_person(params, scores)
    est = eap(r, params, prior_mean=0.3, prior_sd=1.2, n_quad=121)

    def dens(t: float) -> float:
        return float(np.exp(_loglik(t, params, scores) - 0.5 * ((t - 0.3) / 1.2) ** 2))

    z = integrate.quad(dens, -8, 8)[0]
    m1 = integrate.quad(lambda t: t * dens(t), -8, 8)[0] / z
    m2 = integrate.quad(lambda t: t * t * dens(t), -8, 8)[0] / z
    # 121 equally spaced nodes on ±6 integrate this smooth posterior to ~1e-6
    assert est.theta[0] == pytest.approx(m1, abs=1e-5)
    assert est.se[0] == pytest.approx(np.sqrt(m2 - m1 * m1), abs=1e-5)


def test_map_matches_a_scalar_optimiser() -> None:
    params = _mixed()
    rng = np.random.default_rng(42)
    for _ in range(3):
        scores = np.array([int(rng.integers(0, k)) for k in params.n_categories])
        r = _one_person(params, scores)
        est = map_estimate(r, params, prior_mean=-0.2, prior_sd=0.9)
        ref = optimize.minimize_scalar(lambda t, s=scores: -(_loglik(t, params, s) - 0.5 * ((t + 0.2) / 0.9) ** 2),
                                       bounds=(-6, 6), method="bounded", options={"xatol": 1e-9})
        assert est.theta[0] == pytest.approx(ref.x, abs=1e-5)


def test_wle_solves_warms_equation() -> None:
    # d log L/dθ + J/(2I) = 0 at the WLE; checked with central differences of log L and of the information.
    params = _mixed()
    scores = np.array([1, 1, 2, 1, 0, 1, 0, 3, 1, 1, 0, 1, 2, 2, 1])
    r = _one_person(params, scores)
    t = float(wle(r, params).theta[0])
    h = 1e-4
    dl = (_loglik(t + h, params, scores) - _loglik(t - h, params, scores)) / (2 * h)
    from naeq.engines.irt.models import item_information
    info = float(item_information(np.array([t]), params).sum())
    # J = Σ_j Σ_k P'_jk P''_jk / P_jk by differences
    pr = [category_probabilities(np.array([t + d]), params)[:, 0, :] for d in (-h, 0.0, h)]
    d1 = (pr[2] - pr[0]) / (2 * h)
    d2 = (pr[2] - 2 * pr[1] + pr[0]) / h**2
    mask = pr[1] > 0
    j = float(np.sum(np.where(mask, d1 * d2 / np.where(mask, pr[1], 1), 0.0)))
    assert dl + j / (2 * info) == pytest.approx(0.0, abs=1e-4)


def test_wle_is_finite_for_extreme_scores_under_rasch() -> None:
    params = simulate_items("rasch", 12, seed=43)
    persons = ["zero"] * 12 + ["full"] * 12
    r = responses_from_long(persons, list(params.items) * 2, [0] * 12 + [1] * 12, dict.fromkeys(params.items, 1))
    est = wle(r, params)
    full, zero = est.theta[list(r.persons).index("full")], est.theta[list(r.persons).index("zero")]
    assert np.isfinite(full) and np.isfinite(zero) and not est.at_bound.any()
    assert full > params.b[:, 0].max() and zero < params.b[:, 0].min()
    assert est.converged


def test_wle_and_eap_standard_errors_match_the_spread_at_known_theta() -> None:
    # 3,000 persons all at θ = 0.5 answering 30 mixed items: the SD of the WLEs around 0.5 must match their mean
    # SE (asymptotic, 30 items: within 10 %); the WLE's bias is small (|mean − 0.5| < 0.05, 3 SE of the mean).
    params = simulate_items(["2pl", "gpcm", "rasch"] * 10, seed=44, n_categories=3)
    r = simulate_responses(params, np.full(3000, 0.5), seed=45)
    est = wle(r, params)
    assert np.std(est.theta) == pytest.approx(np.mean(est.se), rel=0.10)
    assert abs(np.mean(est.theta) - 0.5) < 0.05
    # EAP under N(0, 1): over a N(0, 1) population the posterior SD is the RMS error of the EAP (within 10 %)
    theta = np.random.default_rng(46).normal(size=3000)
    r2 = simulate_responses(params, theta, seed=47)
    e = eap(r2, params)
    assert np.sqrt(np.mean((e.theta - theta) ** 2)) == pytest.approx(np.sqrt(np.mean(e.se**2)), rel=0.10)
    m = map_estimate(r2, params)
    assert np.sqrt(np.mean((m.theta - theta) ** 2)) == pytest.approx(np.sqrt(np.mean(m.se**2)), rel=0.12)


def test_persons_without_responses_and_booklets() -> None:
    s = simulate(["2pl", "gpcm"] * 8, 400, n_booklets=4, seed=48)
    keep = s.responses.person != 0                                      # person 0 answered nothing
    r = type(s.responses)(person=s.responses.person[keep], item=s.responses.item[keep],
                          score=s.responses.score[keep], persons=s.responses.persons, items=s.responses.items,
                          n_categories=s.responses.n_categories)
    e = eap(r, s.params, prior_mean=0.2, prior_sd=0.8)
    assert e.theta[0] == pytest.approx(0.2, abs=1e-6) and e.se[0] == pytest.approx(0.8, abs=1e-4)
    w = wle(r, s.params)
    assert np.isnan(w.theta[0]) and np.isnan(w.se[0]) and w.n_responses[0] == 0
    assert np.all(np.isfinite(w.theta[1:]))
    assert np.corrcoef(w.theta[1:], s.theta[1:])[0, 1] > 0.8


def test_calibration_groups_are_the_eap_prior() -> None:
    s = simulate("2pl", 2000, n_items=15, seed=49, group_means=(0.0, 1.0))
    fit = calibrate(s.responses, "2pl", groups=s.group)
    a = estimate_persons(s.responses, fit.params, "eap", calibration=fit)
    b = eap(s.responses, fit.params, prior_mean=fit.group_means[fit.person_group],
            prior_sd=fit.group_sds[fit.person_group])
    np.testing.assert_allclose(a.theta, b.theta)
    with pytest.raises(ValueError, match="method"):
        estimate_persons(s.responses, fit.params, "mle")


def test_wle_of_an_all_wrong_3pl_vector_solves_warms_equation() -> None:
    # Under the 3PL the all-wrong likelihood flattens at c, so the score is tiny and Fisher scoring stalls; the
    # Newton step with the exact curvature reaches the root of S + J/(2I) (≈ −4.24 for these items).
    s = simulate("3pl", 10, n_items=20, seed=3)
    r = responses_from_long([0] * 20, list(s.params.items), [0] * 20, dict.fromkeys(s.params.items, 1))
    from naeq.engines.irt.persons import derivatives
    est = wle(r, s.params)
    score, info, j = derivatives(r, s.params, est.theta)
    assert est.converged and not est.at_bound[0] and -6 < est.theta[0] < -2
    assert abs(score[0] + j[0] / (2 * info[0])) < 1e-6
