"""Linking a new calibration to a base scale through anchor items (Kolen & Brennan 2014, *Test equating, scaling,
and linking*, 3rd ed., ch. 6; Kim & Lee 2006 for mixed formats).

Both calibrations identify θ only up to a linear map. Linking finds ``A, B`` with ``θ_base = A θ_new + B``; on the
models of :mod:`naeq.engines.irt.models` (logit ``a (θ − b_v)``) the new items then take the base metric as::

    a* = a / A,    b*_v = A b_v + B,    c* = c                   (SEs: a_se / A, A b_se)

so that ``P*(θ_base) = P(θ_new)``. Methods, over the anchor items (``b`` pools every step difficulty of every
anchor item; ``a`` every anchor slope):

* ``mean-mean`` (Loyd & Hoover 1980): ``A = mean(a_new) / mean(a_base)``, ``B = mean(b_base) − A mean(b_new)``;
* ``mean-sigma`` (Marco 1977): ``A = sd(b_base) / sd(b_new)``, same ``B``;
* ``stocking-lord`` (Stocking & Lord 1983): minimise over ``A, B`` the squared difference of the anchor test
  characteristic curves on a θ grid of the base scale weighted by a density ``g``:
  ``F(A, B) = Σ_q g_q [Σ_j E_j(θ_q | base) − Σ_j E_j(θ_q | new*)]²``;
* ``haebara`` (Haebara 1980): the same with category curves item by item:
  ``F(A, B) = Σ_q g_q Σ_j Σ_k [P_jk(θ_q | base) − P_jk(θ_q | new*)]²``.

Both characteristic-curve criteria are non-linear least squares with analytic Jacobians (the transformed item
at ``θ`` is the original item at ``θ' = (θ − B)/A``), solved by ``scipy.optimize.least_squares`` started at the
mean/sigma solution. When every anchor item is Rasch or PCM the slope is fixed at ``A = 1`` (only a shift is
estimated) unless ``slope="free"``.

Linking error (PISA's link error, OECD 2017 *PISA 2015 Technical Report*, ch. 12; Monseur & Berezner 2007):
the constants are recomputed with each anchor item (or anchor unit, ``anchor_groups``) left out; the jackknife
variance is ``(n−1)/n Σ_j (T_(j) − T̄)²`` for ``T`` = A, B and the linked value ``A θ_ref + B`` of a reference
point (default the new scale's origin, i.e. the shift of the new population's mean when it is 0).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, stats

from naeq.engines.errors import ConvergenceWarning, EngineError
from naeq.engines.irt.models import FREE_SLOPE, ItemParameters, category_probabilities

__all__ = ["METHODS", "LinkingResult", "link", "linking_constants", "transform_items"]

METHODS: tuple[str, ...] = ("stocking-lord", "haebara", "mean-mean", "mean-sigma")


def transform_items(params: ItemParameters, A: float, B: float) -> ItemParameters:
    """Item parameters on the scale ``θ* = A θ + B``: ``a / A``, ``A b + B``, ``c``; SEs ``a_se / A``, ``A b_se``.

    With ``A ≠ 1`` a Rasch item becomes a 2PL item and a PCM item a GPCM item (the slope is no longer 1).

    Examples
    --------
    >>> p = ItemParameters(items=("i1",), model=np.array(["2pl"]), a=np.array([1.2]), b=np.array([[0.5]]),
    ...                    c=np.array([0.0]), n_categories=np.array([2]))
    >>> q = transform_items(p, 2.0, 1.0)
    >>> float(q.a[0]), float(q.b[0, 0])
    (0.6, 2.0)
    """
    if not (np.isfinite(A) and np.isfinite(B) and A > 0):
        raise EngineError("linking constants must be finite with A > 0", code="bad_constants")
    model = np.array(params.model, dtype=object).astype(str)
    if abs(A - 1.0) > 1e-12:
        model = np.where(model == "rasch", "2pl", np.where(model == "pcm", "gpcm", model))
    return ItemParameters(items=params.items, model=model, a=params.a / A, b=A * params.b + B, c=params.c,
                          n_categories=params.n_categories, a_se=params.a_se / A, b_se=A * params.b_se,
                          c_se=params.c_se)


def _anchor_pairs(new: ItemParameters, base: ItemParameters,
                  anchors: Sequence[str] | Mapping[str, str] | None) -> tuple[ItemParameters, ItemParameters]:
    if anchors is None:
        common = [i for i in new.items if i in set(base.items)]
        pairs = [(i, i) for i in common]
    elif isinstance(anchors, Mapping):
        pairs = [(str(k), str(v)) for k, v in anchors.items()]
    else:
        pairs = [(str(i), str(i)) for i in anchors]
    if len(pairs) < 2:
        raise EngineError(f"linking needs at least two anchor items common to both calibrations, found {len(pairs)}",
                          code="too_few_anchors")
    new_ids, base_ids = set(new.items), set(base.items)
    for n_id, b_id in pairs:
        if n_id not in new_ids:
            raise EngineError(f"anchor item {n_id} is not in the new calibration", code="unknown_anchor")
        if b_id not in base_ids:
            raise EngineError(f"anchor item {b_id} is not in the base calibration", code="unknown_anchor")
    nsel = new.select([p[0] for p in pairs])
    bsel = base.select([p[1] for p in pairs])
    diff = np.flatnonzero(nsel.n_categories != bsel.n_categories)
    if len(diff):
        j = int(diff[0])
        raise EngineError(f"anchor item {nsel.items[j]} has {nsel.n_categories[j]} categories in the new "
                          f"calibration but {bsel.n_categories[j]} in the base", code="anchor_mismatch")
    return nsel, bsel


def _steps(p: ItemParameters) -> NDArray[np.float64]:
    b = np.asarray(p.b)
    return b[np.isfinite(b)]


def _moment_constants(new: ItemParameters, base: ItemParameters, method: str, fixed_slope: bool
                      ) -> tuple[float, float]:
    bn, bb = _steps(new), _steps(base)
    if fixed_slope:
        a = 1.0
    elif method == "mean-mean":
        a = float(np.mean(new.a) / np.mean(base.a))
    else:
        sn = float(np.std(bn))
        if sn <= 0:
            raise EngineError("mean/sigma linking needs anchor difficulties that differ", code="degenerate_anchors")
        a = float(np.std(bb) / sn)
    return a, float(np.mean(bb) - a * np.mean(bn))


def _curves(theta: NDArray[np.float64], p: ItemParameters) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Category probabilities (J, Q, K) and their θ-derivatives (J, Q, K)."""
    prob = category_probabilities(theta, p)
    k = np.arange(prob.shape[2], dtype=np.float64)
    m1 = np.einsum("jqk,k->jq", prob, k)
    d = p.a[:, None, None] * prob * (k[None, None, :] - m1[:, :, None])       # GPCM family: a P_k (k − E)
    g = p.c
    j3 = np.flatnonzero(g > 0)
    if len(j3):
        p1 = prob[j3, :, 1]
        dp = p.a[j3, None] * (p1 - g[j3, None]) * (1 - p1) / (1 - g[j3, None])
        d[j3, :, 1] = dp
        d[j3, :, 0] = -dp
    return prob, d


def _fit_curves(new: ItemParameters, base: ItemParameters, method: str, theta: NDArray[np.float64],
                gw: NDArray[np.float64], start: tuple[float, float], fixed_slope: bool
                ) -> tuple[float, float, float, bool]:
    prob_b, _ = _curves(theta, base)
    k = np.arange(prob_b.shape[2], dtype=np.float64)
    sg = np.sqrt(gw)
    target = np.einsum("jqk,k->q", prob_b, k) if method == "stocking-lord" else prob_b

    def parts(x: NDArray[np.float64]) -> tuple[float, float, NDArray[np.float64], NDArray[np.float64]]:
        a, b = (1.0, float(x[0])) if fixed_slope else (float(np.exp(x[0])), float(x[1]))
        tp = (theta - b) / a
        prob, d = _curves(tp, new)
        if method == "stocking-lord":
            return a, b, sg * (target - np.einsum("jqk,k->q", prob, k)), sg * np.einsum("jqk,k->q", d, k)
        return a, b, (sg[None, :, None] * (target - prob)).ravel(), sg[None, :, None] * d

    def resid(x: NDArray[np.float64]) -> NDArray[np.float64]:
        return parts(x)[2]

    def jac(x: NDArray[np.float64]) -> NDArray[np.float64]:
        a, b, _, dt = parts(x)
        tp = (theta - b) / a
        shape_tp = tp if method == "stocking-lord" else tp[None, :, None]
        dB = (dt / a).ravel()                                            # ∂r/∂B = +T'(θ')/A · √g
        if fixed_slope:
            return dB[:, None]
        dlogA = (dt * shape_tp).ravel()                                   # ∂r/∂log A = T'(θ') θ' √g
        return np.column_stack([dlogA, dB])

    x0 = np.array([start[1]]) if fixed_slope else np.array([np.log(max(start[0], 1e-3)), start[1]])
    sol = optimize.least_squares(resid, x0, jac=jac, method="lm", xtol=1e-14, ftol=1e-15, gtol=1e-15,
                                 max_nfev=2000)
    a, b = (1.0, float(sol.x[0])) if fixed_slope else (float(np.exp(sol.x[0])), float(sol.x[1]))
    return a, b, float(np.sum(sol.fun**2)), bool(sol.success)


def _grid(theta: Any, density: Any) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    th = np.linspace(-4.0, 4.0, 41) if theta is None else np.asarray(theta, dtype=np.float64).reshape(-1)
    if len(th) < 2 or not np.all(np.isfinite(th)):
        raise ValueError("the linking grid theta must have at least two finite points")
    if density is None or (isinstance(density, str) and density == "normal"):
        g = stats.norm.pdf(th)
    elif isinstance(density, str) and density == "uniform":
        g = np.ones_like(th)
    else:
        g = np.asarray(density, dtype=np.float64).reshape(-1)
        if g.shape != th.shape or not np.all(np.isfinite(g)) or np.any(g < 0) or g.sum() <= 0:
            raise ValueError("density must be 'normal', 'uniform' or non-negative weights, one per grid point")
    return th, g / g.sum()


def linking_constants(new: ItemParameters, base: ItemParameters, *, method: str = "stocking-lord",
                      slope: str = "auto", theta: Any = None, density: Any = None) -> tuple[float, float, float]:
    """``(A, B, criterion)`` linking anchor parameters ``new`` (new scale) to ``base`` (base scale), items paired
    by position. ``criterion`` is the minimised loss for the curve methods (0 for the moment methods)."""
    if method not in METHODS:
        raise ValueError(f"unknown linking method {method!r}; use one of {', '.join(METHODS)}")
    if slope not in ("auto", "free", "fixed"):
        raise ValueError("slope must be 'auto', 'free' or 'fixed'")
    rasch_only = not np.any(np.isin(new.model, list(FREE_SLOPE))) and not np.any(np.isin(base.model,
                                                                                         list(FREE_SLOPE)))
    fixed = slope == "fixed" or (slope == "auto" and rasch_only)
    start_method = "mean-mean" if method == "mean-mean" else "mean-sigma"
    try:
        a0, b0 = _moment_constants(new, base, start_method, fixed)
    except EngineError:
        if method == "mean-sigma":
            raise
        a0, b0 = _moment_constants(new, base, "mean-mean", fixed)
    if method in ("mean-mean", "mean-sigma"):
        return a0, b0, 0.0
    th, g = _grid(theta, density)
    a, b, crit, ok = _fit_curves(new, base, method, th, g, (a0, b0), fixed)
    if not ok:
        warnings.warn(f"{method} linking: the optimiser did not report convergence", ConvergenceWarning,
                      stacklevel=2)
    return a, b, crit


@dataclass(frozen=True)
class LinkingResult:
    """Linking constants ``θ_base = A θ_new + B`` and the new items on the base scale.

    Attributes
    ----------
    method, A, B, criterion : the method, constants and minimised loss
    anchors : (new id, base id) pairs used
    transformed : every item of the new calibration on the base scale (:func:`transform_items`)
    jackknife : (n_groups, 2) the constants with each anchor group left out (empty without jackknife)
    se_A, se_B : jackknife SEs of the constants; link_error : jackknife SE of ``A θ_ref + B``; theta_ref
    fixed_slope : True when only a shift was estimated (Rasch/PCM anchors)
    """

    method: str
    A: float
    B: float
    criterion: float
    anchors: tuple[tuple[str, str], ...]
    transformed: ItemParameters
    jackknife: NDArray[np.float64]
    se_A: float
    se_B: float
    link_error: float
    theta_ref: float
    fixed_slope: bool

    def theta(self, theta_new: Any) -> NDArray[np.float64]:
        """New-scale θ values (or plausible values) on the base scale."""
        return self.A * np.asarray(theta_new, dtype=np.float64) + self.B


def link(new: ItemParameters, base: ItemParameters, *, anchors: Sequence[str] | Mapping[str, str] | None = None,
         method: str = "stocking-lord", slope: str = "auto", theta: Any = None, density: Any = None,
         jackknife: bool = True, anchor_groups: Mapping[str, str] | None = None,
         theta_ref: float = 0.0) -> LinkingResult:
    """Link a new calibration to the base scale.

    Parameters
    ----------
    new, base : item parameters of the new calibration (all its items) and of the base calibration
    anchors : ids common to both (default: every id present in both), or a mapping new id -> base id
    method : ``stocking-lord`` (default), ``haebara``, ``mean-mean`` or ``mean-sigma``
    slope : ``auto`` (fixed at 1 when every anchor is Rasch/PCM), ``free`` or ``fixed``
    theta, density : the grid on the base scale (default 41 points on [−4, 4]) and its weights (``normal``
        (default: N(0, 1) density), ``uniform`` or an array)
    jackknife : compute the link error by leaving out one anchor group at a time (needs ≥ 3 groups)
    anchor_groups : new anchor id -> group (e.g. the unit or stimulus) to leave out together; default each item
    theta_ref : the new-scale point whose linked value's jackknife SE is ``link_error``

    Examples
    --------
    >>> base = ItemParameters(items=("i1", "i2", "i3"), model=np.array(["2pl"] * 3), a=np.array([1.0, 1.5, 0.8]),
    ...                       b=np.array([[-1.0], [0.0], [1.0]]), c=np.zeros(3), n_categories=np.full(3, 2))
    >>> new = transform_items(base, 0.5, -0.2)        # the same items on a scale θ_new = 0.5 θ_base − 0.2
    >>> r = link(new, base)
    >>> round(r.A, 6), round(r.B, 6)
    (2.0, 0.4)
    """
    nsel, bsel = _anchor_pairs(new, base, anchors)
    a, b, crit = linking_constants(nsel, bsel, method=method, slope=slope, theta=theta, density=density)
    rasch_only = not np.any(np.isin(nsel.model, list(FREE_SLOPE))) and not np.any(np.isin(bsel.model,
                                                                                           list(FREE_SLOPE)))
    fixed = slope == "fixed" or (slope == "auto" and rasch_only)
    pairs = tuple(zip(nsel.items, bsel.items, strict=True))
    jk = np.zeros((0, 2))
    se_a = se_b = err = float("nan")
    if jackknife:
        grp = [str((anchor_groups or {}).get(i, i)) for i in nsel.items]
        labels = sorted(set(grp))
        if len(labels) >= 3:
            rows = []
            for lab in labels:
                keep = np.array([g != lab for g in grp])
                if keep.sum() < 2:
                    continue
                idx = np.flatnonzero(keep)
                aj, bj, _ = linking_constants(nsel.take(idx), bsel.take(idx), method=method,
                                              slope="fixed" if fixed else "free", theta=theta, density=density)
                rows.append((aj, bj))
            jk = np.array(rows)
            n = len(jk)
            if n >= 2:
                factor = (n - 1) / n
                se_a = float(np.sqrt(factor * np.sum((jk[:, 0] - jk[:, 0].mean()) ** 2)))
                se_b = float(np.sqrt(factor * np.sum((jk[:, 1] - jk[:, 1].mean()) ** 2)))
                lv = jk[:, 0] * theta_ref + jk[:, 1]
                err = float(np.sqrt(factor * np.sum((lv - lv.mean()) ** 2)))
    jk.setflags(write=False)
    return LinkingResult(method=method, A=a, B=b, criterion=crit, anchors=pairs, transformed=transform_items(new, a, b),
                         jackknife=jk, se_A=se_a, se_B=se_b, link_error=err, theta_ref=float(theta_ref),
                         fixed_slope=fixed)

