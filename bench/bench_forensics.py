"""Benchmark and evaluation of the forensics engine (issue 7).

1. **ω at national size** — every within-school pair of ≈6,700 schools × 30 students on 40 four-option items
   (≈2.9 million pairs). Timed separately: the option-model fit (2PL + distractor strata, 3 rounds), ω for all pairs
   (the fast path of ``pair_statistics``), and — on a sample of schools — the exact GBT / identical-incorrect tails
   (extrapolated per pair). The issue's bar: ω for all pairs in under 30 s on this machine.
2. **Detection vs false alarm** — simulated cycles with known truth: counties of schools of students; in some
   counties three schools cheat by one mechanism at a stated strength:

   * ``copying @ s``: in each cheating school 4 neighbour pairs, the copier takes the source's option on a share s
     of the items (0.5 = "moderate");
   * ``one_source @ s``: in each cheating school a proctor's answer string is copied by 8 students on s + 0.2 of
     the items;
   * ``preknowledge @ s``: 8 of the 40 items (the hardest) leaked; 60 % of each cheating school's students answer
     them correctly with probability s + 0.4.

   Reported per type: the share of cheating counties / schools flagged (``screen`` with BH at 5 % across units)
   and the share of clean counties / schools flagged (false alarms). The issue's goals: ≤ 1 % of clean counties
   flagged; ≥ 90 % of counties with three cheating schools found at moderate strength.

The machine is shared: run at reduced size (``--schools``, ``--reps``). Results: JSON and a markdown table in
``--out``.

    .venv/bin/python bench/bench_forensics.py --schools 6700 --eval-counties 40 --reps 2 --out var/bench_forensics
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time
from pathlib import Path

import numpy as np
import scipy
from scipy.special import expit

from naeq.engines.forensics import fit_option_model, pair_statistics, screen


def simulate(rng: np.random.Generator, n_schools: int, size: int, n_items: int = 40, n_options: int = 4,
             schools_per_county: int = 8) -> dict[str, np.ndarray]:
    n = n_schools * size
    th = np.repeat(rng.normal(0, 0.5, n_schools), size) + rng.normal(0, np.sqrt(0.75), n)
    a, b = rng.uniform(0.7, 2.0, n_items), rng.normal(0, 1, n_items)
    key = rng.integers(0, n_options, n_items)
    correct = rng.random((n, n_items)) < expit(a * (th[:, None] - b))
    cum = np.cumsum(rng.dirichlet(np.full(n_options - 1, 2.0), n_items), axis=1)
    pick = np.minimum((rng.random((n, n_items))[:, :, None] > cum[None]).sum(axis=2), n_options - 2)
    x = np.where(correct, key, pick + (pick >= key)).astype(np.int64)
    school = np.repeat(np.arange(n_schools), size)
    return {"x": x, "key": key, "b": b, "school": school, "county": school // schools_per_county}


def bench_national(n_schools: int, size: int, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    d = simulate(rng, n_schools, size)
    t0 = time.perf_counter()
    model = fit_option_model(d["x"], d["key"])
    t1 = time.perf_counter()
    ps = pair_statistics(model, d["x"], d["school"], exact_tests=False)
    t2 = time.perf_counter()
    sample = d["school"] < min(200, n_schools)
    ps_exact = pair_statistics(model, d["x"][sample], d["school"][sample], exact_tests=True)
    t3 = time.perf_counter()
    return {"schools": n_schools, "students": len(d["x"]), "pairs": len(ps), "fit_seconds": round(t1 - t0, 2),
            "omega_all_pairs_seconds": round(t2 - t1, 2),
            "exact_tails_seconds_per_million_pairs": round((t3 - t2) / len(ps_exact) * 1e6, 1),
            "omega_type1_at_1e-3": float((ps.omega_p <= 1e-3).mean()),
            "omega_type1_at_1e-4": float((ps.omega_p <= 1e-4).mean())}


def inject(rng: np.random.Generator, d: dict[str, np.ndarray], kind: str, schools: np.ndarray,
           strength: float) -> None:
    x = d["x"]
    for s in schools:
        rows = np.flatnonzero(d["school"] == s)
        if kind == "copying":
            for k in range(4):
                src, cop = rows[2 * k], rows[2 * k + 1]
                items = rng.random(x.shape[1]) < strength
                x[cop, items] = x[src, items]
        elif kind == "one_source":
            src = rows[0]
            for cop in rows[1:9]:
                items = rng.random(x.shape[1]) < min(1.0, strength + 0.2)
                x[cop, items] = x[src, items]
        elif kind == "preknowledge":
            leaked = np.argsort(d["b"])[-8:]
            who = rows[rng.random(len(rows)) < 0.6]
            hit = rng.random((len(who), len(leaked))) < min(1.0, strength + 0.4)
            sub = x[np.ix_(who, leaked)]
            x[np.ix_(who, leaked)] = np.where(hit, d["key"][leaked], sub)


def evaluate(n_counties: int, per_county: int, size: int, reps: int, seed: int,
             strengths: list[float], fdr: float = 0.05) -> dict[str, dict[str, float]]:
    rng = np.random.default_rng(seed)
    out: dict[str, dict[str, float]] = {}
    runs = [("clean", 0.0)] + [(k, st) for st in strengths for k in ("copying", "one_source", "preknowledge")]
    for kind, strength in runs:
        det_c = det_s = fa_c = fa_s = 0.0
        n_cc = n_cs = n_fc = n_fs = 0
        for _ in range(reps):
            d = simulate(rng, n_counties * per_county, size, schools_per_county=per_county)
            cheat_counties = np.array([], dtype=np.int64)
            cheat_schools = np.array([], dtype=np.int64)
            if kind != "clean":
                cheat_counties = rng.choice(n_counties, size=max(1, n_counties // 10), replace=False)
                cheat_schools = np.concatenate([c * per_county + rng.choice(per_county, 3, replace=False)
                                                for c in cheat_counties])
                inject(rng, d, kind, cheat_schools, strength)
            res = screen(d["x"], d["key"], school=d["school"], county=d["county"], exact_tests=False, fdr=fdr)
            cflag, sflag = res.counties.flag, res.schools.flag
            is_cc = np.isin(np.arange(n_counties), cheat_counties)
            is_cs = np.isin(np.arange(n_counties * per_county), cheat_schools)
            det_c += cflag[is_cc].sum()
            n_cc += is_cc.sum()
            det_s += sflag[is_cs].sum()
            n_cs += is_cs.sum()
            fa_c += cflag[~is_cc].sum()
            n_fc += (~is_cc).sum()
            # schools in cheating counties that are clean themselves count as false alarms too
            fa_s += sflag[~is_cs].sum()
            n_fs += (~is_cs).sum()
        label = kind if kind == "clean" else f"{kind} @ {strength:g}"
        out[label] = {"county_detection": det_c / n_cc if n_cc else float("nan"),
                     "school_detection": det_s / n_cs if n_cs else float("nan"),
                     "county_false_alarm": fa_c / n_fc, "school_false_alarm": fa_s / n_fs,
                     "cheating_counties": int(n_cc), "clean_counties": int(n_fc)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--schools", type=int, default=6700)
    ap.add_argument("--size", type=int, default=30)
    ap.add_argument("--eval-counties", type=int, default=40)
    ap.add_argument("--eval-schools-per-county", type=int, default=8)
    ap.add_argument("--eval-size", type=int, default=25)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--fdr", type=float, default=0.05, help="BH level of the unit flags (screen's --fdr)")
    ap.add_argument("--strengths", default="0.3,0.5,0.7",
                    help="copying share of items (one source: +0.2; preknowledge: P(correct on leaked) = s + 0.4)")
    ap.add_argument("--out", type=Path, default=Path("var/bench_forensics"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    national = bench_national(args.schools, args.size, args.seed)
    print(json.dumps(national, indent=2))
    ev = evaluate(args.eval_counties, args.eval_schools_per_county, args.eval_size, args.reps, args.seed + 1,
                  [float(v) for v in args.strengths.split(",")], args.fdr)
    result = {"national": national, "evaluation": ev, "peak_rss_mib": round(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "versions": {"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__},
        "args": {k: str(v) for k, v in vars(args).items()}}
    (args.out / "bench_forensics.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    lines = ["| type | county detection | school detection | county false alarm | school false alarm |",
             "|---|---|---|---|---|"]
    for kind, r in ev.items():
        lines.append(f"| {kind} | {r['county_detection']:.2f} | {r['school_detection']:.2f} | "
                     f"{r['county_false_alarm']:.3f} | {r['school_false_alarm']:.3f} |")
    table = "\n".join(lines)
    (args.out / "bench_forensics.md").write_text(table + "\n", encoding="utf-8")
    print(table)
    print(f"peak RSS {result['peak_rss_mib']} MiB")


if __name__ == "__main__":
    main()
