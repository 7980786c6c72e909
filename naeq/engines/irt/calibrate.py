"""Marginal maximum likelihood calibration by EM with fixed quadrature (Bock & Aitkin 1981).

The ability θ of a person in group g is N(μ_g, σ_g²), discretised on ``n_quad`` equally spaced nodes in
[−theta_range, theta_range] with weights proportional to the normal density. Each EM cycle:

E-step
    ℓ = X @ log P (the sparse product of :mod:`naeq.engines.irt.likelihood`, any booklet design), the posterior
    w_iq ∝ exp(ℓ_iq) π_g(i)q and the expected counts r[j·K + k, q] = (Xᵀ w)[j·K + k, q] — persons are never
    looped over; not-administered items have no entry and contribute nothing.
M-step
    Fisher scoring on Σ_q Σ_k r_jkq log P_jk(θ_q) + log prior, all items at once (:mod:`.mstep`); the group
    means and SDs from the posterior moments of their members, μ_g = Σ_i Σ_q w_iq θ_q / N_g and
    σ_g² = Σ_i Σ_q w_iq (θ_q − μ_g)² / N_g.

Identification: group 0 (the reference group) is N(0, 1) when any estimated item has a free slope. When every
estimated item is Rasch or PCM (slopes fixed at 1) the reference SD is estimated and only its mean is fixed at 0,
so difficulties are on the logit metric of CML software such as eRm, shifted by a constant: eRm fixes
Σ b = 0 instead of μ_0 = 0 (compare b − mean(b)). When anchor items are held ``fixed`` the scale comes from them
and the reference group's mean and SD are estimated too.

Standard errors: the cross-product (XPD) estimate of the observed information, per item,
I_j = Σ_i s_ij s_ijᵀ with s_ij = Σ_q w_iq ∂ log P_j(x_ij | θ_q)/∂η_j the person's score contribution (Louis 1982's
identity: the gradient of the marginal log-likelihood is the posterior mean of the complete-data gradient), plus
the prior's curvature; SE = √diag(I_j⁻¹). The item blocks are inverted separately (cross-item covariances and the
group parameters' uncertainty are ignored, which is usually negligible for item SEs — checked by simulation in
``tests/engines/irt/test_calibrate.py``).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from naeq.engines.errors import ConvergenceWarning, EngineError
from naeq.engines.irt.data import Responses
from naeq.engines.irt.estep import EStep
from naeq.engines.irt.likelihood import log_probability_table, posterior
from naeq.engines.irt.models import DICHOTOMOUS, MODELS, ItemParameters
from naeq.engines.irt.mstep import (
    Priors,
    constrain,
    fisher_step,
    free_mask,
    pack,
    prior_terms,
    score_table,
    unpack,
)

DEFAULT_PRIORS = Priors()


@dataclass(frozen=True)
class CalibrationResult:
    """Estimates, diagnostics and the settings used.

    Attributes
    ----------
    params : ItemParameters with a_se, b_se, c_se (NaN for fixed or non-estimated parameters)
    log_likelihood : marginal log-likelihood at the estimates (without the priors)
    iterations, converged : EM cycles run and whether the largest parameter change fell below ``tol``
    warnings : human-readable warnings (non-convergence, extreme estimates)
    group_labels, group_means, group_sds, group_sizes : the population distribution of each group
    nodes, weights : the quadrature nodes (Q,) and each group's weights (G, Q) at the estimates
    posterior : (P, Q) posterior weights of every person at the estimates (for EAP, fit and plausible values)
    settings : the options used (models, priors, n_quad, theta_range, max_iter, tol, fixed items)
    """

    params: ItemParameters
    log_likelihood: float
    iterations: int
    converged: bool
    warnings: tuple[str, ...]
    group_labels: tuple[Any, ...]
    group_means: NDArray[np.float64]
    group_sds: NDArray[np.float64]
    group_sizes: NDArray[np.int64]
    person_group: NDArray[np.int64]
    nodes: NDArray[np.float64]
    weights: NDArray[np.float64]
    posterior: NDArray[np.float64] = field(repr=False)
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def n_parameters(self) -> int:
        """Estimated item parameters plus estimated group means and SDs (for AIC/BIC)."""
        return int(self.settings.get("n_free_item_parameters", 0)) + int(self.settings.get("n_free_group", 0))

    @property
    def aic(self) -> float:
        return float(-2 * self.log_likelihood + 2 * self.n_parameters)

    @property
    def bic(self) -> float:
        return float(-2 * self.log_likelihood + np.log(len(self.person_group)) * self.n_parameters)


def resolve_models(responses: Responses, models: Mapping[str, str] | str) -> NDArray[Any]:
    """One model per item. A single name applies to all items: "rasch" means PCM for polytomous items and "2pl"
    or "3pl" mean GPCM for them. A mapping must name every item, with a model that fits its categories."""
    k = responses.n_categories
    if isinstance(models, str):
        if models not in MODELS:
            raise EngineError(f"unknown model {models!r}; use one of {', '.join(MODELS)}", code="unknown_model")
        poly = {"rasch": "pcm", "pcm": "pcm", "2pl": "gpcm", "3pl": "gpcm", "gpcm": "gpcm"}[models]
        dich = {"pcm": "rasch", "gpcm": "2pl"}.get(models, models)
        return np.where(k > 2, poly, dich).astype(str)
    missing = [i for i in responses.items if i not in models]
    if missing:
        raise EngineError(f"no model given for items {', '.join(missing[:5])}", code="missing_model")
    out = np.array([str(models[i]) for i in responses.items])
    for j, m in enumerate(out):
        if m not in MODELS:
            raise EngineError(f"item {responses.items[j]}: unknown model {m!r}; use one of {', '.join(MODELS)}",
                              code="unknown_model")
        if (m in DICHOTOMOUS) != (k[j] == 2):
            raise EngineError(f"item {responses.items[j]}: model {m} does not fit its {k[j]} score categories "
                              "(rasch/2pl/3pl for 0/1 items, pcm/gpcm for more)", code="model_mismatch")
    return out


def _start_values(responses: Responses, model: NDArray[Any], counts: NDArray[np.float64]) -> ItemParameters:
    """Starting values from the observed category counts n_k: b_v = −log((n_v + ½)/(n_{v−1} + ½)), the
    adjacent-category log-odds (the PCM's steps for a population concentrated at θ = 0); a = 1, c = 0.2."""
    j = responses.n_items
    kmax = responses.max_categories
    b = np.full((j, max(kmax - 1, 1)), np.nan)
    for v in range(1, kmax):
        lower = counts[:, v - 1]
        upper = counts[:, v]
        b[:, v - 1] = -np.log((upper + 0.5) / (lower + 0.5))
    a = np.ones(j)
    c = np.where(model == "3pl", 0.2, 0.0)
    steps = np.arange(max(kmax - 1, 1))[None, :] < (responses.n_categories - 1)[:, None]
    b = np.where(steps, np.clip(b, -4, 4), np.nan)
    return ItemParameters(items=responses.items, model=model, a=a, b=b, c=c, n_categories=responses.n_categories)


def _group_index(responses: Responses, groups: Any, reference_group: Any) -> tuple[NDArray[np.int64],
                                                                                    tuple[Any, ...]]:
    if groups is None:
        return np.zeros(responses.n_persons, dtype=np.int64), (None,)
    g = np.asarray(groups)
    if len(g) != responses.n_persons:
        raise ValueError(f"groups has {len(g)} entries, expected one per person ({responses.n_persons}), "
                         "aligned with responses.persons")
    labels, idx = np.unique(g, return_inverse=True)
    lab = list(labels.tolist())
    if reference_group is not None:
        if reference_group not in lab:
            raise EngineError(f"reference group {reference_group!r} has no persons", code="bad_group")
        r = lab.index(reference_group)
        order = [r] + [i for i in range(len(lab)) if i != r]
        remap = np.empty(len(lab), dtype=np.int64)
        remap[order] = np.arange(len(lab))
        idx = remap[idx]
        lab = [lab[i] for i in order]
    return idx.astype(np.int64), tuple(lab)


def _normal_log_weights(nodes: NDArray[np.float64], mean: NDArray[np.float64],
                        sd: NDArray[np.float64]) -> NDArray[np.float64]:
    z = -0.5 * ((nodes[None, :] - mean[:, None]) / sd[:, None]) ** 2
    z -= np.log(np.exp(z - z.max(axis=1, keepdims=True)).sum(axis=1, keepdims=True)) + z.max(axis=1, keepdims=True)
    return np.asarray(z)


def calibrate(responses: Responses, models: Mapping[str, str] | str = "2pl", *, groups: Any = None,
              reference_group: Any = None, priors: Priors = DEFAULT_PRIORS, n_quad: int = 41,
              theta_range: float = 6.0, max_iter: int = 500, tol: float = 1e-4, fixed: ItemParameters | None = None,
              start: ItemParameters | None = None, compute_se: bool = True,
              accelerate: bool = True, weights: Any = None) -> CalibrationResult:
    """Calibrate items by marginal maximum likelihood (EM, fixed quadrature; see the module docstring).

    Parameters
    ----------
    responses : sparse responses (:func:`naeq.engines.irt.data.responses_from_long`)
    models : one model name for all items, or item id → model (rasch, 2pl, 3pl, pcm, gpcm), mixed freely
    groups : (P,) group label of every person (aligned with ``responses.persons``), e.g. grade or year
    reference_group : the label whose distribution is fixed (default: the smallest label)
    priors : :class:`naeq.engines.irt.mstep.Priors` (default: Beta(5, 17) on 3PL c only)
    n_quad, theta_range : quadrature nodes, equally spaced in [−theta_range, theta_range]
    max_iter, tol : EM stops when the largest change of any parameter in a cycle is below ``tol``
    fixed : parameters of anchor items held fixed (by item id; other items in it are ignored)
    start : starting values (by item id) for some or all items
    compute_se : compute the cross-product standard errors
    weights : (P,) non-negative case weights aligned with ``responses.persons`` (e.g. final student weights,
        rescaled as the analyst wishes); frequency-weight semantics: an integer weight w is the same as w copies of
        the person (log-likelihood, expected counts, group moments and the cross-product SEs are weighted sums)
    accelerate : SQUAREM extrapolation of the EM sequence (Varadhan & Roland 2008); same fixed point, fewer
        cycles. ``max_iter`` counts EM cycles either way.

    Returns
    -------
    CalibrationResult

    Examples
    --------
    >>> from naeq.engines.irt.simulate import simulate
    >>> s = simulate("2pl", 500, n_items=10, seed=3)
    >>> fit = calibrate(s.responses, "2pl")
    >>> fit.converged, round(float(np.corrcoef(fit.params.b[:, 0], s.params.b[:, 0])[0, 1]), 1)
    (True, 1.0)
    """
    if n_quad < 5 or theta_range <= 0:
        raise ValueError("n_quad must be >= 5 and theta_range > 0")
    model = resolve_models(responses, models)
    kmax = responses.max_categories
    j_items = responses.n_items
    person_group, labels = _group_index(responses, groups, reference_group)
    n_groups = len(labels)
    nodes = np.linspace(-theta_range, theta_range, n_quad)
    estep = EStep(responses)
    order = estep.person_rows()
    obs = np.bincount(responses.item * kmax + responses.score,
                      minlength=j_items * kmax).reshape(j_items, kmax).astype(np.float64)

    estimate = np.ones(j_items, dtype=bool)
    fixed_ids: tuple[str, ...] = ()
    if fixed is not None:
        fixed_ids = tuple(i for i in responses.items if i in set(fixed.items))
        if not fixed_ids:
            raise EngineError("none of the fixed anchor items occurs in the responses", code="no_anchor")
    fixed_pos = {i: j for j, i in enumerate(fixed.items)} if fixed is not None else {}
    for j, item in enumerate(responses.items):
        if item in fixed_pos:
            estimate[j] = False
            f = fixed_pos[item]
            if fixed is not None and (fixed.model[f] != model[j] or fixed.n_categories[f] != responses.n_categories[j]):
                raise EngineError(f"anchor item {item}: fixed model {fixed.model[f]} with {fixed.n_categories[f]} "
                                  f"categories does not match {model[j]} with {responses.n_categories[j]}",
                                  code="anchor_mismatch")

    empty = [responses.items[j] for j in range(j_items) if estimate[j] and obs[j].sum() == 0]
    if empty:
        raise EngineError(f"items without any response cannot be calibrated: {', '.join(empty[:5])}; drop them or "
                          "hold them fixed", code="item_without_data")
    kk = responses.n_categories
    unseen = [responses.items[j] for j in range(j_items)
              if estimate[j] and np.any(obs[j, : kk[j]] == 0)]
    if unseen:
        raise EngineError(f"items with a score category nobody obtained: {', '.join(unseen[:5])}"
                          f"{' …' if len(unseen) > 5 else ''}; collapse the empty category (or drop the item) — "
                          "its step cannot be estimated", code="empty_category")

    params = _start_values(responses, model, obs)
    x = pack(params)
    for source in (start, fixed):
        if source is None:
            continue
        pos = {i: j for j, i in enumerate(source.items)}
        src = pack(source)
        for j, item in enumerate(responses.items):
            if item in pos:
                width = min(src.shape[1] - 1, kmax)
                x[j, :width] = src[pos[item], :width]
                x[j, kmax] = src[pos[item], -1]
    free = free_mask(params, estimate)
    any_free_slope = bool(free[:, 0].any())
    free_mean = np.ones(n_groups, dtype=bool)
    free_sd = np.ones(n_groups, dtype=bool)
    if fixed is None:
        free_mean[0] = False
        free_sd[0] = not any_free_slope
    means = np.zeros(n_groups)
    sds = np.ones(n_groups)
    sizes = np.bincount(person_group, minlength=n_groups).astype(np.int64)
    if np.any(sizes == 0):
        raise EngineError("a group has no persons", code="bad_group")
    group_int = person_group[order]
    if weights is None:
        w_int = None
        wsizes = sizes.astype(np.float64)
    else:
        w_all = np.array(weights, dtype=np.float64).reshape(-1)
        if len(w_all) != responses.n_persons:
            raise ValueError(f"weights has {len(w_all)} entries, expected one per person ({responses.n_persons})")
        if not np.all(np.isfinite(w_all)) or np.any(w_all < 0):
            bad = int(np.flatnonzero(~np.isfinite(w_all) | (w_all < 0))[0])
            raise EngineError(f"weights must be finite and non-negative: person {responses.persons[bad]!r} has "
                              f"{w_all[bad]!r}", code="bad_weight")
        w_int = w_all[order]
        wsizes = np.bincount(person_group, weights=w_all, minlength=n_groups).astype(np.float64)
        if np.any(wsizes <= 0):
            raise EngineError("a group has no positive weight", code="bad_group")

    messages: list[str] = []
    evaluations = 0

    def em_map(x0: NDArray[np.float64], m0: NDArray[np.float64], s0: NDArray[np.float64]) -> tuple[
            NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], float]:
        """One EM cycle from (x0, m0, s0); also returns the penalised log-likelihood at (x0, m0, s0)."""
        nonlocal evaluations
        evaluations += 1
        log_w = _normal_log_weights(nodes, m0, s0)
        table = log_probability_table(unpack(x0, params), nodes, kmax).reshape(j_items, kmax, n_quad)
        counts, logml, mass = estep.posterior_counts(table, log_w, group_int, w_int)   # mass (G, Q)
        x1 = x0
        for _ in range(2):
            x1 = fisher_step(x1, free, params, counts, nodes, priors)
        m1 = np.where(free_mean, (mass @ nodes) / wsizes, m0)
        var = (mass @ nodes**2) / wsizes - m1**2
        s1 = np.where(free_sd, np.sqrt(np.maximum(var, 1e-6)), s0)
        penalised = float(logml.sum()) + float(prior_terms(x0, free, kmax, priors)[0].sum())
        return x1, m1, s1, penalised

    def flat(xx: NDArray[np.float64], mm: NDArray[np.float64], ss: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.concatenate([xx.ravel(), mm, ss])

    def split(v: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        xx = v[: x.size].reshape(x.shape)
        mm = v[x.size: x.size + n_groups]
        ss = np.maximum(v[x.size + n_groups:], 0.05)
        return constrain(xx, free, kmax), mm, ss

    converged = False
    while evaluations < max_iter:
        x1, m1, s1, _ll0 = em_map(x, means, sds)
        step1 = flat(x1, m1, s1) - flat(x, means, sds)
        if np.max(np.abs(step1), initial=0.0) < tol:
            x, means, sds = x1, m1, s1
            converged = True
            break
        if not accelerate or evaluations + 2 > max_iter:
            x, means, sds = x1, m1, s1
            continue
        # SQUAREM (Varadhan & Roland 2008, scheme S3): two EM cycles, a squared extrapolation, one stabilising
        # cycle; fall back to plain EM when the extrapolated point does not improve the penalised likelihood.
        x2, m2, s2, ll1 = em_map(x1, m1, s1)
        step2 = flat(x2, m2, s2) - flat(x1, m1, s1)
        if np.max(np.abs(step2), initial=0.0) < tol:
            x, means, sds = x2, m2, s2
            converged = True
            break
        v = step2 - step1
        nv = float(np.linalg.norm(v))
        alpha = -float(np.linalg.norm(step1)) / nv if nv > 0 else -1.0
        alpha = min(alpha, -1.0)
        cand = flat(x, means, sds) - 2 * alpha * step1 + alpha * alpha * v
        xc, mc, sc = split(cand)
        x3, m3, s3, llc = em_map(xc, mc, sc)
        if np.isfinite(llc) and llc >= ll1:
            x, means, sds = x3, m3, s3
        else:
            x, means, sds = x2, m2, s2
    iteration = evaluations
    # final E-step at the estimates (log-likelihood, posterior for persons and SEs)
    final = unpack(x, params)
    log_w = _normal_log_weights(nodes, means, sds)
    table = log_probability_table(final, nodes, kmax).reshape(j_items, kmax, n_quad)
    post_int, logml = posterior(estep.loglik(table), log_w[group_int])
    post = np.empty_like(post_int)
    post[order] = post_int
    w_person = None if w_int is None else np.asarray(weights, dtype=np.float64).reshape(-1)
    if w_int is not None:
        logml = logml * w_int
    if not converged:
        msg = (f"EM stopped after {max_iter} cycles without meeting tol={tol}; the estimates may be inaccurate — "
               "raise max_iter or check the items reported as extreme")
        messages.append(msg)
        warnings.warn(msg, ConvergenceWarning, stacklevel=2)
    extreme = [responses.items[j] for j in range(j_items)
               if estimate[j] and (x[j, 0] >= 19.9 or x[j, 0] <= 0.021 or np.any(np.abs(x[j, 1:kmax]) >= 29.9))]
    if extreme:
        messages.append(f"items with extreme estimates (slope or step at its bound): {', '.join(extreme[:10])}")

    a_se = np.full(j_items, np.nan)
    b_se = np.full((j_items, max(kmax - 1, 1)), np.nan)
    c_se = np.full(j_items, np.nan)
    if compute_se:
        if estep.dense:
            se = _xpd_standard_errors_blocks(estep, responses, final, post_int, nodes, free, priors, w_int)
        else:
            se = _xpd_standard_errors(responses, final, post, nodes, free, priors, w_person)
        a_se = np.where(free[:, 0], se[:, 0], np.nan)
        b_se = np.where(free[:, 1:kmax], se[:, 1:kmax], np.nan) if kmax > 1 else b_se
        c_se = np.where(free[:, kmax], se[:, kmax], np.nan)
    result_params = ItemParameters(items=final.items, model=final.model, a=final.a, b=final.b, c=final.c,
                                   n_categories=final.n_categories, a_se=a_se, b_se=b_se, c_se=c_se)
    settings = {"models": dict(zip(responses.items, model.tolist(), strict=True)), "priors": priors,
                "n_quad": n_quad, "theta_range": theta_range, "max_iter": max_iter, "tol": tol,
                "fixed_items": fixed_ids, "reference_group": labels[0],
                "n_free_item_parameters": int(free.sum()),
                "n_free_group": int(free_mean.sum() + free_sd.sum()),
                "se_method": "cross-product (XPD) per item" if compute_se else "none",
                "weighted": weights is not None}
    return CalibrationResult(params=result_params, log_likelihood=float(logml.sum()), iterations=iteration,
                             converged=converged, warnings=tuple(messages), group_labels=labels,
                             group_means=means, group_sds=sds, group_sizes=sizes, person_group=person_group,
                             nodes=nodes, weights=np.exp(log_w), posterior=post, settings=settings)


def _xpd_standard_errors_blocks(estep: EStep, responses: Responses, params: ItemParameters,
                                post_int: NDArray[np.float64], nodes: NDArray[np.float64], free: NDArray[np.bool_],
                                priors: Priors, w_int: NDArray[np.float64] | None) -> NDArray[np.float64]:
    """The same cross-product information as :func:`_xpd_standard_errors`, on the E-step's booklet-pattern
    blocks (posterior rows in pattern order, contiguous): per block one BLAS product of the posterior
    (n_b × Q) with the score table of the block's items and categories (Q × J_b·K·NP), the row of each
    person's observed category picked out, and the per-item outer products as one batched matmul — no gather
    of posterior rows per response. Same sums in another order: equal to rounding (tested)."""
    kmax = params.max_categories
    npar = kmax + 1
    n_q = len(nodes)
    table = score_table(params, nodes)                                    # (J, K, NP, Q)
    info = np.zeros((responses.n_items, npar, npar))
    rank = np.empty(responses.n_persons, dtype=np.int64)
    rank[estep.order] = np.arange(responses.n_persons)
    starts = np.array([b.start for b in estep.blocks], dtype=np.int64)
    row = rank[responses.person]
    blk = np.searchsorted(starts, row, side="right") - 1
    chunk = max(1, 4_000_000 // max(1, max((len(b.items) for b in estep.blocks), default=1) * kmax * npar))
    for bi, b in enumerate(estep.blocks):
        items = b.items[free[b.items].any(axis=1)]
        if b.stop == b.start or len(items) == 0:
            continue
        col = np.full(responses.n_items, -1, dtype=np.int64)
        col[items] = np.arange(len(items))
        sel = (blk == bi) & (col[responses.item] >= 0)
        x = np.zeros((b.stop - b.start, len(items)), dtype=np.int64)
        x[row[sel] - b.start, col[responses.item[sel]]] = responses.score[sel]
        t = table[items].reshape(-1, n_q).T                               # (Q, J_b·K·NP)
        for lo in range(b.start, b.stop, chunk):
            hi = min(b.stop, lo + chunk)
            a = (post_int[lo:hi] @ t).reshape(hi - lo, len(items), kmax, npar)
            xi = x[lo - b.start: hi - b.start]
            sc = np.take_along_axis(a, xi[:, :, None, None], axis=2)[:, :, 0, :]     # (n, J_b, NP)
            sc_t = sc.transpose(1, 2, 0)                                   # (J_b, NP, n)
            wsc = sc if w_int is None else sc * w_int[lo:hi, None, None]
            info[items] += sc_t @ wsc.transpose(1, 0, 2)
    return _se_from_information(info, params, free, priors)


def _xpd_standard_errors(responses: Responses, params: ItemParameters, post: NDArray[np.float64],
                         nodes: NDArray[np.float64], free: NDArray[np.bool_], priors: Priors,
                         weights: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
    """(J, NP) standard errors from the per-item cross-product information (see the module docstring)."""
    kmax = params.max_categories
    npar = kmax + 1
    table = score_table(params, nodes)                                    # (J, K, NP, Q)
    key = responses.item * kmax + responses.score
    order = np.argsort(key, kind="stable")
    bounds = np.searchsorted(key[order], np.arange(responses.n_items * kmax + 1))
    person_sorted = responses.person[order]
    info = np.zeros((responses.n_items, npar, npar))
    chunk = 200_000
    for cell in range(responses.n_items * kmax):
        lo, hi = int(bounds[cell]), int(bounds[cell + 1])
        if lo == hi:
            continue
        j, k = divmod(cell, kmax)
        if not free[j].any():
            continue
        t = table[j, k]                                                   # (NP, Q)
        for s in range(lo, hi, chunk):
            who = person_sorted[s: min(hi, s + chunk)]
            sc = post[who] @ t.T                                          # (n, NP)
            info[j] += sc.T @ (sc if weights is None else sc * weights[who, None])
    return _se_from_information(info, params, free, priors)


def _se_from_information(info: NDArray[np.float64], params: ItemParameters, free: NDArray[np.bool_],
                         priors: Priors) -> NDArray[np.float64]:
    kmax = params.max_categories
    npar = kmax + 1
    _lp, _g, h = prior_terms(pack(params), free, kmax, priors)
    idx = np.arange(npar)
    info[:, idx, idx] += h
    se = np.full((len(params), npar), np.nan)
    for j in range(len(params)):
        f = np.flatnonzero(free[j])
        if len(f) == 0:
            continue
        block = info[j][np.ix_(f, f)]
        try:
            cov = np.linalg.inv(block)
        except np.linalg.LinAlgError:
            continue
        d = np.diag(cov)
        se[j, f] = np.where(d > 0, np.sqrt(np.abs(d)), np.nan)
    return se
