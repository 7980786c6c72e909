"""Reference values for naeq.engines.agreement, produced by scikit-learn (not a dependency of naeq).

Run in a throwaway environment:

    python3 -m venv /tmp/skl && /tmp/skl/bin/pip install scikit-learn
    /tmp/skl/bin/python tests/marking/reference/make_kappa_reference.py > tests/marking/reference/kappa_sklearn.csv

The values in kappa_sklearn.csv were made with scikit-learn 1.9.1 and numpy 2.4.6 (Python 3.11). The kappa is
``sklearn.metrics.cohen_kappa_score(a, b, labels=range(K + 1), weights="quadratic")`` — the labels are the item's
score points, so a category nobody used still counts in the weights; exact and adjacent agreement are
``mean(a == b)`` and ``mean(|a - b| <= 1)``.
"""

from __future__ import annotations

import csv
import sys

import numpy as np
import sklearn
from sklearn.metrics import cohen_kappa_score


def cases() -> list[tuple[str, int, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(20261202)
    out = []
    for k in (1, 2, 3, 4, 6):
        for n in (8, 40, 150):
            truth = rng.integers(0, k + 1, size=n)
            noise = rng.choice([-1, 0, 0, 0, 1], size=n)
            a = truth
            b = np.clip(truth + noise, 0, k)
            out.append((f"noisy_k{k}_n{n}", k, a, b))
            out.append((f"independent_k{k}_n{n}", k, rng.integers(0, k + 1, size=n), rng.integers(0, k + 1, size=n)))
    out.append(("perfect_k3", 3, np.array([0, 1, 2, 3, 3, 2]), np.array([0, 1, 2, 3, 3, 2])))
    out.append(("offset_k4", 4, np.array([0, 1, 2, 3, 3, 1]), np.array([1, 2, 3, 4, 4, 2])))
    out.append(("unused_point_k4", 4, np.array([0, 0, 4, 4, 0, 4, 2]), np.array([0, 4, 4, 4, 0, 0, 2])))
    out.append(("reversed_k2", 2, np.array([0, 1, 2, 0, 2]), np.array([2, 1, 0, 2, 0])))
    return out


def main() -> None:
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(["case", "max_score", "a", "b", "kappa_quadratic", "exact", "adjacent", "software"])
    for name, k, a, b in cases():
        kappa = cohen_kappa_score(a, b, labels=list(range(k + 1)), weights="quadratic")
        w.writerow([name, k, " ".join(map(str, a)), " ".join(map(str, b)), repr(float(kappa)),
                    repr(float(np.mean(a == b))), repr(float(np.mean(np.abs(a - b) <= 1))),
                    f"scikit-learn {sklearn.__version__} numpy {np.__version__}"])


if __name__ == "__main__":
    main()
