"""Benchmark: `naeq synth --scale national` end to end, into a fresh SQLite database and into PostgreSQL.

The limit (issue: "the national world generates in under a minute on this two-core machine") is 60 s; results are
reported as ratios to it, with the peak memory (max RSS) of the synth process from ``os.wait4``. Also times the
province world with rosters, the demo's default. Not a test; run it by hand and record the output in BENCHMARKS.md:

    .venv/bin/python bench/bench_synth.py [--repeat 3] [--pg postgres://postgres@127.0.0.1:5432/naeq_bench]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

LIMIT_S = 60.0
NAEQ = str(Path(sys.executable).with_name("naeq"))


def _run(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run a command; return (wall seconds, peak RSS MiB of that process)."""
    started = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    out = proc.stdout.read().decode() if proc.stdout else ""
    err = proc.stderr.read().decode() if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{out}\n{err}")
    return wall, usage.ru_maxrss / 1024  # ru_maxrss is KiB on Linux


def _fresh_pg(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def _case(label: str, scale: str, db: str, pg_url: str, repeat: int) -> dict[str, Any]:
    walls, rss = [], []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="naeq-bench-") as tmp:
            env = {**os.environ, "NAEQ_DATA_DIR": tmp}
            if db == "postgresql":
                _fresh_pg(pg_url)
                env["DATABASE_URL"] = pg_url
            else:
                env["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
            _run([NAEQ, "migrate"], env)  # schema first; not timed
            wall, peak = _run([NAEQ, "synth", "--scale", scale, "--seed", "1", "--quiet"], env)
            walls.append(wall)
            rss.append(peak)
    return {"case": label, "db": db, "median_s": statistics.median(walls), "max_s": max(walls),
            "ratio": statistics.median(walls) / LIMIT_S, "peak_mib": max(rss), "runs": repeat}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pg", default=os.environ.get("NAEQ_BENCH_PG", "postgres://postgres@127.0.0.1:5432/naeq_bench"))
    parser.add_argument("--no-pg", action="store_true")
    args = parser.parse_args()
    dbs = ["sqlite"] + ([] if args.no_pg else ["postgresql"])
    rows = []
    for db in dbs:
        rows.append(_case("national, registry only", "national", db, args.pg, args.repeat))
        rows.append(_case("province, with rosters", "province", db, args.pg, args.repeat))
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"{platform.system()} {platform.release()}; {time.strftime('%Y-%m-%d')}")
    print("| world | database | median wall (s) | max (s) | ratio to 60 s | peak RSS (MiB) | runs |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['case']} | {r['db']} | {r['median_s']:.1f} | {r['max_s']:.1f} | {r['ratio']:.2f} | "
              f"{r['peak_mib']:.0f} | {r['runs']} |")


if __name__ == "__main__":
    main()
