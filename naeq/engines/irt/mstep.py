"""M-step pieces: the expected complete-data log-likelihood of each item, its gradient and Fisher information,
vectorised across items, plus the per-response score table used for the cross-product standard errors.

Each item j has a free-parameter vector; all items share one padded layout of ``NPAR = Kmax + 1`` slots::

    slot 0          slope a            (free for 2pl, 3pl, gpcm)
    slots 1..Kmax−1 steps b_1..b_{K−1}  (b_1 is the difficulty of a dichotomous item)
    slot Kmax       lower asymptote c   (free for 3pl)

and a boolean ``free`` mask (J, NPAR). Given expected counts r[j, k, q] (E-step) the item's objective is
``Σ_q Σ_k r_jkq log P_jk(θ_q) + log prior``; one Fisher-scoring step solves I Δ = g per item (Bock & Aitkin 1981;
Baker & Kim 2004, ch. 6–7). GPCM family (rasch, 2pl, pcm, gpcm), with z_k = Σ_{v≤k} a (θ − b_v)::

    ∂z_k/∂a = kθ − Σ_{v≤k} b_v,   ∂z_k/∂b_v = −a·[v ≤ k]
    g_p   = Σ_q Σ_k (r_kq − n_q P_kq) ∂z_k/∂p
    I_pp' = Σ_q n_q Cov_{P(·|θ_q)}(∂z/∂p, ∂z/∂p')

3PL with P = c + (1 − c) σ(a(θ − b))::

    g_p   = Σ_q (r_1q − n_q P_q) / (P_q (1 − P_q)) ∂P/∂p
    I_pp' = Σ_q n_q ∂P/∂p ∂P/∂p' / (P_q (1 − P_q))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from naeq.engines.irt.models import ItemParameters, category_probabilities

_EPS = 1e-10


@dataclass(frozen=True)
class Priors:
    """Optional priors on free item parameters (None = no prior).

    ``a``: lognormal (mean of log a, SD of log a) on the free slopes of 2PL and GPCM items; ``a_3pl``: the same on
    3PL slopes; ``b``: normal (mean, SD) on difficulties and steps; ``c``: beta (α, β) on 3PL lower asymptotes.
    The defaults regularise the 3PL only: Beta(5, 17) on c (mode 0.2, the guessing rate of a five-option item) and
    lognormal(0, 0.5) on its slope — without them the asymptote is barely identified and the slope of a hard 3PL
    item can run off to infinity (a ridge of the likelihood), as seen in simulation.
    """

    a: tuple[float, float] | None = None
    b: tuple[float, float] | None = None
    c: tuple[float, float] | None = (5.0, 17.0)
    a_3pl: tuple[float, float] | None = (0.0, 0.5)


NO_PRIORS = Priors(a=None, b=None, c=None, a_3pl=None)


def pack(params: ItemParameters) -> NDArray[np.float64]:
    """(J, Kmax+1) parameter vectors in the slot layout above (NaN-free: padded slots 0)."""
    kmax = params.max_categories
    x = np.zeros((len(params), kmax + 1))
    x[:, 0] = params.a
    x[:, 1:kmax] = np.nan_to_num(params.b[:, : kmax - 1], nan=0.0)
    x[:, kmax] = params.c
    return x


def unpack(x: NDArray[np.float64], template: ItemParameters) -> ItemParameters:
    kmax = template.max_categories
    return ItemParameters(items=template.items, model=template.model, a=x[:, 0], b=x[:, 1:kmax], c=x[:, kmax],
                          n_categories=template.n_categories)


def free_mask(params: ItemParameters, estimate: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """(J, Kmax+1) True where a parameter is estimated (``estimate`` False for fixed anchor items)."""
    kmax = params.max_categories
    m = np.zeros((len(params), kmax + 1), dtype=bool)
    m[:, 0] = np.isin(params.model, ["2pl", "3pl", "gpcm"])
    m[:, 1:kmax] = np.arange(kmax - 1)[None, :] < (params.n_categories - 1)[:, None]
    m[:, kmax] = params.model == "3pl"
    m &= estimate[:, None]
    return m


def _gpcm_derivatives(x: NDArray[np.float64], kmax: int, nodes: NDArray[np.float64]) -> NDArray[np.float64]:
    """D[j, p, k, q] = ∂z_jk(θ_q)/∂(slot p) for the GPCM family; shape (J, Kmax+1, Kmax, Q)."""
    j, q = x.shape[0], len(nodes)
    a = x[:, 0]
    b = x[:, 1:kmax]
    cum_b = np.concatenate([np.zeros((j, 1)), np.cumsum(b, axis=1)], axis=1)            # (J, K)
    k = np.arange(kmax, dtype=np.float64)
    d = np.zeros((j, kmax + 1, kmax, q))
    d[:, 0] = k[None, :, None] * nodes[None, None, :] - cum_b[:, :, None]
    step_le = (np.arange(1, kmax)[:, None] <= np.arange(kmax)[None, :]).astype(np.float64)  # (K-1, K): v ≤ k
    d[:, 1:kmax] = (-a[:, None, None] * step_le[None, :, :])[..., None]
    return d


def _three_pl_parts(x: NDArray[np.float64], kmax: int, nodes: NDArray[np.float64]) -> tuple[
        NDArray[np.float64], NDArray[np.float64]]:
    """(P (J, Q), dP (J, Kmax+1, Q)) for 3PL items (only slots 0, 1, Kmax non-zero)."""
    a, b, c = x[:, 0], x[:, 1], x[:, kmax]
    ps = 1.0 / (1.0 + np.exp(-a[:, None] * (nodes[None, :] - b[:, None])))
    p = c[:, None] + (1 - c[:, None]) * ps
    dp = np.zeros((x.shape[0], kmax + 1, len(nodes)))
    w = (1 - c[:, None]) * ps * (1 - ps)
    dp[:, 0] = w * (nodes[None, :] - b[:, None])
    dp[:, 1] = -w * a[:, None]
    dp[:, kmax] = 1 - ps
    return p, dp


def score_table(params: ItemParameters, nodes: NDArray[np.float64]) -> NDArray[np.float64]:
    """T[j, k, p, q] = ∂ log P_jk(θ_q) / ∂(slot p); shape (J, Kmax, Kmax+1, Q) (entries for unused slots are
    meaningless and masked by the caller)."""
    kmax = params.max_categories
    x = pack(params)
    prob = category_probabilities(nodes, params).transpose(0, 2, 1)                      # (J, K, Q)
    d = _gpcm_derivatives(x, kmax, nodes)                                                # (J, NP, K, Q)
    dbar = np.einsum("jkq,jpkq->jpq", prob, d)
    t = (d - dbar[:, :, None, :]).transpose(0, 2, 1, 3)                                  # (J, K, NP, Q)
    three = np.flatnonzero(params.model == "3pl")
    if len(three):
        p, dp = _three_pl_parts(x[three], kmax, nodes)
        p = np.clip(p, _EPS, 1 - _EPS)
        t[three] = 0.0
        t[three, 1] = dp / p[:, None, :]
        t[three, 0] = -dp / (1 - p[:, None, :])
    return np.asarray(t)


def gradient_information(x: NDArray[np.float64], template: ItemParameters, counts: NDArray[np.float64],
                         nodes: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64],
                                                              NDArray[np.float64]]:
    """Gradient (J, NP), Fisher information (J, NP, NP) and objective (J,) of the expected complete-data
    log-likelihood of every item at parameters ``x``; ``counts`` is r (J, Kmax, Q)."""
    kmax = template.max_categories
    params = unpack(x, template)
    prob = category_probabilities(nodes, params).transpose(0, 2, 1)                      # (J, K, Q)
    n = counts.sum(axis=1)                                                               # (J, Q)
    obj = np.einsum("jkq,jkq->j", counts, np.log(np.maximum(prob, 1e-300)) * (prob > 0))
    d = _gpcm_derivatives(x, kmax, nodes)
    resid = counts - n[:, None, :] * prob
    grad = np.einsum("jkq,jpkq->jp", resid, d)
    dbar = np.einsum("jkq,jpkq->jpq", prob, d)
    info = (np.einsum("jq,jkq,jpkq,jrkq->jpr", n, prob, d, d, optimize=True)
            - np.einsum("jq,jpq,jrq->jpr", n, dbar, dbar, optimize=True))
    three = np.flatnonzero(template.model == "3pl")
    if len(three):
        p, dp = _three_pl_parts(x[three], kmax, nodes)
        p = np.clip(p, _EPS, 1 - _EPS)
        r1 = counts[three, 1]
        nn = n[three]
        grad[three] = np.einsum("jq,jpq->jp", (r1 - nn * p) / (p * (1 - p)), dp)
        info[three] = np.einsum("jq,jpq,jrq->jpr", nn / (p * (1 - p)), dp, dp)
    return grad, info, obj


def objective(x: NDArray[np.float64], template: ItemParameters, counts: NDArray[np.float64],
              nodes: NDArray[np.float64]) -> NDArray[np.float64]:
    """Σ_q Σ_k r_jkq log P_jk(θ_q) per item; (J,)."""
    prob = category_probabilities(nodes, unpack(x, template)).transpose(0, 2, 1)
    return np.asarray(np.einsum("jkq,jkq->j", counts, np.log(np.maximum(prob, 1e-300)) * (prob > 0)))


def prior_terms(x: NDArray[np.float64], free: NDArray[np.bool_], kmax: int, priors: Priors) -> tuple[
        NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Log prior (J,), its gradient (J, NP) and a positive curvature (J, NP) for the free parameters."""
    j, npar = x.shape
    lp = np.zeros(j)
    g = np.zeros((j, npar))
    h = np.zeros((j, npar))
    three = free[:, kmax]                      # c is free exactly for the estimated 3PL items
    for spec, m in ((priors.a, free[:, 0] & ~three), (priors.a_3pl, free[:, 0] & three)):
        if spec is None or not m.any():
            continue
        mu, sd = spec
        a = np.maximum(x[:, 0], _EPS)
        la = np.log(a)
        lp += np.where(m, -la - (la - mu) ** 2 / (2 * sd * sd), 0.0)
        g[:, 0] = np.where(m, -1 / a - (la - mu) / (sd * sd * a), g[:, 0])
        curv = (1 / (sd * sd) - 1 - (la - mu) / (sd * sd)) / (a * a)
        h[:, 0] = np.where(m, np.maximum(curv, 1 / (sd * sd * a * a)), h[:, 0])
    if priors.b is not None:
        mu, sd = priors.b
        bs = x[:, 1:kmax]
        m = free[:, 1:kmax]
        lp += np.where(m, -((bs - mu) ** 2) / (2 * sd * sd), 0.0).sum(axis=1)
        g[:, 1:kmax] = np.where(m, -(bs - mu) / (sd * sd), 0.0)
        h[:, 1:kmax] = np.where(m, 1 / (sd * sd), 0.0)
    if priors.c is not None:
        al, be = priors.c
        c = np.clip(x[:, kmax], _EPS, 1 - _EPS)
        m = free[:, kmax]
        lp += np.where(m, (al - 1) * np.log(c) + (be - 1) * np.log(1 - c), 0.0)
        g[:, kmax] = np.where(m, (al - 1) / c - (be - 1) / (1 - c), 0.0)
        h[:, kmax] = np.where(m, (al - 1) / c**2 + (be - 1) / (1 - c) ** 2, 0.0)
    return lp, g, h


def fisher_step(x: NDArray[np.float64], free: NDArray[np.bool_], template: ItemParameters,
                counts: NDArray[np.float64], nodes: NDArray[np.float64], priors: Priors,
                max_step: float = 1.0) -> NDArray[np.float64]:
    """One Fisher-scoring step for every item at once (fixed slots untouched), with step halving on items whose
    penalised objective would decrease and steps capped at ``max_step`` per parameter."""
    kmax = template.max_categories
    grad, info, obj = gradient_information(x, template, counts, nodes)
    lp, gp, hp = prior_terms(x, free, kmax, priors)
    grad = np.where(free, grad + gp, 0.0)
    idx = np.arange(x.shape[1])
    info = info * (free[:, :, None] & free[:, None, :])
    info[:, idx, idx] += hp
    info[:, idx, idx] += np.where(free, 1e-8, 1.0)
    delta = np.linalg.solve(info, grad[..., None])[..., 0]
    delta = np.clip(delta, -max_step, max_step)
    base = obj + lp
    step = np.ones(x.shape[0])
    new = x.copy()
    for _ in range(6):
        new = constrain(x + step[:, None] * delta, free, kmax)
        nobj = objective(new, template, counts, nodes)
        nlp = prior_terms(new, free, kmax, priors)[0]
        worse = (nobj + nlp) < base - 1e-9 * np.maximum(1.0, np.abs(base))
        if not worse.any():
            break
        step = np.where(worse, step / 2, step)
    else:
        new = np.where(worse[:, None], x, new)
    return new


def constrain(x: NDArray[np.float64], free: NDArray[np.bool_], kmax: int) -> NDArray[np.float64]:
    out = x.copy()
    out[:, 0] = np.where(free[:, 0], np.clip(out[:, 0], 0.02, 20.0), out[:, 0])
    out[:, 1:kmax] = np.where(free[:, 1:kmax], np.clip(out[:, 1:kmax], -30.0, 30.0), out[:, 1:kmax])
    out[:, kmax] = np.where(free[:, kmax], np.clip(out[:, kmax], 1e-4, 0.95), out[:, kmax])
    return out
