"""Writes data.csv, the data set of make_reference.R (seeded; run from the repository root:
``.venv/bin/python tests/engines/estimation/reference/make_data.py``).

3 counties × 20 schools × 8–25 students with unequal weights, 5 plausible values on the 500/100 scale, a
continuous background variable ``x1`` and ``sex``; JK2 replicate weights (schools paired within counties, every
zone its own replicate: jk1..jk30) and Fay-BRR replicate weights with ρ = 0.5 on the same zones (fay1..fay32),
both from the project's sampling engine (``naeq.engines.sampling.replicate_weights``).
"""

from pathlib import Path

import numpy as np

from naeq.engines.sampling import replicate_weights

rng = np.random.default_rng(20261202)
n_county, per_county = 3, 20
n_school = n_county * per_county
size = rng.integers(8, 26, n_school)
school = np.repeat(np.arange(n_school), size)
county = school // per_county
n = len(school)
school_w = rng.uniform(5, 40, n_school)
w = np.round(school_w[school] * rng.uniform(0.8, 1.25, n), 4)
sex = rng.integers(0, 2, n)
x1 = np.round(rng.normal(0, 1, n), 4)
u_school = rng.normal(0, 35, n_school)
theta = 500 + 15 * (county - 1) + u_school[school] + 20 * x1 - 8 * sex + rng.normal(0, 90, n)
pvs = np.round(theta[:, None] + rng.normal(0, 30, (n, 5)), 4)
jk, _ = replicate_weights(w, school, scheme="jk2", stratum=county)
fay, _ = replicate_weights(w, school, scheme="fay", stratum=county, fay_rho=0.5)
cols = {"person": np.arange(1, n + 1), "county": county + 1, "school": school + 1, "sex": sex, "x1": x1, "w": w}
header = list(cols) + [f"pv{m + 1}" for m in range(5)] + [f"jk{r + 1}" for r in range(jk.shape[1])] + \
    [f"fay{r + 1}" for r in range(fay.shape[1])]
out = Path(__file__).with_name("data.csv")
with out.open("w") as fh:
    fh.write(",".join(header) + "\n")
    for i in range(n):
        vals = [str(cols[c][i]) for c in cols] + [repr(float(v)) for v in pvs[i]] + \
            [repr(float(v)) for v in jk[i]] + [repr(float(v)) for v in fay[i]]
        fh.write(",".join(vals) + "\n")
print(f"{out}: {n} rows, {jk.shape[1]} JK2 and {fay.shape[1]} Fay replicates")
