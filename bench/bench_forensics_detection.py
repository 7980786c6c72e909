"""Detection vs false alarm of ``screen`` on simulated cycles with known truth (issue 7), every anomaly kind.

Cycles from :mod:`naeq.engines.forensics.simulate` (counties × schools × students, 2PL + distractors, background,
participation, online times, PE, questionnaires, stray late syncs). In 10 % of the counties three schools cheat
by one kind at one strength; the screen runs with every input (fast mode: ω without the exact tails).

Two sets, so that nothing is tuned on what it is judged on:

* **development** — kinds × strengths 0.3 / 0.5 / 0.7, seeds ``--seed`` + 1000 k + r (row k; the rules were
  chosen on these);
* **held-out** — fresh seeds (``--seed`` + 100,000 + …), fresh strengths (0.4, 0.6), a different shape (10 schools per
  county, 30 students) and cycles in which the cheating counties mix several kinds; with ``log_changes`` off for
  the altered answers (the system did not log them).

Per row: county detection (cheating counties flagged), school detection, clean-county and clean-school false
alarm, each with its binomial 95 % (Clopper–Pearson) interval. Goals: ≤ 1 % clean counties flagged; ≥ 90 % of the
counties with three cheating schools found at moderate strength (0.5).

    nice .venv/bin/python bench/bench_forensics_detection.py --reps 10 --out var/bench_forensics
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy
from scipy import stats

from naeq.engines.forensics import screen
from naeq.engines.forensics.multiple import benjamini_hochberg, holm
from naeq.engines.forensics.simulate import KINDS, simulate_cycle

FDR = 0.05


def ci(k: int, n: int) -> tuple[float, float]:
    if n == 0:
        return (float("nan"), float("nan"))
    lo = stats.beta.ppf(0.025, k, n - k + 1) if k > 0 else 0.0
    hi = stats.beta.ppf(0.975, k + 1, n - k) if k < n else 1.0
    return (float(lo), float(hi))


class Tally:
    def __init__(self) -> None:
        self.c = {k: [0, 0] for k in ("det_c", "det_s", "fa_c", "fa_s", "det_c_holm", "fa_c_holm", "det_c_bh",
                                      "fa_c_bh")}

    def add(self, cycle: Any, res: Any) -> None:
        cheat_c = cycle.cheating_counties
        cheat_s = cycle.school_kind != ""
        # the other county rules on the same combined p (screen's county_rule="holm" / "bh")
        holm_f = holm(res.counties.combined_p) <= FDR
        bh_f = benjamini_hochberg(res.counties.combined_p) <= FDR
        for name, flag, mask in (("det_c", res.counties.flag, cheat_c), ("det_s", res.schools.flag, cheat_s),
                                 ("fa_c", res.counties.flag, ~cheat_c), ("fa_s", res.schools.flag, ~cheat_s),
                                 ("det_c_holm", holm_f, cheat_c), ("fa_c_holm", holm_f, ~cheat_c),
                                 ("det_c_bh", bh_f, cheat_c), ("fa_c_bh", bh_f, ~cheat_c)):
            self.c[name][0] += int(flag[mask].sum())
            self.c[name][1] += int(mask.sum())

    def row(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, (k, n) in self.c.items():
            out[name] = {"k": k, "n": n, "rate": k / n if n else float("nan"), "ci95": ci(k, n)}
        return out


def run(label: str, anomalies: list[tuple[str, float]], seeds: list[int], shape: dict[str, int],
        log_changes: bool = True) -> dict[str, Any]:
    t = Tally()
    for seed in seeds:
        cyc = simulate_cycle(seed, anomalies, log_changes=log_changes, **shape)
        res = screen(cyc.options, cyc.key, exact_tests=False, **cyc.screen_kwargs())
        t.add(cyc, res)
    r = t.row()
    r["label"] = label
    print(f"{label:40s} county det {r['det_c']['rate']:.2f} school det {r['det_s']['rate']:.2f} "
          f"county fa {r['fa_c']['rate']:.4f} school fa {r['fa_s']['rate']:.4f}", flush=True)
    return r


def fmt(r: dict[str, Any], key: str, digits: int = 2) -> str:
    v = r[key]
    if not v["n"]:
        return "–"
    lo, hi = v["ci95"]
    return f"{v['rate']:.{digits}f} ({lo:.{digits}f}–{hi:.{digits}f})"


def pooled(rows: list[dict[str, Any]], key: str) -> dict[str, Any]:
    k = sum(r[key]["k"] for r in rows)
    n = sum(r[key]["n"] for r in rows)
    return {"k": k, "n": n, "rate": k / n if n else float("nan"), "ci95": ci(k, n)}


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| set | type @ strength | county detection | school detection | clean-county false alarm | "
             "clean-school false alarm | county det / fa, Holm | county det / fa, plain BH |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        alt = " | ".join(f"{r[f'det_c_{k}']['rate']:.2f} / {r[f'fa_c_{k}']['rate']:.4f}" if r[f"det_c_{k}"]["n"]
                         else f"– / {r[f'fa_c_{k}']['rate']:.4f}" for k in ("holm", "bh"))
        lines.append(f"| {r['set']} | {r['label']} | {fmt(r, 'det_c')} | {fmt(r, 'det_s')} | "
                     f"{fmt(r, 'fa_c', 4)} | {fmt(r, 'fa_s', 4)} | {alt} |")
    for s in ("development", "held-out"):
        sub = [r for r in rows if r["set"] == s]
        if sub:
            p = {"fa_c": pooled(sub, "fa_c"), "fa_s": pooled(sub, "fa_s"), "det_c": {"n": 0}, "det_s": {"n": 0}}
            alt = " | ".join(f"– / {pooled(sub, f'fa_c_{k}')['rate']:.4f}" for k in ("holm", "bh"))
            lines.append(f"| {s} | **all rows pooled** | | | {fmt(p, 'fa_c', 4)} | {fmt(p, 'fa_s', 4)} | {alt} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--counties", type=int, default=40)
    ap.add_argument("--strengths", default="0.3,0.5,0.7")
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--out", type=Path, default=Path("var/bench_forensics"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    dev_shape = {"counties": args.counties, "schools_per_county": 8, "students": 25}
    row_no = iter(range(1, 10_000))

    def seeds(base: int) -> list[int]:  # fresh base data for every row: rows are independent samples
        k = next(row_no)
        return [base + 1000 * k + r for r in range(args.reps)]

    rows: list[dict[str, Any]] = []
    r = run("clean", [], [args.seed + 50_000 + k for k in range(2 * args.reps)], dev_shape)
    r["set"] = "development"
    rows.append(r)
    kinds = args.kinds.split(",")
    for strength in [float(v) for v in args.strengths.split(",")]:
        for kind in kinds:
            r = run(f"{kind} @ {strength:g}", [(kind, strength)], seeds(args.seed), dev_shape)
            r["set"] = "development"
            rows.append(r)
    held_shape = {"counties": args.counties, "schools_per_county": 10, "students": 30}
    r = run("clean", [], [args.seed + 150_000 + k for k in range(2 * args.reps)], held_shape)
    r["set"] = "held-out"
    rows.append(r)
    for strength in (0.4, 0.6):
        for kind in kinds:
            r = run(f"{kind} @ {strength:g}", [(kind, strength)], seeds(args.seed + 100_000), held_shape,
                    log_changes=kind != "altered")
            r["set"] = "held-out"
            if kind == "altered":
                r["label"] += " (changes not logged)"
            rows.append(r)
    rng = np.random.default_rng(args.seed + 200_000)
    mixed = [(k, float(s)) for k, s in zip(rng.permutation(kinds), rng.uniform(0.35, 0.65, len(kinds)),
                                           strict=True)]
    r = run("mixed kinds @ 0.35–0.65", mixed, seeds(args.seed + 100_000),
            {**held_shape, "counties": max(args.counties, 80)})
    r["set"] = "held-out"
    rows.append(r)
    md = table(rows)
    result = {"rows": rows, "mixed": mixed, "seconds": round(time.perf_counter() - started, 1),
              "versions": {"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__},
              "args": {k: str(v) for k, v in vars(args).items()}}
    (args.out / "bench_forensics_detection.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    (args.out / "bench_forensics_detection.md").write_text(md + "\n", encoding="utf-8")
    print(md)
    print(f"{result['seconds']} s")


if __name__ == "__main__":
    main()
