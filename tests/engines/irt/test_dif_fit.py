"""DIF (Mantel–Haenszel, Mantel/SMD) and item fit (S-X², infit/outfit).

Reference: R's stats::mantelhaen.test on reference/dif.csv (make_reference.R). Simulations with known truth: an
item given DIF must be flagged C and clean items mostly A; an item that violates the fitted model must be flagged
by S-X² while items that follow it are not (more than chance).
"""

from __future__ import annotations

import numpy as np
import pytest

from naeq.engines.errors import EngineError
from naeq.engines.irt.calibrate import calibrate
from naeq.engines.irt.data import Responses
from naeq.engines.irt.dif import mantel_haenszel
from naeq.engines.irt.fit import item_fit
from naeq.engines.irt.models import ItemParameters
from naeq.engines.irt.persons import wle
from naeq.engines.irt.simulate import simulate_items, simulate_responses

from .conftest import load_dense, load_table


def _dif_data() -> tuple[Responses, np.ndarray]:
    cols, data = load_dense("dif")
    return Responses.from_dense(data[:, 1:], cols[1:]), data[:, 0].astype(int)


def test_mantel_haenszel_matches_r_mantelhaen_test() -> None:
    r, group = _dif_data()
    res = mantel_haenszel(r, group, reference=0, focal=1)
    ref = load_table("r_mantelhaen.csv")
    odds = np.array([float(row["odds_ratio"]) for row in ref])
    chi2 = np.array([float(row["chi2"]) for row in ref])
    # Same statistic, same strata: agreement to rounding (the CSV keeps 8 decimals).
    np.testing.assert_allclose(res.mh_odds_ratio, odds, rtol=1e-6)
    np.testing.assert_allclose(res.chi2, chi2, rtol=1e-6, atol=1e-7)
    # i003 was made 0.8 logits harder for the focal group: alpha > 1 means it favours the reference group,
    # D = -2.35 ln alpha ≈ -2.2 → class C; the other items are A.
    assert res.ets[2] == "C"
    assert res.mh_d_dif[2] < -1.5
    assert [e for j, e in enumerate(res.ets) if j != 2] == ["A"] * 11


def _with_dif(seed: int, shift: float, poly_shift: float) -> tuple[Responses, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = simulate_items(["2pl"] * 14 + ["gpcm"] * 4, seed=rng, n_categories=3)
    n = 3000
    sex = rng.integers(0, 2, n)
    theta = rng.normal(0.2 * sex, 1.0)
    b = p.b.copy()
    b[0, 0] += shift
    b[14, :2] += poly_shift
    focal = ItemParameters(items=p.items, model=p.model, a=p.a, b=b, c=p.c, n_categories=p.n_categories)
    design = np.ones((2, 18), dtype=bool)
    design[0, 8:11] = False                                          # two booklets: strata within booklet
    booklet = rng.integers(0, 2, n)
    r0 = simulate_responses(p, theta, seed=rng, design=design, booklet=booklet)
    r1 = simulate_responses(focal, theta, seed=rng, design=design, booklet=booklet)
    keep0 = sex[r0.person] == 0
    keep1 = sex[r1.person] == 1
    r = Responses(person=np.r_[r0.person[keep0], r1.person[keep1]], item=np.r_[r0.item[keep0], r1.item[keep1]],
                  score=np.r_[r0.score[keep0], r1.score[keep1]], persons=r0.persons, items=r0.items,
                  n_categories=r0.n_categories)
    return r, sex


def test_injected_dif_is_flagged_c_and_clean_items_mostly_a() -> None:
    # Would catch: a sign error in D, strata mixing booklets, the wrong group as reference, a broken polytomous path.
    r, sex = _with_dif(11, shift=1.0, poly_shift=0.8)
    res = mantel_haenszel(r, sex, reference=0, focal=1)
    assert res.ets[0] == "C" and res.mh_d_dif[0] < 0
    assert res.ets[14] == "C" and res.smd[14] < 0                    # the focal group scores lower on it
    clean = [e for j, e in enumerate(res.ets) if j not in (0, 14)]
    assert clean.count("A") >= len(clean) - 2
    assert "C" not in clean
    assert np.all(np.isnan(res.mh_d_dif[14:])) and np.all(np.isnan(res.smd[:14]))


def test_no_dif_gives_no_c() -> None:
    r, sex = _with_dif(12, shift=0.0, poly_shift=0.0)
    res = mantel_haenszel(r, sex, reference=0, focal=1)
    assert "C" not in res.ets
    # with no DIF, p-values are roughly uniform: at most 3 of 18 below 5 %
    assert int(np.sum(res.p < 0.05)) <= 3


def test_dif_needs_both_groups() -> None:
    r, sex = _with_dif(13, 0.0, 0.0)
    with pytest.raises(EngineError, match="both groups"):
        mantel_haenszel(r, np.zeros_like(sex), reference=0, focal=1)


def test_sx2_flags_an_item_violating_the_rasch_model_and_not_the_others() -> None:
    # Item 1 has slope 2.5 but is calibrated as Rasch: S-X² must reject it; the 19 Rasch items should mostly pass.
    p = simulate_items("rasch", 20, seed=21)
    gen = ItemParameters(items=p.items, model=np.array(["2pl"] * 20), a=np.r_[2.5, np.ones(19)], b=p.b, c=p.c,
                         n_categories=p.n_categories)
    theta = np.random.default_rng(22).normal(size=2000)
    r = simulate_responses(gen, theta, seed=23)
    fit = calibrate(r, "rasch")
    est = wle(r, fit.params)
    res = item_fit(r, fit.params, nodes=fit.nodes, weights=fit.weights[0], theta=est.theta)
    assert res.sx2_p[0] < 0.001
    assert "i001" in res.flagged(0.01)
    assert sum(1 for i in res.flagged(0.01) if i != "i001") <= 2
    # a too-discriminating item over-fits the Rasch model: infit below 1 and a significant negative t
    assert res.infit[0] < 0.9 and res.infit_t[0] < -2
    assert np.all(res.sx2_df[1:] > 0)


def test_sx2_p_values_under_the_true_model_on_a_booklet_design() -> None:
    p = simulate_items(["2pl"] * 12 + ["gpcm"] * 4, seed=31, n_categories=4)
    theta = np.random.default_rng(32).normal(size=2400)
    design = np.ones((2, 16), dtype=bool)
    design[0, :4] = False
    design[1, 12:14] = False
    r = simulate_responses(p, theta, seed=33, design=design)
    fit = calibrate(r, "2pl")
    est = wle(r, fit.params)
    res = item_fit(r, fit.params, nodes=fit.nodes, weights=fit.weights[0], theta=est.theta)
    assert np.all(np.isfinite(res.sx2_p))
    # under the true model, p-values below 1 %: expected 0.16 of 16; allow 2
    assert len(res.flagged(0.01)) <= 2
    # the statistic is near its df on average (E[χ²] = df): within 30 %
    assert 0.7 < float(np.mean(res.sx2 / res.sx2_df)) < 1.3
    assert np.all((res.outfit > 0.7) & (res.outfit < 1.3))
