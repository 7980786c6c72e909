"""Derived indicators of the PE field test, computed over arrays: BMI and weight status, poor vision and its
severity, item scores and pass / excellent rates under the National Student Physical Health Standard (2014
revision) where it covers the item, configured norms where it does not.

Pure numpy, no Django and no database (a test asserts this module imports neither), so the same function serves the
pages, the CLI over files and the tests with hand-computed examples. The tables are :class:`Standard` values built
by :mod:`naeq.pe.config` from ``configs/standard.yaml``, which cites the published source of every table.

Conventions: heights in cm, weights in kg, vision on the five-point logarithmic chart, missing values as NaN
(the entry's −1 and blanks are turned into NaN by the caller: :func:`clean`); sex ``"M"``/``"F"``; grade 4 or 8.

Example
-------
>>> std = Standard.example()
>>> bmi(np.array([140.0]), np.array([30.0])).round(1).tolist()
[15.3]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MISSING = -1.0
WEIGHT_STATUSES = ("low", "normal", "over", "obese")
WEIGHT_STATUS_NAMES = {"low": "低体重", "normal": "正常", "over": "超重", "obese": "肥胖"}


@dataclass(frozen=True)
class BmiCut:
    """One grade and sex of the Standard's BMI table: ``normal = (lo, hi)`` and the top of 超重."""

    lo: float
    hi: float
    overweight_max: float


@dataclass(frozen=True)
class VisionClass:
    code: str
    name: str
    min: float
    max: float


@dataclass(frozen=True)
class ScoreTable:
    """The score levels of one item for one grade and sex: ``thresholds[i]`` reaches ``levels[i]``."""

    levels: tuple[int, ...]
    thresholds: tuple[float, ...]
    higher_is_better: bool
    published: bool
    source: str


@dataclass(frozen=True)
class Standard:
    pass_score: int
    excellent_score: int
    bmi_cuts: Mapping[tuple[int, str], BmiCut]
    vision_normal_min: float
    vision_classes: tuple[VisionClass, ...]
    tables: Mapping[tuple[str, int, str], ScoreTable]  # (item, grade, sex) -> table
    item_names: Mapping[str, str] = field(default_factory=dict)
    sources: Mapping[str, str] = field(default_factory=dict)

    @staticmethod
    def example() -> Standard:
        """A two-cell standard for doctests (grade 4 boys' BMI cut-offs of the 2014 Standard)."""
        return Standard(pass_score=60, excellent_score=90, bmi_cuts={(4, "M"): BmiCut(14.2, 20.1, 22.6)},
                        vision_normal_min=5.0, vision_classes=(), tables={})


def clean(values: Sequence[Any] | np.ndarray) -> np.ndarray:
    """Float array with the entry's missing marks (−1, None, blank) as NaN."""
    out = np.array([np.nan if v is None or v == "" else float(v) for v in values], dtype=float) if not isinstance(
        values, np.ndarray) else values.astype(float, copy=True)
    out[out == MISSING] = np.nan
    return out


def round1(x: np.ndarray) -> np.ndarray:
    """Round half up to one decimal (the Standard's tables are in 0.1 steps; numpy's round is half-to-even).
    The 1e-9 nudge keeps values such as 20.15, stored as 20.1499999…, on the side a person computing by hand
    would put them."""
    return np.floor(x * 10.0 + 0.5 + 1e-9) / 10.0


def bmi(height_cm: np.ndarray, weight_kg: np.ndarray) -> np.ndarray:
    """BMI = weight (kg) / height (m)², unrounded; NaN where either is missing or the height is not positive."""
    h = np.asarray(height_cm, dtype=float) / 100.0
    w = np.asarray(weight_kg, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = w / (h * h)
    out[~np.isfinite(out) | (h <= 0)] = np.nan
    return out


def weight_status(bmi_values: np.ndarray, grades: np.ndarray, sexes: np.ndarray, std: Standard) -> np.ndarray:
    """低体重 / 正常 / 超重 / 肥胖 (codes low / normal / over / obese) from BMI rounded to 0.1 against the
    Standard's cut-offs for the student's grade and sex; "" where BMI is missing or no cut-off is configured."""
    b = round1(np.asarray(bmi_values, dtype=float))
    grades = np.asarray(grades)
    sexes = np.asarray(sexes)
    out = np.full(b.shape, "", dtype=object)
    for (grade, sex), cut in std.bmi_cuts.items():
        sel = (grades == grade) & (sexes == sex) & ~np.isnan(b)
        if not sel.any():
            continue
        v = b[sel]
        status = np.where(v < cut.lo, "low", np.where(v <= cut.hi, "normal",
                                                     np.where(v <= cut.overweight_max, "over", "obese")))
        out[sel] = status
    return out


def worse_eye(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """The worse eye's vision: the smaller of the two, or the one measured when the other is missing."""
    return np.fmin(np.asarray(left, dtype=float), np.asarray(right, dtype=float))


def vision_class(vision: np.ndarray, std: Standard) -> np.ndarray:
    """"normal" at or above the normal minimum (5.0), else the configured severity class code (mild / moderate /
    severe); "" where the vision is missing."""
    v = round1(np.asarray(vision, dtype=float))
    out = np.full(v.shape, "", dtype=object)
    known = ~np.isnan(v)
    out[known & (v >= std.vision_normal_min)] = "normal"
    for c in std.vision_classes:
        out[known & (v < std.vision_normal_min) & (v >= c.min - 1e-9) & (v <= c.max + 1e-9)] = c.code
    return out


def best_of(trials: np.ndarray, how: str) -> np.ndarray:
    """The result of an item from its trials (shape (n, k), NaN = missing): max, min, or the single value."""
    t = np.asarray(trials, dtype=float)
    if t.ndim == 1:
        return t.copy()
    all_missing = np.isnan(t).all(axis=1)
    filled = np.where(np.isnan(t), -np.inf if how == "max" else np.inf, t)
    out = filled.max(axis=1) if how == "max" else filled.min(axis=1)
    out[all_missing] = np.nan
    return out.astype(float)


def item_score(values: np.ndarray, table: ScoreTable) -> np.ndarray:
    """The score level reached by each value (0 below the last level; NaN where missing)."""
    v = np.asarray(values, dtype=float)
    th = np.asarray(table.thresholds, dtype=float)
    lv = np.asarray(table.levels, dtype=float)
    out = np.full(v.shape, np.nan)
    known = ~np.isnan(v)
    # The first threshold the value reaches gives the level (thresholds run from the best level down).
    reached = (v[known, None] >= th[None, :] - 1e-9) if table.higher_is_better else (
        v[known, None] <= th[None, :] + 1e-9)
    first = np.where(reached.any(axis=1), reached.argmax(axis=1), -1)
    out[known] = np.where(first >= 0, lv[np.clip(first, 0, None)], 0.0)
    return out


def item_scores(item: str, values: np.ndarray, grades: np.ndarray, sexes: np.ndarray,
                std: Standard) -> np.ndarray:
    """Scores of one item for students of mixed grade and sex (NaN where missing or no table)."""
    v = np.asarray(values, dtype=float)
    out = np.full(v.shape, np.nan)
    grades = np.asarray(grades)
    sexes = np.asarray(sexes)
    for (it, grade, sex), table in std.tables.items():
        if it != item:
            continue
        sel = (grades == grade) & (sexes == sex)
        if sel.any():
            out[sel] = item_score(v[sel], table)
    return out


@dataclass(frozen=True)
class Rate:
    n: int  # students with a value
    k: int  # of them meeting the condition

    @property
    def rate(self) -> float | None:
        return self.k / self.n if self.n else None

    def as_dict(self) -> dict[str, Any]:
        return {"n": self.n, "k": self.k, "rate": self.rate}


@dataclass(frozen=True)
class GroupIndicators:
    """The indicators of one group of students (a school, a county, …) with their counts."""

    students: int  # tested students in the group (exempt and absent excluded by the caller)
    weight_status: dict[str, int]  # low / normal / over / obese -> count
    bmi_n: int
    vision: dict[str, int]  # normal / mild / moderate / severe -> count
    vision_n: int
    passed: dict[str, Rate]  # item -> pass rate (score >= pass)
    excellent: dict[str, Rate]  # item -> excellent rate (score >= excellent)

    @property
    def items(self) -> list[tuple[str, Rate, Rate]]:
        """(item, pass rate, excellent rate) in item order."""
        return [(k, self.passed[k], self.excellent[k]) for k in self.passed]

    @property
    def obesity(self) -> Rate:
        return Rate(self.bmi_n, self.weight_status.get("obese", 0))

    @property
    def overweight(self) -> Rate:
        return Rate(self.bmi_n, self.weight_status.get("over", 0))

    @property
    def poor_vision(self) -> Rate:
        return Rate(self.vision_n, self.vision_n - self.vision.get("normal", 0))

    def as_dict(self) -> dict[str, Any]:
        return {"students": self.students, "bmi_n": self.bmi_n, "weight_status": dict(self.weight_status),
                "obesity": self.obesity.as_dict(), "overweight": self.overweight.as_dict(),
                "vision_n": self.vision_n, "vision": dict(self.vision), "poor_vision": self.poor_vision.as_dict(),
                "passed": {k: r.as_dict() for k, r in self.passed.items()},
                "excellent": {k: r.as_dict() for k, r in self.excellent.items()}}


def group_indicators(*, grades: np.ndarray, sexes: np.ndarray, height: np.ndarray, weight: np.ndarray,
                     vision_l: np.ndarray, vision_r: np.ndarray, results: Mapping[str, np.ndarray],
                     std: Standard) -> GroupIndicators:
    """Indicators of one group. ``results`` maps an item code to each student's item result (best trial, NaN when
    missing). Shapes: every array (n,)."""
    grades = np.asarray(grades)
    sexes = np.asarray(sexes)
    status = weight_status(bmi(height, weight), grades, sexes, std)
    ws = {s: int((status == s).sum()) for s in WEIGHT_STATUSES}
    vc = vision_class(worse_eye(vision_l, vision_r), std)
    vision_counts = {"normal": int((vc == "normal").sum())}
    for c in std.vision_classes:
        vision_counts[c.code] = int((vc == c.code).sum())
    passed: dict[str, Rate] = {}
    excellent: dict[str, Rate] = {}
    for item in sorted({k[0] for k in std.tables}):
        if item not in results:
            continue
        scores = item_scores(item, results[item], grades, sexes, std)
        known = ~np.isnan(scores)
        n = int(known.sum())
        passed[item] = Rate(n, int((scores[known] >= std.pass_score).sum()))
        excellent[item] = Rate(n, int((scores[known] >= std.excellent_score).sum()))
    return GroupIndicators(students=len(grades), weight_status=ws, bmi_n=int((status != "").sum()),
                           vision=vision_counts, vision_n=int((vc != "").sum()), passed=passed,
                           excellent=excellent)
