"""Reporting scale, proficiency levels and Rubin's rules for plausible values.

Reporting scale. A linear map ``s = A θ + B`` chosen so that the base year's population has the configured mean
and SD (default 500 and 100): with the base population's mean ``μ`` and SD ``σ`` of θ (from plausible values:
the average over the M values of the weighted mean and of the weighted SD, as PISA does),
``A = SD / σ`` and ``B = MEAN − A μ``. Later years, once linked to the base θ metric
(:mod:`naeq.engines.irt.linking`), use the same ``A`` and ``B`` (:meth:`ReportingScale.linked` composes both
maps). The map applies to θ estimates and plausible values (``A θ + B``), to their standard errors (``A · se``),
and to item parameters (``a / A``, ``A b + B``).

Proficiency levels. Three increasing cut scores on the reporting scale split it into four levels, 待提高 (I) <
中等 (II) < 良好 (III) < 优秀 (IV) by default; a score equal to a cut belongs to the higher level. Cut scores and
labels are configuration (:func:`levels_from_config`). Level shares are computed per plausible value and combined
by Rubin's rules.

Rubin's rules (Rubin 1987, *Multiple imputation for nonresponse in surveys*, §3.1; OECD 2009, *PISA Data Analysis
Manual*, ch. 8): with per-PV estimates ``Q_m`` and sampling variances ``U_m`` (m = 1..M)::

    Q̄ = (1/M) Σ Q_m                      the estimate
    Ū = (1/M) Σ U_m                      within-imputation (sampling) variance
    B = (1/(M−1)) Σ (Q_m − Q̄)²           between-imputation (measurement) variance
    T = Ū + (1 + 1/M) B                  total variance, SE = √T
    ν = (M − 1) (1 + Ū / ((1 + 1/M) B))²  degrees of freedom; fmi = (1 + 1/M) B / T
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from naeq.engines.errors import EngineError
from naeq.engines.irt.linking import transform_items
from naeq.engines.irt.models import ItemParameters

__all__ = [
    "DEFAULT_CODES",
    "DEFAULT_LABELS",
    "LevelShares",
    "ProficiencyLevels",
    "ReportingScale",
    "RubinEstimate",
    "level_shares",
    "levels_from_config",
    "pv_mean_sd",
    "reporting_scale",
    "rubin_combine",
]

DEFAULT_CODES: tuple[str, ...] = ("I", "II", "III", "IV")
DEFAULT_LABELS: tuple[str, ...] = ("待提高", "中等", "良好", "优秀")


def _readonly(a: NDArray[Any]) -> NDArray[Any]:
    a.setflags(write=False)
    return a


def _finite(x: Any, name: str) -> NDArray[np.float64]:
    a = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise EngineError(f"{name} must be finite (no NaN or infinity)", code="non_finite")
    return a


def _pv_matrix(pvs: Any) -> NDArray[np.float64]:
    v = _finite(pvs, "plausible values")
    if v.ndim == 1:
        v = v[:, None]
    if v.ndim != 2 or v.shape[0] == 0:
        raise ValueError("plausible values must be an (N, M) matrix with at least one person")
    return v


def _weights(weights: Any, n: int) -> NDArray[np.float64]:
    if weights is None:
        return np.ones(n)
    w = _finite(weights, "weights").reshape(-1)
    if len(w) != n:
        raise ValueError(f"weights has {len(w)} entries, expected {n} (one per person)")
    if np.any(w < 0) or w.sum() <= 0:
        raise EngineError("weights must be non-negative and not all zero", code="bad_weights")
    return w


# ---------------------------------------------------------------------------------------------------- Rubin


@dataclass(frozen=True)
class RubinEstimate:
    """Rubin-combined estimate(s); every attribute has the shape of one per-PV estimate.

    ``estimate`` Q̄, ``within`` Ū, ``between`` B, ``total`` T, ``se`` √T, ``df`` ν, ``fmi`` the fraction of
    missing information ``(1 + 1/M) B / T``; ``n_draws`` M."""

    estimate: NDArray[np.float64]
    within: NDArray[np.float64]
    between: NDArray[np.float64]
    total: NDArray[np.float64]
    se: NDArray[np.float64]
    df: NDArray[np.float64]
    fmi: NDArray[np.float64]
    n_draws: int


def rubin_combine(estimates: Any, variances: Any) -> RubinEstimate:
    """Combine per-PV estimates ``(M, ...)`` and their sampling variances ``(M, ...)`` by Rubin's rules.

    Examples
    --------
    >>> r = rubin_combine([1.0, 2.0, 3.0, 2.0, 2.0], [0.1] * 5)
    >>> float(r.estimate), float(r.between), round(float(r.total), 6)
    (2.0, 0.5, 0.7)
    """
    q = _finite(estimates, "estimates")
    u = _finite(variances, "sampling variances")
    if q.shape != u.shape:
        raise ValueError(f"estimates {q.shape} and variances {u.shape} must have the same shape (M, ...)")
    if q.ndim == 0 or q.shape[0] < 2:
        raise ValueError("Rubin's rules need at least two plausible values (first axis)")
    if np.any(u < 0):
        raise EngineError("sampling variances must be non-negative", code="bad_variance")
    m = q.shape[0]
    qbar = q.mean(axis=0)
    ubar = u.mean(axis=0)
    b = q.var(axis=0, ddof=1)
    t = ubar + (1.0 + 1.0 / m) * b
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(b > 0, ubar / ((1.0 + 1.0 / m) * b), np.inf)
        df = np.where(b > 0, (m - 1) * (1.0 + r) ** 2, np.inf)
        fmi = np.where(t > 0, (1.0 + 1.0 / m) * b / t, 0.0)
    return RubinEstimate(estimate=qbar, within=ubar, between=b, total=t, se=np.sqrt(t), df=df, fmi=fmi, n_draws=m)


def pv_mean_sd(pvs: Any, weights: Any = None) -> tuple[RubinEstimate, NDArray[np.float64]]:
    """Weighted mean of plausible values with its Rubin SE (sampling variance under simple random sampling with
    Kish's effective size ``n_eff = (Σw)² / Σw²``: ``s_m² / n_eff``), and the (M,) weighted SD per PV.

    The design-based sampling variance (replicate weights) belongs to the estimation engine, which calls
    :func:`rubin_combine` with its own variances; this helper is for checks and for the base-scale SD."""
    v = _pv_matrix(pvs)
    w = _weights(weights, v.shape[0])
    ws = w.sum()
    mean = w @ v / ws
    var = w @ (v - mean) ** 2 / ws
    n_eff = ws**2 / float(w @ w)
    return rubin_combine(mean, var / n_eff), np.sqrt(var)


# ---------------------------------------------------------------------------------------------- reporting scale


@dataclass(frozen=True)
class ReportingScale:
    """The map ``s = A θ + B`` to the reporting scale.

    Attributes
    ----------
    A, B : slope and intercept; ``mean``, ``sd`` : the targets in the base population;
    base_mean, base_sd : θ mean and SD of the base population the map was fitted on
    """

    A: float
    B: float
    mean: float = 500.0
    sd: float = 100.0
    base_mean: float = 0.0
    base_sd: float = 1.0

    def __post_init__(self) -> None:
        if not (np.isfinite(self.A) and np.isfinite(self.B) and self.A > 0):
            raise EngineError("the reporting scale needs a finite positive slope A and a finite intercept B",
                              code="bad_scale")

    @classmethod
    def from_base(cls, base_mean: float, base_sd: float, *, mean: float = 500.0, sd: float = 100.0
                  ) -> ReportingScale:
        """The scale on which a base population with θ mean ``base_mean`` and SD ``base_sd`` has ``mean``/``sd``."""
        if not (np.isfinite(base_mean) and np.isfinite(base_sd) and base_sd > 0 and sd > 0):
            raise EngineError("the base population needs a finite mean and a positive SD", code="bad_scale")
        a = sd / base_sd
        return cls(A=float(a), B=float(mean - a * base_mean), mean=mean, sd=sd, base_mean=float(base_mean),
                   base_sd=float(base_sd))

    def theta(self, theta: Any) -> NDArray[np.float64]:
        """θ estimates or plausible values (any shape) on the reporting scale: ``A θ + B``."""
        return self.A * _finite(theta, "theta") + self.B

    def se(self, se: Any) -> NDArray[np.float64]:
        """Standard errors (any shape) on the reporting scale: ``A · se``."""
        s = _finite(se, "standard errors")
        if np.any(s < 0):
            raise EngineError("standard errors must be non-negative", code="bad_se")
        return self.A * s

    def inverse(self, score: Any) -> NDArray[np.float64]:
        """Reporting-scale scores back to θ: ``(s − B) / A`` (e.g. cut scores for a θ-metric check)."""
        return (_finite(score, "scores") - self.B) / self.A

    def linked(self, A: float, B: float) -> ReportingScale:
        """The reporting scale of a later calibration linked to the base by ``θ_base = A θ_new + B``
        (:class:`naeq.engines.irt.linking.LinkingResult`'s constants): ``s = self.A (A θ_new + B) + self.B``, so
        the later year's θ, PVs, SEs and item parameters go to the reporting scale in one step. The base
        population's mean and SD are kept for the record.

        Examples
        --------
        >>> ReportingScale.from_base(0.0, 1.0).linked(1.2, 0.3).theta([0.0, 1.0]).tolist()
        [530.0, 650.0]
        """
        if not (np.isfinite(A) and np.isfinite(B) and A > 0):
            raise EngineError("linking constants must be finite with A > 0", code="bad_constants")
        return ReportingScale(A=self.A * A, B=self.A * B + self.B, mean=self.mean, sd=self.sd,
                              base_mean=self.base_mean, base_sd=self.base_sd)

    def items(self, params: ItemParameters) -> ItemParameters:
        """Item parameters on the reporting scale (``a / A``, ``A b + B``, SEs alike); see
        :func:`naeq.engines.irt.linking.transform_items`."""
        return transform_items(params, self.A, self.B)


def reporting_scale(base_theta: Any, *, weights: Any = None, mean: float = 500.0, sd: float = 100.0
                    ) -> ReportingScale:
    """Fit the reporting scale on the base year's population.

    Parameters
    ----------
    base_theta : (N,) θ values or (N, M) plausible values of the base population (use plausible values: EAPs
        are shrunk and would understate the SD)
    weights : (N,) sampling weights (default equal)
    mean, sd : the targets (default 500 and 100)

    Examples
    --------
    >>> s = reporting_scale(np.array([[-1.0], [1.0]]))
    >>> s.A, s.B, s.theta(np.array([0.0, 1.0])).tolist()
    (100.0, 500.0, [500.0, 600.0])
    """
    v = _pv_matrix(base_theta)
    w = _weights(weights, v.shape[0])
    ws = w.sum()
    mu = w @ v / ws
    sdv = np.sqrt(w @ (v - mu) ** 2 / ws)
    return ReportingScale.from_base(float(mu.mean()), float(sdv.mean()), mean=mean, sd=sd)


# ----------------------------------------------------------------------------------------------------- levels


@dataclass(frozen=True)
class ProficiencyLevels:
    """Levels from increasing cut scores on the reporting scale.

    Attributes
    ----------
    cuts : (L−1,) strictly increasing cut scores; a score ≥ ``cuts[k−1]`` and < ``cuts[k]`` is at level k
    codes : (L,) level codes, default I–IV; labels : (L,) names, default 待提高 / 中等 / 良好 / 优秀
    """

    cuts: tuple[float, ...]
    codes: tuple[str, ...] = DEFAULT_CODES
    labels: tuple[str, ...] = DEFAULT_LABELS

    def __post_init__(self) -> None:
        cuts = tuple(float(c) for c in self.cuts)
        object.__setattr__(self, "cuts", cuts)
        object.__setattr__(self, "codes", tuple(str(c) for c in self.codes))
        object.__setattr__(self, "labels", tuple(str(c) for c in self.labels))
        if not cuts:
            raise EngineError("proficiency levels need at least one cut score", code="bad_levels")
        if not all(np.isfinite(cuts)) or bool(np.any(np.diff(cuts) <= 0)):
            raise EngineError(f"cut scores must be finite and strictly increasing, got {list(cuts)}",
                              code="bad_levels")
        if len(self.codes) != len(cuts) + 1 or len(self.labels) != len(cuts) + 1:
            raise EngineError(f"{len(cuts)} cut scores make {len(cuts) + 1} levels, but {len(self.codes)} codes "
                              f"and {len(self.labels)} labels are configured", code="bad_levels")
        if len(set(self.codes)) != len(self.codes):
            raise EngineError("level codes must be unique", code="bad_levels")

    @property
    def n_levels(self) -> int:
        return len(self.cuts) + 1

    def classify(self, scores: Any) -> NDArray[np.int64]:
        """Level index 0..L−1 of every score (any shape); a score equal to a cut is in the higher level."""
        s = _finite(scores, "scores")
        return np.searchsorted(np.asarray(self.cuts), s, side="right").astype(np.int64)

    def code_of(self, scores: Any) -> NDArray[Any]:
        """Level codes (I..IV) of the scores."""
        return np.asarray(self.codes, dtype=object)[self.classify(scores)]


def levels_from_config(config: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> ProficiencyLevels:
    """Proficiency levels from configuration.

    Accepts ``{"cuts": [c1, c2, c3], "codes": [...], "labels": [...]}`` (codes and labels optional) or a list of
    levels in increasing order ``[{"code": "I", "label": "待提高"}, {"code": "II", "label": "中等", "min": 450},
    ...]`` where every level but the first gives its lower bound ``min``.

    Examples
    --------
    >>> lv = levels_from_config({"cuts": [420, 500, 580]})
    >>> lv.code_of([400, 420, 579, 700]).tolist()
    ['I', 'II', 'III', 'IV']
    """
    if isinstance(config, Mapping):
        if "cuts" not in config:
            raise EngineError("the levels configuration needs 'cuts' (increasing cut scores)", code="bad_levels")
        cuts = tuple(config["cuts"])
        n = len(cuts) + 1
        codes = tuple(config.get("codes", DEFAULT_CODES if n == 4 else tuple(str(i + 1) for i in range(n))))
        labels = tuple(config.get("labels", DEFAULT_LABELS if n == 4 else codes))
        return ProficiencyLevels(cuts=cuts, codes=codes, labels=labels)
    levels = list(config)
    if len(levels) < 2:
        raise EngineError("the levels configuration needs at least two levels", code="bad_levels")
    for k, lev in enumerate(levels[1:], start=2):
        if "min" not in lev:
            raise EngineError(f"level {k} ({lev.get('code', '?')}) has no lower bound 'min'", code="bad_levels")
    return ProficiencyLevels(cuts=tuple(float(lev["min"]) for lev in levels[1:]),
                             codes=tuple(str(lev.get("code", i + 1)) for i, lev in enumerate(levels)),
                             labels=tuple(str(lev.get("label", lev.get("code", i + 1)))
                                          for i, lev in enumerate(levels)))


@dataclass(frozen=True)
class LevelShares:
    """Shares of the population at every level.

    Attributes
    ----------
    per_pv : (M, L) weighted share at each level computed with each plausible value
    combined : :class:`RubinEstimate` of the (L,) shares (mean over PVs; SE from within + (1 + 1/M) between)
    at_or_above : :class:`RubinEstimate` of the (L,) cumulative shares at level ≥ k (k = 0 is 1; e.g. index 1
        is "中等及以上")
    levels : the configuration used
    """

    per_pv: NDArray[np.float64]
    combined: RubinEstimate
    at_or_above: RubinEstimate
    levels: ProficiencyLevels


def level_shares(scores: Any, levels: ProficiencyLevels, *, weights: Any = None,
                 sampling_variances: Any = None, at_or_above_variances: Any = None) -> LevelShares:
    """Level shares per plausible value and combined by Rubin's rules.

    Parameters
    ----------
    scores : (N, M) plausible values on the reporting scale (or (N,) for a single value, without Rubin SE)
    levels : the cut scores
    weights : (N,) sampling weights
    sampling_variances, at_or_above_variances : (M, L) sampling variances of the per-PV shares, e.g. from
        replicate weights (the estimation engine); by default the simple-random-sampling approximation
        ``p (1 − p) / n_eff`` with Kish's effective sample size (an under-estimate for clustered samples)

    Examples
    --------
    >>> lv = ProficiencyLevels(cuts=(420, 500, 580))
    >>> sh = level_shares(np.array([[400, 410], [450, 430], [520, 590], [600, 610]]), lv)
    >>> sh.combined.estimate.tolist(), sh.at_or_above.estimate[1].item()
    ([0.25, 0.25, 0.125, 0.375], 0.75)
    """
    v = _pv_matrix(scores)
    n, m = v.shape
    w = _weights(weights, n)
    lev = levels.classify(v)                                               # (N, M)
    n_lev = levels.n_levels
    onehot = lev[:, :, None] == np.arange(n_lev)[None, None, :]            # (N, M, L)
    per_pv = np.einsum("i,iml->ml", w, onehot) / w.sum()
    cum = np.cumsum(per_pv[:, ::-1], axis=1)[:, ::-1]
    n_eff = w.sum() ** 2 / float(w @ w)

    def var(given: Any, p: NDArray[np.float64]) -> NDArray[np.float64]:
        if given is None:
            # cum[:, 0] is a sum of shares that rounding can put a hair above 1: clip before p(1 − p)
            pc = np.clip(p, 0.0, 1.0)
            return pc * (1 - pc) / n_eff
        g = _finite(given, "sampling variances")
        if g.shape != p.shape:
            raise ValueError(f"sampling variances must have shape {p.shape} (PVs × levels), got {g.shape}")
        return g

    if m < 2:
        zero = np.zeros(n_lev)
        single = RubinEstimate(estimate=per_pv[0], within=var(sampling_variances, per_pv)[0], between=zero,
                               total=var(sampling_variances, per_pv)[0],
                               se=np.sqrt(var(sampling_variances, per_pv)[0]), df=np.full(n_lev, np.inf),
                               fmi=zero, n_draws=1)
        single_c = RubinEstimate(estimate=cum[0], within=var(at_or_above_variances, cum)[0], between=zero,
                                 total=var(at_or_above_variances, cum)[0],
                                 se=np.sqrt(var(at_or_above_variances, cum)[0]), df=np.full(n_lev, np.inf),
                                 fmi=zero, n_draws=1)
        return LevelShares(per_pv=_readonly(per_pv), combined=single, at_or_above=single_c, levels=levels)
    return LevelShares(per_pv=_readonly(per_pv), combined=rubin_combine(per_pv, var(sampling_variances, per_pv)),
                       at_or_above=rubin_combine(cum, var(at_or_above_variances, cum)), levels=levels)
