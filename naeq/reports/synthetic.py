"""Synthetic estimation runs for report tests, the demo fallback and the report bench: done
:class:`~naeq.analysis.models.EstimationRun` rows with :class:`~naeq.analysis.models.Estimate` rows in the shape
the analysis app writes (docs/estimation.md, naeq/analysis/models.py), for the nation, the given provinces and
counties. The numbers are invented (seeded), plausible on the 500/100 scale, with some suppressed groups; they
stand in for real runs only where no real estimation run exists.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone

from naeq.analysis.models import Estimate, EstimationRun, RunStatus
from naeq.registry.models import Region

FACTORS: dict[str, list[tuple[str, str]]] = {
    "homework_time": [("1", "30分钟以内"), ("2", "30分钟–1小时"), ("3", "1–2小时"), ("4", "2小时以上")],
    "sleep": [("1", "达到规定时间"), ("0", "未达到规定时间")],
    "tutoring": [("0", "未参加"), ("1", "参加")],
    "interest": [("3", "浓厚"), ("2", "一般"), ("1", "缺乏")],
    "pe_lessons": [("1", "2节及以下"), ("2", "3节"), ("3", "4节"), ("4", "5节及以上")],
}
#: The compared groups besides sex and urban/rural: name → (difference key, share of the group, mean gap).
GROUPS: dict[str, tuple[str, float, float]] = {"migrant": ("migrant-nonmigrant", 0.15, -10.0),
                                               "disadvantaged": ("disadvantaged-other", 0.1, -18.0)}
PE_KEYS = ("obesity", "poor_vision", "pass", "excellent")


def _sign(d: float, se: float) -> tuple[float, int]:
    from math import erf, sqrt

    z = d / se if se > 0 else 0.0
    p = 2 * (1 - 0.5 * (1 + erf(abs(z) / sqrt(2))))
    return p, (0 if p >= 0.05 else (1 if d > 0 else -1))


def _unit_rows(rng: np.random.Generator, run: EstimationRun, level: str, region: Region | None, mean: float,
               *, parent_means: dict[str, tuple[float, float]], small_rural: bool) -> list[Estimate]:
    path = region.path if region else ""
    n = {"nation": 200000, "province": 6000, "county": 600}[level]
    se = {"nation": 0.8, "province": 3.0, "county": 6.0}[level] * float(rng.uniform(0.8, 1.2))
    rows: list[Estimate] = []

    def add(stat: str, value: float | None, err: float | None, *, key: str = "", gv: str = "", gval: str = "",
            nn: int = n, p: float | None = None, sign: int | None = None, suppressed: bool = False,
            reason: str = "", extra: dict[str, Any] | None = None) -> None:
        rows.append(Estimate(run=run, level=level, region=region, path=path, group_var=gv, group_value=gval,
                             statistic=stat, key=key, value=value, se=err, n=nn, n_schools=max(1, nn // 30),
                             p_value=p, sign=sign, suppressed=suppressed, suppress_reason=reason,
                             extra=extra or {}))

    add("mean", round(mean, 4), round(se, 4))
    add("sd", round(float(rng.uniform(85, 105)), 4), round(se / 2, 4))
    cuts = np.array([420.0, 500.0, 580.0])
    z = (cuts - mean) / 100.0
    from math import erf, sqrt

    cdf = [0.5 * (1 + erf(float(v) / sqrt(2))) for v in z]
    shares = [cdf[0], cdf[1] - cdf[0], cdf[2] - cdf[1], 1 - cdf[2]]
    for key, s in zip(("I", "II", "III", "IV"), shares, strict=True):
        add("level_share", round(s, 6), round(0.012 * se / 3, 6), key=key)
    add("at_or_above", round(1 - shares[0], 6), round(0.012 * se / 3, 6), key="II")
    share = float(rng.uniform(0.05, 0.3))
    add("between_school_share", round(share, 6), round(0.02, 6))
    add("diff_rate", round(share * float(rng.uniform(0.7, 0.9)), 6), round(0.02, 6))
    for contrast, (pm, pse) in parent_means.items():
        d = mean - pm
        dse = (se**2 + pse**2 - 2 * 0.3 * se * pse) ** 0.5 if contrast == "vs_province" else (se**2 + pse**2) ** 0.5
        p, sign = _sign(d, dse)
        add("difference", round(d, 4), round(dse, 4), key=contrast, p=p, sign=sign)
    d = float(rng.normal(2, 8))
    p, sign = _sign(d, se * 1.5)
    add("difference", round(d, 4), round(se * 1.5, 4), key="trend", p=p, sign=sign,
        extra={"previous_year": run.cycle.year - 3})
    gap = float(rng.normal(8, 4))
    for v, off in (("M", -gap / 2), ("F", gap / 2)):
        add("mean", round(mean + off, 4), round(se * 1.2, 4), gv="sex", gval=v, nn=n // 2)
        add("at_or_above", round(1 - shares[0] + off / 400, 6), round(0.02, 6), key="II", gv="sex", gval=v,
            nn=n // 2)
    p, sign = _sign(gap, se * 0.9)
    add("difference", round(gap, 4), round(se * 0.9, 4), key="F-M", gv="sex", p=p, sign=sign)
    ur = float(rng.normal(20, 8))
    add("mean", round(mean + ur / 2, 4), round(se * 1.3, 4), gv="urban_rural", gval="urban", nn=n // 2)
    if small_rural:
        add("mean", round(mean - ur / 2, 4), round(se * 4, 4), gv="urban_rural", gval="rural", nn=40,
            suppressed=True, reason="min_n")
        add("difference", round(ur, 4), round(se * 4, 4), key="urban-rural", gv="urban_rural", nn=40, p=0.2,
            sign=0, suppressed=True, reason="min_n")
    else:
        add("mean", round(mean - ur / 2, 4), round(se * 1.3, 4), gv="urban_rural", gval="rural", nn=n // 2)
        p, sign = _sign(ur, se * 1.4)
        add("difference", round(ur, 4), round(se * 1.4, 4), key="urban-rural", gv="urban_rural", p=p, sign=sign)
    for gv, cats in FACTORS.items():
        props = rng.dirichlet(np.full(len(cats), 4.0))
        for i, ((code, label), pr) in enumerate(zip(cats, props, strict=True)):
            add("mean", round(mean + 12 * (len(cats) / 2 - i), 4), round(se * 1.5, 4), gv=gv, gval=code,
                nn=int(n * pr), extra={"label": label, "order": i})
            add("proportion", round(float(pr), 6), round(0.01, 6), gv=gv, gval=code, key=code, nn=n,
                extra={"label": label, "order": i})

    def level_rows(gv: str, gval: str, m: float, nn: int) -> None:
        zz = [0.5 * (1 + erf(float(c - m) / 100.0 / sqrt(2))) for c in cuts]
        for key, sh in zip(("I", "II", "III", "IV"), [zz[0], zz[1] - zz[0], zz[2] - zz[1], 1 - zz[2]], strict=True):
            add("level_share", round(sh, 6), round(0.02, 6), key=key, gv=gv, gval=gval, nn=nn)

    for v, off in (("M", -gap / 2), ("F", gap / 2)):
        level_rows("sex", v, mean + off, n // 2)
    for gv, (key, share, mgap) in GROUPS.items():
        g = mgap + float(rng.normal(0, 4))
        gse = se * 2.0
        for v, m, sh in (("1", mean + g * (1 - share), share), ("0", mean - g * share, 1 - share)):
            nn = int(n * sh)
            add("mean", round(m, 4), round(gse if v == "1" else se * 1.1, 4), gv=gv, gval=v, nn=nn)
            zz = 0.5 * (1 + erf(float(cuts[0] - m) / 100.0 / sqrt(2)))
            add("at_or_above", round(1 - zz, 6), round(0.02, 6), key="II", gv=gv, gval=v, nn=nn)
            level_rows(gv, v, m, nn)
            add("proportion", round(sh, 6), round(0.01, 6), gv=gv, gval=v, key=v, nn=n)
        p, sign = _sign(g, gse)
        add("difference", round(g, 4), round(gse, 4), key=key, p=p, sign=sign)
    return rows


def _pe_rows(rng: np.random.Generator, run: EstimationRun, level: str, region: Region | None) -> list[Estimate]:
    base = {"obesity": 0.11, "poor_vision": 0.52, "pass": 0.9, "excellent": 0.15}
    n = {"nation": 200000, "province": 6000, "county": 600}[level]
    out = []
    for k in PE_KEYS:
        out.append(Estimate(run=run, level=level, region=region, path=region.path if region else "",
                            statistic="proportion", key=k, value=round(base[k] + float(rng.normal(0, 0.03)), 6),
                            se=0.01, n=n, n_schools=max(1, n // 30)))
    return out


@transaction.atomic
def make_runs(cycle: Any, counties: Sequence[Region], *, subjects: Sequence[str] = ("math",), pe: bool = False,
              seed: int = 1, small_rural_every: int = 5) -> list[EstimationRun]:
    """Done estimation runs (one per subject, and a PE run) with rows for the nation, the counties' provinces and
    the counties. Every ``small_rural_every``-th county has a suppressed rural group."""
    rng = np.random.default_rng(seed)
    provinces: dict[str, Region] = {}
    for c in counties:
        prov_path = c.path.split("/")[0] + "/"
        if prov_path not in provinces:
            provinces[prov_path] = Region.objects.get(path=prov_path)
    now = timezone.now().replace(microsecond=0)
    runs = []
    for code in [*subjects, *(["pe_field_test"] if pe else [])]:
        digest = hashlib.sha256(f"synthetic:{cycle.year}:{code}:{seed}".encode()).hexdigest()
        run = EstimationRun.objects.create(cycle=cycle, instrument_code=code, status=RunStatus.DONE, progress=1.0,
                                           stage="done", inputs_hash=digest, code_version="synthetic",
                                           seed=seed, finished_at=now, started_at=now)
        rows: list[Estimate] = []
        if code == "pe_field_test":
            rows += _pe_rows(rng, run, "nation", None)
            for p in provinces.values():
                rows += _pe_rows(rng, run, "province", p)
            for c in counties:
                rows += _pe_rows(rng, run, "county", c)
        else:
            nat_mean, nat_se = 500.0, 0.8
            rows += _unit_rows(rng, run, "nation", None, nat_mean, parent_means={}, small_rural=False)
            pmeans: dict[str, tuple[float, float]] = {}
            for path, p in provinces.items():
                m = float(rng.normal(500, 15))
                pmeans[path] = (m, 3.0)
                rows += _unit_rows(rng, run, "province", p, m, parent_means={"vs_nation": (nat_mean, nat_se)},
                                   small_rural=False)
            for i, c in enumerate(counties):
                pm = pmeans[c.path.split("/")[0] + "/"]
                m = float(rng.normal(pm[0], 18))
                rows += _unit_rows(rng, run, "county", c, m, parent_means={"vs_province": pm,
                                                                             "vs_nation": (nat_mean, nat_se)},
                                   small_rural=i % small_rural_every == 0)
        Estimate.objects.bulk_create(rows, batch_size=5000)
        runs.append(run)
    return runs
