"""One calibration from validated arrays to results: the sequence shared by ``naeq calibrate`` (files) and the
platform's calibration runs (database). No Django models here: inputs are the arrays of :mod:`naeq.scaling.files`
and the options of :mod:`naeq.scaling.options`; the numerical work is the IRT engine's (:mod:`naeq.engines.irt`).

Stages (each reported to ``progress(stage, fraction)``): ``check`` (empty score categories, items without
responses), ``calibrate`` (MML-EM item parameters with SEs), ``persons`` (EAP and WLE with SEs), ``fit``, ``dif``
(Mantel-Haenszel by each DIF variable), ``pvs`` (plausible values from the latent regression on the background's
principal components), ``scale`` (reporting scale and levels), ``summaries`` (test information and score
distributions by booklet).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.utils.translation import gettext as _
from numpy.typing import NDArray

from naeq.core.errors import InvalidInput, Problem
from naeq.engines.errors import EngineError
from naeq.engines.irt.calibrate import calibrate
from naeq.engines.irt.data import Responses
from naeq.engines.irt.dif import mantel_haenszel
from naeq.engines.irt.fit import item_fit
from naeq.engines.irt.likelihood import log_likelihood
from naeq.engines.irt.models import ItemParameters, item_information
from naeq.engines.irt.mstep import Priors
from naeq.engines.irt.persons import estimate_persons
from naeq.engines.irt.population import background_matrix, plausible_values
from naeq.engines.irt.scale import ReportingScale, level_shares, levels_from_config, reporting_scale
from naeq.scaling.files import Anchors, Background, ItemTable, LongResponses

Progress = Callable[[str, float], None]
#: Stage -> fraction of the work done when it starts (for progress bars and the run page).
STAGES = {"check": 0.02, "calibrate": 0.05, "persons": 0.55, "fit": 0.65, "dif": 0.7, "pvs": 0.75,
          "scale": 0.9, "summaries": 0.93, "done": 1.0}
INFO_GRID = np.linspace(-4.0, 4.0, 81)
FIT_FLAG = (0.7, 1.3)  # infit/outfit mean squares outside this band are flagged (Wright & Linacre 1994, high-stakes MC)


def _noop(_stage: str, _fraction: float) -> None:
    return None


@dataclass
class Output:
    params: ItemParameters
    anchored: NDArray[np.bool_]
    n_responses: NDArray[np.int64]
    mean_score: NDArray[np.float64]  # mean score / max score, per item
    fit: list[dict[str, Any]]
    fit_flag: NDArray[np.bool_]
    dif: dict[str, list[dict[str, Any]]]  # variable -> per-item rows
    dif_flag: NDArray[np.bool_]
    persons: NDArray[Any]
    booklet: NDArray[np.int64]
    n_items: NDArray[np.int64]
    raw: NDArray[np.int64]
    max_raw: NDArray[np.int64]
    eap: NDArray[np.float64]
    eap_se: NDArray[np.float64]
    wle: NDArray[np.float64]
    wle_se: NDArray[np.float64]
    pvs: NDArray[np.float64] | None
    scale: ReportingScale
    summary: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def engine_responses(long: LongResponses, table: ItemTable) -> Responses:
    return Responses(person=long.person, item=long.item, score=long.score, persons=long.persons,
                     items=tuple(str(i) for i in table.items.tolist()), n_categories=table.max_score + 1)


def _check(long: LongResponses, table: ItemTable, anchored: set[str]) -> tuple[list[int], list[str]]:
    """Items to calibrate (indices) and warnings; unobserved score categories are refused with the item named."""
    j = len(table.items)
    kmax = int(table.max_score.max()) + 1
    counts = np.bincount(long.item * kmax + long.score, minlength=j * kmax).reshape(j, kmax)
    keep, notes, problems = [], [], []
    for k in range(j):
        item = str(table.items[k])
        if counts[k].sum() == 0:
            notes.append(_("题目“%(item)s”没有作答数据，未参与校准。") % {"item": item})
            continue
        keep.append(k)
        if item in anchored:
            continue
        empty = [s for s in range(int(table.max_score[k]) + 1) if counts[k, s] == 0]
        if empty:
            problems.append(Problem(
                reason=_("题目“%(item)s”的得分%(scores)s无人获得，无法估计该阶梯参数：请合并该得分类别（修改满分）"
                         "或删除该题。") % {"item": item, "scores": "、".join(str(s) for s in empty)},
                field="item", value=item))
    if problems:
        raise InvalidInput(_("有题目的得分类别无人获得，未做任何计算。"), code="empty_category", problems=problems)
    if not keep:
        raise InvalidInput(_("没有可校准的作答数据。"), code="no_responses")
    return keep, notes


def _engine_error(exc: EngineError) -> InvalidInput:
    return InvalidInput(_("IRT 计算未能完成：%(msg)s") % {"msg": exc.message}, code=exc.code)


def run(long: LongResponses, table: ItemTable, options: dict[str, Any], *, seed: int,
        background: Background | None = None, anchors: Anchors | None = None,
        dif: dict[str, NDArray[np.str_]] | None = None, draw_pvs: bool = True,
        progress: Progress = _noop) -> Output:
    """Calibrate, estimate persons, draw plausible values and summarise (see the module docstring).

    ``dif`` maps a DIF variable to each person's group label ('' = unknown; exactly two groups: the first in
    sorted order is the reference group). ``draw_pvs`` False skips plausible values (files without background)."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()

    def stage(name: str) -> None:
        nonlocal t0
        now = time.perf_counter()
        timings[_last[0]] = round(now - t0, 3)
        _last[0] = name
        t0 = now
        progress(name, STAGES[name])

    _last = ["start"]
    stage("check")
    anchor_ids = {str(r["item"]) for r in anchors.rows} if anchors else set()
    keep, notes = _check(long, table, anchor_ids)
    responses = engine_responses(long, table)
    if len(keep) < len(table.items):
        responses = responses.subset_items([responses.items[k] for k in keep])
    models = {str(table.items[k]): str(table.model[k]) for k in keep}
    for item, m in options.get("models", {}).items():
        if item in models:
            models[item] = m
    priors = Priors(a=tuple(options["prior_a"]) if options.get("prior_a") else None,
                    b=tuple(options["prior_b"]) if options.get("prior_b") else None,
                    c=tuple(options["prior_c"]) if options.get("prior_c") else None)
    fixed = ItemParameters.from_rows(anchors.rows) if anchors else None
    groups = long.groups[long.group] if long.group is not None and long.groups is not None else None

    stage("calibrate")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the result carries its warnings
            result = calibrate(responses, models, groups=groups, priors=priors, n_quad=int(options["n_quad"]),
                               max_iter=int(options["max_iter"]), tol=float(options["tol"]), fixed=fixed)
    except EngineError as exc:
        raise _engine_error(exc) from exc
    params = result.params
    notes.extend(result.warnings)
    nodes = result.nodes

    stage("persons")
    # EAP under each person's group distribution: the posterior of the calibration's final E-step (Bock &
    # Mislevy 1982), the same quadrature the item parameters were estimated on.
    post = result.posterior
    eap = post @ nodes
    eap_se = np.sqrt(np.maximum(post @ nodes**2 - eap**2, 0.0))
    w = estimate_persons(responses, params, "wle")
    wle, wle_se = np.asarray(w.theta), np.asarray(w.se)
    if np.any(w.at_bound):
        notes.append(_("%(n)d名考生的WLE估计在边界（±6）上。") % {"n": int(np.sum(w.at_bound))})

    stage("fit")
    mixture = (result.group_sizes @ result.weights) / result.group_sizes.sum()
    fit_rows, fit_flag = _fit(responses, params, nodes, mixture, np.where(np.isfinite(wle), wle, eap))

    stage("dif")
    dif_rows: dict[str, list[dict[str, Any]]] = {}
    dif_flag = np.zeros(len(params), dtype=bool)
    for variable, labels in (dif or {}).items():
        rows, flags, more = _dif(responses, params, labels, variable)
        if rows:
            dif_rows[variable] = rows
        dif_flag |= flags
        notes.extend(more)

    stage("pvs")
    pvs = None
    n_pv = int(options["n_pv"])
    pop: dict[str, Any] = {}
    if draw_pvs and n_pv > 0:
        loglik = log_likelihood(responses, params, nodes)
        bg = None
        if background is not None and background.variables:
            variables, categorical = background.for_engine()
            try:
                bg = background_matrix(variables, categorical=categorical)
            except EngineError as exc:
                raise _engine_error(exc) from exc
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pv = plausible_values(loglik, nodes, bg, groups=groups, n_draws=n_pv, seed=seed,
                                      keys=np.arange(responses.n_persons))
        except EngineError as exc:
            raise _engine_error(exc) from exc
        pvs = pv.values
        pop["conditioning"] = list(bg.columns) if bg is not None else []
        if pv.model is not None:
            pop.update(group_means=np.asarray(pv.model.group_mean).tolist(),
                       group_sds=np.asarray(pv.model.group_sd).tolist())

    stage("scale")
    if options.get("scale_slope") and options.get("scale_intercept") is not None:
        scale = ReportingScale(A=float(options["scale_slope"]), B=float(options["scale_intercept"]),
                               mean=float(options["scale_mean"]), sd=float(options["scale_sd"]))
    else:
        scale = reporting_scale(pvs if pvs is not None else eap, mean=float(options["scale_mean"]),
                                sd=float(options["scale_sd"]))
    levels = None
    if options.get("cuts"):
        lv = levels_from_config({"cuts": options["cuts"]})
        shares = level_shares(scale.theta(pvs if pvs is not None else eap[:, None]), lv)
        levels = {"codes": list(lv.codes), "labels": list(lv.labels), "cuts": list(lv.cuts),
                  "shares": np.asarray(shares.combined.estimate).tolist(),
                  "shares_se": np.asarray(shares.combined.se).tolist()}

    stage("summaries")
    n_items = np.bincount(responses.person, minlength=responses.n_persons).astype(np.int64)
    raw = responses.raw_scores()
    max_raw = responses.max_raw_scores()
    booklet = long.booklet if long.booklet is not None else np.zeros(responses.n_persons, dtype=np.int64)
    n_resp = np.bincount(responses.item, minlength=responses.n_items).astype(np.int64)
    mean_score = (np.bincount(responses.item, weights=responses.score, minlength=responses.n_items)
                  / np.maximum(n_resp, 1) / (responses.n_categories - 1))
    summary = {
        "n_persons": int(responses.n_persons), "n_items": int(responses.n_items), "n_responses": len(responses),
        "log_likelihood": result.log_likelihood, "iterations": result.iterations, "converged": result.converged,
        "aic": result.aic, "bic": result.bic,
        "groups": [{"label": "" if g is None else str(g), "mean": float(m), "sd": float(s), "n": int(n)}
                   for g, m, s, n in zip(result.group_labels, result.group_means, result.group_sds,
                                         result.group_sizes, strict=True)],
        "population": pop,
        "scale": {"A": scale.A, "B": scale.B, "mean": scale.mean, "sd": scale.sd, "base_mean": scale.base_mean,
                  "base_sd": scale.base_sd},
        "levels": levels,
        "eap": _describe(scale.theta(eap)), "wle": _describe(scale.theta(wle[np.isfinite(wle)])),
        "pv": _describe(scale.theta(pvs.ravel())) if pvs is not None else None,
        "reliability_eap": float(np.var(eap) / (np.var(eap) + np.mean(eap_se**2))) if len(eap) > 1 else None,
        "information": _information(params, responses, booklet),
        "booklets": _booklet_distributions(booklet, raw, max_raw),
        "fit_flagged": int(fit_flag.sum()), "dif_flagged": int(dif_flag.sum()),
        "anchored": sorted(anchor_ids & set(params.items)),
    }
    stage("done")
    anchored = np.array([i in anchor_ids for i in params.items], dtype=bool)
    return Output(params=params, anchored=anchored, n_responses=n_resp, mean_score=mean_score, fit=fit_rows,
                  fit_flag=fit_flag, dif=dif_rows, dif_flag=dif_flag, persons=responses.persons, booklet=booklet,
                  n_items=n_items, raw=raw, max_raw=max_raw, eap=eap, eap_se=eap_se, wle=wle, wle_se=wle_se,
                  pvs=pvs, scale=scale, summary=summary, warnings=notes, timings=timings)


def _describe(x: NDArray[np.float64]) -> dict[str, float] | None:
    if len(x) == 0:
        return None
    q = np.quantile(x, [0.05, 0.25, 0.5, 0.75, 0.95])
    return {"n": len(x), "mean": float(np.mean(x)), "sd": float(np.std(x)), "p5": float(q[0]),
            "p25": float(q[1]), "median": float(q[2]), "p75": float(q[3]), "p95": float(q[4])}


def _information(params: ItemParameters, responses: Responses, booklet: NDArray[np.int64]) -> dict[str, Any]:
    """Test information on a θ grid: the whole pool and each booklet's items (items administered to its takers)."""
    info = item_information(INFO_GRID, params)  # (J, G)
    out: dict[str, Any] = {"theta": INFO_GRID.tolist(), "pool": info.sum(axis=0).tolist(), "booklets": {}}
    b_of_row = booklet[responses.person]
    for b in np.unique(booklet).tolist():
        if b <= 0:
            continue
        items = np.unique(responses.item[b_of_row == b])
        out["booklets"][str(b)] = info[items].sum(axis=0).tolist()
    return out


def _booklet_distributions(booklet: NDArray[np.int64], raw: NDArray[np.int64], max_raw: NDArray[np.int64],
                           bins: int = 20) -> list[dict[str, Any]]:
    """Per booklet (0 = unknown): takers, mean and SD of the percent score and a 20-bin histogram of it."""
    pct = np.where(max_raw > 0, 100.0 * raw / np.maximum(max_raw, 1), 0.0)
    edges = np.linspace(0, 100, bins + 1)
    out = []
    for b in np.unique(booklet).tolist():
        sel = pct[booklet == b]
        hist, _e = np.histogram(sel, bins=edges)
        out.append({"booklet": int(b), "n": len(sel), "mean": float(sel.mean()), "sd": float(sel.std()),
                    "edges": edges.tolist(), "counts": hist.tolist()})
    return out


def _fit(responses: Responses, params: ItemParameters, nodes: NDArray[np.float64], weights: NDArray[np.float64],
         theta: NDArray[np.float64]) -> tuple[list[dict[str, Any]], NDArray[np.bool_]]:
    """S-X² and infit/outfit per item (:func:`naeq.engines.irt.fit.item_fit`). An item is flagged when its misfit
    is both significant (S-X² p < 0.01) and large (infit or outfit mean square outside 0.7–1.3, Wright & Linacre
    1994): at national sample sizes S-X² alone rejects items whose misfit is of no practical consequence."""
    f = item_fit(responses, params, nodes=nodes, weights=weights, theta=theta)
    lo, hi = FIT_FLAG
    big = (f.infit < lo) | (f.infit > hi) | (f.outfit < lo) | (f.outfit > hi)
    flag = np.isfinite(f.sx2_p) & (f.sx2_p < 0.01) & big
    rows = [{"sx2": float(f.sx2[j]), "sx2_df": int(f.sx2_df[j]), "sx2_p": float(f.sx2_p[j]),
             "infit": float(f.infit[j]), "infit_t": float(f.infit_t[j]), "outfit": float(f.outfit[j]),
             "outfit_t": float(f.outfit_t[j])} for j in range(len(f.items))]
    return rows, np.asarray(flag, dtype=bool)


def _dif(responses: Responses, params: ItemParameters, labels: NDArray[np.str_], variable: str
         ) -> tuple[list[dict[str, Any]], NDArray[np.bool_], list[str]]:
    """Mantel-Haenszel (Mantel for polytomous items) DIF between the two groups of ``labels`` ('' = unknown,
    left out; the first label in sorted order is the reference group). ETS class C is flagged."""
    levels = sorted(set(labels.tolist()) - {""})
    if len(levels) != 2:
        return [], np.zeros(len(params), dtype=bool), [
            _("DIF变量“%(v)s”应恰有两组，实有%(n)d组（%(levels)s），未计算DIF。")
            % {"v": variable, "n": len(levels), "levels": "、".join(levels[:10])}]
    try:
        res = mantel_haenszel(responses, labels, reference=levels[0], focal=levels[1])
    except EngineError as exc:
        return [], np.zeros(len(params), dtype=bool), [_("DIF（%(v)s）未计算：%(msg)s") % {"v": variable,
                                                                                          "msg": exc.message}]
    rows = [{"item": res.items[j], "reference": levels[0], "focal": levels[1], "n_reference": int(res.n_reference[j]),
             "n_focal": int(res.n_focal[j]), "mh_odds_ratio": float(res.mh_odds_ratio[j]),
             "mh_d_dif": float(res.mh_d_dif[j]), "mh_d_se": float(res.mh_d_se[j]), "smd": float(res.smd[j]),
             "smd_effect": float(res.smd_effect[j]), "chi2": float(res.chi2[j]), "p": float(res.p[j]),
             "ets": res.ets[j]} for j in range(len(res.items))]
    return rows, np.array([e == "C" for e in res.ets], dtype=bool), []
