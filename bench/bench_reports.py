"""All county reports of a national cycle (≈340 PDFs) against the 10-minute limit of issue 8.

    .venv/bin/python bench/bench_reports.py [--provinces 31] [--counties 340] [--workers 2] [--subjects 2]
                                            [--pe/--no-pe] [--keep DIR]

A fresh SQLite database and data directory in a temporary folder: the shipped cycles, a region tree of
``--provinces`` provinces with ``--counties`` counties spread over them, and synthetic done estimation runs
(:mod:`naeq.reports.synthetic`: the Estimate rows of the nation, every province and every county, ≈45 rows per
unit and subject: means, SDs, four level shares, 中等及以上, between-school share, 校际差异率, county − province,
county − nation, trend, sex and urban/rural groups and gaps, four background factors; plus a PE run).

Timed: one ``report_batch_start`` of the county level, run in-process (the embedded job runner) with the
rendering in ``--workers`` processes — from reading the Estimate rows to every HTML and PDF written and hashed.
Printed: seconds, seconds per report, pages, the ratio to 600 s, the CPU seconds of this process and its workers
(on a shared machine the wall time depends on the other load; CPU seconds / workers is the wall time on idle
cores), and the machine with its load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--provinces", type=int, default=31)
    ap.add_argument("--counties", type=int, default=340)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--subjects", type=int, default=2, choices=(1, 2))
    ap.add_argument("--pe", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--keep", type=Path, default=None, help="copy the batch's files here")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="naeq-bench-reports-"))
    os.environ["NAEQ_DATA_DIR"] = str(tmp)
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
    os.environ.pop("REDIS_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "naeq.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from naeq.accounts.roles import Role
    from naeq.accounts.services import user_create
    from naeq.cycles.services import load_shipped_cycles
    from naeq.registry.models import Region, RegionLevel
    from naeq.reports import services
    from naeq.reports.synthetic import make_runs

    cycle = next(c for c in load_shipped_cycles() if c.is_current)
    counties: list[Region] = []
    for p in range(args.provinces):
        pcode = f"{11 + p:02d}0000"
        prov = Region.objects.create(code=pcode, name=f"第{p + 1}省", level=RegionLevel.PROVINCE,
                                     path=Region.path_for(pcode, None))
        ccode = f"{11 + p:02d}0100"
        city = Region.objects.create(code=ccode, name=f"第{p + 1}省一市", level=RegionLevel.CITY, parent=prov,
                                     path=Region.path_for(ccode, prov.path))
        k = args.counties // args.provinces + (1 if p < args.counties % args.provinces else 0)
        for c in range(k):
            code = f"{11 + p:02d}{1 + c // 99:02d}{1 + c % 99:02d}"
            counties.append(Region.objects.create(code=code, name=f"第{p + 1}省{c + 1}县", level=RegionLevel.COUNTY,
                                                  parent=city, path=Region.path_for(code, city.path)))
    subjects = ("math", "mental_health")[: args.subjects]
    t = time.perf_counter()
    make_runs(cycle, counties, subjects=subjects, pe=args.pe, seed=2026)
    setup_s = time.perf_counter() - t
    analyst = user_create(actor=None, username="bench_analyst", password=secrets.token_urlsafe(16),
                          role=Role.NATIONAL_ANALYST)
    load_before = os.getloadavg()[0]
    import resource

    cpu0 = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    t = time.perf_counter()
    batch = services.report_batch_start(actor=analyst, cycle=cycle, levels=["county"], workers=args.workers)
    batch.refresh_from_db()
    seconds = time.perf_counter() - t
    cpu1 = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    cpu_s = sum(b.ru_utime + b.ru_stime - a.ru_utime - a.ru_stime for a, b in zip(cpu0, cpu1, strict=True))
    if batch.status != "done":
        sys.exit(f"batch failed: {batch.error}")
    n = batch.summary["reports"]
    from naeq.reports.models import Report

    sizes = list(Report.objects.filter(batch=batch).values_list("pdf_bytes", flat=True))
    out = {"reports": n, "pages": batch.summary["pages"], "seconds": round(seconds, 1),
           "per_report_s": round(seconds / n, 3), "ratio_to_600s": round(seconds / 600, 3),
           "cpu_s": round(cpu_s, 1), "cpu_s_per_report": round(cpu_s / n, 3),
           "timings": batch.timings, "workers": args.workers, "subjects": list(subjects), "pe": args.pe,
           "mean_pdf_kib": round(sum(sizes) / len(sizes) / 1024, 1), "synthetic_setup_s": round(setup_s, 1),
           "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
                      f"load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after",
           "python": platform.python_version()}
    print(json.dumps(out, ensure_ascii=False, indent=2))
    if args.keep:
        import shutil

        shutil.copytree(services.batch_dir(batch.pk), args.keep, dirs_exist_ok=True)


if __name__ == "__main__":
    main()
