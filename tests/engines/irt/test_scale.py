"""Reporting scale, proficiency levels and Rubin's rules: hand-computed values, invariances and a simulation in
which PV-based level shares recover the true shares while EAP-based shares do not."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

from naeq.engines.errors import EngineError
from naeq.engines.irt import scale
from naeq.engines.irt.models import category_probabilities
from naeq.engines.irt.population import plausible_values
from naeq.engines.irt.scale import (
    ProficiencyLevels,
    ReportingScale,
    level_shares,
    levels_from_config,
    pv_mean_sd,
    reporting_scale,
    rubin_combine,
)
from naeq.engines.irt.simulate import simulate_items

LEVELS = ProficiencyLevels(cuts=(420.0, 500.0, 580.0))


def test_module_examples_run() -> None:
    assert doctest.testmod(scale, raise_on_error=False).failed == 0


# -------------------------------------------------------------------------------------------------- Rubin


def test_rubin_combination_by_hand() -> None:
    """Five PV estimates 10, 12, 11, 13, 9 with sampling variances 1.0, 1.2, 0.8, 1.0, 1.0:
    Q̄ = 11, Ū = 1.0, B = (1 + 1 + 0 + 4 + 4)/4 = 2.5, T = 1.0 + 1.2 · 2.5 = 4.0, SE = 2,
    ν = 4 · (1 + 1.0/3.0)² = 7.1111, fmi = 3.0/4.0 = 0.75."""
    r = rubin_combine([10.0, 12.0, 11.0, 13.0, 9.0], [1.0, 1.2, 0.8, 1.0, 1.0])
    assert float(r.estimate) == pytest.approx(11.0)
    assert float(r.within) == pytest.approx(1.0)
    assert float(r.between) == pytest.approx(2.5)
    assert float(r.total) == pytest.approx(4.0)
    assert float(r.se) == pytest.approx(2.0)
    assert float(r.df) == pytest.approx(4 * (4 / 3) ** 2)
    assert float(r.fmi) == pytest.approx(0.75)
    # vector estimates combine element-wise
    v = rubin_combine(np.array([[1.0, 2.0], [3.0, 2.0]]), np.array([[0.5, 0.1], [0.5, 0.1]]))
    assert v.estimate.tolist() == [2.0, 2.0] and v.total.tolist() == pytest.approx([0.5 + 1.5 * 2.0, 0.1])
    assert np.isinf(v.df[1])                                  # no between-PV variance: df infinite


def test_rubin_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="at least two"):
        rubin_combine([1.0], [0.1])
    with pytest.raises(ValueError, match="same shape"):
        rubin_combine([1.0, 2.0], [0.1])
    with pytest.raises(EngineError, match="finite"):
        rubin_combine([1.0, np.nan], [0.1, 0.1])
    with pytest.raises(EngineError, match="non-negative"):
        rubin_combine([1.0, 2.0], [0.1, -0.1])


def test_pv_mean_sd_uses_kish_effective_size() -> None:
    pvs = np.array([[0.0, 1.0], [2.0, 1.0], [4.0, 4.0]])
    w = np.array([1.0, 1.0, 2.0])
    est, sd = pv_mean_sd(pvs, w)
    # PV1: mean (0 + 2 + 8)/4 = 2.5, var (6.25 + 0.25 + 2·2.25)/4 = 2.75; PV2: mean 2.5, var (2.25+2.25+4.5)/4
    assert est.estimate == pytest.approx(2.5)
    n_eff = 16 / 6
    assert est.within == pytest.approx((2.75 + 2.25) / 2 / n_eff)
    assert sd.tolist() == pytest.approx([np.sqrt(2.75), np.sqrt(2.25)])


# ------------------------------------------------------------------------------------------- reporting scale


def test_base_population_gets_mean_500_sd_100() -> None:
    rng = np.random.default_rng(0)
    pvs = rng.normal(0.2, 0.9, (1000, 5))
    w = rng.uniform(0.5, 2.0, 1000)
    s = reporting_scale(pvs, weights=w)
    est, sd = pv_mean_sd(s.theta(pvs), w)
    assert float(est.estimate) == pytest.approx(500.0)
    assert float(sd.mean()) == pytest.approx(100.0)
    assert s.se(np.array([0.3])).tolist() == pytest.approx([0.3 * s.A])
    assert s.inverse(s.theta(np.array([-1.0, 0.5]))).tolist() == pytest.approx([-1.0, 0.5])
    custom = reporting_scale(pvs, weights=w, mean=250.0, sd=50.0)
    assert float(pv_mean_sd(custom.theta(pvs), w)[0].estimate) == pytest.approx(250.0)


def test_item_parameters_on_the_reporting_scale_keep_every_probability() -> None:
    items = simulate_items(["2pl", "3pl", "gpcm", "pcm"], seed=2, n_categories=3)
    s = ReportingScale.from_base(0.1, 0.8)
    theta = np.linspace(-3, 3, 7)
    assert np.allclose(category_probabilities(s.theta(theta), s.items(items)), category_probabilities(theta, items),
                       atol=1e-12)


def test_a_linked_year_reaches_the_reporting_scale_in_one_step() -> None:
    """ReportingScale.linked(A, B) = the base map after the link: θ, SEs and item parameters agree with going
    through the base metric first."""
    from naeq.engines.irt.linking import link, transform_items

    base = simulate_items(["2pl", "3pl", "gpcm", "2pl"], seed=5, n_categories=3)
    new = transform_items(base, 0.8, 0.25)
    r = link(new, base, jackknife=False)
    s = ReportingScale.from_base(0.1, 0.9)
    direct = s.linked(r.A, r.B)
    theta = np.array([-1.0, 0.0, 2.0])
    assert np.allclose(direct.theta(theta), s.theta(r.theta(theta)))
    assert np.allclose(direct.se(np.array([0.3])), s.se(r.A * np.array([0.3])))
    assert np.allclose(direct.items(new).b, s.items(r.transformed).b, equal_nan=True)
    with pytest.raises(EngineError, match="A > 0"):
        s.linked(0.0, 1.0)


def test_reporting_scale_rejects_bad_values() -> None:
    with pytest.raises(EngineError, match="positive SD"):
        ReportingScale.from_base(0.0, 0.0)
    with pytest.raises(EngineError, match="positive slope"):
        ReportingScale(A=-1.0, B=0.0)
    with pytest.raises(EngineError, match="finite"):
        reporting_scale(np.array([0.0, np.inf]))
    with pytest.raises(EngineError, match="non-negative"):
        ReportingScale(A=1.0, B=0.0).se(np.array([-0.1]))


# ---------------------------------------------------------------------------------------------------- levels


def test_levels_classify_with_cut_scores_belonging_to_the_higher_level() -> None:
    s = np.array([300.0, 419.999, 420.0, 499.9, 500.0, 579.0, 580.0, 900.0])
    assert LEVELS.classify(s).tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert LEVELS.code_of(s[[0, 2, 4, 6]]).tolist() == ["I", "II", "III", "IV"]
    assert LEVELS.labels == ("待提高", "中等", "良好", "优秀")


def test_levels_from_both_configuration_forms() -> None:
    a = levels_from_config({"cuts": [430, 510, 590]})
    b = levels_from_config([{"code": "I", "label": "待提高"}, {"code": "II", "label": "中等", "min": 430},
                            {"code": "III", "label": "良好", "min": 510}, {"code": "IV", "label": "优秀", "min": 590}])
    assert a == b
    two = levels_from_config({"cuts": [500], "codes": ["below", "above"], "labels": ["未达标", "达标"]})
    assert two.n_levels == 2 and two.code_of([499, 500]).tolist() == ["below", "above"]


@pytest.mark.parametrize("config, message", [
    ({"cuts": [500, 420, 580]}, "strictly increasing"),
    ({"cuts": [420, 500, float("nan")]}, "strictly increasing"),
    ({"cuts": []}, "at least one cut"),
    ({"cuts": [420, 500], "codes": ["I", "II", "III", "IV"]}, "3 levels"),
    ({"levels": [1]}, "needs 'cuts'"),
    ([{"code": "I"}, {"code": "II"}], "no lower bound"),
])
def test_bad_level_configuration_says_what_is_wrong(config: object, message: str) -> None:
    with pytest.raises(EngineError, match=message):
        levels_from_config(config)  # type: ignore[arg-type]


def test_level_shares_by_hand() -> None:
    """Four persons, two PVs, weights 1, 1, 1, 3 (total 6):
    PV1 levels I, II, III, IV → shares 1/6, 1/6, 1/6, 3/6; PV2 levels I, I, IV, IV → 2/6, 0, 0, 4/6."""
    pvs = np.array([[400.0, 410.0], [450.0, 419.0], [520.0, 590.0], [600.0, 610.0]])
    sh = level_shares(pvs, LEVELS, weights=np.array([1.0, 1.0, 1.0, 3.0]))
    assert np.allclose(sh.per_pv, [[1 / 6, 1 / 6, 1 / 6, 3 / 6], [2 / 6, 0, 0, 4 / 6]])
    assert sh.combined.estimate.tolist() == pytest.approx([1.5 / 6, 0.5 / 6, 0.5 / 6, 3.5 / 6])
    # 中等及以上 (level ≥ II): PV1 5/6, PV2 4/6; level ≥ III: PV1 4/6, PV2 4/6
    assert sh.at_or_above.estimate.tolist() == pytest.approx([1.0, 4.5 / 6, 4 / 6, 3.5 / 6])
    # between-PV variance of the level-I share: ((1/6 − 1.5/6)² + (2/6 − 1.5/6)²)/1
    assert sh.combined.between[0] == pytest.approx(2 * (0.5 / 6) ** 2)
    given = np.full((2, 4), 0.01)
    with_var = level_shares(pvs, LEVELS, weights=np.array([1.0, 1.0, 1.0, 3.0]), sampling_variances=given)
    assert with_var.combined.within.tolist() == pytest.approx([0.01] * 4)
    with pytest.raises(ValueError, match="shape"):
        level_shares(pvs, LEVELS, sampling_variances=np.ones((3, 4)))


def test_level_shares_contract_row_order_weights_and_inputs() -> None:
    """Row order does not matter, integer weights equal repeated rows, inputs are not mutated, NaN rejected."""
    rng = np.random.default_rng(4)
    pvs = rng.normal(500, 100, (300, 5))
    w = rng.integers(1, 4, 300)
    before = pvs.copy()
    a = level_shares(pvs, LEVELS, weights=w.astype(float))
    perm = rng.permutation(300)
    b = level_shares(pvs[perm], LEVELS, weights=w[perm].astype(float))
    rep = level_shares(np.repeat(pvs, w, axis=0), LEVELS)
    assert np.allclose(a.per_pv, b.per_pv) and np.allclose(a.per_pv, rep.per_pv)
    assert np.allclose(a.combined.between, rep.combined.between)
    assert np.array_equal(pvs, before)
    pvs[3, 2] = np.nan
    with pytest.raises(EngineError, match="finite"):
        level_shares(pvs, LEVELS)


def test_pv_level_shares_recover_the_true_shares_and_eap_shares_do_not() -> None:
    """Simulation: 4,000 persons, 8 items; the true level shares of θ on the reporting scale versus the shares
    from PVs (unbiased: within 0.02, the Monte Carlo SE of a share being ≈ 0.007) and from EAPs (shrunk towards
    the middle: the two extreme levels together under-filled by more than 0.04 with 8 items). This is why
    levels are reported from PVs."""
    rng = np.random.default_rng(21)
    nodes = np.linspace(-6, 6, 61)
    a, b = rng.uniform(0.8, 1.6, 8), np.linspace(-1.5, 1.5, 8)
    theta = rng.normal(0, 1, 4000)
    p = 1 / (1 + np.exp(-a * (theta[:, None] - b)))
    x = (rng.random(p.shape) < p).astype(float)
    pr = 1 / (1 + np.exp(-a[:, None] * (nodes[None, :] - b[:, None])))
    ll = x @ np.log(pr) + (1 - x) @ np.log1p(-pr)
    pv = plausible_values(ll, nodes, seed=3)
    s = ReportingScale.from_base(0.0, 1.0)              # the generating population is the base
    truth = np.bincount(LEVELS.classify(s.theta(theta)), minlength=4) / 4000
    from_pv = level_shares(s.theta(pv.values), LEVELS).combined.estimate
    from_eap = level_shares(s.theta(pv.posterior_mean), LEVELS).combined.estimate
    assert np.allclose(from_pv, truth, atol=0.02)
    assert from_eap[0] + from_eap[3] < truth[0] + truth[3] - 0.04


def test_the_runnable_example_of_the_docs_runs() -> None:
    """docs/irt-scaling.md's example executes and gives what its comments say (scale mean 500; the later year's
    constants near A = 1.1/0.97 ≈ 1.13 and B ≈ 0: the base population has mean 0.2 and SD 0.97, the later
    N(0.2, 1.1²), each calibration standardising its own; tolerance 0.1 as in test_linking)."""
    import contextlib
    import io
    from pathlib import Path

    text = (Path(__file__).resolve().parents[3] / "docs" / "irt-scaling.md").read_text(encoding="utf-8")
    start = text.index("```python", text.index("## A runnable example")) + len("```python")
    code = text[start : text.index("```", start)]
    names: dict[str, object] = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(code, "docs/irt-scaling.md", "exec"), names)  # noqa: S102  (our own documentation)
    linked = names["linked"]
    assert abs(linked.A - 1.1 / 0.97) < 0.1 and abs(linked.B) < 0.1  # type: ignore[attr-defined]
    assert float(pv_mean_sd(names["scale"].theta(names["pv"].values))[0].estimate) == pytest.approx(500.0)  # type: ignore[attr-defined]


def test_level_shares_survive_rounding_of_the_at_or_above_total() -> None:
    """The share at or above the lowest level is a sum of shares; with these weights it rounds a hair above 1,
    which once made p(1 − p) negative and stopped the demo's calibration run."""
    rng = np.random.default_rng(0)
    w = rng.uniform(0.1, 3, 997)
    v = rng.normal(500, 100, (997, 5))
    lv = ProficiencyLevels(cuts=np.array([450.0, 550.0, 650.0]))
    sh = level_shares(v, lv, weights=w)
    assert np.all(sh.at_or_above.within >= 0)
    np.testing.assert_allclose(sh.at_or_above.estimate[0], 1.0, atol=1e-12)
    assert sh.at_or_above.within[0] == pytest.approx(0.0, abs=1e-15)
