"""Benchmark: ``naeq calibrate`` end to end on the national design, with plausible values.

The issue's bar: a national calibration -- 200,000 students, 6 booklets from a 120-item pool with mixed item
types, about 8 million responses -- in under 60 seconds including plausible values, within 4 GiB (DESIGN.md).

Setup (not timed): the engine's simulation helpers draw 120 items (80 2PL, 20 3PL, 20 GPCM with 3 categories),
abilities N(0, 1), a rotated design of 6 booklets with 2 of 6 blocks each (40 items per booklet, so 200,000 × 40 =
8,000,000 responses), and a background file (sex, urban/rural, a continuous SES index correlated 0.5 with θ).
Files are written as Parquet (responses, background) and CSV (items).

Timed: ``naeq calibrate --responses … --items … --background … --dif sex,urban_rural --pvs 5 --seed 1`` in a
child process -- reading, validation, calibration (MML-EM with SEs), EAP and WLE, item fit, DIF, latent regression
and 5 plausible values, reporting scale, writing every file. Reported: wall time, the stages' times from
``run.json``, the child's peak RSS (``ru_maxrss``), and the recovery of the true parameters (correlation of b and
a, RMSE of b) as a sanity check that the timed run did the real work.

The machine is shared: run it at reduced size with ``--persons`` (the design is the same; responses scale
linearly). Results: JSON and a markdown table in ``--out``.

    .venv/bin/python bench/bench_calibrate_cli.py --persons 20000 --out var/bench_calibrate

Full size on the shared 2-core machine (load average 4-6): 69.5 s / 1.8 GiB before the speed work of docs/irt.md
("Performance"), 40.9-52.4 s / 1.2-1.7 GiB after it (three runs); plausible values are then the largest stage.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def make_files(d: Path, n_persons: int, seed: int) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from naeq.engines.irt.simulate import rotated_booklets, simulate_items, simulate_responses

    rng = np.random.default_rng(seed)
    models = ["2pl"] * 80 + ["3pl"] * 20 + ["gpcm"] * 20
    order = rng.permutation(len(models))  # item types spread over the blocks
    models = [models[i] for i in order]
    params = simulate_items(models, seed=rng, n_categories=3)
    theta = rng.normal(0.0, 1.0, n_persons)
    design = rotated_booklets(len(params), 6, 2)
    booklet = rng.integers(0, 6, n_persons)
    r = simulate_responses(params, theta, seed=rng, design=design, booklet=booklet)
    persons = np.char.add("s", np.char.zfill(np.arange(n_persons).astype(str), 7))
    items = np.asarray(params.items)
    pq.write_table(pa.table({"person": pa.array(persons[r.person]), "item": pa.array(items[r.item]),
                             "score": pa.array(r.score, pa.int8()),
                             "booklet": pa.array((booklet[r.person] + 1).astype(np.int8))}), d / "responses.parquet")
    with (d / "items.csv").open("w", encoding="utf-8") as fh:
        fh.write("item,max_score,model\n")
        for j, item in enumerate(params.items):
            fh.write(f"{item},{int(params.n_categories[j]) - 1},{params.model[j]}\n")
    ses = 0.5 * theta + np.sqrt(0.75) * rng.normal(size=n_persons)
    pq.write_table(pa.table({"person": pa.array(persons), "ses": pa.array(np.round(ses, 4)),
                             "sex": pa.array(np.where(rng.random(n_persons) < 0.5, "F", "M")),
                             "urban_rural": pa.array(np.where(rng.random(n_persons) < 0.6, "urban", "rural"))}),
                   d / "background.parquet")
    return {"params": params, "n_responses": len(r.score)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--persons", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--out", type=Path, default=ROOT / "var" / "bench_calibrate")
    args = ap.parse_args()
    work = args.out / f"data_{args.persons}"
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    truth = make_files(work, args.persons, args.seed)
    setup_s = time.perf_counter() - t0
    result_dir = work / "result"
    cmd = [sys.executable, "-m", "naeq.cli", "calibrate", "--responses", str(work / "responses.parquet"),
           "--items", str(work / "items.csv"), "--background", str(work / "background.parquet"),
           "--categorical", "", "--dif", "sex,urban_rural", "--pvs", "5", "--seed", "1", "--out", str(result_dir),
           "--quiet"]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "naeq.settings",
           "NAEQ_DATA_DIR": os.environ.get("NAEQ_DATA_DIR", str(args.out / "data_dir"))}
    t1 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t1
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(proc.returncode)
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    run = json.loads((result_dir / "run.json").read_text(encoding="utf-8"))
    import csv

    with (result_dir / "items.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    p = truth["params"]
    b_est = np.array([float(r["b1"]) for r in rows])
    a_est = np.array([float(r["a"]) for r in rows])
    report = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": platform.platform(), "cpus": os.cpu_count(),
        "persons": args.persons, "items": len(p), "booklets": 6, "responses": truth["n_responses"],
        "setup_seconds": round(setup_s, 1), "wall_seconds": round(wall, 2), "peak_rss_mib": round(peak_mib),
        "stages": run["timings"], "converged": run["summary"]["converged"], "iterations": run["summary"]["iterations"],
        "recovery": {"cor_b1": float(np.corrcoef(b_est, p.b[:, 0])[0, 1]),
                     "cor_a": float(np.corrcoef(a_est, p.a)[0, 1]),
                     "rmse_b1": float(np.sqrt(np.mean((b_est - p.b[:, 0]) ** 2)))},
        "bar": {"seconds": 60, "gib": 4, "at_persons": 200_000},
    }
    (args.out / f"result_{args.persons}.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    stages = ", ".join(f"{k} {v:.1f}" for k, v in run["timings"].items())
    md = (f"| naeq calibrate | {args.persons:,} persons × 120 items (6 booklets) = {truth['n_responses']:,} "
          f"responses, 5 PVs, DIF ×2 | {wall:.1f} s | {peak_mib:,.0f} MiB | {stages} |")
    (args.out / f"result_{args.persons}.md").write_text(md + "\n", encoding="utf-8")
    print(json.dumps(report, indent=1))
    print(md)


if __name__ == "__main__":
    main()
