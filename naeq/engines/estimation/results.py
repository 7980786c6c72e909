"""Results of the estimators: Rubin's rules over plausible values, suppression, differences and their tests.

Every estimate keeps its per-PV full-sample and replicate values (``theta``), so a difference between any two
estimates of the same design gets its standard error from the replicates of the difference itself: the
covariance of a county and its province (a part and the whole) or of boys and girls in the same schools is then
included, as it must be.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from naeq.engines.errors import EngineError
from naeq.engines.estimation.design import Design


@dataclass(frozen=True)
class SuppressionRules:
    """Minimum-sample rules: an estimate breaking any of them is computed but flagged ``suppressed``.

    Defaults follow NAEP's reporting standard (NCES): at least 62 students and at least 5 primary sampling
    units (here: schools) behind an estimate, and the relative standard error rule of national statistics
    offices (ABS, Eurostat): a coefficient of variation SE/|estimate| above 0.5 is too unreliable to print.
    ``None`` switches a rule off. The CV rule applies to means, proportions, level shares and percentiles,
    not to differences or regression coefficients (whose value may legitimately be near 0)."""

    min_n: int | None = 62
    min_schools: int | None = 5
    max_cv: float | None = 0.5


NO_SUPPRESSION = SuppressionRules(None, None, None)


def rubin(design: Design, full: NDArray[np.float64], reps: NDArray[np.float64]
          ) -> tuple[NDArray[np.float64], ...]:
    """Rubin's rules. ``full`` (M, K) per-PV estimates, ``reps`` (M, R, K) their replicates.

    Returns value, SE, df, within (mean replicate variance), between (variance over PVs, ddof 1):
    ``T = U + (1 + 1/M) B`` and ``df = (M − 1)(1 + U / ((1 + 1/M) B))²`` (mitools ``MIcombine`` with
    ``df.complete = Inf``); with one value (M = 1) ``T = U`` and df is the design's."""
    m = full.shape[0]
    u = np.stack([design.variance(full[i], reps[i]) for i in range(m)]).mean(axis=0)
    value = full.mean(axis=0)
    if m > 1:
        b = full.var(axis=0, ddof=1)
        t = u + (1.0 + 1.0 / m) * b
        with np.errstate(divide="ignore", invalid="ignore"):
            df = np.where(b > 0, (m - 1) * (1.0 + u / ((1.0 + 1.0 / m) * b)) ** 2, np.inf)
    else:
        b = np.zeros_like(u)
        t = u
        df = np.full_like(u, design.degf)
    return value, np.sqrt(t), df, u, b


@dataclass(frozen=True)
class Estimates:
    """K estimates (rows): ``group[k]`` (the by-group key, a tuple) and ``term[k]`` (what was estimated).

    ``value``, ``se``, ``df``, ``within``, ``between`` (K,); ``n`` rows with positive weight, ``sum_weights``,
    ``n_schools`` (-1 when the design has no schools) (K,); ``suppressed`` (K,) and ``reason`` (K,) ('' or
    comma-separated codes ``min_n``, ``min_schools``, ``max_cv``, ``singular``, ``no_se``); ``theta``
    (M, R + 1, K) the per-PV full (index 0) and replicate values, for differences; ``design_token`` identifies
    the design."""

    statistic: str
    group_names: tuple[str, ...]
    group: tuple[tuple[Any, ...], ...]
    term: tuple[str, ...]
    value: NDArray[np.float64]
    se: NDArray[np.float64]
    df: NDArray[np.float64]
    within: NDArray[np.float64]
    between: NDArray[np.float64]
    n: NDArray[np.int64]
    sum_weights: NDArray[np.float64]
    n_schools: NDArray[np.int64]
    suppressed: NDArray[np.bool_]
    reason: tuple[str, ...]
    theta: NDArray[np.float64]
    design_token: str

    def __len__(self) -> int:
        return len(self.value)

    def index(self, group: Any = None, term: str | None = None) -> int:
        """Row of ``group`` (a key tuple or a single label) and ``term`` (default: the only term)."""
        key = group if isinstance(group, tuple) else ((group,) if group is not None else ("all",))
        key = tuple(str(k) for k in key)
        hits = [k for k in range(len(self)) if tuple(str(g) for g in self.group[k]) == key
                and (term is None or self.term[k] == term)]
        if len(hits) != 1:
            raise KeyError(f"{len(hits)} rows match group {key} and term {term!r}")
        return hits[0]

    def rows(self) -> list[dict[str, Any]]:
        """One dict per estimate (group columns, term, value, se, df, n, sum_weights, n_schools, suppressed)."""
        out = []
        for k in range(len(self)):
            row: dict[str, Any] = dict(zip(self.group_names, self.group[k], strict=True))
            row.update(statistic=self.statistic, term=self.term[k], value=float(self.value[k]),
                       se=float(self.se[k]), df=float(self.df[k]), n=int(self.n[k]),
                       sum_weights=float(self.sum_weights[k]), n_schools=int(self.n_schools[k]),
                       suppressed=bool(self.suppressed[k]), reason=self.reason[k])
            out.append(row)
        return out


def build(design: Design, statistic: str, group_names: tuple[str, ...], group: Sequence[tuple[Any, ...]],
          term: Sequence[str], full: NDArray[np.float64], reps: NDArray[np.float64], n: NDArray[np.int64],
          sum_w: NDArray[np.float64], n_schools: NDArray[np.int64], rules: SuppressionRules, *,
          cv_rule: bool = True) -> Estimates:
    value, se, df, u, b = rubin(design, full, reps)
    reasons = []
    for k in range(len(value)):
        r = [] if np.isfinite(value[k]) else ["singular"]
        if np.isfinite(value[k]) and not np.isfinite(se[k]):
            r.append("no_se")
        if rules.min_n is not None and n[k] < rules.min_n:
            r.append("min_n")
        if rules.min_schools is not None and n_schools[k] >= 0 and n_schools[k] < rules.min_schools:
            r.append("min_schools")
        if cv_rule and rules.max_cv is not None and not (abs(value[k]) > 0 and se[k] / abs(value[k]) <= rules.max_cv):
            r.append("max_cv")
        reasons.append(",".join(r))
    theta = np.concatenate([full[:, None, :], reps], axis=1)
    return Estimates(statistic, group_names, tuple(group), tuple(term), value, se, df, u, b, n, sum_w, n_schools,
                     np.array([bool(r) for r in reasons]), tuple(reasons), theta, design.token)


@dataclass(frozen=True)
class Differences:
    """Differences ``a[i] − b[j]`` with replicate SEs combined over PVs, t = d / SE, two-sided p (t with the
    Rubin df; normal when df is infinite) and ``significant`` = p < ``alpha``; ``suppressed`` when either side
    is."""

    label_a: tuple[str, ...]
    label_b: tuple[str, ...]
    value: NDArray[np.float64]
    se: NDArray[np.float64]
    df: NDArray[np.float64]
    t: NDArray[np.float64]
    p: NDArray[np.float64]
    significant: NDArray[np.bool_]
    suppressed: NDArray[np.bool_]
    alpha: float

    def rows(self) -> list[dict[str, Any]]:
        return [{"a": self.label_a[k], "b": self.label_b[k], "difference": float(self.value[k]),
                 "se": float(self.se[k]), "df": float(self.df[k]), "t": float(self.t[k]), "p": float(self.p[k]),
                 "significant": bool(self.significant[k]), "suppressed": bool(self.suppressed[k])}
                for k in range(len(self.value))]


def _label(e: Estimates, k: int) -> str:
    return "/".join(str(g) for g in e.group[k]) + (f":{e.term[k]}" if e.term[k] else "")


def difference(design: Design, a: Estimates, rows_a: Sequence[int] | NDArray[np.int64], b: Estimates,
               rows_b: Sequence[int] | NDArray[np.int64], *, alpha: float = 0.05) -> Differences:
    """``a[rows_a] − b[rows_b]`` (vectorised). ``a`` and ``b`` must come from ``design`` and have the same
    number of plausible values: two subgroups (boys − girls), a part and its whole (county − province,
    county − nation) or two statistics of one group.

    Examples
    --------
    >>> import numpy as np
    >>> from naeq.engines.estimation import Design, mean
    >>> d = Design(np.ones(4), np.array([[0., 2.], [0., 2.], [2., 0.], [2., 0.]]))
    >>> e = mean(d, np.array([1., 2., 3., 5.]), by=np.array(["a", "b", "a", "b"]))
    >>> float(difference(d, e, [1], e, [0]).value[0])
    1.5
    """
    if a.design_token != design.token or b.design_token != design.token:
        raise EngineError("both estimates must come from this design (the same replicate weights)",
                          code="design_mismatch")
    if a.theta.shape[0] != b.theta.shape[0]:
        raise EngineError("both estimates need the same number of plausible values", code="pv_mismatch")
    ia, ib = np.asarray(rows_a, dtype=np.int64), np.asarray(rows_b, dtype=np.int64)
    if ia.shape != ib.shape:
        raise ValueError("rows_a and rows_b must have the same length")
    th = a.theta[:, :, ia] - b.theta[:, :, ib]
    value, se, df, _, _ = rubin(design, th[:, 0, :], th[:, 1:, :])
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(se > 0, value / se, np.where(value == 0, 0.0, np.inf))
    p = np.where(np.isinf(df), 2 * stats.norm.sf(np.abs(t)), 2 * stats.t.sf(np.abs(t), np.where(
        np.isinf(df), 1.0, df)))
    return Differences(tuple(_label(a, int(k)) for k in ia), tuple(_label(b, int(k)) for k in ib), value, se, df,
                       t, p, p < alpha, a.suppressed[ia] | b.suppressed[ib], alpha)


def part_whole(design: Design, parts: Estimates, whole: Estimates, parent: Sequence[Any], *,
               term: str | None = None, alpha: float = 0.05) -> Differences:
    """Each part minus its whole: ``parent[k]`` names the whole's group of part row ``k`` (e.g. the
    province of each county; ``"all"`` for the nation). The SE comes from the replicates of the difference,
    so the part's share in the whole is accounted for (not ``√(SE_c² + SE_p²)``, which treats them as
    independent and is too large)."""
    rows_b = [whole.index(p, term if term is not None else parts.term[k]) for k, p in enumerate(parent)]
    return difference(design, parts, np.arange(len(parts)), whole, rows_b, alpha=alpha)


def trend(current: Estimates, rows_current: Sequence[int] | NDArray[np.int64], previous: Estimates,
          rows_previous: Sequence[int] | NDArray[np.int64], *, link_error: float | NDArray[np.float64] = 0.0,
          alpha: float = 0.05) -> Differences:
    """Change against an earlier cycle on the linked scale (the same subject three years earlier):
    ``current − previous`` for two *independent* samples, ``SE = √(SE_c² + SE_p² + link_error²)`` (PISA's trend
    SE; ``link_error`` on the reporting scale, from ``naeq.engines.irt.linking``: ``A_report · link_error``).
    df: Welch–Satterthwaite from the two Rubin dfs (the link error counted with infinite df); t test as
    :func:`difference`."""
    ic, ip = np.asarray(rows_current, dtype=np.int64), np.asarray(rows_previous, dtype=np.int64)
    if ic.shape != ip.shape:
        raise ValueError("rows_current and rows_previous must have the same length")
    le = np.broadcast_to(np.asarray(link_error, dtype=np.float64), ic.shape)
    if (le < 0).any() or not np.isfinite(le).all():
        raise EngineError("the link error must be a finite non-negative number", code="bad_link_error")
    va, vb = current.se[ic] ** 2, previous.se[ip] ** 2
    value = current.value[ic] - previous.value[ip]
    total = va + vb + le ** 2
    se = np.sqrt(total)
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = va ** 2 / current.df[ic] + vb ** 2 / previous.df[ip]
        df = np.where(denom > 0, total ** 2 / denom, np.inf)
        t = np.where(se > 0, value / se, 0.0)
    p = np.where(np.isinf(df), 2 * stats.norm.sf(np.abs(t)), 2 * stats.t.sf(np.abs(t), np.where(
        np.isinf(df), 1.0, df)))
    return Differences(tuple(_label(current, int(k)) for k in ic), tuple(_label(previous, int(k)) for k in ip),
                       value, se, df, t, p, p < alpha, current.suppressed[ic] | previous.suppressed[ip], alpha)
