"""Benchmark: the national county and school draws inside the platform (database → engine → database).

`bench/bench_sampling.py` measures the engine on files; this measures what a national administrator waits for on
the draw page: the school frame read from the registry (230,000 schools of the synth national world, seed 1), the
engine, and the sampled counties and schools (with replacements) written back, each as a recorded run. Limit: the
issue's 10 s for the national draw. Each repeat is a separate process on a fresh database (migrated, world loaded
and the frame locked first, not timed); the timings are taken inside it around ``sample_draw``; peak memory is the
process's max RSS (``os.wait4``) and includes the loaded world. Not a test; run it by hand and record the output in
BENCHMARKS.md:

    .venv/bin/python bench/bench_sampling_app.py [--repeat 3] [--pg postgres://postgres@127.0.0.1:5432/naeq_bench]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

LIMIT_S = 10.0

CHILD = r"""
import json, os, time
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "naeq.settings")
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from naeq.accounts.services import user_create
from naeq.cycles.services import load_shipped_cycles
from naeq.engines.synth import generate_world
from naeq.registry.services import frame_lock
from naeq.registry.synth_load import synth_world_load
from naeq.sampling import services
from naeq.sampling.models import SampledCounty, SampledSchool
synth_world_load(world=generate_world("national", 1), replace=True)
cycle = next(c for c in load_shipped_cycles() if c.is_current)
admin = user_create(actor=None, username="bench_admin", password="bench-pass-2026-long", role="national_admin")
frame_lock(actor=admin, year=cycle.year, accept_unreviewed=True)
t0 = time.perf_counter()
services.sample_draw(actor=admin, year=cycle.year, stage="county", seed=1)
t1 = time.perf_counter()
services.sample_draw(actor=admin, year=cycle.year, stage="school", seed=1)
t2 = time.perf_counter()
print(json.dumps({"county_s": t1 - t0, "school_s": t2 - t1, "counties": SampledCounty.objects.count(),
                  "school_rows": SampledSchool.objects.count()}))
"""


def _once(env: dict[str, str]) -> dict[str, float]:
    proc = subprocess.Popen([sys.executable, "-c", CHILD], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    out = proc.stdout.read().decode() if proc.stdout else ""
    err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"draw failed:\n{out}\n{err}")
    result = json.loads(out.strip().splitlines()[-1])
    result["rss_mib"] = usage.ru_maxrss / 1024
    return result


def _fresh_pg(url: str) -> None:
    import dj_database_url
    import psycopg

    c = dj_database_url.parse(url)
    with psycopg.connect(host=c["HOST"], port=c["PORT"] or 5432, user=c["USER"], dbname="postgres",
                         password=c.get("PASSWORD") or None, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{c["NAME"]}"')
        conn.execute(f'CREATE DATABASE "{c["NAME"]}"')


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--pg", help="PostgreSQL URL of a scratch database (dropped and recreated)")
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Linux {platform.release()}, "
          f"Python {platform.python_version()}")
    print(f"| database | county draw (s) | school draw (s) | total median (s) | total max (s) | ratio to "
          f"{LIMIT_S:.0f} s | peak RSS (MiB) | runs |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    backends = [("sqlite", None)] + ([("postgresql", args.pg)] if args.pg else [])
    for name, url in backends:
        runs = []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as tmp:
                env = {**os.environ, "NAEQ_DATA_DIR": str(Path(tmp) / "var")}
                env.pop("DATABASE_URL", None)
                if url:
                    _fresh_pg(url)
                    env["DATABASE_URL"] = url
                runs.append(_once(env))
        totals = [r["county_s"] + r["school_s"] for r in runs]
        med = statistics.median(totals)
        print(f"| {name} | {statistics.median(r['county_s'] for r in runs):.2f} | "
              f"{statistics.median(r['school_s'] for r in runs):.2f} | {med:.2f} | {max(totals):.2f} | "
              f"{med / LIMIT_S:.2f} | {max(r['rss_mib'] for r in runs):.0f} | {len(runs)} |")
        print(f"  counts: {runs[-1]['counties']:.0f} counties, {runs[-1]['school_rows']:.0f} sampled school rows "
              "(sampled + replacements, per grade)")


if __name__ == "__main__":
    main()
