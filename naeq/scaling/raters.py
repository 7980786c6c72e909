"""Rater effects in a calibration run: the many-facet partial-credit model (:mod:`naeq.engines.irt.facets`) fitted
on the raters' individual scores of the instrument's rater-scored items.

The calibration itself (item parameters, persons, plausible values) uses each response's *final* score, as
before; this is a second, separate model on the *ratings* — every rater's score, both of a double-scored
response — that estimates each rater's severity in logits with its standard error and the rater's infit and
outfit, and flags the raters that are both significantly and substantially harsh or lenient. It monitors;
the final scores are not corrected.

The ratings come from :func:`naeq.marking.selectors.ratings_for_facets`: a dense person index and the rater's
user id, never a test ID or a name of a student. Without ratings by at least two raters nothing is fitted and
the run is exactly what it was before.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.utils.translation import gettext as _

from naeq.core import exclusions
from naeq.cycles.models import Cycle
from naeq.engines.errors import EngineError
from naeq.engines.irt.facets import fit_facets, ratings_from_long
from naeq.marking.selectors import RatingRows, rater_names, ratings_for_facets
from naeq.scaling.files import ItemTable


@dataclass(frozen=True)
class Gathered:
    rows: RatingRows
    max_scores: dict[str, int]


def gather_ratings(cycle: Cycle, table: ItemTable, code: str) -> Gathered | None:
    """The ratings of the table's items (data-quality exclusions left out), or None when fewer than two raters
    scored any of them."""
    rows = ratings_for_facets(cycle=cycle, instrument_code=code, exclude_takers=exclusions.excluded(cycle.pk, code))
    max_of = dict(zip(table.items.tolist(), table.max_score.tolist(), strict=True))
    keep = np.isin(rows.item, list(max_of))
    if not keep.all():
        rows = RatingRows(person=rows.person[keep], item=rows.item[keep], rater=rows.rater[keep],
                          score=rows.score[keep])
    if len(np.unique(rows.rater)) < 2:
        return None
    items = sorted(set(rows.item.tolist()), key=list(max_of).index)
    return Gathered(rows=rows, max_scores={i: int(max_of[i]) for i in items})


def hash_parts(g: Gathered | None) -> dict[str, Any]:
    """Arrays added to the run's inputs hash when there are ratings (none otherwise: the hash is unchanged)."""
    if g is None:
        return {}
    order = np.lexsort((g.rows.rater, g.rows.item, g.rows.person))
    return {"ratings_person": g.rows.person[order], "ratings_item": g.rows.item[order].astype("U40"),
            "ratings_rater": g.rows.rater[order], "ratings_score": g.rows.score[order]}


def fit(g: Gathered, *, z: float, min_logit: float, n_quad: int = 41) -> tuple[dict[str, Any] | None, list[str]]:
    """Fit the many-facet model; returns the run summary's ``raters`` block (or None) and warnings."""
    r = g.rows
    notes: list[str] = []
    # An item whose ratings miss a score category cannot have that step estimated: leave the item out of the
    # rater model (the others still measure the raters) and say so.
    max_scores = dict(g.max_scores)
    for item, mx in g.max_scores.items():
        seen = set(r.score[r.item == item].tolist())
        if not set(range(mx + 1)) <= seen:
            del max_scores[item]
            missing = "、".join(str(k) for k in range(mx + 1) if k not in seen)
            notes.append(_("题目“%(item)s”的评分中没有得分%(scores)s，未纳入评分员效应模型。") % {
                "item": item, "scores": missing})
    keep = np.isin(r.item, list(max_scores))
    r = RatingRows(person=r.person[keep], item=r.item[keep], rater=r.rater[keep], score=r.score[keep])
    if not max_scores or len(np.unique(r.rater)) < 2:
        return None, notes
    try:
        ratings = ratings_from_long(r.person, r.item, r.rater, r.score, max_scores)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the result carries its warnings
            res = fit_facets(ratings, n_quad=n_quad)
    except EngineError as exc:
        return None, [*notes, _("评分员效应（多面Rasch模型）未能估计：%(msg)s") % {"msg": exc.message}]
    notes += [_("评分员效应（多面Rasch模型）：%(msg)s") % {"msg": w} for w in res.warnings]
    names = rater_names(int(x) for x in res.raters.tolist())
    items_of: dict[int, list[str]] = {}
    for k, rater_id in enumerate(res.raters.tolist()):
        mine = ratings.rater == k
        items_of[int(rater_id)] = sorted({ratings.items[i] for i in np.unique(ratings.item[mine]).tolist()})
    rows = []
    for row in res.rater_rows(z=z, min_logit=min_logit):
        rid = int(row["rater"])
        rows.append({"rater_id": rid, "name": names.get(rid, str(rid)), "items": items_of.get(rid, []),
                     "n": row["n"], "severity": _f(row["severity"]), "se": _f(row["se"]), "z": _f(row["z"]),
                     "infit": _f(row["infit"]), "outfit": _f(row["outfit"]), "flagged": row["flagged"]})
    items = [{"item": res.items[i], "n": int(res.item_n[i]),
              "steps": [_f(v) for v in res.steps[i, : int(res.n_categories[i]) - 1]],
              "steps_se": [_f(v) for v in res.steps_se[i, : int(res.n_categories[i]) - 1]],
              "infit": _f(res.item_infit[i]), "outfit": _f(res.item_outfit[i])} for i in range(len(res.items))]
    n_flagged = sum(1 for x in rows if x["flagged"])
    if n_flagged:
        notes.append(_("%(n)d名评分员的宽严程度明显偏离（多面Rasch模型，|宽严|/标准误 > %(z)s 且 |宽严| > "
                       "%(l)s logit）。") % {"n": n_flagged, "z": z, "l": min_logit})
    summary = {"model": "many-facet partial credit (MML)", "identification": "sum0",
               "n_ratings": len(ratings), "n_persons": int(ratings.n_persons), "n_raters": int(ratings.n_raters),
               "sigma": _f(res.sigma), "sigma_se": _f(res.sigma_se), "log_likelihood": _f(res.log_likelihood),
               "iterations": res.iterations, "converged": res.converged,
               "thresholds": {"z": z, "logit": min_logit}, "flagged": n_flagged, "raters": rows, "items": items}
    return summary, notes


def _f(x: Any) -> float | None:
    v = float(x)
    return v if np.isfinite(v) else None
