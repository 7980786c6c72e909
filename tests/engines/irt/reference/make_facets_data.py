"""Write the many-facet reference data set (run from the repository root):

    .venv/bin/python tests/engines/irt/reference/make_facets_data.py

2,000 persons, 4 tasks scored 0–4, 8 raters with severities equally spaced in [−0.8, 0.8], θ ~ N(0, 1), ratings
from the many-facet partial-credit model (naeq.engines.irt.facets). Allocation by rater panels, as a marking
centre might batch it: 16 panels, each a random draw of 4 different raters for the 4 tasks and the other 4 raters
as second raters; every person gets a panel at random, and a random 25 % of the persons are scored a second time
on all 4 tasks (25 % of the responses double scored). Every person is scored by 4 different raters, so the raters
are linked within persons (what CML needs), and the persons show only 16 × 2 patterns of (task, rater) pairs,
which keeps eRm's CML, whose cost grows with the number of missing-data patterns, to minutes (a fully random
allocation gives ~2,000 patterns and did not finish in 20 min). (A fixed rotation, rater (person + task) mod 8,
is no good: it nearly confounds a linear trend in the severities with the task steps within every person, so CML
is weakly identified and eRm ran away.)

Long rows ``person,item,rater,score`` in facets_ratings.csv and the generating values in facets_true.csv; the
test reads the files, so it never depends on the random stream staying the same.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
N_PERSONS, N_TASKS, MAX_SCORE, N_RATERS = 2000, 4, 4, 8


def main() -> None:
    rng = np.random.default_rng(2026)
    severity = np.linspace(-0.8, 0.8, N_RATERS)
    steps = np.linspace(-1.5, 1.5, MAX_SCORE)[None, :] + np.linspace(-0.5, 0.5, N_TASKS)[:, None]
    theta = rng.normal(0.0, 1.0, N_PERSONS)
    person = np.repeat(np.arange(N_PERSONS), N_TASKS)
    task = np.tile(np.arange(N_TASKS), N_PERSONS)
    panels = np.array([rng.permutation(N_RATERS) for _ in range(16)])       # first 4: first raters, last 4: second
    panel = rng.integers(0, 16, N_PERSONS)[person]
    first = panels[panel, task]
    second = panels[panel, N_TASKS + task]
    double = (rng.random(N_PERSONS) < 0.25)[person]
    p_all = np.concatenate([person, person[double]])
    t_all = np.concatenate([task, task[double]])
    r_all = np.concatenate([first, second[double]])
    kk = np.arange(MAX_SCORE + 1)
    cum = np.concatenate([np.zeros((N_TASKS, 1)), np.cumsum(steps, axis=1)], axis=1)
    eta = kk[None, :] * (theta[p_all] - severity[r_all])[:, None] - cum[t_all]
    prob = np.exp(eta - eta.max(axis=1, keepdims=True))
    prob /= prob.sum(axis=1, keepdims=True)
    score = np.minimum((rng.random(len(p_all))[:, None] > np.cumsum(prob, axis=1)).sum(axis=1), MAX_SCORE)
    order = np.lexsort((r_all, t_all, p_all))
    lines = ["person,item,rater,score"]
    lines += [f"P{p_all[j] + 1:05d},T{t_all[j] + 1},R{r_all[j] + 1:02d},{score[j]}" for j in order]
    (HERE / "facets_ratings.csv").write_text("\n".join(lines) + "\n")
    true = ["facet,label,value"]
    true += [f"rater,R{k + 1:02d},{v:.6f}" for k, v in enumerate(severity)]
    true += [f"step,T{i + 1}.{v + 1},{steps[i, v]:.6f}" for i in range(N_TASKS) for v in range(MAX_SCORE)]
    true.append("sigma,theta,1.000000")
    (HERE / "facets_true.csv").write_text("\n".join(true) + "\n")


if __name__ == "__main__":
    main()
