"""Benchmark: the full national draw (≈340 counties, ≈6,700 schools with replacements, ≈200,000 students,
weights and replicate weights) on the synth national registry (seed 1), in naeq's engine and in R (sampling +
survey) doing the same steps on the same frame, in the same run.

The limit (issue): under 10 s on this machine. Each side runs as its own process; the time is measured inside
the process around the draw only (the frame is read or generated first, not timed); the peak memory is the max
RSS of the process (``os.wait4``), which includes the frame. Not a test; run it by hand and record the output in
BENCHMARKS.md:

    .venv/bin/python bench/bench_sampling.py [--repeat 3] [--no-r]
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
import time
from pathlib import Path
from typing import Any

LIMIT_S = 10.0
HERE = Path(__file__).resolve().parent


def _run(args: list[str]) -> tuple[str, float]:
    """Run a command; return (stdout, peak RSS MiB of that process)."""
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    out = proc.stdout.read().decode() if proc.stdout else ""
    err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{' '.join(args)} failed:\n{out}\n{err}")
    return out, usage.ru_maxrss / 1024  # KiB on Linux


def _frame() -> Any:
    from naeq.engines.sampling import SchoolFrame
    from naeq.engines.synth import generate_registry

    _, s = generate_registry("national", 1)
    return SchoolFrame.from_columns(code=s["code"], county=s["county_code"], level=s["level"],
                                    urban_rural=s["urban_rural"], g4=s["g4_enrollment"], g8=s["g8_enrollment"])


def child(seed: int) -> None:
    """One timed national draw in this process; prints JSON."""
    import numpy as np

    from naeq.engines.sampling import SampleDesign, draw_sample, replicate_se

    frame = _frame()
    stages: dict[str, float] = {}
    last = [time.perf_counter()]
    current = ["frame_hash"]

    def note(stage: str) -> None:  # called as each stage starts: close the previous one
        now = time.perf_counter()
        stages[current[0]] = now - last[0]
        last[0], current[0] = now, stage

    started = time.perf_counter()
    s = draw_sample(frame, SampleDesign(), seed, progress=note)
    st = s.students
    # Materialise the dense replicate weights (as R holds them) and compute the two SEs.
    m = st["national"]
    rw = s.replicates_national.dense(st["weight"][m])
    rwc = s.replicates_county.dense(st["weight_county"])
    se_mean = replicate_se(st["pi_student"][m], st["weight"][m], rw, s.replicates_national.scheme)
    se_prop = replicate_se((st["grade"][m] == 4).astype(float), st["weight"][m], rw, s.replicates_national.scheme)
    total = time.perf_counter() - started
    note("end")  # "replicates": factors, dense national and county weights, two SEs
    c = s.counts()
    print(json.dumps({"total": total, "stages": stages, "counts": c, "replicates": [rw.shape[1], rwc.shape[1]],
                      "se_mean": se_mean, "se_prop": se_prop, "weight_sum": float(np.sum(st["weight"]))}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-r", action="store_true", help="Skip the R side.")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(a.seed)
        return

    py: list[dict[str, Any]] = []
    py_rss: list[float] = []
    for _ in range(a.repeat):
        out, rss = _run([sys.executable, __file__, "--child", "--seed", str(a.seed)])
        py.append(json.loads(out))
        py_rss.append(rss)
    r_times: list[float] = []
    r_rss: list[float] = []
    r_out: dict[str, str] = {}
    if not a.no_r:
        import numpy as np

        from naeq.engines.sampling import SampleDesign, allocate_counties, county_frame

        frame = _frame()
        cf = county_frame(frame)
        provs, inv = np.unique(cf.province, return_inverse=True)
        alloc = allocate_counties(np.bincount(inv), SampleDesign().counties.total,
                                  SampleDesign().counties.min_per_province)
        with tempfile.TemporaryDirectory(prefix="naeq-bench-") as tmp:
            fpath, apath = Path(tmp) / "frame.csv", Path(tmp) / "alloc.csv"
            with fpath.open("w", encoding="utf-8") as fh:
                fh.write("code,county_code,urban_rural,g4_enrollment,g8_enrollment\n")
                for row in zip(frame.code.tolist(), frame.county.tolist(), frame.urban_rural.tolist(),
                               frame.g4.tolist(), frame.g8.tolist(), strict=True):
                    fh.write(",".join(map(str, row)) + "\n")
            apath.write_text("province,n\n" + "".join(f"{p},{n}\n" for p, n in zip(provs, alloc, strict=True)),
                             encoding="utf-8")
            for _ in range(a.repeat):
                out, rss = _run(["Rscript", str(HERE / "bench_sampling.R"), str(fpath), str(apath), str(a.seed)])
                r_out = dict(line.split(" ", 1) for line in out.strip().splitlines())
                r_times.append(float(r_out["total"]))
                r_rss.append(rss)

    ours = [p["total"] for p in py]
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Linux {platform.release()}, "
          f"Python {platform.python_version()}")
    print(f"counts (ours): {py[0]['counts']}; replicates national/county: {py[0]['replicates']}")
    print(f"stages (ours, last run, s): { {k: round(v, 3) for k, v in py[-1]['stages'].items()} }")
    print(f"SE (ours): mean {py[0]['se_mean']:.6g}, proportion {py[0]['se_prop']:.6g}")
    print()
    print("| engine | median (s) | max (s) | ratio to 10 s | peak RSS (MiB) | runs |")
    print("|---|---:|---:|---:|---:|---:|")
    print(f"| naeq (numpy) | {statistics.median(ours):.2f} | {max(ours):.2f} | {statistics.median(ours) / LIMIT_S:.2f} "
          f"| {max(py_rss):.0f} | {len(ours)} |")
    if r_times:
        print(f"| R sampling + survey | {statistics.median(r_times):.2f} | {max(r_times):.2f} | "
              f"{statistics.median(r_times) / LIMIT_S:.2f} | {max(r_rss):.0f} | {len(r_times)} |")
        print()
        print(f"ratio R / naeq (median): {statistics.median(r_times) / statistics.median(ours):.1f}")
        print("R stages (last run, s): " + ", ".join(f"{k} {r_out[k]}" for k in
                                                     ("counties", "schools", "students", "weights", "replicates")))
        print(f"R counts: replicates {r_out['n_replicates']}, counties {r_out['n_counties']}, school-grades "
              f"{r_out['n_school_grades']}, replacements "
              f"{r_out['n_replacements']}, students {r_out['n_students']}; SE mean {r_out['se_mean']}, "
              f"proportion {r_out['se_prop']}")
        print(f"R: {r_out['version']}")


if __name__ == "__main__":
    main()
