"""A many-facet partial-credit Rasch model (Linacre 1989) for rater-scored items, by marginal maximum likelihood.

A rating ``x`` of person n on item i by rater r, in categories 0..K_i−1, has::

    P(X = k | θ_n, i, r) ∝ exp Σ_{v=1..k} (θ_n − δ_iv − ρ_r)          (empty sum = 0 for k = 0)

``δ_iv`` are the item's step difficulties (the PCM steps of ``naeq.engines.irt.models``) and ``ρ_r`` the rater's
severity: a harsher rater (ρ > 0) gives lower scores to the same performance, by the same amount on every step and
every item. A response scored twice (double scoring) contributes two ratings that are conditionally independent
given θ. θ ~ N(0, σ²) over the persons, with σ estimated.

Identification: μ = 0 fixes the location of θ; the raters' severities sum to zero (``anchor=None``) or one named
rater is fixed at 0 (``anchor=label``). Without the rater constraint δ and ρ are shifted against each other: a
constant c added to every ρ and subtracted from every δ_iv gives the same probabilities.

Estimation (Bock & Aitkin 1981 for the EM; Louis 1982 for the information):

E-step
    ℓ_nq = Σ_{ratings j of n} log P(x_j | θ_q, i_j, r_j) on ``n_quad`` equally spaced nodes in
    [−theta_range, theta_range] — one sparse product of the persons × (item, rater, category) indicator with the
    table of log probabilities; the posterior w_nq ∝ exp(ℓ_nq) π_q(σ) and the expected counts n_irkq = Σ_n w_nq
    [n has a rating k on item i by rater r].
M-step
    Newton steps on Σ n_irkq log P_irk(θ_q) for all δ and ρ at once: the complete-data model is an exponential
    family, so its Hessian is minus the model covariance of the sufficient statistics (−[X ≥ v] for δ_iv, −X for
    ρ_r) weighted by the expected counts, computed in closed form; the rater constraint enters through ρ = Cγ.
    σ² = Σ_n Σ_q w_nq θ_q² / N. SQUAREM (Varadhan & Roland 2008) extrapolates the EM map.
Standard errors
    From the observed information of the marginal likelihood by Louis's formula,
    I = Σ_n E[−∇² log f(x_n, θ) | x_n] − Σ_n Var[∇ log f(x_n, θ) | x_n], over (δ, γ, log σ) together; the
    covariance of ρ is C I⁻¹_γγ Cᵀ. Checked against the numerical Hessian of the marginal log-likelihood.
Rater fit
    Infit and outfit mean squares of each rater's ratings (Wright & Masters 1982): outfit = mean of
    z² = (x − E)²/Var, infit = Σ (x − E)² / Σ Var, each squared residual averaged over the person's posterior
    (as fit statistics from plausible values), so that both are 1 in expectation under the model; at a point
    estimate of θ from a handful of ratings they would be biased low (≈ (L − 1)/L). The same for items.
    ``theta`` holds the persons' weighted likelihood estimates (Warm 1989).

The model is a linear partial credit model (LPCM, Fischer & Ponocny 1994) with a design matrix over the
(item, rater) virtual items; ``tests/engines/irt/reference/make_facets_reference.R`` fits that LPCM by CML with R
``eRm`` for the reference test.

References: Linacre, J. M. (1989). *Many-facet Rasch measurement*. MESA Press. Masters, G. N. (1982).
Psychometrika 47. Fischer, G. H. & Ponocny, I. (1994). Psychometrika 59. Louis, T. A. (1982). JRSS B 44.
Warm, T. A. (1989). Psychometrika 54. Wright, B. D. & Masters, G. N. (1982). *Rating scale analysis*.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from scipy.special import logsumexp

from naeq.engines.errors import ConvergenceWarning, EngineError
from naeq.engines.irt.data import ResponseDataError

_SHOW = 5


# --------------------------------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Ratings:
    """Ratings in the long layout: one row per (person, item, rater) rating (arrays are read-only).

    Attributes
    ----------
    person, item, rater : (N,) int64 indices into ``persons``, ``items``, ``raters``
    score : (N,) int64 in 0..n_categories[item]−1
    persons : (P,) person ids (sorted); raters : (R,) rater ids (sorted); items : tuple of I item ids
    n_categories : (I,) int64
    """

    person: NDArray[np.int64]
    item: NDArray[np.int64]
    rater: NDArray[np.int64]
    score: NDArray[np.int64]
    persons: NDArray[Any]
    items: tuple[str, ...]
    raters: NDArray[Any]
    n_categories: NDArray[np.int64]

    def __post_init__(self) -> None:
        for name in ("person", "item", "rater", "score", "n_categories"):
            arr = np.array(getattr(self, name), dtype=np.int64).reshape(-1)
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        for name in ("persons", "raters"):
            arr = np.array(getattr(self, name))
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "items", tuple(str(i) for i in self.items))

    def __len__(self) -> int:
        return len(self.score)

    @property
    def n_persons(self) -> int:
        return len(self.persons)

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def n_raters(self) -> int:
        return len(self.raters)


def _fail_if(mask: NDArray[np.bool_], column: str, reason: str, what: str) -> None:
    if not mask.any():
        return
    rows = tuple(int(i) + 1 for i in np.flatnonzero(mask))
    shown = ", ".join(str(r) for r in rows[:_SHOW]) + (f" (and {len(rows) - _SHOW} more)" if len(rows) > _SHOW else "")
    raise ResponseDataError(f"{len(rows)} row(s) with {what} in column {column!r}: row {shown} "
                            "(rows counted from 1, header excluded); correct or remove them",
                            rows=rows, column=column, reason=reason)


def ratings_from_long(person_ids: Any, item_ids: Any, rater_ids: Any, scores: Any,
                      max_scores: Mapping[str, int]) -> Ratings:
    """Validate long rows (person, item, rater, score) and build :class:`Ratings`.

    Raises
    ------
    ResponseDataError
        naming the first bad rows (1-based): a score missing, NaN, infinite, not whole, below 0 or above the item's
        maximum (reasons ``non_finite``, ``non_integer``, ``out_of_range``); an item not in ``max_scores``
        (``unknown_item``); the same (person, item, rater) twice (``duplicate``). Nothing is built then.

    Examples
    --------
    >>> r = ratings_from_long(["s1", "s1", "s2"], ["t1", "t1", "t1"], ["a", "b", "a"], [2, 1, 0], {"t1": 4})
    >>> r.n_persons, r.n_raters, r.rater.tolist()
    (2, 2, [0, 1, 0])
    """
    person_ids = np.asarray(person_ids)
    item_ids = np.asarray(item_ids).astype(str)
    rater_ids = np.asarray(rater_ids)
    n = len(person_ids)
    if not (len(item_ids) == len(rater_ids) == len(scores) == n):
        raise ValueError("person_ids, item_ids, rater_ids and scores must have the same length")
    items = tuple(str(i) for i in max_scores)
    maxs = np.array([int(max_scores[i]) for i in items], dtype=np.int64)
    if np.any(maxs < 1):
        raise EngineError("every item's maximum score must be at least 1", code="bad_max_score")
    raw = np.array(scores, dtype=np.float64)
    _fail_if(~np.isfinite(raw), "score", "non_finite", "a missing, NaN or infinite score")
    _fail_if(raw != np.round(raw), "score", "non_integer", "a score that is not a whole number")
    pos = {it: j for j, it in enumerate(items)}
    uniq, inv = np.unique(item_ids, return_inverse=True)
    lookup = np.array([pos.get(str(u), -1) for u in uniq.tolist()], dtype=np.int64)
    item = lookup[inv.reshape(-1)] if n else np.zeros(0, np.int64)
    _fail_if(item < 0, "item", "unknown_item", "an item id that is not in the item list")
    score = raw.astype(np.int64)
    _fail_if((score < 0) | (score > maxs[item]), "score", "out_of_range", "a score outside 0..the item's maximum")
    persons, person = np.unique(person_ids, return_inverse=True)
    raters, rater = np.unique(rater_ids, return_inverse=True)
    person, rater = person.reshape(-1).astype(np.int64), rater.reshape(-1).astype(np.int64)
    key = (person * max(len(items), 1) + item) * max(len(raters), 1) + rater
    order = np.argsort(key, kind="stable")
    dup = np.zeros(n, dtype=bool)
    if n > 1:
        dup[order[1:]] = key[order][1:] == key[order][:-1]
    _fail_if(dup, "person/item/rater", "duplicate", "a (person, item, rater) rating already given in an earlier row")
    return Ratings(person=person, item=item, rater=rater, score=score, persons=persons, items=items, raters=raters,
                   n_categories=maxs + 1)


# ------------------------------------------------------------------------------------------------ results


@dataclass(frozen=True)
class FacetsResult:
    """A fitted many-facet partial-credit model.

    Attributes
    ----------
    items : tuple of I item ids; raters : (R,) rater ids
    n_categories : (I,) categories per item
    steps, steps_se : (I, Kmax−1) step difficulties δ_iv and SEs, NaN-padded beyond K_i − 1
    severity, severity_se : (R,) rater severities ρ_r (positive = harsher) and SEs (0 for an anchored rater)
    severity_cov : (R, R) covariance of the severities
    sigma, sigma_se : SD of θ (mean 0) and its SE
    rater_n : (R,) ratings per rater; rater_infit, rater_outfit : (R,) mean squares
    item_n, item_infit, item_outfit : (I,) the same per item
    theta, theta_se : (P,) the persons' WLEs and SEs (used for the fit statistics)
    log_likelihood : marginal; iterations, converged, warnings
    nodes : (Q,) quadrature nodes; settings : the options used
    """

    items: tuple[str, ...]
    raters: NDArray[Any]
    n_categories: NDArray[np.int64]
    steps: NDArray[np.float64]
    steps_se: NDArray[np.float64]
    severity: NDArray[np.float64]
    severity_se: NDArray[np.float64]
    severity_cov: NDArray[np.float64]
    sigma: float
    sigma_se: float
    rater_n: NDArray[np.int64]
    rater_infit: NDArray[np.float64]
    rater_outfit: NDArray[np.float64]
    item_n: NDArray[np.int64]
    item_infit: NDArray[np.float64]
    item_outfit: NDArray[np.float64]
    theta: NDArray[np.float64]
    theta_se: NDArray[np.float64]
    log_likelihood: float
    iterations: int
    converged: bool
    nodes: NDArray[np.float64]
    settings: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def z(self) -> NDArray[np.float64]:
        """severity / SE per rater (NaN for an anchored rater)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.severity_se > 0, self.severity / self.severity_se, np.nan)

    def flagged(self, z: float = 2.0, min_logit: float = 0.3) -> NDArray[np.bool_]:
        """Raters whose severity is both significant (|ρ|/SE > ``z``) and large (|ρ| > ``min_logit`` logits)."""
        zz = self.z()
        return np.where(np.isnan(zz), False, (np.abs(zz) > z) & (np.abs(self.severity) > min_logit))

    def rater_rows(self, z: float = 2.0, min_logit: float = 0.3) -> list[dict[str, Any]]:
        """One dict per rater: ``rater, n, severity, se, z, infit, outfit, flagged``."""
        flags, zz, ids = self.flagged(z, min_logit), self.z(), self.raters.tolist()
        return [{"rater": ids[r],
                 "n": int(self.rater_n[r]), "severity": float(self.severity[r]), "se": float(self.severity_se[r]),
                 "z": float(zz[r]), "infit": float(self.rater_infit[r]), "outfit": float(self.rater_outfit[r]),
                 "flagged": bool(flags[r])} for r in range(len(self.raters))]


# ------------------------------------------------------------------------------------------------ the model


class _Layout:
    """Index arithmetic of the (item, rater, category) cells and the parameter vector (δ free steps, ρ)."""

    def __init__(self, ratings: Ratings) -> None:
        self.n_items, self.n_raters = ratings.n_items, ratings.n_raters
        self.k = ratings.n_categories
        self.kmax = int(self.k.max())
        # step (i, v) for v = 1..K_i−1 exists; flat positions of the existing steps in the (I, Kmax−1) array
        self.step_mask = np.arange(1, self.kmax)[None, :] < self.k[:, None]
        self.n_steps = int(self.step_mask.sum())
        self.n_full = self.n_steps + self.n_raters
        self.cell = (ratings.item * self.n_raters + ratings.rater) * self.kmax + ratings.score
        self.n_cells = self.n_items * self.n_raters * self.kmax
        self.x = sparse.csr_matrix((np.ones(len(ratings)), (ratings.person, self.cell)),
                                   shape=(ratings.n_persons, self.n_cells))

    def log_probabilities(self, steps: NDArray[np.float64], severity: NDArray[np.float64],
                          theta: NDArray[np.float64]) -> NDArray[np.float64]:
        """log P (I, R, Kmax, Q); impossible categories −inf."""
        cum = np.concatenate([np.zeros((self.n_items, 1)), np.cumsum(np.nan_to_num(steps), axis=1)], axis=1)
        kk = np.arange(self.kmax)
        eta = (kk[None, None, :, None] * (theta[None, None, None, :] - severity[None, :, None, None])
               - cum[:, None, :, None])
        eta = np.where((kk[None, :] < self.k[:, None])[:, None, :, None], eta, -np.inf)
        return eta - logsumexp(eta, axis=2, keepdims=True)


def _moments(logp: NDArray[np.float64]) -> tuple[NDArray[np.float64], ...]:
    """From log P (I, R, K, Q): G (I, R, K−1, Q) = P(X ≥ v), E[X], E[X²], E[X; X ≥ v] (I, R, K−1, Q)."""
    p = np.exp(logp)
    kk = np.arange(p.shape[2], dtype=np.float64)[None, None, :, None]
    tail = np.cumsum(p[:, :, ::-1], axis=2)[:, :, ::-1]          # P(X ≥ k), k = 0..K−1
    ktail = np.cumsum((kk * p)[:, :, ::-1], axis=2)[:, :, ::-1]  # E[X; X ≥ k]
    mean = (kk * p).sum(axis=2)
    mean2 = (kk**2 * p).sum(axis=2)
    return tail[:, :, 1:], mean, mean2, ktail[:, :, 1:]


def _normal_log_prior(nodes: NDArray[np.float64], sigma: float) -> NDArray[np.float64]:
    z = -0.5 * (nodes / sigma) ** 2
    return z - logsumexp(z)


def _constraint(n_raters: int, anchor: int | None) -> NDArray[np.float64]:
    """C (R, R−1) with ρ = C γ: sum to zero (last rater = −Σ others) or the anchored rater fixed at 0."""
    if n_raters == 1:
        return np.zeros((1, 0))
    if anchor is None:
        return np.vstack([np.eye(n_raters - 1), -np.ones((1, n_raters - 1))])
    return np.delete(np.eye(n_raters), anchor, axis=1)


def _complete_terms(lay: _Layout, logp: NDArray[np.float64], counts: NDArray[np.float64]
                    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Gradient (n_full,) and information (minus the Hessian; n_full, n_full) of Σ n_irkq log P_irk(θ_q) over
    (δ steps, ρ): ∂/∂δ_iv = Σ N_irq P(X ≥ v) − Σ_{k≥v} n_irkq, ∂/∂ρ_r = Σ N_irq E[X] − Σ k n_irkq."""
    g, mean, mean2, kt = _moments(logp)
    big_n = counts.sum(axis=2)                                              # (I, R, Q)
    kk = np.arange(lay.kmax, dtype=np.float64)
    obs_ge = np.cumsum(counts[:, :, ::-1], axis=2)[:, :, ::-1][:, :, 1:]    # Σ_{k ≥ v} n_irkq
    grad_d = (big_n[:, :, None, :] * g - obs_ge).sum(axis=(1, 3))           # (I, K−1)
    grad_r = (big_n * mean - np.einsum("irkq,k->irq", counts, kk)).sum(axis=(0, 2))
    km1 = lay.kmax - 1
    vmax = np.maximum(np.arange(km1)[:, None], np.arange(km1)[None, :])
    cov_dd = np.einsum("irq,irvuq->ivu", big_n, g[:, :, vmax, :] - g[:, :, :, None, :] * g[:, :, None, :, :])
    cov_dr = np.einsum("irq,irvq->ivr", big_n, kt - g * mean[:, :, None, :])
    var_r = np.einsum("irq,irq->r", big_n, mean2 - mean**2)
    sm = lay.step_mask
    flat_pos = -np.ones(sm.shape, dtype=np.int64)
    flat_pos[sm] = np.arange(lay.n_steps)
    info = np.zeros((lay.n_full, lay.n_full))
    for i in range(lay.n_items):  # items, not persons: a handful of blocks
        idx = flat_pos[i][sm[i]]
        kv = int(sm[i].sum())
        info[np.ix_(idx, idx)] = cov_dd[i, :kv, :kv]
        info[np.ix_(idx, lay.n_steps + np.arange(lay.n_raters))] = cov_dr[i, :kv, :]
        info[np.ix_(lay.n_steps + np.arange(lay.n_raters), idx)] = cov_dr[i, :kv, :].T
    info[lay.n_steps + np.arange(lay.n_raters), lay.n_steps + np.arange(lay.n_raters)] = var_r
    grad = np.concatenate([grad_d[sm], grad_r])
    return grad, info


def fit_facets(ratings: Ratings, *, anchor: Any = None, n_quad: int = 41, theta_range: float = 6.0,
               max_iter: int = 2000, tol: float = 1e-6) -> FacetsResult:
    """Fit the many-facet partial-credit model by MML (see the module docstring).

    Parameters
    ----------
    ratings : :class:`Ratings` (``ratings_from_long``)
    anchor : a rater id fixed at severity 0; None (default) = severities sum to zero
    n_quad, theta_range : quadrature nodes, equally spaced in [−theta_range, theta_range]
    max_iter, tol : EM cycles at most; stop when no parameter moves by more than ``tol`` in one cycle

    Raises
    ------
    EngineError
        no ratings; a score category of an item nobody obtained (collapse it); a rater without ratings; an unknown
        anchor.

    Examples
    --------
    >>> from naeq.engines.irt.facets import simulate_ratings
    >>> sim = simulate_ratings(600, n_items=2, n_raters=4, seed=1)
    >>> res = fit_facets(sim.ratings)
    >>> bool(res.converged), res.severity.shape
    (True, (4,))
    """
    if n_quad < 5 or theta_range <= 0:
        raise ValueError("n_quad must be >= 5 and theta_range > 0")
    if len(ratings) == 0:
        raise EngineError("no ratings to fit", code="no_ratings")
    lay = _Layout(ratings)
    cat_counts = np.bincount(ratings.item * lay.kmax + ratings.score,
                             minlength=lay.n_items * lay.kmax).reshape(lay.n_items, lay.kmax)
    empty = [(ratings.items[i], k) for i in range(lay.n_items) for k in range(int(lay.k[i])) if cat_counts[i, k] == 0]
    if empty:
        shown = ", ".join(f"{i} score {k}" for i, k in empty[:_SHOW])
        raise EngineError(f"score categories nobody obtained ({shown}): their steps cannot be estimated; collapse "
                          "the category or drop the item", code="empty_category")
    per_rater = np.bincount(ratings.rater, minlength=lay.n_raters)
    if np.any(per_rater == 0):
        raise EngineError("a rater without ratings", code="rater_without_ratings")
    anchor_idx: int | None = None
    if anchor is not None:
        hits = np.flatnonzero(ratings.raters.astype(str) == str(anchor))
        if len(hits) != 1:
            raise EngineError(f"anchor rater {anchor!r} has no ratings", code="unknown_anchor")
        anchor_idx = int(hits[0])
    notes: list[str] = []
    # Raters are linked through persons who have ratings from several raters; without links the severities rest
    # on the assumption that every rater's persons come from the same population (random allocation).
    pr = sparse.csr_matrix((np.ones(len(ratings)), (ratings.person, ratings.rater)),
                           shape=(ratings.n_persons, lay.n_raters))
    n_comp, _labels = connected_components((pr.T @ pr) > 0, directed=False)
    if n_comp > 1:
        notes.append(f"raters fall into {n_comp} groups that share no person: their severities rest on random "
                     "allocation of responses to raters")
    cmat = _constraint(lay.n_raters, anchor_idx)
    nodes = np.linspace(-theta_range, theta_range, n_quad)
    sm = lay.step_mask
    jac = np.zeros((lay.n_full, lay.n_steps + cmat.shape[1]))
    jac[: lay.n_steps, : lay.n_steps] = np.eye(lay.n_steps)
    jac[lay.n_steps:, lay.n_steps:] = cmat
    xt = lay.x.T.tocsr()

    def unpack(vec: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64], float]:
        steps = np.full(sm.shape, np.nan)
        steps[sm] = vec[: lay.n_steps]
        severity = cmat @ vec[lay.n_steps: -1]
        return steps, severity, float(np.exp(vec[-1]))

    def estep(vec: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64], float]:
        steps, severity, sigma = unpack(vec)
        logp = lay.log_probabilities(steps, severity, nodes)
        ll = lay.x @ logp.reshape(lay.n_cells, n_quad) + _normal_log_prior(nodes, sigma)[None, :]
        norm = logsumexp(ll, axis=1, keepdims=True)
        post = np.exp(ll - norm)
        return post, logp, float(norm.sum())

    def em_map(vec: NDArray[np.float64]) -> tuple[NDArray[np.float64], float]:
        """One EM cycle from ``vec``; returns the new point and the log-likelihood at ``vec``."""
        post, lp, loglik = estep(vec)
        counts = (xt @ post).reshape(lay.n_items, lay.n_raters, lay.kmax, n_quad)
        free = vec[:-1].copy()
        for newton in range(2):
            if newton:
                steps, severity, _s = unpack(np.append(free, vec[-1]))
                lp = lay.log_probabilities(steps, severity, nodes)
            grad, info = _complete_terms(lay, lp, counts)
            g_free = jac.T @ grad
            i_free = jac.T @ info @ jac
            step = np.linalg.solve(i_free + 1e-10 * np.eye(len(g_free)), g_free)
            big = np.max(np.abs(step)) if len(step) else 0.0
            if big > 1.0:
                step = step / big
            free = free + step  # Newton ascent: the information is minus the Hessian
        sigma2 = float((post.sum(axis=0) @ nodes**2) / ratings.n_persons)
        return np.append(free, 0.5 * np.log(max(sigma2, 1e-8))), loglik

    # start: steps from the logits of adjacent category counts, severities 0, σ = 1
    start_steps = np.full(sm.shape, np.nan)
    lc = np.log(np.maximum(cat_counts, 0.5))
    start_steps[:, : lay.kmax - 1] = lc[:, :-1] - lc[:, 1:]
    vec = np.concatenate([start_steps[sm], np.zeros(cmat.shape[1]), [0.0]])
    converged, it = False, 0
    while it < max_iter:
        # SQUAREM S3 (Varadhan & Roland 2008): two EM cycles, extrapolate, one stabilising EM cycle from the
        # extrapolated point; the plain second EM point when the extrapolated point lowers the likelihood.
        # Convergence is judged on a plain EM cycle: no parameter moves by more than ``tol``.
        v1, ll0 = em_map(vec)
        it += 1
        if np.max(np.abs(v1 - vec)) < tol:
            vec, converged = v1, True
            break
        v2, _ll1 = em_map(v1)
        it += 1
        r_, v_ = v1 - vec, v2 - 2 * v1 + vec
        alpha = min(-1.0, -np.sqrt((r_ @ r_) / max(v_ @ v_, 1e-300)))
        cand = vec - 2 * alpha * r_ + alpha**2 * v_
        with np.errstate(all="ignore"):
            v3, ll3 = em_map(cand)
        it += 1
        vec = v3 if np.isfinite(ll3) and ll3 >= ll0 and np.all(np.isfinite(v3)) else v2
    post, logp, loglik = estep(vec)
    if not converged:
        msg = f"EM did not converge in {max_iter} cycles (tol {tol})"
        notes.append(msg)
        warnings.warn(msg, ConvergenceWarning, stacklevel=2)
    steps, severity, sigma = unpack(vec)
    info = _louis_information(lay, ratings, logp, post, nodes, sigma)
    jac_full = np.zeros((lay.n_full + 1, jac.shape[1] + 1))
    jac_full[: lay.n_full, : jac.shape[1]] = jac
    jac_full[-1, -1] = 1.0
    i_free = jac_full.T @ info @ jac_full
    try:
        cov_free = np.linalg.inv(i_free)
    except np.linalg.LinAlgError:
        cov_free = np.linalg.pinv(i_free)
        notes.append("the information matrix is singular: standard errors are unreliable")
    cov_full = jac_full @ cov_free @ jac_full.T
    se_full = np.sqrt(np.maximum(np.diag(cov_full), 0.0))
    steps_se = np.full(sm.shape, np.nan)
    steps_se[sm] = se_full[: lay.n_steps]
    sev_cov = cov_full[lay.n_steps: lay.n_full, lay.n_steps: lay.n_full]
    theta, theta_se = _wle(ratings, lay, steps, severity, theta_range)
    r_inf, r_out, i_inf, i_out = _fit(ratings, lay, logp, post)
    settings = {"anchor": anchor, "n_quad": n_quad, "theta_range": theta_range, "max_iter": max_iter, "tol": tol}
    return FacetsResult(items=ratings.items, raters=ratings.raters, n_categories=lay.k, steps=steps,
                        steps_se=steps_se, severity=severity, severity_se=se_full[lay.n_steps: lay.n_full],
                        severity_cov=sev_cov, sigma=sigma, sigma_se=float(sigma * se_full[-1]),
                        rater_n=per_rater.astype(np.int64), rater_infit=r_inf, rater_outfit=r_out,
                        item_n=np.bincount(ratings.item, minlength=lay.n_items).astype(np.int64),
                        item_infit=i_inf, item_outfit=i_out, theta=theta, theta_se=theta_se,
                        log_likelihood=loglik, iterations=it, converged=converged, nodes=nodes, settings=settings,
                        warnings=tuple(notes))


def marginal_log_likelihood(ratings: Ratings, steps: NDArray[np.float64], severity: NDArray[np.float64],
                            sigma: float, *, n_quad: int = 41, theta_range: float = 6.0) -> float:
    """log L(δ, ρ, σ) = Σ_n log Σ_q π_q(σ) Π_j P(x_j | θ_q): the quantity the fit maximises (for checks)."""
    lay = _Layout(ratings)
    nodes = np.linspace(-theta_range, theta_range, n_quad)
    logp = lay.log_probabilities(np.asarray(steps, dtype=np.float64), np.asarray(severity, dtype=np.float64), nodes)
    ll = lay.x @ logp.reshape(lay.n_cells, n_quad) + _normal_log_prior(nodes, sigma)[None, :]
    return float(logsumexp(ll, axis=1).sum())


def _cell_scores(lay: _Layout, logp: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Each cell's complete-data score at each node in local coordinates: ``u`` (cells, Kmax, Q) with u[c, v] for
    the item's step v+1 (P(X ≥ v+1) − [k ≥ v+1]) and u[c, Kmax−1] for the rater (E[X] − k); ``pos`` (cells, Kmax)
    the parameter index of each local entry (−1 where the item has no such step)."""
    g, mean, _m2, _kt = _moments(logp)
    km1 = lay.kmax - 1
    kk = np.arange(lay.kmax)
    u = np.zeros((lay.n_items, lay.n_raters, lay.kmax, lay.kmax, logp.shape[3]))
    ge = (kk[:, None] >= np.arange(1, lay.kmax)[None, :]).astype(np.float64)          # [k ≥ v] (K, K−1)
    u[:, :, :, :km1, :] = g[:, :, None, :, :] - ge[None, None, :, :, None]
    u[:, :, :, km1, :] = mean[:, :, None, :] - kk[None, None, :, None]
    flat_pos = -np.ones(lay.step_mask.shape, dtype=np.int64)
    flat_pos[lay.step_mask] = np.arange(lay.n_steps)
    pos = np.empty((lay.n_items, lay.n_raters, lay.kmax, lay.kmax), dtype=np.int64)
    pos[:, :, :, :km1] = flat_pos[:, None, None, :]
    pos[:, :, :, km1] = lay.n_steps + np.arange(lay.n_raters)[None, :, None]
    u = np.where((pos >= 0)[..., None], u, 0.0)
    return u.reshape(lay.n_cells, lay.kmax, -1), pos.reshape(lay.n_cells, lay.kmax)


def _louis_information(lay: _Layout, ratings: Ratings, logp: NDArray[np.float64], post: NDArray[np.float64],
                       nodes: NDArray[np.float64], sigma: float) -> NDArray[np.float64]:
    """Observed information of (δ steps, ρ, log σ) by Louis (1982): E[complete information | x] − Σ_n Var[score | x].

    With s_nq = Σ_{j of n} u(c_j, q) + a_q e_τ the complete-data score at node q, Σ_n Var = Σ_n Σ_q w_nq s_nq s_nqᵀ
    − Σ_n s̄_n s̄_nᵀ; the first sum runs over the pairs of ratings of the same person, grouped by their pair of
    (item, rater, category) cells, so its cost is that of the pairs, not of persons × parameters."""
    n_q = len(nodes)
    counts = (lay.x.T @ post).reshape(lay.n_items, lay.n_raters, lay.kmax, n_q)
    _grad, info_c = _complete_terms(lay, logp, counts)
    full = lay.n_full + 1
    tau = full - 1
    info = np.zeros((full, full))
    info[: lay.n_full, : lay.n_full] = info_c
    # the discrete N(0, σ²) prior on the nodes, in τ = log σ: d log π_q/dτ = t_q − E_π t, −d² = 2t_q − 2E_π t + Var_π t
    pi = np.exp(_normal_log_prior(nodes, sigma))
    t = (nodes / sigma) ** 2
    et, vt = pi @ t, pi @ t**2 - (pi @ t) ** 2
    mass = post.sum(axis=0)
    info[tau, tau] = mass @ (2 * t - 2 * et + vt)
    a_q = t - et
    u, pos = _cell_scores(lay, logp)
    kl = lay.kmax
    outer = np.zeros((full, full))
    # pairs (j, j') of ratings of the same person, j and j' in any order (j = j' included)
    order = np.argsort(ratings.person, kind="stable")
    per = np.bincount(ratings.person, minlength=ratings.n_persons)
    start = np.concatenate([[0], np.cumsum(per)[:-1]])
    pj = np.repeat(order, per[ratings.person[order]])
    offs = np.arange(len(pj)) - np.repeat(np.cumsum(per[ratings.person[order]]) - per[ratings.person[order]],
                                          per[ratings.person[order]])
    pk = order[start[ratings.person[pj]] + offs]
    c1, c2 = lay.cell[pj], lay.cell[pk]
    pair_key, pair_inv = np.unique(c1 * lay.n_cells + c2, return_inverse=True)
    agg = sparse.csr_matrix((np.ones(len(pj)), (pair_inv.reshape(-1), ratings.person[pj])),
                            shape=(len(pair_key), ratings.n_persons))
    wpair = agg @ post                                                        # (pairs of cells, Q)
    a_all, b_all = pair_key // lay.n_cells, pair_key % lay.n_cells
    for lo in range(0, len(pair_key), 10_000):  # bounded memory: (chunk, Kmax, Q) arrays
        a_cell, b_cell = a_all[lo: lo + 10_000], b_all[lo: lo + 10_000]
        block = np.einsum("pq,paq,pbq->pab", wpair[lo: lo + 10_000], u[a_cell], u[b_cell])
        ia = np.broadcast_to(pos[a_cell][:, :, None], block.shape)
        ib = np.broadcast_to(pos[b_cell][:, None, :], block.shape)
        ok = (ia >= 0) & (ib >= 0)
        np.add.at(outer, (ia[ok], ib[ok]), block[ok])
    # cross terms with τ and the ττ term
    cnt = counts.reshape(lay.n_cells, n_q)
    cross = np.einsum("cq,caq->ca", cnt * a_q[None, :], u)
    okc = pos >= 0
    tau_row = np.zeros(full)
    np.add.at(tau_row, pos[okc], cross[okc])
    outer[tau, :] += tau_row
    outer[:, tau] += tau_row
    outer[tau, tau] += mass @ a_q**2
    # Σ_n s̄_n s̄_nᵀ with s̄_n = Σ_q w_nq s_nq, a sparse persons × parameters matrix
    vals = np.empty((len(ratings), kl))
    for lo in range(0, len(ratings), 20_000):
        sl = slice(lo, lo + 20_000)
        vals[sl] = np.einsum("jq,jaq->ja", post[ratings.person[sl]], u[lay.cell[sl]])
    cols = pos[lay.cell]
    okr = cols >= 0
    rows_p = np.broadcast_to(ratings.person[:, None], cols.shape)
    sbar = sparse.csr_matrix((np.concatenate([vals[okr], post @ a_q]),
                              (np.concatenate([rows_p[okr], np.arange(ratings.n_persons)]),
                               np.concatenate([cols[okr], np.full(ratings.n_persons, tau)]))),
                             shape=(ratings.n_persons, full))
    outer -= (sbar.T @ sbar).toarray()
    return info - outer


def _person_moments(ratings: Ratings, lay: _Layout, steps: NDArray[np.float64], severity: NDArray[np.float64],
                    theta: NDArray[np.float64]) -> tuple[NDArray[np.float64], ...]:
    """Per rating at its person's θ: E[X], Var X, third central moment."""
    cum = np.concatenate([np.zeros((lay.n_items, 1)), np.cumsum(np.nan_to_num(steps), axis=1)], axis=1)
    kk = np.arange(lay.kmax, dtype=np.float64)
    eta = kk[None, :] * (theta[ratings.person] - severity[ratings.rater])[:, None] - cum[ratings.item]
    eta = np.where(np.arange(lay.kmax)[None, :] < lay.k[ratings.item][:, None], eta, -np.inf)
    p = np.exp(eta - logsumexp(eta, axis=1, keepdims=True))
    mean = p @ kk
    d = kk[None, :] - mean[:, None]
    return mean, (p * d**2).sum(axis=1), (p * d**3).sum(axis=1)


def _wle(ratings: Ratings, lay: _Layout, steps: NDArray[np.float64], severity: NDArray[np.float64],
         bound: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Warm's WLE of every person (Fisher scoring on Σ (x − E) + J / (2I), J = Σ μ₃), vectorised."""
    n_p = ratings.n_persons
    theta = np.zeros(n_p)
    x_sum = np.bincount(ratings.person, weights=ratings.score, minlength=n_p)
    for _ in range(100):
        mean, var, mu3 = _person_moments(ratings, lay, steps, severity, theta)
        info = np.bincount(ratings.person, weights=var, minlength=n_p)
        jj = np.bincount(ratings.person, weights=mu3, minlength=n_p)
        f = x_sum - np.bincount(ratings.person, weights=mean, minlength=n_p) + jj / (2 * np.maximum(info, 1e-12))
        step = np.clip(f / np.maximum(info, 1e-12), -1.0, 1.0)
        theta = np.clip(theta + step, -bound, bound)
        if np.max(np.abs(step)) < 1e-8:
            break
    _m, var, _ = _person_moments(ratings, lay, steps, severity, theta)
    info = np.bincount(ratings.person, weights=var, minlength=n_p)
    return theta, 1.0 / np.sqrt(np.maximum(info, 1e-12))


def _fit(ratings: Ratings, lay: _Layout, logp: NDArray[np.float64], post: NDArray[np.float64]
         ) -> tuple[NDArray[np.float64], ...]:
    """Infit and outfit mean squares per rater and per item, the squared residuals averaged over each person's
    posterior: outfit = mean_j E_post[(x_j − E_j(θ))² / V_j(θ)], infit = Σ_j E_post[(x_j − E_j(θ))²] / Σ_j
    E_post[V_j(θ)]. A draw from the posterior has the same joint distribution with the data as the true θ, so both
    have expectation 1 under the model (at the WLE they would be about (L − 1)/L with L ratings per person)."""
    p = np.exp(logp)
    kk = np.arange(lay.kmax, dtype=np.float64)
    mean = (p * kk[None, None, :, None]).sum(axis=2)
    var = (p * kk[None, None, :, None] ** 2).sum(axis=2) - mean**2
    ir = ratings.item * lay.n_raters + ratings.rater
    mean, var = mean.reshape(-1, mean.shape[-1]), np.maximum(var.reshape(-1, var.shape[-1]), 1e-12)
    y2 = np.empty(len(ratings))
    vv = np.empty(len(ratings))
    z2 = np.empty(len(ratings))
    for lo in range(0, len(ratings), 20_000):
        sl = slice(lo, lo + 20_000)
        w = post[ratings.person[sl]]
        res2 = (ratings.score[sl, None] - mean[ir[sl]]) ** 2
        y2[sl] = (res2 * w).sum(axis=1)
        vv[sl] = (var[ir[sl]] * w).sum(axis=1)
        z2[sl] = (res2 / var[ir[sl]] * w).sum(axis=1)
    out = []
    for idx, n in ((ratings.rater, lay.n_raters), (ratings.item, lay.n_items)):
        cnt = np.bincount(idx, minlength=n)
        out.append(np.bincount(idx, weights=y2, minlength=n) / np.maximum(np.bincount(idx, weights=vv, minlength=n),
                                                                          1e-12))
        out.append(np.bincount(idx, weights=z2, minlength=n) / np.maximum(cnt, 1))
    return tuple(out)


# ------------------------------------------------------------------------------------------------ simulation


@dataclass(frozen=True)
class FacetsSimulation:
    """Known truth and the simulated :class:`Ratings`."""

    ratings: Ratings
    steps: NDArray[np.float64]
    severity: NDArray[np.float64]
    theta: NDArray[np.float64]
    sigma: float


def simulate_ratings(n_persons: int, *, n_items: int = 4, max_score: int = 4, n_raters: int = 8,
                     severity: Any = None, steps: Any = None, sigma: float = 1.0, double_share: float = 0.25,
                     seed: int | np.random.Generator = 0) -> FacetsSimulation:
    """Ratings from the many-facet model: every (person, item) rated by a rater drawn at random, a share
    ``double_share`` of them by a second, different rater. Default severities equally spaced in [−0.8, 0.8],
    steps spread over [−1.5, 1.5] and shifted per item.

    Examples
    --------
    >>> sim = simulate_ratings(100, n_items=2, n_raters=3, seed=2)
    >>> len(sim.ratings) >= 200
    True
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    sev = (np.linspace(-0.8, 0.8, n_raters) if severity is None else np.asarray(severity, dtype=np.float64))
    sev = sev - sev.mean() if severity is None else sev
    if steps is None:
        base = np.linspace(-1.5, 1.5, max_score)
        st = base[None, :] + np.linspace(-0.5, 0.5, n_items)[:, None]
    else:
        st = np.asarray(steps, dtype=np.float64)
    theta = rng.normal(0.0, sigma, n_persons)
    person = np.repeat(np.arange(n_persons), n_items)
    item = np.tile(np.arange(n_items), n_persons)
    first = rng.integers(0, len(sev), len(person))
    dbl = rng.random(len(person)) < double_share
    second = (first + 1 + rng.integers(0, len(sev) - 1, len(person))) % len(sev)
    p_all = np.concatenate([person, person[dbl]])
    i_all = np.concatenate([item, item[dbl]])
    r_all = np.concatenate([first, second[dbl]])
    kk = np.arange(st.shape[1] + 1)
    cum = np.concatenate([np.zeros((st.shape[0], 1)), np.cumsum(st, axis=1)], axis=1)
    eta = kk[None, :] * (theta[p_all] - sev[r_all])[:, None] - cum[i_all]
    prob = np.exp(eta - logsumexp(eta, axis=1, keepdims=True))
    u = rng.random(len(p_all))
    score = (u[:, None] > np.cumsum(prob, axis=1)).sum(axis=1)
    score = np.minimum(score, st.shape[1])
    ratings = ratings_from_long(p_all, np.array([f"T{i + 1}" for i in i_all]),
                                np.array([f"R{r + 1:02d}" for r in r_all]), score,
                                {f"T{i + 1}": st.shape[1] for i in range(st.shape[0])})
    return FacetsSimulation(ratings=ratings, steps=st, severity=sev, theta=theta, sigma=sigma)
