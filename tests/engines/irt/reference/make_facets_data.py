"""Write the many-facet reference data set (run from the repository root):

    .venv/bin/python tests/engines/irt/reference/make_facets_data.py

2,000 persons, 4 tasks scored 0–4, 8 raters with severities equally spaced in [−0.8, 0.8], every (person, task)
rated by a rater drawn at random and 25 % of them by a second rater (naeq.engines.irt.facets.simulate_ratings,
seed 2026). Long rows ``person,item,rater,score`` in facets_ratings.csv and the generating values in
facets_true.csv; the test reads the files, so it never depends on the simulator's stream staying the same.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from naeq.engines.irt.facets import simulate_ratings

HERE = Path(__file__).resolve().parent


def main() -> None:
    sim = simulate_ratings(2000, n_items=4, max_score=4, n_raters=8, double_share=0.25, seed=2026)
    r = sim.ratings
    order = np.lexsort((r.rater, r.item, r.person))
    lines = ["person,item,rater,score"]
    lines += [f"P{int(r.persons[r.person[j]]) + 1:05d},{r.items[r.item[j]]},{r.raters[r.rater[j]]},{r.score[j]}"
              for j in order]
    (HERE / "facets_ratings.csv").write_text("\n".join(lines) + "\n")
    true = ["facet,label,value"]
    true += [f"rater,R{k + 1:02d},{v:.6f}" for k, v in enumerate(sim.severity)]
    true += [f"step,T{i + 1}.{v + 1},{sim.steps[i, v]:.6f}" for i in range(sim.steps.shape[0])
             for v in range(sim.steps.shape[1])]
    true.append(f"sigma,theta,{sim.sigma:.6f}")
    (HERE / "facets_true.csv").write_text("\n".join(true) + "\n")


if __name__ == "__main__":
    main()
