"""Stage 1 indicators: each unit (school or county) against an expectation, with a one-sided p-value.

Every function takes unit codes ``0..U−1`` and returns an :class:`Indicator` (statistic, expectation, p-value per
unit). The seed procedure (2023 national briefing: 原始数据初筛：利用统计指标，定位数据异常区县) asks for indicators
that *locate* anomalous counties; stage 2 then screens the response data.

Methods
-------
* ``mean_above_prediction`` — Huber M-regression (IRLS, c = 1.345) of the unit mean on background covariates (SES,
  urban/rural, previous-cycle mean); robust residual z = e / (1.4826 · MAD); p = upper tail of Student's t with
  (units − parameters) df (the scale is estimated from the same units; every robust z below uses t likewise).
* ``between_variance_small`` — for a county with m schools, ``(m − 1) S² / E ~ χ²_{m−1}`` where S² is the
  variance of its school means and ``E = τ² + σ²_w / n̄`` (τ² the national median between-school variance,
  σ²_w the county's within-school variance); p = lower tail.
* ``near_perfect`` — count of persons at or above a proportion-correct threshold vs the model-implied count when
  θ ~ N(q₁ + 0.6745 σ_w, σ_w) (q₁ the unit's lower quartile of θ, σ_w the pooled robust within-unit SD) under
  the 2PL (Lord–Wingersky score distributions per booklet); overdispersed binomial upper tail.
* ``item_shift`` — uniform: the unit's mean logit shift of item p-values against the national p-values, z by its
  own standard error (person-level delta method) plus the between-unit variance; partial (leaked items):
  ``Q = Σ_j (z_j − z̄)²`` of the item residuals
  ``z_j = (O_j − E_j)/√V_j`` (E_j = Σ_i P_j(θ_i)) against λ χ²_{J−1}, λ ≥ 1 the median dispersion across units.
* ``rate_excess`` — absences, exemptions, replacements, roster changes: the unit's count against the pooled
  rate r = max(pooled, floor), dispersion φ = mean Pearson χ² of the non-outlying units floored at 1; upper
  tail of a binomial with the effective sizes n/φ, x/φ (the regularised incomplete beta I_r(x/φ, (n − x)/φ + 1),
  exact for φ = 1). Not a normal z: with a tiny pooled rate the z of a single event is huge, the binomial tail is
  not (a school with the nation's only roster change gets p = 1 − (1 − r)^n, not 10⁻¹⁰⁰); with a pooled rate of
  zero every p is 1.
* ``changed_after_close`` — persons with answers written or altered after their session closed against
  max(median unit rate, floor) (a normal system has none; floor 0.2 % so one stray late sync does not flag a
  county, while a teacher altering a class's answers does); binomial upper tail.
* ``response_times`` — too short: robust z (lower tail) of the unit median log response time; too uniform:
  robust z (lower tail) of the unit's SD of person mean log times.
* ``heaping`` — share of values on round numbers (last shown digit 0 or 5) against the pooled share of the
  same test; binomial upper tail. ``repeated`` — the most repeated value of a unit against its national
  frequency: ``min(1, d · P(Bin(n, f_v) ≥ count))`` over the unit's d distinct values.
* ``straightlining`` — persons answering every item of a questionnaire block identically, against the pooled
  rate; binomial upper tail.

References: Huber (1981) *Robust Statistics*; Cizek & Wollack (2017) *Handbook of Quantitative Methods for
Detecting Cheating on Tests*, ch. 16–18 (aggregate indicators); Jacob & Levitt (2003) QJE 118 (unusual gains);
Lord & Wingersky (1984).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats
from scipy.sparse import csr_matrix
from scipy.special import betainc, expit

from naeq.engines.errors import EngineError


@dataclass(frozen=True)
class Indicator:
    """One indicator for ``U`` units: ``statistic``, its ``expected`` value under no anomaly, ``p`` (one-sided,
    NaN where the unit has no data) and ``n`` (the data count behind it)."""

    name: str
    statistic: NDArray[Any]
    expected: NDArray[Any]
    p: NDArray[Any]
    n: NDArray[Any]

    def __post_init__(self) -> None:
        for f in ("statistic", "expected", "p", "n"):
            arr = np.array(getattr(self, f), dtype=np.float64)
            arr.setflags(write=False)
            object.__setattr__(self, f, arr)


def _finite(name: str, arr: Any) -> NDArray[np.float64]:
    a = np.asarray(arr, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise EngineError(f"{name} contains NaN or infinite values", code="nonfinite")
    return a


def _codes(unit: Any, n_units: int) -> NDArray[np.int64]:
    u = np.asarray(unit).astype(np.int64).reshape(-1)
    if len(u) and (u.min() < 0 or u.max() >= n_units):
        raise ValueError("unit codes must lie in 0..n_units−1")
    return u


def _beta_tail(count: NDArray[np.float64], n: NDArray[np.float64], r: NDArray[np.float64],
               phi: float) -> NDArray[np.float64]:
    x_eff, n_eff = count / phi, n / phi
    return np.asarray(np.where(x_eff > 0, betainc(np.maximum(x_eff, 1e-12), np.maximum(n_eff - x_eff, 0) + 1.0, r),
                               1.0), dtype=np.float64)


OUTLIER_P = 1e-3  # units this far out at φ = 1 estimate neither the base rate nor the dispersion


def overdispersed_binomial_sf(count: Any, n: Any, rate: Any) -> NDArray[np.float64]:
    """``P(X ≥ count)`` for counts of ``n`` trials at ``rate`` (per unit), allowing for overdispersion across units.

    φ = mean Pearson χ² over the units, floored at 1 — the model behind the expected counts (a 2PL
    tail, a pooled share) is never exact, and its error is shared by every person of a unit; the tail is the
    binomial's on the effective sizes ``n/φ, count/φ`` (regularised incomplete beta; exact binomial for φ = 1).
    φ is estimated from the units whose own binomial p at φ = 1 is above ``OUTLIER_P`` (a few anomalous units
    must not inflate it and hide themselves).
    """
    count = np.asarray(count, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    r = np.clip(np.broadcast_to(np.asarray(rate, dtype=np.float64), n.shape), 1e-12, 1 - 1e-12)
    var = n * r * (1 - r)
    ok = (n > 0) & (var > 0) & (_beta_tail(count, n, r, 1.0) > OUTLIER_P)
    pearson = (count[ok] - n[ok] * r[ok]) ** 2 / var[ok]
    # the mean Pearson χ² (E = 1 under the binomial), not the median / 0.4549: with expected counts below ~2 the
    # median of a discrete Pearson is biased upwards (every zero count contributes n r) and cost power
    phi = max(1.0, float(np.mean(pearson))) if ok.sum() >= 5 else 1.0
    return np.asarray(np.where(n > 0, _beta_tail(count, n, r, phi), np.nan), dtype=np.float64)


MAD_EFFICIENCY = 0.37  # asymptotic efficiency of the MAD relative to the SD at the normal (Huber 1981)


def robust_tail(z: NDArray[np.float64], *, upper: bool, n_params: int = 1) -> NDArray[np.float64]:
    """One-sided p-value of a robust z against Student's t with ``0.37 (finite units − n_params)`` degrees of
    freedom: the scale is a MAD estimated from the units themselves, and a MAD from m values is as variable as an
    SD from 0.37 m (its efficiency), so t with the full df would be too thin in the tail for few units (measured:
    20 units, 3 covariates: 13 × the nominal rate at 10⁻⁴; tests/engines/forensics/test_calibration.py)."""
    df = max(MAD_EFFICIENCY * (int(np.isfinite(z).sum()) - n_params), 1.0)
    return np.asarray(stats.t.sf(z, df) if upper else stats.t.cdf(z, df))


def robust_z(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """``(v − median) / (1.4826 MAD)`` over the finite entries (NaN stays NaN)."""
    ok = np.isfinite(values)
    if ok.sum() < 3:
        return np.full(len(values), np.nan)
    med = np.median(values[ok])
    mad = 1.4826 * np.median(np.abs(values[ok] - med))
    if mad <= 0:
        mad = float(np.std(values[ok])) or 1.0
    return (values - med) / mad


def huber_regression(y: NDArray[np.float64], x: NDArray[np.float64], *, c: float = 1.345,
                     max_iter: int = 50) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Huber M-estimate by IRLS; returns (coefficients with intercept first, residuals)."""
    design = np.column_stack([np.ones(len(y)), x])
    beta = np.linalg.lstsq(design, y, rcond=None)[0]
    for _ in range(max_iter):
        r = y - design @ beta
        s = 1.4826 * np.median(np.abs(r - np.median(r))) or 1.0
        w = np.minimum(1.0, c / np.maximum(np.abs(r / s), 1e-12))
        new = np.linalg.lstsq(design * np.sqrt(w)[:, None], y * np.sqrt(w), rcond=None)[0]
        if np.max(np.abs(new - beta)) < 1e-8:
            beta = new
            break
        beta = new
    return np.asarray(beta, dtype=np.float64), np.asarray(y - design @ beta, dtype=np.float64)


def mean_above_prediction(unit_mean: Any, covariates: Any, weight: Any = None) -> Indicator:
    """Unit means far above their prediction from background (and previous cycle) — see the module docstring.

    ``covariates`` is ``(U, p)`` (p may be 0: then the prediction is the robust centre).

    Examples
    --------
    >>> import numpy as np
    >>> ses = np.linspace(-1, 1, 50); y = 500 + 30 * ses; y[7] += 60
    >>> ind = mean_above_prediction(y + np.sin(np.arange(50)), ses[:, None])
    >>> int(np.argmin(ind.p))
    7
    """
    y = _finite("unit means", unit_mean).reshape(-1)
    x = _finite("covariates", covariates).reshape(len(y), -1)
    n = np.ones(len(y)) if weight is None else np.asarray(weight, dtype=np.float64)
    if len(y) < x.shape[1] + 3:
        raise EngineError("too few units for the background regression", code="too_few")
    beta, resid = huber_regression(y, x)
    # Studentised: e / √(1 − h) (h the leverage), the MAD scaled by √(n / (n − p)) for the fitted parameters.
    design = np.column_stack([np.ones(len(y)), x])
    h = np.einsum("ij,ij->i", design @ np.linalg.pinv(design.T @ design), design)
    stud = resid / np.sqrt(np.clip(1 - h, 0.05, 1))
    z = robust_z(stud) / np.sqrt(len(y) / max(len(y) - len(beta), 1))
    return Indicator("mean_above_prediction", y, y - resid, robust_tail(z, upper=True, n_params=len(beta)), n)


def between_variance_small(county_of_school: Any, school_mean: Any, school_n: Any, school_within_var: Any,
                           n_counties: int) -> Indicator:
    """Between-school variance of a county too small for the national between-school variance (χ² lower tail)."""
    c = _codes(county_of_school, n_counties)
    mean = _finite("school means", school_mean)
    nn = _finite("school sizes", school_n)
    wv = _finite("within variances", school_within_var)
    m = np.bincount(c, minlength=n_counties).astype(np.float64)
    s1 = np.bincount(c, mean, n_counties)
    s2 = np.bincount(c, mean**2, n_counties)
    var_b = np.where(m > 1, (s2 - s1**2 / np.maximum(m, 1)) / np.maximum(m - 1, 1), np.nan)
    within = np.bincount(c, wv * nn, n_counties) / np.maximum(np.bincount(c, nn, n_counties), 1)
    nbar = np.bincount(c, nn, n_counties) / np.maximum(m, 1)
    tau = np.nanmedian(var_b - within / np.maximum(nbar, 1)) if np.any(m > 1) else 0.0
    expected = np.maximum(tau, 0.0) + within / np.maximum(nbar, 1)
    ok = (m > 2) & (expected > 0)
    stat = np.where(ok, (m - 1) * var_b / np.where(expected > 0, expected, 1.0), np.nan)
    p = np.where(ok, stats.chi2.cdf(np.nan_to_num(stat), np.maximum(m - 1, 1)), np.nan)
    return Indicator("between_variance_small", var_b, expected, p, m)


def _score_distribution(a: NDArray[np.float64], b: NDArray[np.float64], nodes: NDArray[np.float64]) -> NDArray[
        np.float64]:
    p = expit(a * (nodes[:, None] - b))  # (Q, J)
    dist = np.zeros((len(nodes), len(a) + 1))
    dist[:, 0] = 1.0
    for j in range(len(a)):
        dist[:, 1 : j + 2] = dist[:, 1 : j + 2] * (1 - p[:, j : j + 1]) + dist[:, : j + 1] * p[:, j : j + 1]
        dist[:, 0] *= 1 - p[:, j]
    return dist


def near_perfect(unit: Any, scores: Any, taken: Any, theta: Any, a: Any, b: Any, n_units: int, *,
                 threshold: float = 0.95) -> Indicator:
    """Too many perfect or near-perfect scores (proportion correct ≥ ``threshold``) for the unit's ability."""
    u = _codes(unit, n_units)
    sc = _finite("scores", scores)
    tk = np.asarray(taken, dtype=bool)
    th = _finite("theta", theta)
    a_, b_ = _finite("a", a), _finite("b", b)
    n_items = tk.sum(axis=1)
    raw = (sc * tk).sum(axis=1)
    hit = (raw >= np.ceil(threshold * n_items - 1e-9)) & (n_items > 0)
    q1 = np.full(n_units, np.nan)
    iqr = np.full(n_units, np.nan)
    order = np.argsort(u, kind="stable")
    starts = np.r_[0, np.cumsum(np.bincount(u, minlength=n_units))]
    for k in range(n_units):  # U quantiles; the per-unit work is vectorised below
        if starts[k + 1] > starts[k]:
            lo, hi = np.quantile(th[order[starts[k] : starts[k + 1]]], [0.25, 0.75])
            q1[k], iqr[k] = lo, hi - lo
    # Location from the lower quartile (robust to up to 75 % of a unit cheating): q1 + 0.6745 σ_w, with σ_w the
    # median across units of IQR / 1.349 (the normal IQR).
    sd = max(float(np.nanmedian(iqr)) / 1.349, 0.3) if np.any(np.isfinite(iqr)) else 1.0
    med = q1 + 0.6745 * sd
    nodes, weights = np.polynomial.hermite_e.hermegauss(21)
    weights = weights / weights.sum()
    patterns, pat = np.unique(tk, axis=0, return_inverse=True)
    pat = pat.reshape(-1)
    expected_p = np.zeros(len(th))
    for q, patt in enumerate(patterns):  # one Lord–Wingersky table per booklet pattern
        rows = np.flatnonzero(pat == q)
        jj = np.flatnonzero(patt)
        if len(jj) == 0:
            continue
        grid = np.linspace(-6, 8, 141)
        dist = _score_distribution(a_[jj], b_[jj], grid)
        cut = int(np.ceil(threshold * len(jj) - 1e-9))
        tail = dist[:, cut:].sum(axis=1)
        pts = med[u[rows]][:, None] + sd * nodes[None, :]
        expected_p[rows] = (np.interp(pts, grid, tail) * weights).sum(axis=1)
    count = np.bincount(u, hit.astype(np.float64), n_units)
    expected = np.bincount(u, expected_p, n_units)
    n = np.bincount(u, minlength=n_units).astype(np.float64)
    rate = np.clip(expected / np.maximum(n, 1), 1e-12, 1 - 1e-12)
    return Indicator("near_perfect", count, expected, overdispersed_binomial_sf(count, n, rate), n)


def item_shift(unit: Any, scores: Any, taken: Any, theta: Any, a: Any, b: Any,
               n_units: int) -> tuple[Indicator, Indicator]:
    """Item p-values raised uniformly (robust z of the mean logit shift) and on some items only (χ² of residuals)."""
    u = _codes(unit, n_units)
    sc = _finite("scores", scores)
    tk = np.asarray(taken, dtype=np.float64)
    th = _finite("theta", theta)
    a_, b_ = _finite("a", a), _finite("b", b)
    # Sparse unit-by-person indicator: sums over a unit's persons without a dense U × N matrix (national: 6,700 ×
    # 200,000).
    onehot = csr_matrix((np.ones(len(u)), (u, np.arange(len(u)))), shape=(n_units, len(u)))
    obs = np.asarray(onehot @ (sc * tk))
    cnt = np.asarray(onehot @ tk)
    pj = expit(a_ * (th[:, None] - b_))
    exp_ = np.asarray(onehot @ (pj * tk))
    var = np.asarray(onehot @ (pj * (1 - pj) * tk))
    nat = ((sc * tk).sum(axis=0) + 0.5) / (tk.sum(axis=0) + 1.0)
    pu = (obs + 0.5) / (cnt + 1.0)
    shift = np.where(cnt > 0, np.log(pu / (1 - pu)) - np.log(nat / (1 - nat)), np.nan)
    mean_shift = np.nanmean(np.where(cnt > 0, shift, np.nan), axis=1) if shift.size else np.empty(0)
    # Standard error of each unit's shift from its persons (delta method: d logit p = dp / p(1 − p)): d_i is a
    # person's mean of (u_ij − p_j) / p_j(1 − p_j) over the items taken, so item sampling (booklets) and the
    # persons' shared ability both enter; se_u² = pooled within-unit variance of d / n_u. z = (shift − median) /
    # √(τ² + se_u²), τ² the between-unit variance beyond sampling (robust: MAD² − median se², ≥ 0). Without this a
    # common MAD scale over-flags small units and booklet designs (measured 6 % at the 5 % level).
    w = 1.0 / (nat * (1 - nat))
    n_taken = tk.sum(axis=1)
    d = np.where(n_taken > 0, ((sc - nat) * w * tk).sum(axis=1) / np.maximum(n_taken, 1), np.nan)
    has = np.isfinite(d)
    n_u = np.bincount(u[has], minlength=n_units).astype(np.float64)
    d_mean = np.bincount(u[has], d[has], n_units) / np.maximum(n_u, 1)
    within = float(np.sum((d[has] - d_mean[u[has]]) ** 2) / max(has.sum() - (n_u > 0).sum(), 1))
    se2 = np.where(n_u > 0, within / np.maximum(n_u, 1), np.nan)
    okm = np.isfinite(mean_shift) & np.isfinite(se2)
    if okm.sum() >= 3:
        med = float(np.median(mean_shift[okm]))
        mad = 1.4826 * float(np.median(np.abs(mean_shift[okm] - med)))
        tau2 = max(mad**2 - float(np.median(se2[okm])), 0.0)
        z = (mean_shift - med) / np.sqrt(tau2 + np.where(okm, se2, np.nan))
    else:
        z = np.full(n_units, np.nan)
    uniform = Indicator("item_uniform", mean_shift, np.full(n_units, np.nanmedian(mean_shift)),
                        robust_tail(z, upper=True), cnt.sum(axis=1))
    ok = var > 0.25
    zj = np.where(ok, (obs - exp_) / np.sqrt(np.where(ok, var, 1.0)), np.nan)
    k = ok.sum(axis=1)
    zbar = np.nanmean(zj, axis=1, where=ok) if zj.size else np.empty(0)
    q = np.nansum(np.where(ok, (zj - zbar[:, None]) ** 2, 0.0), axis=1)
    df = np.maximum(k - 1, 1)
    ok_u = k >= 3
    # Dispersion (genomic-control style): residuals at estimated θ and item parameters spread a little more than
    # χ²; λ = median over units of Q / median χ²_df, floored at 1, rescales Q (a few leaked units cannot move it).
    lam = max(1.0, float(np.median(q[ok_u] / stats.chi2.median(df[ok_u])))) if ok_u.sum() >= 5 else 1.0
    p = np.where(ok_u, stats.chi2.sf(q / lam, df), np.nan)
    some = Indicator("item_partial", q, lam * df.astype(np.float64), p, cnt.sum(axis=1))
    return uniform, some


RATE_FLOORS = {"roster_changed": 0.005}  # a transfer now and then is normal: at least 0.5 % of the roster


def rate_excess(name: str, count: Any, total: Any, *, floor: float | None = None) -> Indicator:
    """A rate (absence, exemption, replacement, roster change) above the pooled rate, upper tail (module docstring).

    ``floor`` (default ``RATE_FLOORS.get(name, 0)``) is the smallest base rate tested against.

    Examples
    --------
    >>> import numpy as np
    >>> n = np.full(100, 30.0); x = np.zeros(100); x[3] = 1   # the nation's only roster change
    >>> bool(rate_excess("roster_changed", x, n).p[3] > 0.1)
    True
    """
    x = _finite(f"{name} counts", count)
    n = _finite(f"{name} totals", total)
    if np.any(x < 0) or np.any(x > n):
        raise EngineError(f"{name}: counts must lie between 0 and the total", code="bad_counts")
    fl = RATE_FLOORS.get(name, 0.0) if floor is None else float(floor)
    valid = n > 0
    pooled = x.sum() / max(n.sum(), 1.0)
    if 0 < pooled < 1:
        # the base rate without the units that stand out at the pooled rate (one pass): a few units with many
        # events would otherwise raise the base and, through the many zero counts, the dispersion
        keep = valid & (_beta_tail(x, n, np.full(len(x), pooled), 1.0) > OUTLIER_P)
        if keep.any():
            pooled = x[keep].sum() / max(n[keep].sum(), 1.0)
    rate = min(max(pooled, fl), 1.0)
    if not 0 < rate < 1:  # nobody (or everybody) anywhere: nothing stands out
        return Indicator(name, x, n * rate, np.where(valid, 1.0, np.nan), n)
    return Indicator(name, x, n * rate, overdispersed_binomial_sf(x, n, rate), n)


CHANGED_FLOOR = 0.002


def changed_after_close(unit: Any, person: Any, changed: Any, n_units: int, n_persons: Any, *,
                        floor: float = CHANGED_FLOOR) -> Indicator:
    """Persons whose answers were written or altered after their session closed, against the base rate.

    ``person`` (K,) row indices with ``changed`` (K,) answer counts (several entries of one person are summed);
    ``unit`` (N,) the unit of every person; ``n_persons`` unused rows count as persons without changes. The base
    rate is ``max(median over units of the unit's rate, floor)``: robust to up to half of the units altering
    answers, and a floor so that one stray late sync (one person) in a county is not a finding.

    Examples
    --------
    >>> import numpy as np
    >>> unit = np.repeat(np.arange(20), 30)
    >>> rows = np.r_[5, np.arange(60, 75)]; counts = np.ones(16)   # one stray sync; 15 of school 2 altered
    >>> ind = changed_after_close(unit, rows, counts, 20, len(unit))
    >>> bool(ind.p[0] > 0.05), bool(ind.p[2] < 1e-10)
    (True, True)
    """
    u = _codes(unit, n_units)
    rows = np.asarray(person, dtype=np.int64).reshape(-1)
    cnt = _finite("changed counts", changed).reshape(-1)
    if len(rows) != len(cnt):
        raise EngineError("changed: rows and counts differ in length", code="bad_shape")
    if np.any(cnt < 0) or np.any(cnt != np.round(cnt)):
        raise EngineError("changed: counts must be non-negative integers", code="bad_counts")
    if len(rows) and (rows.min() < 0 or rows.max() >= len(u) or len(u) != int(n_persons)):
        raise EngineError("changed: row index outside the persons", code="bad_rows")
    per = np.bincount(rows, cnt, len(u)) if len(rows) else np.zeros(len(u))
    hit = (per > 0).astype(np.float64)
    k = np.bincount(u, hit, n_units)
    n = np.bincount(u, minlength=n_units).astype(np.float64)
    has = n > 0
    med = float(np.median(k[has] / n[has])) if has.any() else 0.0
    rate = min(max(med, floor), 1.0 - 1e-12)
    p = np.where(has, stats.binom.sf(k - 1, n.astype(np.int64), rate), np.nan)
    return Indicator("changed_after_close", k, n * rate, p, n)


def response_times(unit: Any, person: Any, seconds: Any, n_units: int) -> tuple[Indicator, Indicator]:
    """Online response times too short (unit median) or too uniform (SD of person means), robust z lower tails."""
    u = _codes(unit, n_units)
    s = _finite("seconds", seconds)
    if np.any(s <= 0):
        raise EngineError("response times must be positive seconds", code="bad_time")
    pid = np.unique(np.asarray(person), return_inverse=True)[1].reshape(-1)
    lt = np.log(s)
    n_p = np.bincount(pid).astype(np.float64)
    pmean = np.bincount(pid, lt) / n_p
    punit = np.zeros(len(n_p), dtype=np.int64)
    punit[pid] = u
    med = np.full(n_units, np.nan)
    sdv = np.full(n_units, np.nan)
    order = np.argsort(punit, kind="stable")
    starts = np.r_[0, np.cumsum(np.bincount(punit, minlength=n_units))]
    for k in range(n_units):
        vals = pmean[order[starts[k] : starts[k + 1]]]
        if len(vals):
            med[k] = np.median(vals)
        if len(vals) > 2:
            sdv[k] = np.log(max(float(np.std(vals, ddof=1)), 1e-6))
    zs, zu = robust_z(med), robust_z(sdv)
    count = np.bincount(punit, minlength=n_units).astype(np.float64)
    short = Indicator("time_short", np.exp(med), np.full(n_units, np.exp(np.nanmedian(med))),
                      robust_tail(zs, upper=False), count)
    uniform = Indicator("time_uniform", np.exp(sdv), np.full(n_units, np.exp(np.nanmedian(sdv))),
                        robust_tail(zu, upper=False), count)
    return short, uniform


def heaping(unit: Any, test: Any, value: Any, decimals: Any, n_units: int) -> Indicator:
    """PE values heaped on round numbers (last shown digit 0 or 5) vs the pooled share per test, binomial."""
    u = _codes(unit, n_units)
    v = _finite("values", value)
    d = np.asarray(decimals, dtype=np.int64)
    t = np.unique(np.asarray(test), return_inverse=True)[1].reshape(-1)
    last = np.rint(np.abs(v) * 10.0**d).astype(np.int64) % 10
    round_ = np.isin(last, (0, 5)).astype(np.float64)
    share = np.bincount(t, round_) / np.bincount(t)
    expected = np.bincount(u, share[t], n_units)
    count = np.bincount(u, round_, n_units)
    n = np.bincount(u, minlength=n_units).astype(np.float64)
    rate = np.clip(expected / np.maximum(n, 1), 1e-9, 1 - 1e-9)
    return Indicator("pe_heaping", count, expected, overdispersed_binomial_sf(count, n, rate), n)


def repeated(unit: Any, test: Any, value: Any, n_units: int) -> Indicator:
    """A PE value repeated in a unit far more often than its national frequency (Bonferroni over values)."""
    u = _codes(unit, n_units)
    v = _finite("values", value)
    t = np.unique(np.asarray(test), return_inverse=True)[1].reshape(-1)
    vv = np.unique(np.column_stack([t, v]), axis=0, return_inverse=True)[1].reshape(-1)
    freq = np.bincount(vv) / np.bincount(t)[np.unique(np.column_stack([t, v]), axis=0)[:, 0].astype(np.int64)]
    ut = np.unique(np.column_stack([u, t]), axis=0, return_inverse=True)[1].reshape(-1)
    cell = np.unique(np.column_stack([u, vv]), axis=0, return_inverse=True, return_counts=True)
    keys, inv, counts = cell
    n_ut = np.bincount(ut)
    first_ut = np.zeros(len(keys), dtype=np.int64)
    first_ut[inv.reshape(-1)] = ut
    tail = stats.binom.sf(counts - 1, n_ut[first_ut], freq[keys[:, 1]])
    distinct = np.bincount(first_ut, minlength=len(n_ut))
    padj = np.minimum(1.0, tail * distinct[first_ut])
    cell_unit = keys[:, 0]
    p = np.ones(n_units)
    np.minimum.at(p, cell_unit, padj)
    top = np.zeros(n_units)
    np.maximum.at(top, cell_unit, counts.astype(np.float64))
    n = np.bincount(u, minlength=n_units).astype(np.float64)
    expected = np.zeros(n_units)
    np.maximum.at(expected, cell_unit, freq[keys[:, 1]] * n_ut[first_ut])
    return Indicator("pe_repeated", top, expected, np.where(n > 0, p, np.nan), n)


def straightlining(unit: Any, person: Any, block: Any, value: Any, n_units: int, *, min_items: int = 4) -> Indicator:
    """Persons giving one identical answer to every item of a block (≥ ``min_items`` items) vs the pooled rate."""
    u = _codes(unit, n_units)
    v = _finite("values", value)
    _pb_keys, pb = np.unique(np.column_stack([np.unique(np.asarray(person), return_inverse=True)[1].reshape(-1),
                                             np.unique(np.asarray(block), return_inverse=True)[1].reshape(-1)]),
                            axis=0, return_inverse=True)
    pb = pb.reshape(-1)
    cnt = np.bincount(pb)
    vmin = np.full(len(cnt), np.inf)
    vmax = np.full(len(cnt), -np.inf)
    np.minimum.at(vmin, pb, v)
    np.maximum.at(vmax, pb, v)
    unit_pb = np.zeros(len(cnt), dtype=np.int64)
    unit_pb[pb] = u
    eligible = cnt >= min_items
    straight = (vmin == vmax) & eligible
    rate = straight.sum() / max(eligible.sum(), 1)
    count = np.bincount(unit_pb, straight.astype(np.float64), n_units)
    n = np.bincount(unit_pb, eligible.astype(np.float64), n_units)
    rr = min(max(rate, 1e-6), 1 - 1e-6)
    return Indicator("straightlining", count, n * rate, overdispersed_binomial_sf(count, n, rr), n)
