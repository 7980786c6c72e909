"""All county, province and national means of one subject: naeq vs R ``survey`` on the same data, same run.

    .venv/bin/python bench/bench_estimation.py [--provinces 34] [--counties-per-province 10] [--schools 20]
                                               [--students 30] [--pvs 5] [--no-r]

Data (seeded): provinces × counties × 20 schools × 30 students (default 340 counties, 204,000 students), 5 PVs,
unequal weights. Replicates as ``naeq sample`` makes them (``naeq.engines.sampling.replicate_weights``):
the national set pairs counties within provinces (JK2, every zone its own replicate: 170) and serves the
national and provincial means; the county set pairs schools within counties (JK2, shared columns: 10) and serves
the county means. Both tools get the same weights: R builds ``w × factor[psu, ]`` from the same factor tables
(writing 204,000 × 180 replicate weights to CSV would time the disk, not the estimator).

Timed: naeq from arrays to all estimates (designs built, 340 + 34 + 1 means with SEs, Rubin over 5 PVs); R from
its data frame to the same (``svrepdesign`` + ``withPV`` + ``svyby``/``svymean`` + ``MIcombine``); R's CSV reading
is not timed. The numbers are compared (max relative difference of means and SEs).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from naeq.engines.estimation import Design, mean
from naeq.engines.estimation.results import NO_SUPPRESSION
from naeq.engines.sampling import replicate_factors

R_SCRIPT = r"""
suppressMessages({library(survey); library(mitools)})
args <- commandArgs(trailingOnly = TRUE); dir <- args[1]
d <- read.csv(file.path(dir, "persons.csv"))
fn <- as.matrix(read.csv(file.path(dir, "factors_national.csv")))
fc <- as.matrix(read.csv(file.path(dir, "factors_county.csv")))
t0 <- proc.time()[["elapsed"]]
nat <- suppressWarnings(svrepdesign(data = d, weights = ~w, repweights = d$w * fn[d$npsu + 1, ], type = "JK2",
                                    combined.weights = TRUE, mse = TRUE))
cty <- suppressWarnings(svrepdesign(data = d, weights = ~w, repweights = d$w * fc[d$cpsu + 1, ], type = "JK2",
                                    combined.weights = TRUE, mse = TRUE))
pvs <- as.formula(paste("pv ~", paste0("pv", 1:as.integer(args[2]), collapse = " + ")))
comb <- function(des, action) MIcombine(withPV(pvs, des, action = action, rewrite = TRUE))
rn <- comb(nat, quote(svymean(~pv, data)))
rp <- comb(nat, quote(svyby(~pv, ~province, data, svymean)))
rc <- comb(cty, quote(svyby(~pv, ~county, data, svymean)))
secs <- proc.time()[["elapsed"]] - t0
out <- rbind(data.frame(level = "nation", group = "all", value = coef(rn), se = SE(rn)),
             data.frame(level = "province", group = names(coef(rp)), value = coef(rp), se = SE(rp)),
             data.frame(level = "county", group = names(coef(rc)), value = coef(rc), se = SE(rc)))
write.csv(out, file.path(dir, "r_results.csv"), row.names = FALSE)
cat(sprintf("%.6f\n", secs))
cat(sprintf("%s; survey %s; mitools %s\n", R.version.string, packageVersion("survey"), packageVersion("mitools")))
"""


def make_data(n_prov: int, per_prov: int, n_school: int, n_student: int, n_pv: int, seed: int = 20261202
              ) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    n_county = n_prov * per_prov
    county = np.repeat(np.arange(n_county), n_school * n_student)
    school = np.repeat(np.arange(n_county * n_school), n_student)
    province = county // per_prov
    n = len(county)
    c_eff = rng.normal(0, 25, n_county)
    s_eff = rng.normal(0, 35, n_county * n_school)
    theta = 500 + c_eff[county] + s_eff[school] + rng.normal(0, 85, n)
    pvs = theta[:, None] + rng.normal(0, 30, (n, n_pv))
    w = rng.uniform(20, 60, n_county)[county] * rng.uniform(0.5, 2.0, n_county * n_school)[school] * \
        rng.uniform(0.9, 1.1, n)
    fn, _sn, npsu = replicate_factors(county, scheme="jk2", stratum=province)
    fc, _sc, cpsu = replicate_factors(school, scheme="jk2", within=county)
    return {"county": county, "province": province, "school": school, "pvs": pvs, "w": w, "fn": fn, "fc": fc,
            "npsu": npsu, "cpsu": cpsu}


def run_naeq(d: dict[str, np.ndarray]) -> tuple[float, dict[tuple[str, str], tuple[float, float]]]:
    t0 = time.perf_counter()
    nat = Design(d["w"], d["w"][:, None] * d["fn"][d["npsu"]], method="JK2")
    cty = Design(d["w"], d["w"][:, None] * d["fc"][d["cpsu"]], method="JK2")
    en = mean(nat, d["pvs"], rules=NO_SUPPRESSION)
    ep = mean(nat, d["pvs"], by=d["province"] + 1, rules=NO_SUPPRESSION)
    ec = mean(cty, d["pvs"], by=d["county"] + 1, rules=NO_SUPPRESSION)
    secs = time.perf_counter() - t0
    out: dict[tuple[str, str], tuple[float, float]] = {("nation", "all"): (float(en.value[0]), float(en.se[0]))}
    for level, e in (("province", ep), ("county", ec)):
        for k in range(len(e)):
            out[(level, str(e.group[k][0]))] = (float(e.value[k]), float(e.se[k]))
    return secs, out


def run_r(d: dict[str, np.ndarray], n_pv: int) -> tuple[float, dict[tuple[str, str], tuple[float, float]], str]:
    tmp = Path(tempfile.mkdtemp(prefix="bench_estimation_"))
    try:
        cols = ["county", "province", "school", "w", "npsu", "cpsu"]
        arr = np.column_stack([d["county"] + 1, d["province"] + 1, d["school"] + 1, d["w"], d["npsu"], d["cpsu"],
                               d["pvs"]])
        header = ",".join(cols + [f"pv{m + 1}" for m in range(n_pv)])
        np.savetxt(tmp / "persons.csv", arr, delimiter=",", header=header, comments="",
                   fmt=["%d", "%d", "%d", "%.17g", "%d", "%d"] + ["%.17g"] * n_pv)
        for name, f in (("factors_national.csv", d["fn"]), ("factors_county.csv", d["fc"])):
            np.savetxt(tmp / name, f, delimiter=",", header=",".join(f"r{r + 1}" for r in range(f.shape[1])),
                       comments="", fmt="%.17g")
        (tmp / "bench.R").write_text(R_SCRIPT)
        res = subprocess.run(["Rscript", str(tmp / "bench.R"), str(tmp), str(n_pv)], capture_output=True, text=True,
                             check=True)
        lines = res.stdout.strip().splitlines()
        secs, version = float(lines[-2]), lines[-1]
        out = {}
        with (tmp / "r_results.csv").open() as fh:
            next(fh)
            for line in fh:
                level, group, value, se = [x.strip('"') for x in line.strip().split(",")]
                out[(level, group)] = (float(value), float(se))
        return secs, out, version
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--provinces", type=int, default=34)
    ap.add_argument("--counties-per-province", type=int, default=10)
    ap.add_argument("--schools", type=int, default=20)
    ap.add_argument("--students", type=int, default=30)
    ap.add_argument("--pvs", type=int, default=5)
    ap.add_argument("--no-r", action="store_true")
    a = ap.parse_args()
    d = make_data(a.provinces, a.counties_per_province, a.schools, a.students, a.pvs)
    n = len(d["w"])
    print(f"{a.provinces * a.counties_per_province} counties, {n:,} students, {a.pvs} PVs; replicates: "
          f"national {d['fn'].shape[1]}, county {d['fc'].shape[1]}")
    t_naeq, ours = run_naeq(d)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"naeq: {t_naeq:.2f} s ({len(ours)} estimates), peak RSS {rss:.0f} MiB")
    report = {"students": n, "counties": a.provinces * a.counties_per_province, "pvs": a.pvs,
              "naeq_seconds": round(t_naeq, 3), "naeq_peak_rss_mib": round(rss),
              "machine": f"{platform.processor() or platform.machine()}, python {platform.python_version()}, "
                         f"numpy {np.__version__}"}
    if not a.no_r:
        t_r, theirs, version = run_r(d, a.pvs)
        keys = sorted(set(ours) & set(theirs))
        rel_v = max(abs(ours[k][0] - theirs[k][0]) / abs(theirs[k][0]) for k in keys)
        rel_s = max(abs(ours[k][1] - theirs[k][1]) / abs(theirs[k][1]) for k in keys)
        print(f"R survey: {t_r:.2f} s ({version})")
        print(f"ratio R / naeq: {t_r / t_naeq:.1f}x; compared {len(keys)} of {len(ours)} estimates: max relative "
              f"difference of means {rel_v:.1e}, of SEs {rel_s:.1e}")
        report.update(r_seconds=round(t_r, 3), ratio=round(t_r / t_naeq, 1), compared=len(keys),
                      max_rel_diff_mean=rel_v, max_rel_diff_se=rel_s, r_version=version)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
