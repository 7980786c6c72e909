"""Between-school differences: the between-school share of variance and the 校际差异率, and the high-quality
balanced county (优质均衡) check.

Weighted one-way ANOVA of the scores on schools, within each group (county), for every PV and every replicate
weight. With weights rescaled within the group to sum to its sample size n (so that sums of squares are on the
scale of the sample; Σ_j n_j* = n), school totals ``n_j* = Σ_{i∈j} w*_i``, ``J`` schools:

``SSW = Σ_j Σ_i w*_i (y_i − ȳ_j)²``,  ``SSB = Σ_j n_j* (ȳ_j − ȳ)²``,
``MSW = SSW / (n − J)``,  ``MSB = SSB / (J − 1)``,  ``n0 = (n − Σ_j n_j*² / n) / (J − 1)``,
``σ²_b = max(0, (MSB − MSW) / n0)``,  ``σ²_w = MSW``.

Definitions (``definition=``) of the rate:

* ``variance_share`` (default; the between-school share, ICC(1)): ``σ²_b / (σ²_b + σ²_w)``. This is the
  reading of 校际差异率 as 学校间差异占学生成绩总差异的比例 used here; it is the same number as
  :func:`between_school_share`.
* ``eta_squared``: ``SSB / (SSB + SSW)``, the uncorrected weighted share (larger with few students per school).
* ``cv``: the coefficient of variation of school means, ``√(Σ_j n_j* (ȳ_j − ȳ)² / n) / ȳ`` (the 差异系数 form
  used for resource indicators of the balanced-county criterion).

SEs come from the replicates and Rubin's rules like every estimate. Replicates that drop a school drop it from
n, J and the sums.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from naeq.engines.errors import EngineError
from naeq.engines.estimation.design import Design
from naeq.engines.estimation.estimators import DEFAULT_RULES, LEVEL_CODES, _counts, _pvs, groups
from naeq.engines.estimation.results import Estimates, SuppressionRules, build

DEFINITIONS = ("variance_share", "eta_squared", "cv")


def _anova(design: Design, y: NDArray[np.float64], codes: NDArray[np.int64], k: int, definition: str
           ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    sc = design.school_codes
    if sc is None:
        raise EngineError("between-school statistics need the design's school labels", code="no_schools")
    ok = codes >= 0
    rows = np.flatnonzero(ok)
    n_sc = int(sc.max()) + 1
    pairs, cell = np.unique(codes[rows] * n_sc + sc[rows], return_inverse=True)
    cell = cell.ravel()
    n_cells = len(pairs)
    school_group = pairs // n_sc
    s_mat = sparse.csr_matrix((np.ones(len(rows)), (cell, rows)), shape=(n_cells, design.n))
    w_all = np.column_stack([design.weights, design.replicates])  # (N, R+1)
    wj = np.asarray(s_mat @ w_all)  # (cells, C)
    nj = np.asarray(s_mat @ (w_all > 0).astype(np.float64))
    to_group = sparse.csr_matrix((np.ones(n_cells), (school_group, np.arange(n_cells))), shape=(k, n_cells))
    wg = np.asarray(to_group @ wj)
    ng = np.asarray(to_group @ nj)
    jg = np.asarray(to_group @ (wj > 0).astype(np.float64))
    if (jg < 2).any():
        raise EngineError("a group has fewer than two schools (in the sample or in a replicate): no "
                          "between-school variance", code="few_schools")
    full, reps = [], []
    for m in range(y.shape[1]):
        yv = y[:, m]
        sy = np.asarray(s_mat @ (w_all * yv[:, None]))
        syy = np.asarray(s_mat @ (w_all * (yv * yv)[:, None]))
        with np.errstate(divide="ignore", invalid="ignore"):
            mean_j = np.where(wj > 0, sy / wj, 0.0)
        syg = np.asarray(to_group @ sy)
        mean_g = syg / wg
        ssw = np.asarray(to_group @ (syy - sy * mean_j))
        ssb = np.asarray(to_group @ (wj * (mean_j - mean_g[school_group]) ** 2))
        scale = ng / wg  # w* = w n / W
        ssw_s, ssb_s = ssw * scale, ssb * scale
        nj_s = wj * scale[school_group]
        if definition == "variance_share":
            msw = ssw_s / (ng - jg)
            msb = ssb_s / (jg - 1)
            n0 = (ng - np.asarray(to_group @ (nj_s ** 2)) / ng) / (jg - 1)
            sb = np.maximum(0.0, (msb - msw) / n0)
            stat = sb / (sb + msw)
        elif definition == "eta_squared":
            stat = ssb / (ssb + ssw)
        else:
            stat = np.sqrt(ssb / wg) / mean_g
        full.append(stat[:, 0])
        reps.append(stat[:, 1:].T)
    return np.stack(full), np.stack(reps)


def between_school_share(design: Design, scores: Any, *, by: Any = None, domain: Any = None,
                         definition: str = "variance_share", rules: SuppressionRules = DEFAULT_RULES
                         ) -> Estimates:
    """Between-school statistic of ``scores`` (N,) or (N, M) per group (module docstring for the
    definitions). Needs ``design.schools``; schools must be nested in the groups."""
    if definition not in DEFINITIONS:
        raise ValueError(f"definition must be one of {DEFINITIONS}, got {definition!r}")
    y = _pvs(design, scores, "scores")
    codes, keys, names = groups(design, by, domain)
    k = len(keys)
    full, reps = _anova(design, y, codes, k, definition)
    n, sw, ns = _counts(design, codes, k)
    return build(design, "between_school", names, keys, [definition] * k, full, reps, n, sw, ns, rules,
                 cv_rule=False)


@dataclass(frozen=True)
class BalancedCountyRule:
    """The high-quality balanced county (优质均衡) criterion for one subject: the county's level at least
    ``min_level`` (default Ⅲ) and the 校际差异率 below ``max_rate`` (default 0.15), with the rate computed by
    ``definition``. The county's level is the level of its mean score under ``cuts``."""

    cuts: tuple[float, ...]
    min_level: str = "III"
    max_rate: float = 0.15
    definition: str = "variance_share"
    codes: tuple[str, ...] = LEVEL_CODES


@dataclass(frozen=True)
class BalancedCounty:
    county: tuple[Any, ...]
    mean: float
    mean_se: float
    level: str
    rate: float
    rate_se: float
    level_ok: bool
    rate_ok: bool
    passed: bool
    suppressed: bool


def balanced_county(design: Design, scores: Any, county: Any, rule: BalancedCountyRule, *,
                    rules: SuppressionRules = DEFAULT_RULES) -> list[BalancedCounty]:
    """The 优质均衡 check for every county of ``county`` (N,) labels; see :class:`BalancedCountyRule`."""
    from naeq.engines.estimation.estimators import mean

    cuts: Sequence[float] = rule.cuts
    if rule.min_level not in rule.codes:
        raise ValueError(f"min_level must be one of {rule.codes}")
    m = mean(design, scores, by=county, rules=rules)
    r = between_school_share(design, scores, by=county, definition=rule.definition, rules=rules)
    need = rule.codes.index(rule.min_level)
    out = []
    for k in range(len(m)):
        lev = int(np.searchsorted(np.asarray(cuts, dtype=np.float64), m.value[k], side="right"))
        out.append(BalancedCounty(m.group[k], float(m.value[k]), float(m.se[k]), rule.codes[lev],
                                  float(r.value[k]), float(r.se[k]), lev >= need, bool(r.value[k] < rule.max_rate),
                                  lev >= need and bool(r.value[k] < rule.max_rate),
                                  bool(m.suppressed[k] or r.suppressed[k])))
    return out
