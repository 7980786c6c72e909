"""The many-facet model against R eRm's LPCM (conditional ML) on the same ratings.

Data: reference/facets_ratings.csv (make_facets_data.py: 2,000 persons, 4 tasks 0–4, 8 raters in [−0.8, 0.8],
25 % double scored, rater panels); values: reference/erm_facets.csv (make_facets_reference.R, eRm 1.0.2 LPCM with
the many-facet design matrix, version line in the file). Both fix Σρ = 0, so severities compare directly; CML
conditions θ away and fixes δ_T1,1 = 0 instead of μ = 0, so steps compare centred.

Tolerances. MML and CML are different estimators of the same parameters: both consistent, their difference of a
smaller order than the sampling error (the population model adds little information about within-person
contrasts). 0.04 logits is about one SE (0.03–0.04 here) — two correct implementations agree far better (observed
when written: 0.013 for severities, 0.011 for centred steps, SEs within 2 %); a sign error, a severity applied to
one step only, double ratings merged or a wrong design would move estimates by 0.1–0.8 logits. SEs: within 10 %
(CML's conditional information is slightly smaller than MML's marginal one: CML SEs are 1–2 % larger here).
"""

from __future__ import annotations

import csv

import numpy as np

from naeq.engines.irt.facets import fit_facets, ratings_from_long

from .conftest import REFERENCE, load_table


def test_rater_severities_and_steps_match_erm_lpcm() -> None:
    with (REFERENCE / "facets_ratings.csv").open() as f:
        rows = list(csv.DictReader(f))
    ratings = ratings_from_long([r["person"] for r in rows], [r["item"] for r in rows], [r["rater"] for r in rows],
                                [int(r["score"]) for r in rows], {f"T{i}": 4 for i in range(1, 5)})
    assert ratings.n_persons == 2000 and ratings.n_raters == 8
    res = fit_facets(ratings)
    assert res.converged
    ref = load_table("erm_facets.csv")
    raters = [r for r in ref if r["facet"] == "rater"]
    assert [r["label"] for r in raters] == list(res.raters)
    rho = np.array([float(r["estimate"]) for r in raters])
    rho_se = np.array([float(r["se"]) for r in raters])
    np.testing.assert_allclose(res.severity, rho, atol=0.04)
    assert np.corrcoef(res.severity, rho)[0, 1] > 0.999
    np.testing.assert_allclose(res.severity_se, rho_se, rtol=0.10)
    steps = np.array([float(r["estimate"]) for r in ref if r["facet"] == "step"]).reshape(4, 4)
    np.testing.assert_allclose(res.steps - res.steps.mean(), steps - steps.mean(), atol=0.04)
    # and both near the generating values (facets_true.csv): within 3 SE
    with (REFERENCE / "facets_true.csv").open() as f:
        true = {r["label"]: float(r["value"]) for r in csv.DictReader(f) if r["facet"] == "rater"}
    truth = np.array([true[str(x)] for x in res.raters])
    assert np.all(np.abs(res.severity - truth) < 3 * res.severity_se)
