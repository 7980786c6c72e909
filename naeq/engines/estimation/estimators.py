"""Design-based estimators over plausible values, for many groups at once.

Every estimator takes a :class:`~naeq.engines.estimation.Design`, the values ``(N,)`` or plausible values
``(N, M)`` and an optional ``by`` (one label array or a tuple of them, e.g. ``(county, sex)``); it computes the
statistic with the full weights and with every replicate weight, for every PV and every group, in a few sparse
matrix products (no Python loop over groups or replicates), and combines them by Rubin's rules
(:func:`~naeq.engines.estimation.results.rubin`). Rows outside ``domain`` (a boolean mask) are left out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse, stats

from naeq.engines.errors import EngineError
from naeq.engines.estimation.design import Design, finite
from naeq.engines.estimation.results import Estimates, SuppressionRules, build

DEFAULT_RULES = SuppressionRules()
LEVEL_CODES = ("I", "II", "III", "IV")


def _pvs(design: Design, values: Any, name: str = "values") -> NDArray[np.float64]:
    y = finite(values, name)
    y = y[:, None] if y.ndim == 1 else y
    if y.shape[0] != design.n:
        raise ValueError(f"{name} has {y.shape[0]} rows, the design {design.n}")
    return y


def groups(design: Design, by: Any, domain: Any = None
           ) -> tuple[NDArray[np.int64], list[tuple[Any, ...]], tuple[str, ...]]:
    """Group code of every row (-1: outside the domain or with zero weight), the keys, and the names."""
    n = design.n
    if by is None:
        codes = np.zeros(n, dtype=np.int64)
        keys: list[tuple[Any, ...]] = [("all",)]
        names: tuple[str, ...] = ("group",)
    else:
        if isinstance(by, dict):
            names, cols = tuple(by), [np.asarray(v) for v in by.values()]
        elif isinstance(by, tuple):
            names, cols = tuple(f"by{i + 1}" for i in range(len(by))), [np.asarray(v) for v in by]
        else:
            names, cols = ("group",), [np.asarray(by)]
        parts = []
        labels = []
        for c in cols:
            if c.shape != (n,):
                raise ValueError(f"a by column has shape {c.shape}, expected ({n},)")
            lab, inv = np.unique(c, return_inverse=True)
            parts.append(inv.ravel())
            labels.append(lab)
        # crossed groups: one integer key per row (mixed radix), then a 1-D unique (np.unique(axis=0) is slow)
        sizes = [len(lab) for lab in labels]
        flat = np.zeros(n, dtype=np.int64)
        for inv, size in zip(parts, sizes, strict=True):
            flat = flat * size + inv
        uniq_flat, codes = np.unique(flat, return_inverse=True)
        codes = codes.ravel().astype(np.int64)
        digits = []
        rest = uniq_flat.copy()
        for size in reversed(sizes):
            digits.append(rest % size)
            rest = rest // size
        uniq = np.stack(digits[::-1], axis=1)
        keys = [tuple(labels[j][uniq[k, j]].item() for j in range(len(cols))) for k in range(len(uniq))]
    keep = design.weights > 0
    if domain is not None:
        dom = np.asarray(domain, dtype=bool)
        if dom.shape != (n,):
            raise ValueError("domain must be a boolean mask of the rows")
        keep &= dom
    codes = np.where(keep, codes, -1)
    used = np.unique(codes[codes >= 0])
    if len(used) == 0:
        raise EngineError("no row with a positive weight in the domain", code="empty_domain")
    remap = np.full(len(keys), -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    codes = np.where(codes >= 0, remap[np.maximum(codes, 0)], -1)
    return codes, [keys[k] for k in used], names


def _indicator(codes: NDArray[np.int64], k: int, values: NDArray[np.float64] | None = None) -> Any:
    rows = np.flatnonzero(codes >= 0)
    data = np.ones(len(rows)) if values is None else values[rows]
    return sparse.csr_matrix((data, (codes[rows], rows)), shape=(k, len(codes)))


def _sums(design: Design, g: Any) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(K,) sums with the full weights and (R, K) with the replicates of the sparse rows ``g`` (K, N)."""
    return np.asarray(g @ design.weights), np.asarray((g @ design.replicates).T)


def _counts(design: Design, codes: NDArray[np.int64], k: int) -> tuple[NDArray[np.int64], NDArray[np.float64],
                                                                        NDArray[np.int64]]:
    ok = codes >= 0
    n = np.bincount(codes[ok], minlength=k).astype(np.int64)
    sw = np.bincount(codes[ok], weights=design.weights[ok], minlength=k).astype(np.float64)
    sc = design.school_codes
    if sc is None:
        return n, sw, np.full(k, -1, dtype=np.int64)
    n_sc = int(sc.max()) + 1
    pairs = np.unique(codes[ok] * n_sc + sc[ok])
    return n, sw, np.bincount(pairs // n_sc, minlength=k).astype(np.int64)


def _ratio_stats(design: Design, y: NDArray[np.float64], codes: NDArray[np.int64], k: int
                 ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Weighted means per PV: full (M, K) and replicates (M, R, K)."""
    g1 = _indicator(codes, k)
    d_full, d_rep = _sums(design, g1)
    with np.errstate(divide="ignore", invalid="ignore"):
        full, reps = [], []
        for m in range(y.shape[1]):
            n_full, n_rep = _sums(design, _indicator(codes, k, y[:, m]))
            full.append(n_full / d_full)
            reps.append(n_rep / d_rep)
    # A group lying inside a PSU that a replicate drops has no value in that replicate: its SE is NaN and the
    # estimate is suppressed with reason ``no_se`` (R survey: NA replicates).
    reps_a = np.stack(reps)
    return np.stack(full), reps_a


def mean(design: Design, values: Any, *, by: Any = None, domain: Any = None,
         rules: SuppressionRules = DEFAULT_RULES, term: str = "mean") -> Estimates:
    """Weighted mean ``Σ w y / Σ w`` per group (R ``svymean`` / ``svyby``), over PVs by Rubin's rules.

    ``values`` (N,) or (N, M) plausible values.

    Examples
    --------
    >>> d = Design(np.ones(4), np.array([[0., 2.], [0., 2.], [2., 0.], [2., 0.]]))
    >>> e = mean(d, np.array([1., 2., 3., 4.]))
    >>> float(e.value[0]), float(e.se[0])
    (2.5, 1.4142135623730951)
    """
    y = _pvs(design, values)
    codes, keys, names = groups(design, by, domain)
    k = len(keys)
    full, reps = _ratio_stats(design, y, codes, k)
    n, sw, ns = _counts(design, codes, k)
    return build(design, "mean", names, keys, [term] * k, full, reps, n, sw, ns, rules)


def proportion(design: Design, values: Any, category: Any, *, by: Any = None, domain: Any = None,
               rules: SuppressionRules = DEFAULT_RULES) -> Estimates:
    """Share of rows whose value equals ``category`` (or is in it, for a list/tuple/set): the mean of the
    indicator. ``values`` (N,) or (N, M)."""
    v = np.asarray(values)
    cats = list(category) if isinstance(category, list | tuple | set | frozenset) else [category]
    ind = np.isin(v, cats).astype(np.float64)
    label = "|".join(str(c) for c in cats)
    e = mean(design, ind, by=by, domain=domain, rules=rules, term=f"p[{label}]")
    return dataclasses.replace(e, statistic="proportion")


def levels(design: Design, scores: Any, cuts: Sequence[float], *, codes: Sequence[str] = LEVEL_CODES,
           by: Any = None, domain: Any = None, rules: SuppressionRules = DEFAULT_RULES, at_least: int | None = 1
           ) -> Estimates:
    """Share of students in each level (cut scores increasing; a score equal to a cut is in the higher level,
    as ``naeq.engines.irt.scale.ProficiencyLevels``), per group; with ``at_least`` = k also the share at level
    k or above (default: 中等及以上, levels II–IV). Terms ``level[I]`` … and ``level[>=II]``."""
    s = _pvs(design, scores, "scores")
    c = np.asarray(cuts, dtype=np.float64)
    if c.ndim != 1 or len(c) < 1 or (np.diff(c) <= 0).any():
        raise EngineError("cut scores must be strictly increasing", code="bad_levels")
    if len(codes) != len(c) + 1:
        raise EngineError(f"{len(c)} cut scores make {len(c) + 1} levels, {len(codes)} codes given",
                          code="bad_levels")
    lev = np.searchsorted(c, s, side="right")
    gcodes, keys, names = groups(design, by, domain)
    k = len(keys)
    parts_full, parts_rep, terms = [], [], []
    targets = [(f"level[{codes[j]}]", lev == j) for j in range(len(codes))]
    if at_least is not None:
        targets.append((f"level[>={codes[at_least]}]", lev >= at_least))
    for name, ind in targets:
        f, r = _ratio_stats(design, ind.astype(np.float64), gcodes, k)
        parts_full.append(f)
        parts_rep.append(r)
        terms.append(name)
    # rows ordered group-major: group 0's levels, group 1's levels, ...
    full = np.stack(parts_full, axis=-1).reshape(s.shape[1], k * len(targets))
    reps = np.stack(parts_rep, axis=-1).reshape(s.shape[1], design.n_replicates, k * len(targets))
    n, sw, ns = _counts(design, gcodes, k)
    rep = len(targets)
    return build(design, "levels", names, [key for key in keys for _ in range(rep)], terms * k, full, reps,
                 np.repeat(n, rep), np.repeat(sw, rep), np.repeat(ns, rep), rules)


def _qrule_math(sorted_x: NDArray[np.float64], cumw: NDArray[np.float64], total: NDArray[np.float64],
                start: NDArray[np.int64], codes_sorted: NDArray[np.int64], p: NDArray[np.float64]
                ) -> NDArray[np.float64]:
    """R ``survey`` ``qrule_math`` (via ``qs``) per group: with ``pos`` the last sorted position whose
    cumulative weight is ≤ p·Σw, the quantile is x[pos] when p − cumw[pos]/Σw is exactly 0, else x[pos + 1]
    (x[pos] at the end). ``p`` (K,) per group; NaN p gives NaN."""
    k = len(total)
    out = np.full(k, np.nan)
    ok = np.isfinite(p)
    pk = np.where(ok, p, 0.0)
    le = cumw <= (pk * total)[codes_sorted]
    count = np.bincount(codes_sorted, weights=le, minlength=k).astype(np.int64)
    size = np.bincount(codes_sorted, minlength=k)
    pos = start + np.maximum(count, 1) - 1  # a p below the first cumulative weight: R's `last` of nothing
    nxt = np.where(count >= size, pos, pos + 1)
    wlow = pk - cumw[pos] / total
    q = np.where(wlow == 0, sorted_x[pos], sorted_x[nxt])
    q = np.where(count == 0, sorted_x[start], q)
    out[ok] = q[ok]
    return out


def percentile(design: Design, values: Any, quantiles: Sequence[float], *, by: Any = None, domain: Any = None,
               rules: SuppressionRules = DEFAULT_RULES, alpha: float = 0.05) -> Estimates:
    """Weighted quantiles with R ``survey`` 4.1's defaults for a replicate design: ``svyquantile(...,
    qrule = "math", interval.type = "mean")``.

    The quantile is the smallest value whose weighted cumulative share reaches p (``qrule_math``). Its SE is
    Woodruff's (1952): the replicate SE of the weighted share ``p̂`` of values ≤ the quantile gives the interval
    ``p̂ ± t_{α/2, df} SE(p̂)`` (df = the design's ``degf``), mapped back through the quantile function; the SE is
    the interval's length / (2 t_{α/2, df}). Over PVs: Rubin's rules on the per-PV quantiles and SEs
    (``withPV`` + ``MIcombine``). ``theta`` holds the per-PV quantiles only (no replicates), so percentiles
    cannot enter :func:`difference`."""
    y = _pvs(design, values)
    qs = np.asarray(quantiles, dtype=np.float64)
    if qs.ndim != 1 or len(qs) == 0 or ((qs <= 0) | (qs >= 1)).any():
        raise EngineError("quantiles must lie strictly between 0 and 1", code="bad_quantile")
    codes, keys, names = groups(design, by, domain)
    k = len(keys)
    rows = np.flatnonzero(codes >= 0)
    c = codes[rows]
    # R recomputes degf on every subset (svyby, subset()): the rank of the group's replicate weights - 1.
    df_g = (np.full(k, design.degf) if by is None and domain is None and len(rows) == design.n
            else np.array([design.degf_rows(rows[c == g]) for g in range(k)]))
    crit = np.where(np.isinf(df_g), stats.norm.ppf(1 - alpha / 2), stats.t.ppf(1 - alpha / 2, np.minimum(df_g, 1e300)))
    w = design.weights[rows]
    m_pv = y.shape[1]
    est = np.empty((m_pv, k * len(qs)))
    var = np.empty((m_pv, k * len(qs)))
    for m in range(m_pv):
        x = y[rows, m]
        order = np.lexsort((x, c))
        xs, cs, ws = x[order], c[order], w[order]
        start = np.searchsorted(cs, np.arange(k))
        # per-group cumulative sums, as R's cumsum within the group
        cumw = np.empty_like(ws)
        for g in range(k):  # a cumsum per group keeps R's summation order exactly (cheap: O(N) in total)
            s0 = start[g]
            s1 = start[g + 1] if g + 1 < k else len(ws)
            cumw[s0:s1] = np.cumsum(ws[s0:s1])
        total = cumw[np.append(start[1:], len(ws)) - 1]
        for j, p in enumerate(qs):
            qhat = _qrule_math(xs, cumw, total, start, cs, np.full(k, p))
            ind = np.zeros(design.n)
            ind[rows] = (y[rows, m] <= qhat[c]).astype(np.float64)
            f, r = _ratio_stats(design, ind[:, None], codes, k)
            se_p = np.sqrt(design.variance(f[0], r[0]))
            lo = f[0] - crit * se_p
            hi = f[0] + crit * se_p
            lower = _qrule_math(xs, cumw, total, start, cs, np.where(lo < 0, np.nan, lo))
            upper = _qrule_math(xs, cumw, total, start, cs, np.where(hi > 1, np.nan, hi))
            est[m, j::len(qs)] = qhat
            var[m, j::len(qs)] = ((upper - lower) / (2 * crit)) ** 2
    value = est.mean(axis=0)
    u = var.mean(axis=0)
    if m_pv > 1:
        b = est.var(axis=0, ddof=1)
        total_v = u + (1 + 1 / m_pv) * b
        with np.errstate(divide="ignore", invalid="ignore"):
            dfs = np.where(b > 0, (m_pv - 1) * (1 + u / ((1 + 1 / m_pv) * b)) ** 2, np.inf)
    else:
        b, total_v, dfs = np.zeros_like(u), u, np.repeat(df_g, len(qs)).astype(np.float64)
    n, sw, ns = _counts(design, codes, k)
    rep = len(qs)
    se = np.sqrt(total_v)
    terms = [f"p{100 * q:g}" for q in qs] * k
    base = build(design, "percentile", names, [key for key in keys for _ in range(rep)], terms,
                 est, np.broadcast_to(est[:, None, :], (m_pv, design.n_replicates, k * rep)), np.repeat(n, rep),
                 np.repeat(sw, rep), np.repeat(ns, rep), rules)
    reasons = []
    for i in range(len(value)):
        why = [x for x in base.reason[i].split(",") if x and x != "max_cv"]
        if rules.max_cv is not None and not (np.isfinite(se[i]) and abs(value[i]) > 0
                                             and se[i] / abs(value[i]) <= rules.max_cv):
            why.append("max_cv")
        reasons.append(",".join(why))
    return Estimates("percentile", names, base.group, base.term, value, se, dfs, u, b, base.n, base.sum_weights,
                     base.n_schools, np.array([bool(r) for r in reasons]), tuple(reasons),
                     est[:, None, :], design.token)


def regression(design: Design, y: Any, x: Any, *, names: Sequence[str] | None = None, intercept: bool = True,
               by: Any = None, domain: Any = None, rules: SuppressionRules = DEFAULT_RULES) -> Estimates:
    """Weighted least squares ``β = (X'WX)⁻¹ X'Wy`` with the full and every replicate weight (R ``svyglm``
    with the gaussian family on a replicate design), per group; ``y`` (N,) or (N, M) PVs, ``x`` (N, p)
    predictors (an intercept column is added first unless ``intercept=False``). Terms: ``(Intercept)`` and
    ``names``."""
    yy = _pvs(design, y, "y")
    xx = finite(x, "x")
    xx = xx[:, None] if xx.ndim == 1 else xx
    if xx.shape[0] != design.n:
        raise ValueError("x must have one row per design row")
    if names is None:
        names = [f"x{j + 1}" for j in range(xx.shape[1])]
    if len(names) != xx.shape[1]:
        raise ValueError("one name per column of x")
    terms = (["(Intercept)"] if intercept else []) + list(names)
    if intercept:
        xx = np.column_stack([np.ones(design.n), xx])
    p = xx.shape[1]
    codes, keys, gnames = groups(design, by, domain)
    k = len(keys)
    n_cols = design.n_replicates + 1
    xtx = np.empty((k, n_cols, p, p))
    for a in range(p):
        for b in range(a, p):
            f, r = _sums(design, _indicator(codes, k, xx[:, a] * xx[:, b]))
            xtx[:, 0, a, b] = xtx[:, 0, b, a] = f
            xtx[:, 1:, a, b] = xtx[:, 1:, b, a] = r.T
    # A group whose predictors are collinear (in the sample or a replicate) gets NaN, suppressed as "singular"
    # (R: NA coefficients).
    singular = (np.linalg.matrix_rank(xtx) < p).any(axis=1)
    safe = np.where(singular[:, None, None, None], np.eye(p), xtx)
    full = np.empty((yy.shape[1], k * p))
    reps = np.empty((yy.shape[1], design.n_replicates, k * p))
    for m in range(yy.shape[1]):
        xty = np.empty((k, n_cols, p))
        for a in range(p):
            f, r = _sums(design, _indicator(codes, k, xx[:, a] * yy[:, m]))
            xty[:, 0, a] = f
            xty[:, 1:, a] = r.T
        beta = np.linalg.solve(safe, xty[..., None])[..., 0]  # (K, R+1, p)
        beta[singular] = np.nan
        full[m] = beta[:, 0, :].reshape(-1)
        reps[m] = beta[:, 1:, :].transpose(1, 0, 2).reshape(design.n_replicates, -1)
    n, sw, ns = _counts(design, codes, k)
    return build(design, "regression", gnames, [key for key in keys for _ in range(p)], terms * k, full, reps,
                 np.repeat(n, p), np.repeat(sw, p), np.repeat(ns, p), rules, cv_rule=False)
