"""Population model and plausible values: a latent regression on background variables reduced by principal
components (conditioning), fitted by EM over a fixed quadrature, and plausible values drawn from each person's
posterior (Mislevy 1991; Mislevy, Beaton, Kaplan & Sheehan 1992; von Davier, Sinharay, Oranje & Beaton 2006).

The model, for person ``i`` in group ``g(i)`` with conditioning vector ``c_i`` (intercept, group dummies,
principal-component scores of the background variables)::

    θ_i ~ N(c_i' Γ, σ²_{g(i)})                    (population / conditioning model)
    P(x_i | θ)  = exp ℓ_i(θ)                       (item response model, item parameters fixed)

Everything the population model needs from the item response model is ``ℓ_iq = log P(x_i | θ_q)`` at the
quadrature nodes ``θ_q`` — the (P, Q) matrix returned by :func:`naeq.engines.irt.likelihood.log_likelihood`.
The posterior of person ``i`` at node ``q`` is ``w_iq ∝ exp(ℓ_iq) φ(θ_q; c_i'Γ, σ²_g) Δ_q`` (``Δ_q`` the width of
the node's cell). EM (the posterior-moment form of Mislevy 1991 and von Davier et al. 2006, §4):

* E-step: posterior mean ``m_i = Σ_q w_iq θ_q`` and variance ``v_i = Σ_q w_iq θ_q² − m_i²``;
* M-step (weighted least squares on the posterior means): ``Γ = (C'WC)⁻¹ C'W m`` and
  ``σ²_g = Σ_{i∈g} w_i [v_i + (m_i − c_i'Γ)²] / Σ_{i∈g} w_i``.

Each step does not decrease the marginal log-likelihood ``Σ_i w_i log Σ_q exp(ℓ_iq) φ(θ_q; c_i'Γ, σ²_g) Δ_q``.

Each plausible value ``m`` first draws the regression coefficients ``Γ^(m) ~ N(Γ̂, Cov Γ̂)`` (NAEP's procedure;
``Cov Γ̂`` from the observed information by Louis's 1982 formula), so that the spread between plausible values
includes the uncertainty of the population model. It is then drawn from the person's posterior under
``N(c_i'Γ^(m), σ²_g)``: a node is drawn with probability
``w_iq``, then a uniform jitter within the node's cell makes the draw continuous (the posterior becomes a
histogram density). The jitter adds ``Δ_q²/12`` to the variance (Sheppard's correction read backwards), so every
draw is shrunk towards the person's posterior mean by ``√(v_i / (v_i + Δ̄_i²/12))`` (``Δ̄_i²`` the posterior mean of
the squared cell width): the draws then have the posterior mean and variance of the quadrature exactly in
expectation, and the error of the quadrature itself is that of the trapezoid rule on a smooth integrand (tiny for
spacings ≤ 0.2 on the logit metric). The draws are made on a fine grid (spacing 0.1 by default) to which each
person's log-likelihood is interpolated by a cubic spline, so their shape — not only their two moments — follows
the posterior even when the calibration's grid is coarse. Person order never changes a person's draws when
``keys`` are given.

Background variables are standardised (continuous: z-scores; categorical: dummy codes of every level but the
first, each then standardised; a missing value: its own 0/1 missing-indicator column, the value set to the mean),
then reduced to the principal components that explain a configured share of their variance (NAEP keeps 90%, PISA
80%): the components are uncorrelated, so the regression stays well conditioned with hundreds of contrasts.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import interpolate

from naeq.engines.errors import ConvergenceWarning, EngineError

__all__ = [
    "BackgroundMatrix",
    "LatentRegression",
    "PlausibleValues",
    "PopulationModel",
    "PrincipalComponents",
    "background_matrix",
    "draw_plausible_values",
    "plausible_values",
    "posterior_moments",
    "principal_components",
]

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def _readonly(a: NDArray[Any]) -> NDArray[Any]:
    a.setflags(write=False)
    return a


# --------------------------------------------------------------------------------------------------------- input


def _check_loglik(loglik: Any, nodes: Any) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    ll = np.asarray(loglik, dtype=np.float64)
    th = np.asarray(nodes, dtype=np.float64).reshape(-1)
    if ll.ndim != 2:
        raise ValueError(f"loglik must be a (persons, nodes) matrix, got shape {ll.shape}")
    if ll.shape[1] != len(th):
        raise ValueError(f"loglik has {ll.shape[1]} columns but there are {len(th)} quadrature nodes")
    if len(th) < 3:
        raise ValueError("need at least 3 quadrature nodes")
    if not np.all(np.isfinite(th)) or np.any(np.diff(th) <= 0):
        raise ValueError("quadrature nodes must be finite and strictly increasing")
    if ll.shape[0] == 0:
        raise EngineError("no persons: the log-likelihood matrix is empty", code="empty")
    if not np.all(np.isfinite(ll)):
        i = int(np.flatnonzero(~np.isfinite(ll).all(axis=1))[0])
        raise EngineError(f"the log-likelihood of person row {i} is not finite (NaN or infinity); check the item "
                          "parameters and the responses of that person", code="non_finite")
    return ll, th


def _cells(nodes: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Cell bounds (midpoints between nodes; the outer cells symmetric about their node) and widths."""
    mid = 0.5 * (nodes[1:] + nodes[:-1])
    lo = np.concatenate([[nodes[0] - (mid[0] - nodes[0])], mid])
    hi = np.concatenate([mid, [nodes[-1] + (nodes[-1] - mid[-1])]])
    return lo, hi - lo


def _weights(weights: Any, n: int) -> NDArray[np.float64]:
    if weights is None:
        return np.ones(n)
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    if len(w) != n:
        raise ValueError(f"weights has {len(w)} entries, expected {n} (one per person)")
    if not np.all(np.isfinite(w)):
        raise EngineError("weights must be finite (no NaN or infinity)", code="non_finite")
    if np.any(w < 0) or w.sum() <= 0:
        raise EngineError("weights must be non-negative and not all zero", code="bad_weights")
    return w


def _groups(groups: Any, n: int) -> tuple[tuple[Any, ...], NDArray[np.int64]]:
    if groups is None:
        return ("all",), np.zeros(n, dtype=np.int64)
    g = np.asarray(groups).reshape(-1)
    if len(g) != n:
        raise ValueError(f"groups has {len(g)} entries, expected {n} (one per person)")
    if g.dtype.kind == "f" and not np.all(np.isfinite(g)):
        raise EngineError("group labels must not be NaN", code="non_finite")
    labels, inv = np.unique(g, return_inverse=True)
    return tuple(labels.tolist()), inv.astype(np.int64)


# ---------------------------------------------------------------------------------------------- background data


@dataclass(frozen=True)
class BackgroundMatrix:
    """Standardised background contrasts, one row per person.

    Attributes
    ----------
    matrix : (N, K) columns with weighted mean 0 and SD 1 (constant columns dropped)
    columns : names of the K columns: ``var`` (continuous), ``var=level`` (dummy), ``var:missing`` (indicator)
    dropped : names of contrasts dropped for being constant
    """

    matrix: NDArray[np.float64]
    columns: tuple[str, ...]
    dropped: tuple[str, ...]


def background_matrix(variables: Mapping[str, Any], *, categorical: Sequence[str] = (),
                      weights: Any = None) -> BackgroundMatrix:
    """Contrast-code and standardise background variables.

    Parameters
    ----------
    variables : mapping name -> (N,) values. Continuous variables: numbers, NaN for missing. Categorical
        variables (named in ``categorical``): any labels, ``None`` or NaN for missing; every level but the first
        (in sorted order) gets a 0/1 dummy.
    categorical : names of the categorical variables.
    weights : (N,) person weights for the means and SDs (default equal).

    Returns
    -------
    BackgroundMatrix
        Missing values: a 0/1 ``name:missing`` column, and the value itself replaced by the observed mean (so it
        is 0 after standardising). Constant columns are dropped (listed in ``dropped``).

    Examples
    --------
    >>> bg = background_matrix({"sex": np.array(["f", "m", "m", "f"]), "ses": np.array([0.1, np.nan, 1.0, -1])},
    ...                        categorical=["sex"])
    >>> bg.columns
    ('sex=m', 'ses', 'ses:missing')
    """
    names = list(variables)
    unknown = set(categorical) - set(names)
    if unknown:
        raise ValueError(f"categorical names not among the variables: {sorted(unknown)}")
    if not names:
        raise ValueError("no background variables given")
    n = len(np.asarray(variables[names[0]]).reshape(-1))
    w = _weights(weights, n)
    cols: list[NDArray[np.float64]] = []
    labels: list[str] = []
    for name in names:
        raw = np.asarray(variables[name]).reshape(-1)
        if len(raw) != n:
            raise ValueError(f"background variable {name!r} has {len(raw)} values, expected {n}")
        if name in categorical:
            obj = raw.astype(object)
            miss = np.array([v is None or (isinstance(v, float) and math.isnan(v)) for v in obj.tolist()],
                            dtype=bool)
            levels = sorted({str(v) for v in obj[~miss].tolist()})
            as_str = np.array([str(v) for v in obj.tolist()], dtype=object)
            for lev in levels[1:]:
                cols.append(((as_str == lev) & ~miss).astype(np.float64))
                labels.append(f"{name}={lev}")
        else:
            try:
                x = raw.astype(np.float64)
            except (TypeError, ValueError):
                raise EngineError(f"background variable {name!r} is not numeric; declare it categorical",
                                  code="not_numeric") from None
            if np.any(np.isinf(x)):
                raise EngineError(f"background variable {name!r} has an infinite value", code="non_finite")
            miss = np.isnan(x)
            if miss.all():
                raise EngineError(f"background variable {name!r} has no observed value", code="all_missing")
            wo = w[~miss]
            fill = float(np.sum(wo * x[~miss]) / wo.sum()) if wo.sum() > 0 else float(np.mean(x[~miss]))
            cols.append(np.where(miss, fill, x))
            labels.append(name)
        if miss.any():
            cols.append(miss.astype(np.float64))
            labels.append(f"{name}:missing")
    mat = np.column_stack(cols) if cols else np.zeros((n, 0))
    mean = w @ mat / w.sum()
    sd = np.sqrt(w @ (mat - mean) ** 2 / w.sum())
    keep = sd > 1e-12 * np.maximum(1.0, np.abs(mean))
    z = (mat[:, keep] - mean[keep]) / sd[keep]
    return BackgroundMatrix(matrix=_readonly(z), columns=tuple(np.array(labels)[keep].tolist()),
                            dropped=tuple(np.array(labels)[~keep].tolist()))


@dataclass(frozen=True)
class PrincipalComponents:
    """Principal components of a standardised background matrix.

    Attributes
    ----------
    scores : (N, k) component scores (weighted mean 0; variance = the component's eigenvalue)
    loadings : (K, k) eigenvectors (columns)
    explained : (k,) share of the total variance explained by each kept component
    variance_target : the share that was asked for
    """

    scores: NDArray[np.float64]
    loadings: NDArray[np.float64]
    explained: NDArray[np.float64]
    variance_target: float

    @property
    def n_components(self) -> int:
        return int(self.scores.shape[1])


def principal_components(matrix: Any, *, variance: float = 0.9, max_components: int | None = None,
                         weights: Any = None) -> PrincipalComponents:
    """Keep the fewest principal components whose cumulative share of variance reaches ``variance``.

    The components are the eigenvectors of the weighted covariance ``Z'WZ / Σw`` (computed by an SVD of
    ``W^½ Z``), in decreasing order of eigenvalue; ``max_components`` caps their number (NAEP also caps it at a
    fraction of the sample size). Signs are fixed so that each loading vector's largest entry is positive (so the
    result does not depend on the SVD routine or the row order).
    """
    z = np.asarray(matrix, dtype=np.float64)
    if z.ndim != 2:
        raise ValueError("matrix must be two-dimensional")
    if not 0 < variance <= 1:
        raise ValueError("variance must lie in (0, 1]")
    if not np.all(np.isfinite(z)):
        raise EngineError("the background matrix has NaN or infinite values", code="non_finite")
    n, k = z.shape
    w = _weights(weights, n)
    if k == 0:
        return PrincipalComponents(scores=_readonly(np.zeros((n, 0))), loadings=_readonly(np.zeros((0, 0))),
                                   explained=_readonly(np.zeros(0)), variance_target=variance)
    zc = z - w @ z / w.sum()
    _, s, vt = np.linalg.svd(np.sqrt(w / w.sum())[:, None] * zc, full_matrices=False)
    eig = s**2
    total = eig.sum()
    if total <= 0:
        return PrincipalComponents(scores=_readonly(np.zeros((n, 0))), loadings=_readonly(np.zeros((k, 0))),
                                   explained=_readonly(np.zeros(0)), variance_target=variance)
    share = eig / total
    m = int(np.searchsorted(np.cumsum(share), variance - 1e-12) + 1)
    m = min(m, len(eig), max_components if max_components is not None else len(eig))
    v = vt[:m].T.copy()
    flip = np.sign(v[np.argmax(np.abs(v), axis=0), np.arange(m)])
    v *= flip
    return PrincipalComponents(scores=_readonly(zc @ v), loadings=_readonly(v), explained=_readonly(share[:m]),
                               variance_target=variance)


# ---------------------------------------------------------------------------------------------- the population


@dataclass(frozen=True)
class PopulationModel:
    """A fitted latent regression ``θ_i ~ N(c_i'Γ, σ²_g(i))``.

    Attributes
    ----------
    gamma : (p,) regression coefficients on the conditioning columns
    columns : names of the p conditioning columns (``intercept``, ``group=<label>``, ``pc1``...)
    groups : group labels (in sorted order); ``sigma`` : (G,) residual SD per group
    prior_mean, prior_sd : (N,) each person's prior (the regression prediction and the group's residual SD)
    posterior_mean, posterior_sd : (N,) each person's posterior moments at the final parameters (the EAP under
        the conditioning model)
    group_mean, group_sd : (G,) the weighted marginal mean and SD of θ in each group implied by the model
        (mean of the predictions; SD from residual variance plus the variance of the predictions)
    loglik : the marginal log-likelihood at the final parameters; ``n_iter``, ``converged``
    components : the principal components used (None without background variables)
    gamma_cov : (p, p) covariance of ``gamma`` from the observed information of the regression coefficients
        and residual variances (Louis 1982; see :func:`_gamma_covariance`); it treats the weights as frequency
        weights normalised to the sample size, so it understates the variance of unequally weighted samples
    design : (N, p) the conditioning matrix ``C`` (rows as given)
    """

    gamma: NDArray[np.float64]
    columns: tuple[str, ...]
    groups: tuple[Any, ...]
    sigma: NDArray[np.float64]
    prior_mean: NDArray[np.float64]
    prior_sd: NDArray[np.float64]
    posterior_mean: NDArray[np.float64]
    posterior_sd: NDArray[np.float64]
    group_mean: NDArray[np.float64]
    group_sd: NDArray[np.float64]
    loglik: float
    n_iter: int
    converged: bool
    components: PrincipalComponents | None
    gamma_cov: NDArray[np.float64] = field(repr=False)
    design: NDArray[np.float64] = field(repr=False)

    def draw_prior_means(self, n_draws: int, rng: np.random.Generator) -> NDArray[np.float64]:
        """(N, M) prior means ``c_i'Γ^(m)`` with ``Γ^(m) ~ N(Γ̂, gamma_cov)``: one regression per plausible
        value, so the values carry the uncertainty of the conditioning model (Mislevy 1991; von Davier et al.
        2006, §4.3)."""
        chol = _psd_factor(np.asarray(self.gamma_cov))
        draws = self.gamma[None, :] + rng.standard_normal((n_draws, len(self.gamma))) @ chol.T
        return np.asarray(self.design @ draws.T)


def _gamma_covariance(p: NDArray[np.float64], nodes: NDArray[np.float64], c: NDArray[np.float64],
                      mu: NDArray[np.float64], sd: NDArray[np.float64], gidx: NDArray[np.int64], n_groups: int,
                      w: NDArray[np.float64]) -> NDArray[np.float64]:
    """Covariance of Γ̂ from the observed information of (Γ, σ²_1..σ²_G) by Louis's (1982) formula
    ``I = Σ_i w̃_i (E[−∂²ℓ_ci] − Var[∂ℓ_ci])`` (posterior expectations per person; ``w̃`` the weights normalised to
    the number of persons with positive weight). With δ = θ − μ_i and its posterior moments ``m_k = E[δ^k]``::

        I_ΓΓ  = Σ w̃ c c' (1/σ² − (m2 − m1²)/σ⁴)
        I_Γσ² = Σ w̃ c (m1/σ⁴ − (m3 − m1 m2)/(2σ⁶))
        I_σ²σ² = Σ w̃ (−1/(2σ⁴) + m2/σ⁶ − (m4 − m2²)/(4σ⁸))

    The Γ block of the inverse is returned: it accounts for the correlation of the intercept with the residual
    variance (non-zero when the posteriors are skewed, as with short tests)."""
    wn = w * (np.count_nonzero(w) / w.sum())
    d = nodes[None, :] - mu[:, None]
    d2 = d * d
    m1 = np.einsum("iq,iq->i", p, d)
    m2 = np.einsum("iq,iq->i", p, d2)
    m3 = np.einsum("iq,iq->i", p, d2 * d)
    m4 = np.einsum("iq,iq->i", p, d2 * d2)
    s2 = sd**2
    k = c.shape[1]
    info = np.zeros((k + n_groups, k + n_groups))
    info[:k, :k] = c.T @ (c * (wn * (1.0 / s2 - (m2 - m1 * m1) / s2**2))[:, None])
    cross = wn * (m1 / s2**2 - (m3 - m1 * m2) / (2.0 * s2**3))
    ss = wn * (-0.5 / s2**2 + m2 / s2**3 - (m4 - m2 * m2) / (4.0 * s2**4))
    for g in range(n_groups):
        sel = gidx == g
        info[:k, k + g] = info[k + g, :k] = c[sel].T @ cross[sel]
        info[k + g, k + g] = ss[sel].sum()
    cov = np.linalg.pinv(info, hermitian=True)[:k, :k]
    return np.asarray(0.5 * (cov + cov.T))


def _psd_factor(cov: NDArray[np.float64]) -> NDArray[np.float64]:
    """A factor ``L`` with ``L Lᵀ = cov`` for a symmetric positive semi-definite matrix (eigen-decomposition, so a
    singular covariance is fine)."""
    vals, vecs = np.linalg.eigh(0.5 * (cov + cov.T))
    return np.asarray(vecs * np.sqrt(np.clip(vals, 0.0, None))[None, :])


def _posterior(ll: NDArray[np.float64], nodes: NDArray[np.float64], log_width: NDArray[np.float64],
               mu: NDArray[np.float64], sd: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Normalised posterior weights (N, Q) and the per-person log marginal likelihood (N,).

    ``log φ(θ; μ, s²) = θ μ/s² − θ²/(2s²) + [−μ²/(2s²) − log s − ½ log 2π]``: the θ-dependent part is added as two
    rank-one updates and the bracket, constant per person, only to the log marginal likelihood."""
    inv = 1.0 / (sd * sd)
    lp = np.outer(mu * inv, nodes)
    lp += np.outer(-0.5 * inv, nodes * nodes)
    lp += ll
    lp += log_width[None, :]
    top = lp.max(axis=1, keepdims=True)
    lp -= top
    p = np.exp(lp, out=lp)
    tot = p.sum(axis=1, keepdims=True)
    p /= tot
    const = -0.5 * mu * mu * inv - np.log(sd) - _LOG_SQRT_2PI
    return p, top[:, 0] + np.log(tot[:, 0]) + const


def posterior_moments(loglik: Any, nodes: Any, prior_mean: Any = 0.0, prior_sd: Any = 1.0
                      ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """EAP and posterior SD of every person under normal priors ``N(prior_mean_i, prior_sd_i²)`` (scalars or
    (N,) arrays), by quadrature over ``nodes``: ``m_i = Σ_q w_iq θ_q``, ``sd_i = (Σ_q w_iq θ_q² − m_i²)^½``."""
    ll, th = _check_loglik(loglik, nodes)
    n = ll.shape[0]
    mu = np.broadcast_to(np.asarray(prior_mean, dtype=np.float64), (n,))
    sd = np.broadcast_to(np.asarray(prior_sd, dtype=np.float64), (n,))
    if not (np.all(np.isfinite(mu)) and np.all(np.isfinite(sd)) and np.all(sd > 0)):
        raise ValueError("prior means must be finite and prior SDs positive")
    _, width = _cells(th)
    p, _ = _posterior(ll, th, np.log(width), mu, sd)
    m = p @ th
    v = np.maximum(p @ (th * th) - m * m, 0.0)
    return m, np.sqrt(v)


@dataclass(frozen=True)
class LatentRegression:
    """Configuration of the conditioning model (scikit-learn style: configuration here, data in :meth:`fit`).

    Parameters
    ----------
    variance : share of the background variance the kept principal components must explain (NAEP 0.90)
    max_components : cap on the number of components (default: no cap beyond ``N // 10``, so the regression
        keeps at least ten persons per coefficient)
    max_iter, tol : EM stops when the largest change of a coefficient or a residual SD is below ``tol``
        (in θ units), or after ``max_iter`` iterations with a :class:`ConvergenceWarning`
    group_means : add a dummy for every group but the first (so groups have free means); default True
    """

    variance: float = 0.9
    max_components: int | None = None
    max_iter: int = 1000
    tol: float = 1e-5
    group_means: bool = True

    def fit(self, loglik: Any, nodes: Any, background: Any = None, *, groups: Any = None,
            weights: Any = None) -> PopulationModel:
        """Fit ``θ ~ N(c'Γ, σ²_g)`` by EM over the quadrature.

        Parameters
        ----------
        loglik : (N, Q) ``log P(x_i | θ_q)``, finite
        nodes : (Q,) strictly increasing quadrature nodes (e.g. 61 points on [−6, 6]); the posterior moments and
            the draws are as precise as this grid is fine
        background : None (no conditioning: N(μ_g, σ_g) per group), a :class:`BackgroundMatrix`, or an (N, K)
            already standardised matrix; reduced to principal components by ``variance`` / ``max_components``
        groups : (N,) group labels (grade, year, ...): each group has its own residual variance (and mean)
        weights : (N,) person weights (sampling weights); default equal
        """
        ll, th = _check_loglik(loglik, nodes)
        n = ll.shape[0]
        w = _weights(weights, n)
        labels, gidx = _groups(groups, n)
        n_groups = len(labels)
        design = [np.ones(n)]
        names = ["intercept"]
        if self.group_means:
            for g in range(1, n_groups):
                design.append((gidx == g).astype(np.float64))
                names.append(f"group={labels[g]}")
        comps: PrincipalComponents | None = None
        if background is not None:
            mat = background.matrix if isinstance(background, BackgroundMatrix) else np.asarray(background)
            mat = np.asarray(mat, dtype=np.float64)
            if mat.ndim != 2 or mat.shape[0] != n:
                raise ValueError(f"background must have {n} rows (one per person), got shape {mat.shape}")
            cap = self.max_components if self.max_components is not None else max(1, n // 10)
            comps = principal_components(mat, variance=self.variance, max_components=cap, weights=w)
            sd = np.sqrt(w @ comps.scores**2 / w.sum())     # weighted mean is 0 by construction
            sd[sd == 0] = 1.0
            for j in range(comps.n_components):
                design.append(comps.scores[:, j] / sd[j])
                names.append(f"pc{j + 1}")
        c = np.column_stack(design)
        wc = c * w[:, None]
        gram = c.T @ wc
        if np.linalg.matrix_rank(gram) < c.shape[1]:
            raise EngineError("the conditioning model is not identified: a group has no person with positive "
                              "weight, or the background columns are collinear", code="singular")
        _, width = _cells(th)
        log_width = np.log(width)
        wg = np.bincount(gidx, weights=w, minlength=n_groups)
        if np.any(wg <= 0):
            raise EngineError("every group needs a person with positive weight", code="bad_weights")

        # Start: the posterior means under N(0, 1) regressed on c, residual SD 1.
        m, _sd0 = posterior_moments(ll, th)
        gamma = np.linalg.solve(gram, wc.T @ m)
        sigma = np.ones(n_groups)
        converged = False
        it = 0
        for it in range(1, self.max_iter + 1):  # noqa: B007  (it is reported)
            mu = c @ gamma
            p, _ = _posterior(ll, th, log_width, mu, sigma[gidx])
            m = p @ th
            v = np.maximum(p @ (th * th) - m * m, 0.0)
            new_gamma = np.linalg.solve(gram, wc.T @ m)
            r = m - c @ new_gamma
            new_sigma = np.sqrt(np.bincount(gidx, weights=w * (v + r * r), minlength=n_groups) / wg)
            new_sigma = np.maximum(new_sigma, 1e-3)
            step = max(float(np.max(np.abs(new_gamma - gamma))), float(np.max(np.abs(new_sigma - sigma))))
            gamma, sigma = new_gamma, new_sigma
            if step < self.tol:
                converged = True
                break
        if not converged:
            warnings.warn(f"latent regression EM stopped after {self.max_iter} iterations before the tolerance "
                          f"{self.tol} was met", ConvergenceWarning, stacklevel=2)
        mu = c @ gamma
        sd_i = sigma[gidx]
        p, lml = _posterior(ll, th, log_width, mu, sd_i)
        pm = p @ th
        pv = np.maximum(p @ (th * th) - pm * pm, 0.0)
        gamma_cov = _gamma_covariance(p, th, c, mu, sd_i, gidx, n_groups, w)
        gmean = np.bincount(gidx, weights=w * mu, minlength=n_groups) / wg
        gvar = np.bincount(gidx, weights=w * (mu - gmean[gidx]) ** 2, minlength=n_groups) / wg + sigma**2
        return PopulationModel(
            gamma=_readonly(gamma), columns=tuple(names), groups=labels, sigma=_readonly(sigma),
            prior_mean=_readonly(mu), prior_sd=_readonly(np.array(sd_i)), posterior_mean=_readonly(pm),
            posterior_sd=_readonly(np.sqrt(pv)), group_mean=_readonly(gmean), group_sd=_readonly(np.sqrt(gvar)),
            loglik=float(w @ lml), n_iter=it, converged=converged, components=comps,
            gamma_cov=_readonly(gamma_cov), design=_readonly(c))


# ---------------------------------------------------------------------------------------------- plausible values


@dataclass(frozen=True)
class PlausibleValues:
    """Plausible values and the model they were drawn from.

    Attributes
    ----------
    values : (N, M) the M plausible values of every person (θ metric)
    posterior_mean, posterior_sd : (N,) the posterior moments the draws reproduce in expectation
    model : the :class:`PopulationModel` (None when drawn from given priors)
    seed : the seed or generator description used
    """

    values: NDArray[np.float64]
    posterior_mean: NDArray[np.float64]
    posterior_sd: NDArray[np.float64]
    model: PopulationModel | None
    seed: Any

    @property
    def n_draws(self) -> int:
        return int(self.values.shape[1])


def _rng(seed: Any) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        raise ValueError("give an explicit seed or numpy.random.Generator (results must reproduce)")
    return np.random.default_rng(seed)


def _draw(logpost: NDArray[np.float64], grid: NDArray[np.float64], lo: NDArray[np.float64],
          width: NDArray[np.float64], u: NDArray[np.float64]
          ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Draws (n, k) from the posteriors of n persons given their unnormalised log posterior on ``grid``
    (overwritten: the work is done in place to bound memory and time) and uniforms u (n, k, 2); and the posterior
    moments."""
    logpost -= logpost.max(axis=1, keepdims=True)
    p = np.exp(logpost, out=logpost)
    tot = p.sum(axis=1)
    m = (p @ grid) / tot
    v = np.maximum((p @ (grid * grid)) / tot - m * m, 0.0)
    jitter_var = (p @ (width * width)) / tot / 12.0
    shrink = np.sqrt(v / (v + jitter_var))
    cdf = np.cumsum(p, axis=1, out=p)
    cdf /= tot[:, None]
    cdf[:, -1] = 1.0
    # node index = number of cdf values below u, for every row at once: offset row r's cdf (values in [0, 1]) by
    # 2r so that the flattened array is sorted, and search it once
    rows = np.arange(cdf.shape[0], dtype=np.float64)
    cdf += 2.0 * rows[:, None]
    pos = np.searchsorted(cdf.ravel(), u[:, :, 0] + 2.0 * rows[:, None], side="left")
    idx = np.minimum(pos - (np.arange(cdf.shape[0]) * len(grid))[:, None], len(grid) - 1)
    raw = lo[idx] + u[:, :, 1] * width[idx]
    return m[:, None] + shrink[:, None] * (raw - m[:, None]), m, v


def draw_plausible_values(loglik: Any, nodes: Any, prior_mean: Any, prior_sd: Any, *, n_draws: int = 5,
                          seed: Any, keys: Any = None, fine: float | None = 0.1,
                          chunk: int = 20_000) -> PlausibleValues:
    """Draw ``n_draws`` values from every person's posterior ``∝ exp(ℓ_i(θ)) φ(θ; μ_i, s_i²)``.

    ``prior_mean`` is a scalar, (N,), or (N, M) for a different prior mean per draw (one draw of the regression
    coefficients per plausible value, :meth:`PopulationModel.draw_prior_means`); ``prior_sd`` scalar or (N,).

    Method: node ``q`` with probability ``w_iq``, then ``θ_q + (u − ½) Δ_q`` with ``u ~ U(0, 1)``, then the
    shrinkage ``m_i + k_i (θ̃ − m_i)`` with ``k_i = √(v_i / (v_i + Σ_q w_iq Δ_q²/12))`` that removes the jitter's
    extra variance (see the module docstring). When the node spacing exceeds ``fine`` (default 0.1), the
    log-likelihood — a smooth function of θ — is first interpolated to a grid of that spacing by a cubic spline
    per person (error O(h⁴)), and the prior is evaluated exactly on it: the draws then follow the shape of the
    posterior (its tails and skew), not only its first two moments, even when the calibration used a coarse
    grid (41 nodes on ±6 is a spacing of 0.3, close to a typical posterior SD). ``fine=None`` draws on the given
    nodes. Uniforms are generated in the order of ``keys`` (person ids) when
    given, so a person's values do not depend on the row order; persons are processed in chunks of ``chunk``
    rows to bound memory (N × M × Q booleans per chunk otherwise).

    Examples
    --------
    >>> nodes = np.linspace(-6, 6, 61)
    >>> ll = np.zeros((3, 61))                       # no responses: the posterior is the prior
    >>> pv = draw_plausible_values(ll, nodes, 0.0, 1.0, n_draws=5, seed=1)
    >>> pv.values.shape
    (3, 5)
    """
    ll, th = _check_loglik(loglik, nodes)
    if n_draws < 1:
        raise ValueError("n_draws must be at least 1")
    n = ll.shape[0]
    pm_in = np.asarray(prior_mean, dtype=np.float64)
    per_draw = pm_in.ndim == 2
    if per_draw and pm_in.shape != (n, n_draws):
        raise ValueError(f"per-draw prior means must have shape ({n}, {n_draws}), got {pm_in.shape}")
    mu = np.array(pm_in if per_draw else np.broadcast_to(pm_in, (n,)))
    sd = np.array(np.broadcast_to(np.asarray(prior_sd, dtype=np.float64), (n,)))
    if not (np.all(np.isfinite(mu)) and np.all(np.isfinite(sd)) and np.all(sd > 0)):
        raise EngineError("prior means must be finite and prior SDs positive", code="bad_prior")
    rng = _rng(seed)
    u = rng.random((n, n_draws, 2))
    if keys is not None:
        k = np.asarray(keys).reshape(-1)
        if len(k) != n:
            raise ValueError(f"keys has {len(k)} entries, expected {n} (one per person)")
        if len(np.unique(k)) != n:
            raise EngineError("keys (person ids) must be unique", code="duplicate_person")
        order = np.argsort(k, kind="stable")
        placed = np.empty_like(u)
        placed[order] = u
        u = placed
    spline = None
    if fine is not None:
        if not fine > 0:
            raise ValueError("fine must be a positive grid spacing or None")
        if float(np.max(np.diff(th))) > fine * (1 + 1e-9):
            spline = np.linspace(th[0], th[-1], int(np.ceil((th[-1] - th[0]) / fine)) + 1)
            # the (not-a-knot) cubic spline is linear in the data: ll_fine = ll @ basisᵀ, one matrix product
            basis = interpolate.CubicSpline(th, np.eye(len(th)), axis=0)(spline)          # (Q_fine, Q)
    grid = th if spline is None else spline
    lo, width = _cells(grid)
    # log posterior on the grid up to a per-person constant: ℓ_fine + log Δ (once per chunk: the spline is one
    # matrix product) plus the prior's θ μ/s² − θ²/(2s²) as two rank-one updates per draw
    log_width = np.log(width)
    out = np.empty((n, n_draws))
    pm_all = np.empty(n)
    psd_all = np.empty(n)
    inv_var = 1.0 / sd**2
    grid2 = grid * grid

    def logpost(base: NDArray[np.float64], centre: NDArray[np.float64], iv: NDArray[np.float64]
                ) -> NDArray[np.float64]:
        lp = np.outer(centre * iv, grid)
        lp += np.outer(-0.5 * iv, grid2)
        lp += base
        return lp

    for start in range(0, n, chunk):
        sl = slice(start, min(start + chunk, n))
        base = (ll[sl] if spline is None else ll[sl] @ basis.T) + log_width[None, :]
        if not per_draw:
            out[sl], m, v = _draw(logpost(base, mu[sl], inv_var[sl]), grid, lo, width, u[sl])
        else:
            ms, vs = [], []
            for d in range(n_draws):
                out[sl, d : d + 1], m_d, v_d = _draw(logpost(base, mu[sl, d], inv_var[sl]), grid, lo, width,
                                                    u[sl, d : d + 1])
                ms.append(m_d)
                vs.append(v_d)
            # the draws come from the mixture over the regression draws: its mean and variance
            m = np.mean(ms, axis=0)
            v = np.mean(vs, axis=0) + np.var(ms, axis=0)
        pm_all[sl] = m
        psd_all[sl] = np.sqrt(v)
    desc = seed if not isinstance(seed, np.random.Generator) else "Generator"
    return PlausibleValues(values=_readonly(out), posterior_mean=_readonly(pm_all), posterior_sd=_readonly(psd_all),
                           model=None, seed=desc)


def plausible_values(loglik: Any, nodes: Any, background: Any = None, *, groups: Any = None, weights: Any = None,
                     n_draws: int = 5, seed: Any, keys: Any = None, fine: float | None = 0.1,
                     draw_coefficients: bool = True, regression: LatentRegression | None = None) -> PlausibleValues:
    """Fit the conditioning model and draw plausible values (5 by default): the whole NAEP/PISA step.

    ``background`` None gives plausible values from the ``N(μ_g, σ_g)`` population of each group. See
    :meth:`LatentRegression.fit` for the arguments and :func:`draw_plausible_values` for the draws. With
    ``draw_coefficients`` (default) every plausible value uses its own draw ``Γ^(m) ~ N(Γ̂, gamma_cov)`` of the
    regression coefficients (NAEP's procedure), so that Rubin's between-PV variance includes the uncertainty of
    the population model — without it the intervals of group means are too short in small samples.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> nodes = np.linspace(-6, 6, 61)
    >>> theta = rng.normal(size=200)
    >>> b = np.linspace(-2, 2, 20)
    >>> x = (rng.random((200, 20)) < 1 / (1 + np.exp(-(theta[:, None] - b)))).astype(float)
    >>> pr = 1 / (1 + np.exp(-(nodes[None, :] - b[:, None])))          # (items, nodes)
    >>> ll = x @ np.log(pr) + (1 - x) @ np.log(1 - pr)
    >>> pv = plausible_values(ll, nodes, seed=42)
    >>> pv.values.shape, bool(abs(pv.model.group_sd[0] - 1) < 0.2)
    ((200, 5), True)
    """
    model = (regression or LatentRegression()).fit(loglik, nodes, background, groups=groups, weights=weights)
    rng = _rng(seed)
    means = model.draw_prior_means(n_draws, rng) if draw_coefficients else model.prior_mean
    pv = draw_plausible_values(loglik, nodes, means, model.prior_sd, n_draws=n_draws, seed=rng, keys=keys,
                               fine=fine)
    desc = seed if not isinstance(seed, np.random.Generator) else "Generator"
    return PlausibleValues(values=pv.values, posterior_mean=pv.posterior_mean, posterior_sd=pv.posterior_sd,
                           model=model, seed=desc)
