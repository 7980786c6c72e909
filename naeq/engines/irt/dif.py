"""Differential item functioning between a reference and a focal group (e.g. boys/girls, urban/rural).

Persons are matched on their summed score within their booklet pattern (strata = pattern × total score, the
studied item included, as Holland & Thayer 1988 recommend). For stratum s of item j:

Dichotomous items — Mantel–Haenszel (Holland & Thayer 1988)
    with A_s, B_s the reference group's right/wrong counts, C_s, D_s the focal group's and N_s the total::

        α_MH = Σ A_s D_s / N_s  /  Σ B_s C_s / N_s,        MH D-DIF = −2.35 ln α_MH
        MH χ² = (|Σ A_s − Σ E(A_s)| − ½)² / Σ Var(A_s)     (1 df, continuity corrected; no correction when
                                                          the deviation is below ½, as R's mantelhaen.test)
        E(A_s) = n_Rs m_1s / N_s,  Var(A_s) = n_Rs n_Fs m_1s m_0s / (N_s² (N_s − 1))

    SE(ln α_MH) by Robins, Breslow & Greenland (1986). ETS classification (Zwick 2012): **A** when |D| < 1 or
    MH χ² is not significant at 5%; **C** when |D| ≥ 1.5 and |D| is significantly greater than 1
    ((|D| − 1)/SE(D) > 1.645); **B** otherwise. Negative D favours the reference group.
Polytomous items — Mantel (1963) and the standardised mean difference (Dorans & Schmitt 1991)
    with F_s the sum of the focal group's item scores::

        Mantel χ² = (Σ F_s − Σ E(F_s))² / Σ Var(F_s),  E(F_s) = n_Fs/N_s Σ_k k n_ks,
        Var(F_s) = n_Rs n_Fs / (N_s² (N_s − 1)) (N_s Σ_k k² n_ks − (Σ_k k n_ks)²)
        SMD = Σ_s (n_Fs / n_F) (mean_Fs − mean_Rs)

    ETS classes (Zwick, Thayer & Mazzeo 1997): **A** (AA) when Mantel p ≥ 0.05 or |SMD/SD| ≤ 0.17, **C** (CC)
    when p < 0.05 and |SMD/SD| > 0.25, **B** otherwise; SD is the item's score SD in the total sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from naeq.engines.errors import EngineError
from naeq.engines.irt.data import Responses
from naeq.engines.irt.patterns import booklet_patterns


@dataclass(frozen=True)
class DifResult:
    """One row per item. Dichotomous items fill mh_odds_ratio, mh_d_dif, mh_d_se; polytomous items smd and
    smd_effect (SMD/SD); all items chi2 (MH or Mantel, 1 df) and p; ets is "A", "B", "C" (or "" without data)."""

    items: tuple[str, ...]
    reference: Any
    focal: Any
    n_reference: NDArray[np.int64]
    n_focal: NDArray[np.int64]
    mh_odds_ratio: NDArray[np.float64]
    mh_d_dif: NDArray[np.float64]
    mh_d_se: NDArray[np.float64]
    smd: NDArray[np.float64]
    smd_effect: NDArray[np.float64]
    chi2: NDArray[np.float64]
    p: NDArray[np.float64]
    ets: tuple[str, ...]


def mantel_haenszel(responses: Responses, groups: Any, *, reference: Any, focal: Any) -> DifResult:
    """MH / Mantel DIF statistics and ETS classes for every item (see the module docstring).

    ``groups`` (P,) labels aligned with ``responses.persons``; persons in neither group are ignored.

    Examples
    --------
    >>> from naeq.engines.irt.simulate import simulate
    >>> s = simulate("rasch", 400, n_items=8, seed=1)
    >>> res = mantel_haenszel(s.responses, s.theta > 0, reference=False, focal=True)
    >>> len(res.ets)
    8
    """
    g = np.asarray(groups)
    if len(g) != responses.n_persons:
        raise ValueError(f"groups has {len(g)} entries, expected {responses.n_persons} (one per person)")
    is_ref = g == reference
    is_foc = g == focal
    if not is_ref.any() or not is_foc.any():
        raise EngineError(f"DIF needs persons in both groups ({reference!r} and {focal!r})", code="empty_dif_group")
    pattern, _design = booklet_patterns(responses)
    raw = responses.raw_scores()
    top = int(responses.max_raw_scores().max()) + 1
    stratum_of = pattern * top + raw                                             # (P,)
    member = np.where(is_ref, 0, np.where(is_foc, 1, -1))
    keep = member[responses.person] >= 0
    person = responses.person[keep]
    item = responses.item[keep]
    score = responses.score[keep]
    grp = member[person]
    # strata numbered over persons (a monotone relabelling of pattern × raw score: the same sorted order), and
    # every item's (stratum, group, category) table from ONE bincount over the responses: strata an item does not
    # occur in have no persons in it and are dropped below with the empty ones
    used, strat_p = np.unique(stratum_of[member >= 0], return_inverse=True)
    n_strata = len(used)
    strat_of_person = np.full(responses.n_persons, -1, dtype=np.int64)
    strat_of_person[member >= 0] = strat_p.reshape(-1)
    strat = strat_of_person[person]
    j_items = responses.n_items
    kmax = responses.max_categories
    table = np.bincount(((item * n_strata + strat) * 2 + grp) * kmax + score,
                        minlength=j_items * n_strata * 2 * kmax).reshape(j_items, n_strata, 2, kmax)
    out = {name: np.full(j_items, np.nan) for name in
           ("or", "d", "dse", "smd", "eff", "chi2", "p")}
    n_ref = table[:, :, 0].sum(axis=(1, 2)).astype(np.int64)
    n_foc = table[:, :, 1].sum(axis=(1, 2)).astype(np.int64)
    # per-item SD of the item score (all persons of both groups; ddof 1) for the polytomous effect size
    n_all = np.bincount(item, minlength=j_items).astype(np.float64)
    sum1 = np.bincount(item, weights=score, minlength=j_items)
    sum2 = np.bincount(item, weights=score.astype(np.float64) ** 2, minlength=j_items)
    with np.errstate(invalid="ignore", divide="ignore"):
        item_sd = np.sqrt(np.maximum(sum2 - sum1**2 / n_all, 0.0) / (n_all - 1))
    ets: list[str] = []
    for j in range(j_items):
        kj = int(responses.n_categories[j])
        if n_ref[j] == 0 or n_foc[j] == 0:
            ets.append("")
            continue
        # counts[s, group, k]
        counts = table[j, :, :, :kj].astype(np.float64)
        n_g = counts.sum(axis=2)                                                 # (S, 2)
        n_s = n_g.sum(axis=1)
        use = (n_g[:, 0] > 0) & (n_g[:, 1] > 0) & (n_s > 1)
        counts, n_g, n_s = counts[use], n_g[use], n_s[use]
        if len(n_s) == 0:
            ets.append("")
            continue
        if kj == 2:
            a_, b_ = counts[:, 0, 1], counts[:, 0, 0]
            c_, d_ = counts[:, 1, 1], counts[:, 1, 0]
            m1, m0 = a_ + c_, b_ + d_
            r = a_ * d_ / n_s
            sv = b_ * c_ / n_s
            sr, ss = r.sum(), sv.sum()
            alpha = sr / ss if ss > 0 and sr > 0 else np.nan
            e_a = n_g[:, 0] * m1 / n_s
            v_a = n_g[:, 0] * n_g[:, 1] * m1 * m0 / (n_s**2 * (n_s - 1))
            dev = abs(a_.sum() - e_a.sum())
            yates = 0.5 if dev >= 0.5 else 0.0                      # as R's mantelhaen.test
            chi = (dev - yates) ** 2 / v_a.sum() if v_a.sum() > 0 else np.nan
            p_val = stats.chi2.sf(chi, 1) if np.isfinite(chi) else np.nan
            # Robins-Breslow-Greenland variance of ln(alpha)
            pp = (a_ + d_) / n_s
            qq = (b_ + c_) / n_s
            var_ln = ((pp * r).sum() / (2 * sr**2) + (pp * sv + qq * r).sum() / (2 * sr * ss)
                      + (qq * sv).sum() / (2 * ss**2)) if sr > 0 and ss > 0 else np.nan
            d = -2.35 * np.log(alpha) if np.isfinite(alpha) else np.nan
            d_se = 2.35 * np.sqrt(var_ln) if np.isfinite(var_ln) else np.nan
            out["or"][j], out["d"][j], out["dse"][j] = alpha, d, d_se
            out["chi2"][j], out["p"][j] = chi, p_val
            ets.append(_ets_dichotomous(d, d_se, p_val))
        else:
            k = np.arange(kj, dtype=np.float64)
            n_k = counts.sum(axis=1)                                            # (S, K)
            f_s = counts[:, 1] @ k
            e_f = n_g[:, 1] / n_s * (n_k @ k)
            v_f = n_g[:, 0] * n_g[:, 1] / (n_s**2 * (n_s - 1)) * (n_s * (n_k @ k**2) - (n_k @ k) ** 2)
            chi = (f_s.sum() - e_f.sum()) ** 2 / v_f.sum() if v_f.sum() > 0 else np.nan
            p_val = stats.chi2.sf(chi, 1) if np.isfinite(chi) else np.nan
            mean_f = f_s / n_g[:, 1]
            mean_r = (counts[:, 0] @ k) / n_g[:, 0]
            smd = float(np.sum(n_g[:, 1] / n_g[:, 1].sum() * (mean_f - mean_r)))
            sd = float(item_sd[j]) if n_all[j] > 1 else np.nan
            eff = smd / sd if sd and np.isfinite(sd) and sd > 0 else np.nan
            out["smd"][j], out["eff"][j], out["chi2"][j], out["p"][j] = smd, eff, chi, p_val
            ets.append(_ets_polytomous(eff, p_val))
    return DifResult(items=responses.items, reference=reference, focal=focal, n_reference=n_ref, n_focal=n_foc,
                     mh_odds_ratio=out["or"], mh_d_dif=out["d"], mh_d_se=out["dse"], smd=out["smd"],
                     smd_effect=out["eff"], chi2=out["chi2"], p=out["p"], ets=tuple(ets))


def _ets_dichotomous(d: float, d_se: float, p: float) -> str:
    if not np.isfinite(d):
        return ""
    if abs(d) < 1.0 or not (np.isfinite(p) and p < 0.05):
        return "A"
    if abs(d) >= 1.5 and np.isfinite(d_se) and d_se > 0 and (abs(d) - 1.0) / d_se > 1.645:
        return "C"
    return "B"


def _ets_polytomous(eff: float, p: float) -> str:
    if not np.isfinite(eff):
        return ""
    if not (np.isfinite(p) and p < 0.05) or abs(eff) <= 0.17:
        return "A"
    if abs(eff) > 0.25:
        return "C"
    return "B"
