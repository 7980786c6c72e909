"""Benchmark and large simulation check of plausible values (naeq.engines.irt.population).

Part 1 (statistics, many replications; the fast suite runs a few hundred): for each replication, persons with
θ = 0.5·urban + 0.3·x + e (e ~ N(0, σ²)) answer a 2PL test; PVs are drawn with conditioning on (urban, x) and
without. Reported, over the replications:

* bias of the population mean and SD from PVs, in units of the true SD (issue bar: within 0.02);
* coverage of the 95% interval (PV mean ± 1.96 Rubin SE) of the population mean (bar: 93–97%), with the Monte
  Carlo SE of the coverage;
* the urban/rural difference: bias with conditioning and without (the attenuation), and the coverage of its
  Rubin interval with conditioning;
* the coverage of each person's 95% posterior interval (200 draws at the fitted coefficients) of his or her
  true θ (with 200 draws the empirical 2.5–97.5% quantile interval covers ≈ 94.1% of a draw's distribution,
  not 95%: that is the figure to compare with).

Part 2 (time and memory at national size): the latent regression and 5 PVs for 200,000 persons on 41 nodes with
20 background variables (the log-likelihood matrix is given: its computation belongs to the calibration).

Not a test. Run by hand and record the output in BENCHMARKS.md:

    .venv/bin/python bench/bench_pv.py [--reps 2000] [--n 500] [--items 15] [--national 200000]
"""

from __future__ import annotations

import argparse
import platform
import resource
import sys
import time

import numpy as np
import scipy

from naeq.engines.irt.population import LatentRegression, background_matrix, plausible_values
from naeq.engines.irt.scale import pv_mean_sd, rubin_combine

NODES = np.linspace(-6.0, 6.0, 61)


def _loglik(theta: np.ndarray, a: np.ndarray, b: np.ndarray, nodes: np.ndarray,
            rng: np.random.Generator) -> np.ndarray:
    p = 1.0 / (1.0 + np.exp(-a * (theta[:, None] - b)))
    x = (rng.random(p.shape) < p).astype(np.float64)
    pr = 1.0 / (1.0 + np.exp(-a[:, None] * (nodes[None, :] - b[:, None])))
    return x @ np.log(pr) + (1.0 - x) @ np.log1p(-pr)


def _diff_rubin(values: np.ndarray, urban: np.ndarray) -> tuple[float, float]:
    d, var = [], []
    for m in range(values.shape[1]):
        v1, v0 = values[urban == 1, m], values[urban == 0, m]
        d.append(v1.mean() - v0.mean())
        var.append(v1.var() / len(v1) + v0.var() / len(v0))
    r = rubin_combine(np.array(d), np.array(var))
    return float(r.estimate), float(r.se)


def statistics_run(reps: int, n: int, n_items: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(0.8, 1.8, n_items), np.linspace(-1.8, 1.8, n_items)
    sigma_e = 0.85
    mu_true = 0.5 * 0.5
    sd_true = float(np.sqrt(0.25 * 0.25 + 0.09 + sigma_e**2))
    rows: dict[str, list[float]] = {k: [] for k in ("mean", "sd", "cover", "d_cond", "d_plain", "d_cover",
                                                      "person_cover", "iters")}
    started = time.perf_counter()
    for r in range(reps):
        urban = rng.integers(0, 2, n)
        x = rng.normal(size=n)
        theta = 0.5 * urban + 0.3 * x + rng.normal(0, sigma_e, n)
        ll = _loglik(theta, a, b, NODES, rng)
        bg = background_matrix({"urban": urban, "x": x}, categorical=["urban"])
        cond = plausible_values(ll, NODES, bg, n_draws=5, seed=seed * 100_000 + r)
        five = cond.values
        est, sd = pv_mean_sd(five)
        rows["mean"].append(float(est.estimate) - mu_true)
        rows["sd"].append(float(sd.mean()) - sd_true)
        rows["cover"].append(float(abs(float(est.estimate) - mu_true) <= 1.96 * float(est.se)))
        d, d_se = _diff_rubin(five, urban)
        rows["d_cond"].append(d - 0.5)
        rows["d_cover"].append(float(abs(d - 0.5) <= 1.96 * d_se))
        plain = plausible_values(ll, NODES, n_draws=5, seed=seed * 100_000 + r)
        rows["d_plain"].append(_diff_rubin(plain.values, urban)[0] - 0.5)
        many = plausible_values(ll, NODES, bg, n_draws=200, seed=seed * 100_000 + r, draw_coefficients=False)
        lo, hi = np.quantile(many.values, [0.025, 0.975], axis=1)
        rows["person_cover"].append(float(np.mean((theta >= lo) & (theta <= hi))))
        assert cond.model is not None
        rows["iters"].append(cond.model.n_iter)
    elapsed = time.perf_counter() - started
    cov = np.mean(rows["cover"])
    dcov = np.mean(rows["d_cover"])
    mcse = np.sqrt(0.95 * 0.05 / reps)
    print(f"replications {reps}, persons {n}, items {n_items}, true mean {mu_true:.3f}, SD {sd_true:.3f}")
    for key, label in (("mean", "mean bias"), ("sd", "SD bias  ")):
        bias = np.mean(rows[key]) / sd_true
        se = np.std(rows[key]) / sd_true / np.sqrt(reps)
        print(f"  {label}      {bias:+.4f} SD  (MC SE {se:.4f}; bar ±0.02)")
    print(f"  95% coverage   {cov:.3f} of the mean (MC SE {mcse:.3f}; bar 0.93–0.97)")
    print(f"  urban−rural    bias conditioned {np.mean(rows['d_cond']):+.4f}, "
          f"unconditioned {np.mean(rows['d_plain']):+.4f} (true 0.5), coverage conditioned {dcov:.3f}")
    print(f"  persons        95% posterior interval coverage {np.mean(rows['person_cover']):.4f}")
    print(f"  EM iterations  median {np.median(rows['iters']):.0f}, max {np.max(rows['iters']):.0f}; "
          f"{elapsed:.1f} s in all")


def national_run(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    nodes = np.linspace(-6.0, 6.0, 41)
    a, b = rng.uniform(0.8, 1.8, 40), np.linspace(-2, 2, 40)
    x = rng.normal(size=(n, 20))
    theta = x[:, :3] @ np.array([0.3, 0.2, 0.1]) + rng.normal(0, 0.9, n)
    ll = _loglik(theta, a, b, nodes, rng)
    bg = (x - x.mean(axis=0)) / x.std(axis=0)               # three carry signal, seventeen are noise
    t0 = time.perf_counter()
    model = LatentRegression().fit(ll, nodes, bg)
    t1 = time.perf_counter()
    pv = plausible_values(ll, nodes, bg, seed=1, regression=LatentRegression())
    t2 = time.perf_counter()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    n_pc = model.components.n_components if model.components else 0
    print(f"national: {n} persons × 41 nodes, 20 background variables ({n_pc} PCs)")
    print(f"  latent regression {t1 - t0:.2f} s ({model.n_iter} EM iterations); fit + 5 PVs {t2 - t1:.2f} s; "
          f"peak RSS {rss:.0f} MiB; PV SD {pv.values.std():.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=2000, help="replications of the statistics part (0 = skip)")
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--items", type=int, default=15)
    ap.add_argument("--national", type=int, default=200_000, help="persons in the timing run (0 = skip)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, scipy {scipy.__version__}, "
          f"{platform.machine()} {platform.system()}")
    if args.reps:
        statistics_run(args.reps, args.n, args.items, args.seed)
    if args.national:
        national_run(args.national, args.seed)


if __name__ == "__main__":
    main()
