"""Person ability estimates for every person at once: EAP (with posterior SD), MAP and WLE (Warm 1989), with SEs.

All three work on the sparse responses of any booklet design (not-administered items carry no information) and
are vectorised over persons: per-response derivatives are summed per person with ``np.bincount``; MAP (Fisher
scoring) and WLE (Newton with the exact curvature of Warm's equation for the GPCM family, from an EAP start) step
all persons simultaneously, converged persons dropping out.

For the GPCM family (incl. Rasch, 2PL, PCM) with m = E[X | θ], v = Var(X | θ) and μ₃ the third central moment::

    ∂ log L / ∂θ = Σ_j a_j (x_j − m_j),   I(θ) = Σ_j a_j² v_j,   J(θ) = Σ_j a_j³ μ₃_j

and for 3PL items, with P' = a (1 − c) P*(1 − P*) and P'' = a² (1 − c) P*(1 − P*)(1 − 2P*)::

    ∂ log L / ∂θ = (x − P) P' / (P (1 − P)),   I = P'² / (P (1 − P)),   J = P' P'' / (P (1 − P))

EAP   θ̂ = E[θ | x] on a fine grid (default 61 nodes in [−6, 6]) under a N(μ, σ²) prior, SE = posterior SD.
MAP   maximises log L + log N(θ; μ, σ²); SE = (I(θ̂) + 1/σ²)^−½.
WLE   solves ∂ log L/∂θ + J(θ)/(2 I(θ)) = 0 (Warm 1989, Psychometrika 54, 427–450); SE = I(θ̂)^−½.
      The WLE is finite for all-zero and all-maximum response vectors under the Rasch, 2PL, PCM and GPCM models
      (the bias correction pulls it back); estimates are kept in [−bound, bound] (default ±6 logits) — a 3PL
      all-wrong vector can have no finite WLE and then sits at −bound, flagged in ``at_bound``.
Persons without any response get the prior mean (EAP/MAP, SE = prior SD) or NaN (WLE).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from naeq.engines.irt.data import Responses
from naeq.engines.irt.grid import Grid
from naeq.engines.irt.likelihood import _aligned, log_likelihood, posterior
from naeq.engines.irt.models import ItemParameters
from naeq.engines.irt.patterns import booklet_patterns

METHODS: tuple[str, ...] = ("eap", "map", "wle")
_CHUNK = 1_000_000


@dataclass(frozen=True)
class PersonEstimates:
    """One row per person of ``responses.persons``.

    ``theta`` and ``se`` (P,); ``n_responses``, ``raw_score`` and ``max_score`` (P,); ``at_bound`` marks MAP/WLE
    estimates held at ±bound; ``method`` the estimator; ``converged`` whether every Newton iteration converged."""

    persons: NDArray[Any]
    theta: NDArray[np.float64]
    se: NDArray[np.float64]
    method: str
    n_responses: NDArray[np.int64]
    raw_score: NDArray[np.int64]
    max_score: NDArray[np.int64]
    at_bound: NDArray[np.bool_]
    converged: bool = True


def _per_person(values: Any, n: int) -> NDArray[np.float64]:
    arr = np.broadcast_to(np.asarray(values, dtype=np.float64), (n,)).copy()
    if not np.all(np.isfinite(arr)):
        raise ValueError("prior means and SDs must be finite")
    return arr


class _Tables:
    """Per-item constants for the per-response derivatives: z_k = a·k·θ + C_k with C_k = −a Σ_{v≤k} b_v
    (−inf beyond the item's categories)."""

    def __init__(self, params: ItemParameters) -> None:
        kmax = params.max_categories
        steps = np.nan_to_num(params.b[:, : kmax - 1], nan=0.0)
        cum_b = np.concatenate([np.zeros((len(params), 1)), np.cumsum(steps, axis=1)], axis=1)
        self.k = np.arange(kmax, dtype=np.float64)
        self.const = -params.a[:, None] * cum_b
        self.const[self.k[None, :] >= params.n_categories[:, None]] = -np.inf
        self.a = params.a
        self.c = params.c
        self.b0 = np.nan_to_num(params.b[:, 0], nan=0.0)
        self.kk = np.stack([self.k, self.k**2, self.k**3, self.k**4], axis=1)   # (K, 4)


def _response_terms(tab: _Tables, item: NDArray[np.int64], x: NDArray[np.float64], t: NDArray[np.float64],
                    extended: bool = False) -> tuple[NDArray[np.float64], ...]:
    """Score, information and Warm's J of each response at its person's θ (t aligned with the responses); with
    ``extended`` also dI/dθ and dJ/dθ (GPCM family exactly: I' = a³μ₃, J' = a⁴(μ₄ − 3v²); 3PL: I' exactly,
    J' taken as 0) for the Newton step of the WLE."""
    a = tab.a[item]
    z = (a * t)[:, None] * tab.k[None, :] + tab.const[item]
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    mom = p @ tab.kk                                                       # E[X], E[X²], E[X³], E[X⁴]
    m, m2, m3 = mom[:, 0], mom[:, 1], mom[:, 2]
    v = m2 - m * m
    mu3 = m3 - 3 * m * m2 + 2 * m**3
    s = a * (x - m)
    info = a * a * v
    jj = a**3 * mu3
    if extended:
        mu4 = mom[:, 3] - 4 * m * m3 + 6 * m * m * m2 - 3 * m**4
        i1 = jj.copy()
        j1 = a**4 * (mu4 - 3 * v * v)
    c = tab.c[item]
    three = c > 0
    if three.any():
        aa, cc = a[three], c[three]
        ps = 1.0 / (1.0 + np.exp(-aa * (t[three] - tab.b0[item[three]])))
        pr = np.clip(cc + (1 - cc) * ps, 1e-12, 1 - 1e-12)
        d1 = aa * (1 - cc) * ps * (1 - ps)
        d2 = aa * d1 * (1 - 2 * ps)
        q = pr * (1 - pr)
        s[three] = (x[three] - pr) * d1 / q
        info[three] = d1 * d1 / q
        jj[three] = d1 * d2 / q
        if extended:
            i1[three] = 2 * d1 * d2 / q - d1**3 * (1 - 2 * pr) / q**2
            j1[three] = 0.0
    if extended:
        return s, info, jj, i1, j1
    return s, info, jj


def _sums(responses: Responses, params: ItemParameters, theta: NDArray[np.float64],
          rows: NDArray[np.int64] | None, extended: bool) -> tuple[NDArray[np.float64], ...]:
    params = _aligned(responses, params)
    tab = _Tables(params)
    n_p = responses.n_persons
    n_terms = 5 if extended else 3
    tot = [np.zeros(n_p) for _ in range(n_terms)]
    n = len(responses) if rows is None else len(rows)
    for lo in range(0, n, _CHUNK):
        idx = slice(lo, lo + _CHUNK) if rows is None else rows[lo: lo + _CHUNK]
        person = responses.person[idx]
        terms = _response_terms(tab, responses.item[idx], responses.score[idx].astype(np.float64), theta[person],
                                extended)
        for acc, term in zip(tot, terms, strict=True):
            acc += np.bincount(person, weights=term, minlength=n_p)
    return tuple(tot)


def derivatives(responses: Responses, params: ItemParameters, theta: NDArray[np.float64], *,
                rows: NDArray[np.int64] | None = None) -> tuple[
        NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Per person at its own θ: score ∂ log L/∂θ, test information I(θ) and Warm's J(θ); each (P,).

    ``rows`` restricts the sums to those responses (persons without any of them get 0)."""
    s, info, jj = _sums(responses, params, theta, rows, False)
    return s, info, jj


def _counts(responses: Responses, params: ItemParameters) -> tuple[NDArray[np.int64], NDArray[np.int64],
                                                                   NDArray[np.int64]]:
    n = np.bincount(responses.person, minlength=responses.n_persons).astype(np.int64)
    return n, responses.raw_scores(), responses.max_raw_scores()


def _eap_core(responses: Responses, params: ItemParameters, mu: NDArray[np.float64], sd: NDArray[np.float64],
              n_quad: int, theta_range: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    nodes = np.linspace(-theta_range, theta_range, n_quad)
    loglik = log_likelihood(responses, params, nodes)
    log_prior = -0.5 * ((nodes[None, :] - mu[:, None]) / sd[:, None]) ** 2
    post, _ = posterior(loglik, log_prior)
    theta = post @ nodes
    return theta, np.sqrt(np.maximum(post @ nodes**2 - theta**2, 0.0))


def eap(responses: Responses, params: ItemParameters, *, prior_mean: Any = 0.0, prior_sd: Any = 1.0,
        n_quad: int = 61, theta_range: float = 6.0) -> PersonEstimates:
    """Expected a posteriori estimates and posterior SDs (Bock & Mislevy 1982) under N(prior_mean, prior_sd²)
    (scalars or one value per person, e.g. each person's group mean and SD from a calibration).

    Examples
    --------
    >>> from naeq.engines.irt.simulate import simulate
    >>> s = simulate("rasch", 300, n_items=20, seed=2)
    >>> est = eap(s.responses, s.params)
    >>> bool(np.corrcoef(est.theta, s.theta)[0, 1] > 0.8)
    True
    """
    n_p = responses.n_persons
    mu = _per_person(prior_mean, n_p)
    sd = _per_person(prior_sd, n_p)
    if np.any(sd <= 0):
        raise ValueError("prior SDs must be positive")
    theta, se = _eap_core(responses, params, mu, sd, n_quad, theta_range)
    n, raw, mx = _counts(responses, params)
    return PersonEstimates(persons=responses.persons, theta=theta, se=se, method="eap", n_responses=n,
                           raw_score=raw, max_score=mx, at_bound=np.zeros(n_p, dtype=bool))


class _PatternSums:
    """Per-person sums of the response terms from per-pattern tables on a fine θ grid (the fast path).

    Within a booklet pattern b every term of :func:`_response_terms` except the score is the same function of θ
    for every person, and the score splits into an x-free part and ``x · W_j(θ)`` with W_j = a_j for the GPCM
    family (so Σ_j a_j x_j, computed once, is sufficient) and W_j = P'/(P(1 − P)) for 3PL items. So::

        Σ_{j∈b} term_j(θ_i) = T_b(θ_i)        (T_b = Σ_{j∈b} term_j tabulated once per pattern)

    evaluated by 4-point Lagrange interpolation (:mod:`naeq.engines.irt.grid`) on a grid of spacing h = 0.005
    over [−bound, bound]: error at most h⁴/24 · max|T⁽⁴⁾| ≈ 2.6·10⁻¹¹ · max|T⁽⁴⁾|; for the terms of the
    estimating equation of a 40-item booklet with a ≤ 2.5 (|T⁽⁴⁾| of order 10²–10³) that is < 10⁻⁷ on sums of
    order 10, a θ error < 10⁻⁸, two orders below the Newton tolerance 10⁻⁶ (tested against the per-response
    path). Per Newton iteration the work per person is O(1) plus one interpolation per correct 3PL response,
    instead of exp/normalise per response."""

    def __init__(self, responses: Responses, params: ItemParameters, pattern: NDArray[np.int64],
                 design: NDArray[np.bool_], bound: float) -> None:
        params = _aligned(responses, params)
        tab = _Tables(params)
        self.grid = Grid(-bound, bound)
        grid = self.grid.points
        n_g = self.grid.n
        n_j = responses.n_items
        item = np.repeat(np.arange(n_j), n_g)
        t = np.tile(grid, n_j)
        s0, info, jj, i1, j1 = _response_terms(tab, item, np.zeros(len(item)), t, True)
        s1 = _response_terms(tab, item, np.ones(len(item)), t, False)[0]
        per_item = np.stack([s0, info, jj, i1, j1]).reshape(5, n_j, n_g)
        self.tables = np.einsum("bj,tjg->tbg", design.astype(np.float64), per_item)   # (5, B, G)
        self.pattern = pattern
        three = tab.c > 0
        # x-dependent score: Σ a x over GPCM-family items (constant), W_j(θ) x over correct 3PL responses
        x = responses.score.astype(np.float64)
        self.const = np.bincount(responses.person, weights=np.where(three, 0.0, params.a)[responses.item] * x,
                                 minlength=responses.n_persons)
        sel = three[responses.item] & (responses.score > 0)
        self.r3_person = responses.person[sel]
        self.r3_item = responses.item[sel]
        self.r3_x = x[sel]
        self.w3 = (s1 - s0).reshape(n_j, n_g)                                   # W_j on the grid (3PL rows)
        self.n_persons = responses.n_persons

    def sums(self, theta: NDArray[np.float64], who: NDArray[np.int64] | None) -> tuple[NDArray[np.float64], ...]:
        """(score, I, J, I', J') per person (P,); only the persons ``who`` are evaluated (others 0)."""
        n_p = self.n_persons
        idx = np.arange(n_p) if who is None else who
        cols, w = self.grid.stencil(theta[idx])
        pat = self.pattern[idx][:, None]
        out = []
        for t in range(5):
            full = np.zeros(n_p)
            full[idx] = np.einsum("nk,nk->n", self.tables[t][pat, cols], w)
            out.append(full)
        if who is None:
            out[0] += self.const
        else:
            out[0][idx] += self.const[idx]
        if len(self.r3_person):
            if who is None:
                rp, ri, rx = self.r3_person, self.r3_item, self.r3_x
            else:
                mask = np.zeros(n_p, bool)
                mask[who] = True
                keep = mask[self.r3_person]
                rp, ri, rx = self.r3_person[keep], self.r3_item[keep], self.r3_x[keep]
            # the persons' stencils (computed above) shared by their 3PL responses
            pos = np.empty(n_p, dtype=np.int64)
            pos[idx] = np.arange(len(idx))
            at = pos[rp]
            flat = self.w3.reshape(-1)
            base = ri * self.grid.n + cols[at, 0]
            wr = w[at]
            val = flat[base] * wr[:, 0]
            for c in range(1, 4):
                val += flat[base + c] * wr[:, c]
            out[0] += np.bincount(rp, weights=val * rx, minlength=n_p)
        return tuple(out)


MAX_PATTERNS = 256
# Below this many responses the per-response path is as fast (the tables cost ~J × 2,400 evaluations).
MIN_TABLE_RESPONSES = 100_000


def _pattern_sums(responses: Responses, params: ItemParameters, bound: float,
                  min_responses: int | None) -> _PatternSums | None:
    limit = MIN_TABLE_RESPONSES if min_responses is None else min_responses
    if len(responses) < limit or responses.n_persons == 0:
        return None
    pattern, design = booklet_patterns(responses)
    if design.shape[0] > MAX_PATTERNS:
        return None
    return _PatternSums(responses, params, pattern, design, bound)


def _newton(responses: Responses, params: ItemParameters, start: NDArray[np.float64], *, kind: str,
            mu: NDArray[np.float64], sd: NDArray[np.float64], bound: float, max_iter: int,
            tol: float, min_table_responses: int | None = None) -> tuple[NDArray[np.float64],
                                                                        NDArray[np.float64], bool]:
    """Damped Newton (WLE) or Fisher scoring (MAP) steps for all persons at once; converged persons drop out
    (their responses are no longer evaluated), so later iterations cost only what is still moving. With few
    booklet patterns and many responses the sums come from :class:`_PatternSums` (same equations)."""
    theta = np.clip(start.copy(), -bound, bound)
    active = np.ones(len(theta), dtype=bool)
    rows: NDArray[np.int64] | None = None
    who: NDArray[np.int64] | None = None
    fast = _pattern_sums(responses, params, bound, min_table_responses)
    converged = False
    for _ in range(max_iter):
        if fast is not None:
            s, info, jj, i1, j1 = fast.sums(theta, who)
        if kind == "map":
            if fast is None:
                s, info, jj = _sums(responses, params, theta, rows, False)
            g = s - (theta - mu) / sd**2
            h = info + 1 / sd**2
        else:
            # Newton on g = S + J/(2I) with g' = −I + (J'I − J I')/(2I²) (S' = −I exactly for the GPCM family);
            # where that curvature is not safely negative, Fisher scoring (h = I).
            if fast is None:
                s, info, jj, i1, j1 = _sums(responses, params, theta, rows, True)
            safe = np.maximum(info, 1e-12)
            g = s + np.where(info > 0, jj / (2 * safe), 0.0)
            h = info - (j1 * info - jj * i1) / (2 * safe**2)
            h = np.where(h > 0.5 * info, h, info)
            h = np.maximum(h, 1e-8)
        step = np.clip(g / h, -1.0, 1.0)
        new = np.clip(theta + step, -bound, bound)
        delta = np.abs(new - theta)
        theta = np.where(active, new, theta)
        active &= delta >= tol
        if not active.any():
            converged = True
            break
        if fast is None:
            rows = np.flatnonzero(active[responses.person])
        else:
            who = np.flatnonzero(active)
    if fast is not None:
        info = fast.sums(theta, None)[1]
    else:
        _s, info, _j = derivatives(responses, params, theta)
    return theta, info, converged


def map_estimate(responses: Responses, params: ItemParameters, *, prior_mean: Any = 0.0, prior_sd: Any = 1.0,
                 bound: float = 6.0, max_iter: int = 100, tol: float = 1e-6) -> PersonEstimates:
    """Maximum a posteriori (Bayes modal) estimates with SE (I(θ̂) + 1/σ²)^−½."""
    n_p = responses.n_persons
    mu = _per_person(prior_mean, n_p)
    sd = _per_person(prior_sd, n_p)
    if np.any(sd <= 0):
        raise ValueError("prior SDs must be positive")
    theta, info, ok = _newton(responses, params, mu.copy(), kind="map", mu=mu, sd=sd, bound=bound,
                              max_iter=max_iter, tol=tol)
    n, raw, mx = _counts(responses, params)
    se = 1 / np.sqrt(info + 1 / sd**2)
    return PersonEstimates(persons=responses.persons, theta=theta, se=se, method="map", n_responses=n,
                           raw_score=raw, max_score=mx, at_bound=np.abs(theta) >= bound - 1e-9, converged=ok)


def wle(responses: Responses, params: ItemParameters, *, bound: float = 6.0, max_iter: int = 100,
        tol: float = 1e-6) -> PersonEstimates:
    """Warm's (1989) weighted likelihood estimates with SE I(θ̂)^−½; finite for extreme scores (see module).

    Examples
    --------
    >>> from naeq.engines.irt.data import responses_from_long
    >>> from naeq.engines.irt.simulate import simulate_items
    >>> items = simulate_items("rasch", 5, seed=1)
    >>> r = responses_from_long([1] * 5, list(items.items), [1] * 5, dict.fromkeys(items.items, 1))
    >>> est = wle(r, items)
    >>> bool(np.isfinite(est.theta[0]) and not est.at_bound[0])
    True
    """
    n_p = responses.n_persons
    n, raw, mx = _counts(responses, params)
    # start from the EAP under a wide N(0, 2²) prior (one cheap product on a grid): close to the WLE for all but
    # extreme response vectors, so the Newton iterations over all responses are few
    zero = np.zeros(n_p)
    start = _eap_core(responses, params, zero, zero + 2.0, 49, bound)[0]
    theta, info, ok = _newton(responses, params, start, kind="wle", mu=zero, sd=zero + 1, bound=bound,
                              max_iter=max_iter, tol=tol)
    none = n == 0
    theta = np.where(none, np.nan, theta)
    se = np.where(none | (info <= 0), np.nan, 1 / np.sqrt(np.maximum(info, 1e-300)))
    return PersonEstimates(persons=responses.persons, theta=theta, se=se, method="wle", n_responses=n,
                           raw_score=raw, max_score=mx, at_bound=~none & (np.abs(theta) >= bound - 1e-9),
                           converged=ok)


def estimate_persons(responses: Responses, params: ItemParameters, method: str = "eap", *,
                     calibration: Any = None, **options: Any) -> PersonEstimates:
    """Dispatch to :func:`eap`, :func:`map_estimate` or :func:`wle`. With ``calibration`` (a
    :class:`naeq.engines.irt.calibrate.CalibrationResult` of the same persons) EAP and MAP use each person's
    group mean and SD as the prior."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}")
    if calibration is not None and method != "wle":
        g = calibration.person_group
        options.setdefault("prior_mean", calibration.group_means[g])
        options.setdefault("prior_sd", calibration.group_sds[g])
    if method == "eap":
        return eap(responses, params, **options)
    if method == "map":
        return map_estimate(responses, params, **options)
    return wle(responses, params, **options)
