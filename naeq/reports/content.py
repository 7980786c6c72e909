"""What a report says: its numbers, read from the estimation runs' :class:`~naeq.analysis.models.Estimate` rows and
laid out as plain dictionaries (picklable, so the rendering workers need no database).

Every number printed comes from one Estimate row; a suppressed row prints as "—" and its rule goes into the
report's footnote. Differences carry their significance mark (▲ significantly higher, ▼ significantly lower,
● not significant) from the row's ``sign``. Nothing here reads a school: between-school differences are the
unit's own summary statistics (the between-school share, the 校际差异率), and provincial and national reports show
their counties or provinces only as counts and unlabelled distributions — no names beside numbers, no ranking.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

#: Level keys of ``level_share`` rows (Ⅰ–Ⅳ) and the Chinese names the reports print.
LEVEL_KEYS = ("I", "II", "III", "IV")
_LEVEL_ALIASES = {"1": "I", "2": "II", "3": "III", "4": "IV", "Ⅰ": "I", "Ⅱ": "II", "Ⅲ": "III", "Ⅳ": "IV"}
#: Groups shown as gaps (the rest of the group variables are background factors).
GAP_VARS = ("sex", "urban_rural", "migrant", "disadvantaged")
#: Printing order of the gap groups' values (others after them, by code).
GROUP_ORDER = {"M": 0, "F": 1, "urban": 0, "town": 1, "rural": 2, "1": 0, "0": 1}
MAIN_CONTRASTS = ("vs_province", "vs_nation", "trend")
MARKS = {1: "▲", 0: "●", -1: "▼"}
DASH = "—"


def level_names() -> dict[str, str]:
    return {"I": _("待提高"), "II": _("中等"), "III": _("良好"), "IV": _("优秀")}


def var_names() -> dict[str, str]:
    return {"sex": _("性别"), "urban_rural": _("城乡"), "migrant": _("随迁子女"),
            "disadvantaged": _("家庭经济困难学生"),
            "homework_time": _("每天完成作业时间"), "sleep": _("睡眠时间"), "sleep_time": _("睡眠时间"),
            "tutoring": _("校外学科类辅导"), "interest": _("学习兴趣"), "confidence": _("学习自信心"),
            "habits": _("学习习惯"), "teaching_practice": _("教师教学方式"), "pe_lessons": _("每周体育课节数")}


def value_names() -> dict[tuple[str, str], str]:
    return {("sex", "M"): _("男生"), ("sex", "F"): _("女生"), ("urban_rural", "urban"): _("城区"),
            ("urban_rural", "town"): _("镇区"), ("urban_rural", "rural"): _("乡村"),
            ("migrant", "1"): _("随迁子女"), ("migrant", "0"): _("非随迁子女"),
            ("disadvantaged", "1"): _("家庭经济困难"), ("disadvantaged", "0"): _("非家庭经济困难")}


def contrast_names() -> dict[str, str]:
    return {"vs_province": _("与本省比较"), "vs_nation": _("与全国比较"), "trend": _("与三年前比较"),
            "F-M": _("女生 − 男生"), "urban-rural": _("城区 − 乡村"), "urban-town": _("城区 − 镇区"),
            "town-rural": _("镇区 − 乡村"), "migrant-nonmigrant": _("随迁子女 − 非随迁子女"),
            "disadvantaged-other": _("家庭经济困难 − 非家庭经济困难")}


def pe_names() -> dict[str, str]:
    return {"obesity": _("肥胖率"), "overweight": _("超重率"), "poor_vision": _("视力不良率"),
            "poor_vision_mild": _("轻度视力不良率"), "poor_vision_moderate": _("中度视力不良率"),
            "poor_vision_severe": _("重度视力不良率"), "pass": _("体质健康达标率"), "fitness_pass": _("体质健康达标率"),
            "excellent": _("体质健康优秀率"), "fitness_excellent": _("体质健康优秀率")}


def suppress_rules() -> dict[str, str]:
    return {"min_n": _("样本量不足（少于62名学生）"), "min_schools": _("学校数不足（少于5所）"),
            "max_cv": _("变异系数过大（标准误超过估计值的一半）"), "singular": _("自变量共线"),
            "no_se": _("无法估计标准误（该单位只在一个抽样单元中）")}


# ----------------------------------------------------------------------------------------------- the index


@dataclass(frozen=True)
class Row:
    """The fields of one Estimate a report uses."""

    group_var: str
    group_value: str
    statistic: str
    key: str
    value: float | None
    se: float | None
    n: int
    p_value: float | None
    sign: int | None
    suppressed: bool
    suppress_reason: str
    extra: dict[str, Any]


ROW_FIELDS = ("run_id", "level", "path", "group_var", "group_value", "statistic", "key", "value", "se", "n",
              "p_value", "sign", "suppressed", "suppress_reason", "extra")


@dataclass
class Index:
    """Estimate rows by (run id, level, path), then by (group_var, group_value, statistic, key)."""

    units: dict[tuple[int, str, str], dict[tuple[str, str, str, str], Row]] = field(default_factory=dict)

    @classmethod
    def from_values(cls, rows: Iterable[tuple[Any, ...]]) -> Index:
        units: dict[tuple[int, str, str], dict[tuple[str, str, str, str], Row]] = defaultdict(dict)
        for r in rows:
            run_id, level, path, gv, gval, stat, key = r[:7]
            units[(run_id, level, path)][(gv, gval, stat, _LEVEL_ALIASES.get(key, key))] = Row(
                gv, gval, stat, key, r[7], r[8], r[9], r[10], r[11], bool(r[12]), r[13], r[14] or {})
        return cls(dict(units))

    def unit(self, run_id: int, level: str, path: str) -> dict[tuple[str, str, str, str], Row]:
        return self.units.get((run_id, level, path), {})

    def paths(self, run_id: int, level: str) -> list[str]:
        return sorted(p for (r, lv, p) in self.units if r == run_id and lv == level)


class Notes:
    """The suppression rules met while laying out one report (for its footnote)."""

    def __init__(self) -> None:
        self.reasons: set[str] = set()

    def footnote(self) -> list[str]:
        names = suppress_rules()
        out = []
        for code in sorted(self.reasons):
            out.append(names.get(code, code))
        return out


def _num(v: float | None, digits: int) -> str:
    return DASH if v is None else f"{v:.{digits}f}"


def cell(row: Row | None, notes: Notes, *, pct: bool = False, digits: int = 1) -> dict[str, Any]:
    """One printed number: text (or "—"), SE text, 95% interval text and the raw value (for charts)."""
    if row is None:
        return {"text": DASH, "se": DASH, "ci": DASH, "value": None, "missing": True}
    if row.suppressed or row.value is None:
        for code in (row.suppress_reason or "suppressed").split(","):
            notes.reasons.add(code.strip())
        return {"text": DASH, "se": DASH, "ci": DASH, "value": None, "suppressed": True}
    f = 100.0 if pct else 1.0
    value = row.value * f
    se = row.se * f if row.se is not None else None
    lo, hi = row.extra.get("ci_low"), row.extra.get("ci_high")
    if lo is None or hi is None:
        lo, hi = (value - 1.96 * se, value + 1.96 * se) if se is not None else (None, None)
    else:
        lo, hi = lo * f, hi * f
    ci = DASH if lo is None or hi is None else f"{lo:.{digits}f}–{hi:.{digits}f}"
    return {"text": _num(value, digits), "se": _num(se, digits), "ci": ci, "value": value, "se_value": se,
            "lo": lo, "hi": hi}


def diff_cell(row: Row | None, notes: Notes, *, pct: bool = False, digits: int = 1) -> dict[str, Any]:
    c = cell(row, notes, pct=pct, digits=digits)
    if c["value"] is None or row is None:
        return {**c, "mark": DASH, "sign": None}
    sign = row.sign if row.sign in (-1, 0, 1) else 0
    return {**c, "text": f"{c['value']:+.{digits}f}", "mark": MARKS[sign], "sign": sign}


# ----------------------------------------------------------------------------------------------- sections


@dataclass(frozen=True)
class RunInfo:
    run_id: int
    code: str
    name: str
    is_pe: bool
    finished_at: str
    inputs_hash: str


@dataclass(frozen=True)
class Unit:
    level: str  # nation / province / county
    path: str
    name: str


def _get(rows: dict[tuple[str, str, str, str], Row], stat: str, key: str = "", gv: str = "",
         gval: str = "") -> Row | None:
    return rows.get((gv, gval, stat, key))


def _unit_block(rows: dict[tuple[str, str, str, str], Row], notes: Notes, label: str, level: str) -> dict[str, Any]:
    return {"label": label, "level": level, "mean": cell(_get(rows, "mean"), notes),
            "at_or_above": cell(_get(rows, "at_or_above", "II"), notes, pct=True),
            "levels": [cell(_get(rows, "level_share", k), notes, pct=True) for k in LEVEL_KEYS],
            "between_share": cell(_get(rows, "between_school_share"), notes, digits=3),
            "diff_rate": cell(_get(rows, "diff_rate"), notes, digits=3)}


def _gaps(rows: dict[tuple[str, str, str, str], Row], notes: Notes) -> list[dict[str, Any]]:
    vnames, gnames, cnames = var_names(), value_names(), contrast_names()
    diffs = {k[3]: r for k, r in rows.items() if k[2] == "difference" and k[3] not in MAIN_CONTRASTS}
    out = []
    for gv in GAP_VARS:
        values = sorted({k[1] for k in rows if k[0] == gv and k[2] == "mean"},
                        key=lambda v: (GROUP_ORDER.get(v, 9), v))
        if not values:
            continue
        groups: list[dict[str, Any]] = [{
                   "label": gnames.get((gv, v), v), "mean": cell(_get(rows, "mean", "", gv, v), notes),
                   "at_or_above": cell(_get(rows, "at_or_above", "II", gv, v), notes, pct=True),
                   "levels": [cell(_get(rows, "level_share", k, gv, v), notes, pct=True) for k in LEVEL_KEYS],
                   "share": cell(_get(rows, "proportion", _LEVEL_ALIASES.get(v, v), gv, v), notes, pct=True)}
                  for v in values]  # the index keys "1" … as level codes
        contrasts = [{"label": cnames.get(k, k), "key": k, "diff": diff_cell(r, notes)}
                     for k, r in sorted(diffs.items()) if (r.group_var or _contrast_var(k)) == gv]
        out.append({"var": gv, "label": vnames.get(gv, gv), "groups": groups, "contrasts": contrasts,
                    "has_levels": any(c["value"] is not None or c.get("suppressed")
                                      for x in groups for c in x["levels"]),
                    "has_share": any(x["share"]["value"] is not None for x in groups)})
    return out


def _contrast_var(key: str) -> str:
    if key in ("F-M", "M-F"):
        return "sex"
    if key.split("-")[0] in ("urban", "town", "rural"):
        return "urban_rural"
    head = key.split("-")[0]
    return head if head in GAP_VARS else ""


def _factors(rows: dict[tuple[str, str, str, str], Row], notes: Notes) -> list[dict[str, Any]]:
    vnames = var_names()
    by_var: dict[str, list[Row]] = defaultdict(list)
    for (gv, _gval, stat, _key), r in rows.items():
        if gv and gv not in GAP_VARS and stat == "mean":
            by_var[gv].append(r)
    out = []
    for gv in sorted(by_var):
        cats = sorted(by_var[gv], key=lambda r: (r.extra.get("order", 0), r.group_value))
        shares = {r.group_value: r for (g, _v, stat, _k), r in rows.items() if g == gv and stat == "proportion"}
        out.append({"var": gv, "label": vnames.get(gv, gv), "rows": [
            {"label": str(r.extra.get("label") or r.group_value), "mean": cell(r, notes),
             "share": cell(shares.get(r.group_value), notes, pct=True)} for r in cats]})
    return out


def subject_section(index: Index, run: RunInfo, unit: Unit, chain: list[Unit], notes: Notes) -> dict[str, Any] | None:
    """A subject's part of a report for ``unit``; ``chain`` lists the unit and the levels it is compared with
    (county, its province, the nation)."""
    own = index.unit(run.run_id, unit.level, unit.path)
    if not own:
        return None
    here = {"county": _("本县（区）"), "province": _("本省"), "nation": _("全国")}
    blocks = [_unit_block(index.unit(run.run_id, u.level, u.path), notes, here[u.level], u.level) for u in chain]
    contrasts = {"county": ("vs_province", "vs_nation"), "province": ("vs_nation",), "nation": ()}[unit.level]
    diffs = [{"key": k, "label": contrast_names()[k], "diff": diff_cell(_get(own, "difference", k), notes)}
             for k in contrasts]
    trend_row = _get(own, "difference", "trend")
    trend = None
    if trend_row is not None:
        trend = {"diff": diff_cell(trend_row, notes), "previous": cell(_get(own, "mean", "previous"), notes)
                 if _get(own, "mean", "previous") else None,
                 "previous_year": trend_row.extra.get("previous_year")}
    return {"code": run.code, "name": run.name, "units": blocks, "diffs": diffs, "trend": trend,
            "gaps": _gaps(own, notes), "factors": _factors(own, notes)}


def children_section(index: Index, run: RunInfo, unit: Unit, child_level: str, notes: Notes) -> dict[str, Any]:
    """How the unit's counties (or the nation's provinces) stand, as counts and an unlabelled distribution."""
    prefix = unit.path
    contrast = "vs_province" if child_level == "county" else "vs_nation"
    counts = {"above": 0, "same": 0, "below": 0, "suppressed": 0}
    means: list[float] = []
    rates: list[float] = []
    n = 0
    for path in index.paths(run.run_id, child_level):
        if not path.startswith(prefix):
            continue
        n += 1
        rows = index.unit(run.run_id, child_level, path)
        d = _get(rows, "difference", contrast)
        if d is None or d.suppressed or d.value is None:
            counts["suppressed"] += 1
        else:
            counts[{1: "above", 0: "same", -1: "below"}[d.sign if d.sign in (-1, 0, 1) else 0]] += 1
        m = _get(rows, "mean")
        if m is not None and not m.suppressed and m.value is not None:
            means.append(float(m.value))
        r = _get(rows, "diff_rate")
        if r is not None and not r.suppressed and r.value is not None:
            rates.append(float(r.value))
    return {"level": child_level, "n": n, "counts": counts, "means": sorted(means), "rates": sorted(rates),
            "rates_below": sum(1 for r in rates if r < 0.15)}


def pe_section(index: Index, run: RunInfo, chain: list[Unit], notes: Notes) -> dict[str, Any] | None:
    names = pe_names()
    own = index.unit(run.run_id, chain[0].level, chain[0].path)
    keys = sorted({k[3] for k in own if k[2] == "proportion" and not k[0]}, key=lambda k: (k not in names, k))
    if not keys:
        return None
    here = {"county": _("本县（区）"), "province": _("本省"), "nation": _("全国")}
    units = [(u, index.unit(run.run_id, u.level, u.path)) for u in chain]
    rows = []
    for k in keys:
        rows.append({"key": k, "label": names.get(k, k),
                     "cells": [cell(_get(r, "proportion", k), notes, pct=True) for _u, r in units],
                     "diffs": [diff_cell(_get(own, "difference", f"{k}:{c}"), notes, pct=True)
                               for c in ("vs_province", "vs_nation")
                               if _get(own, "difference", f"{k}:{c}") is not None]})
    return {"name": run.name, "units": [here[u.level] for u in chain], "rows": rows}


def report_context(index: Index, runs: list[RunInfo], unit: Unit, chain: list[Unit], *, cycle_year: int,
                   cycle_name: str) -> dict[str, Any]:
    """Everything one report prints, as plain data (the charts are drawn from it by the renderer)."""
    notes = Notes()
    subjects, pe, children = [], [], []
    for run in runs:
        if run.is_pe:
            sec = pe_section(index, run, chain, notes)
            if sec:
                pe.append(sec)
            continue
        sub = subject_section(index, run, unit, chain, notes)
        if sub is None:
            continue
        if unit.level != "county":
            sub["children"] = children_section(index, run, unit, "county" if unit.level == "province"
                                               else "province", notes)
            children.append(sub["children"])
        subjects.append(sub)
    return {
        "title": _("%(year)s年国家义务教育质量监测%(unit)s报告") % {"year": cycle_year, "unit": unit.name},
        "unit_name": unit.name, "level": unit.level, "cycle_year": cycle_year, "cycle_name": cycle_name,
        "chain": [u.name for u in chain], "subjects": subjects, "pe": pe,
        "runs": [{"code": r.code, "name": r.name, "finished_at": r.finished_at, "inputs_hash": r.inputs_hash}
                 for r in runs],
        "footnote": notes.footnote(), "level_names": [level_names()[k] for k in LEVEL_KEYS],
    }
