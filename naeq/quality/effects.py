"""A case's effect on the estimates: the county's, its province's and the nation's weighted mean scale score and n
from the cycle's calibration runs of the instrument, with and without the data the decision excludes.

Columns (each a mapping ``{"county"|"province"|"nation": {"mean", "n"}}``):

* ``before`` — the latest done run made before the decision (or the latest run while undecided), all its persons;
* ``after`` — the same run without the test takers the decision excludes (while undecided: the case's test takers,
  i.e. what *data excluded* would do; a cleared or flagged case excludes nobody);
* ``rerun`` — the latest done run made after an exclusion decision, all its persons (the excluded ones are no
  longer in it), or None while there is none.

The person value is the mean of the run's plausible values when present, else the EAP, on the run's reporting scale
(``summary["scale"]``: A·θ + B); the weight the sampled student's ``final_weight`` when set, else 1. A simple
weighted mean, not a design-based estimate (issue 8 replaces it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from naeq.quality.models import Case, CaseState
from naeq.scaling.models import CalibrationPerson, CalibrationRun, RunStatus

LEVELS = ("county", "province", "nation")


@dataclass
class Effect:
    before_run: CalibrationRun | None
    rerun: CalibrationRun | None
    excluded: int                              # test takers of the case the "after" column leaves out
    before: dict[str, dict[str, float | int | None]] | None
    after: dict[str, dict[str, float | int | None]] | None
    rerun_values: dict[str, dict[str, float | int | None]] | None

    def rows(self) -> list[dict[str, Any]]:
        """One row per level with every column's mean and n, for the page."""
        out = []
        for level in LEVELS:
            row: dict[str, Any] = {"level": level}
            for col, values in (("before", self.before), ("after", self.after), ("rerun", self.rerun_values)):
                cell = (values or {}).get(level) or {}
                row[f"{col}_mean"] = cell.get("mean")
                row[f"{col}_n"] = cell.get("n")
            b, a = row["before_mean"], row["after_mean"]
            row["change"] = None if a is None or b is None else a - b
            out.append(row)
        return out


def _arrays(run: CalibrationRun) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64],
                                          NDArray[np.str_]]:
    """(test taker ids, scale scores, weights, county paths) of the run's persons."""
    rows = list(CalibrationPerson.objects.filter(run=run).order_by()
                .values_list("test_taker_id", "eap", "pvs", "test_taker__sampled_student__final_weight",
                             "test_taker__path").iterator(chunk_size=5000))
    scale = (run.summary or {}).get("scale") or {}
    a, b = float(scale.get("A") or 1.0), float(scale.get("B") or 0.0)
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros(0, np.str_)
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    theta = np.fromiter((float(np.mean(r[2])) if r[2] else float(r[1]) for r in rows), dtype=np.float64,
                        count=len(rows))
    weight = np.fromiter((1.0 if r[3] is None else float(r[3]) for r in rows), dtype=np.float64, count=len(rows))
    paths = np.array([r[4] or "" for r in rows], dtype=np.str_)
    return ids, a * theta + b, weight, paths


def _means(ids: NDArray[np.int64], score: NDArray[np.float64], weight: NDArray[np.float64], paths: NDArray[np.str_],
           case: Case, drop: NDArray[np.int64]) -> dict[str, dict[str, float | int | None]]:
    keep = ~np.isin(ids, drop) if len(drop) else np.ones(len(ids), dtype=bool)
    province = case.path.split("/")[0] + "/"
    out: dict[str, dict[str, float | int | None]] = {}
    for level, prefix in (("county", case.path), ("province", province), ("nation", "")):
        sel = keep & np.char.startswith(paths, prefix) if prefix else keep
        w = weight[sel]
        total = float(w.sum())
        out[level] = {"mean": float(np.dot(w, score[sel]) / total) if total > 0 else None, "n": int(sel.sum())}
    return out


def _done_runs(case: Case) -> Any:
    return CalibrationRun.objects.filter(cycle_id=case.cycle_id, instrument_code=case.instrument_code,
                                         status=RunStatus.DONE).order_by("-created_at", "-id")


def case_effect(case: Case, persons: list[int]) -> Effect:
    """The effect table of a case whose decision applies to ``persons`` (:func:`naeq.quality.cases.case_persons`)."""
    runs = _done_runs(case)
    decided_at = case.decided_at if case.state == CaseState.DATA_EXCLUDED else None
    before_run = (runs.filter(created_at__lt=decided_at) if decided_at else runs).first()
    rerun = runs.filter(created_at__gte=decided_at).first() if decided_at else None
    excluding = case.state not in (CaseState.CLEARED, CaseState.DATA_FLAGGED)
    drop = np.array(sorted(persons) if excluding else [], dtype=np.int64)
    before = after = rerun_values = None
    n_excluded = 0
    if before_run is not None:
        ids, score, weight, paths = _arrays(before_run)
        before = _means(ids, score, weight, paths, case, np.zeros(0, np.int64))
        after = _means(ids, score, weight, paths, case, drop)
        n_excluded = int(np.isin(ids, drop).sum()) if len(drop) else 0
    if rerun is not None:
        ids, score, weight, paths = _arrays(rerun)
        rerun_values = _means(ids, score, weight, paths, case, np.zeros(0, np.int64))
    return Effect(before_run=before_run, rerun=rerun, excluded=n_excluded, before=before, after=after,
                  rerun_values=rerun_values)
