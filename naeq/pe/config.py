"""The PE field test's configuration: the items with their entry fields and plausibility bounds by grade and sex
(``configs/items.yaml``, from DOMAIN.md's table), the national default entry window, and the derived-indicator
tables with their published sources (``configs/standard.yaml``: the National Student Physical Health Standard,
2014 revision, where it covers an item; configured norms marked ``published: false`` where it does not).

Every file is validated completely before use; each fault is one :class:`~naeq.core.errors.Problem` naming the file
and the key. ``naeq pe check-config`` runs the same validation.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from django.utils.translation import gettext as _

from naeq.core.errors import InvalidInput, ProblemCollector
from naeq.pe.indicators import BmiCut, ScoreTable, Standard, VisionClass

CONFIG_DIR = Path(__file__).parent / "configs"
GRADES = (4, 8)
SEXES = ("M", "F")
BESTS = ("single", "max", "min")
#: The entry columns of :class:`naeq.pe.models.PeRecord`, in the order of the paper record card.
FIELDS = ("height", "weight", "grip_1", "grip_2", "vision_l", "vision_r", "vc_1", "vc_2", "run50", "jump_1",
          "jump_2", "jump_3", "shuttle")


@dataclass(frozen=True)
class Field:
    code: str
    name: str


@dataclass(frozen=True)
class Item:
    code: str
    name: str
    unit: str
    decimals: int
    best: str
    fields: tuple[Field, ...]
    min_trials: int
    bounds: dict[tuple[int, str], tuple[float, float]]

    def bound(self, grade: int, sex: str) -> tuple[float, float] | None:
        return self.bounds.get((grade, sex))


@dataclass(frozen=True)
class ItemsConfig:
    file: str
    source: str
    items: tuple[Item, ...]
    opens_days_after_test: int
    closes_days_after_test: int

    def item(self, code: str) -> Item | None:
        return next((i for i in self.items if i.code == code), None)

    def item_of_field(self, field_code: str) -> Item | None:
        return next((i for i in self.items if any(f.code == field_code for f in i.fields)), None)

    def field_name(self, field_code: str) -> str:
        for i in self.items:
            for f in i.fields:
                if f.code == field_code:
                    return f.name
        return field_code


def _load(path: Path, c: ProblemCollector) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        c.add(_("无法读取配置文件：%(e)s") % {"e": exc})
        return {}
    if not isinstance(data, dict):
        c.add(_("配置文件的顶层应为映射。"))
        return {}
    return data


def _num(c: ProblemCollector, raw: Any, key: str) -> float | None:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        c.add(_("应为数值。"), field=key, value=raw)
        return None
    return float(raw)


def parse_items(path: Path) -> ItemsConfig:
    c = ProblemCollector(file=path.name)
    data = _load(path, c)
    items: list[Item] = []
    seen_fields: list[str] = []
    for n, raw in enumerate(data.get("items") or []):
        key = f"items[{n}]"
        if not isinstance(raw, dict):
            c.add(_("每个项目应为映射。"), field=key)
            continue
        code = str(raw.get("code") or "")
        if not code:
            c.add(_("缺少项目代码 code。"), field=key)
        best = raw.get("best", "single")
        if best not in BESTS:
            c.add(_("best 应为 single、max 或 min。"), field=f"{key}.best", value=best)
        decimals = raw.get("decimals", 0)
        if not isinstance(decimals, int) or isinstance(decimals, bool) or not 0 <= decimals <= 2:
            c.add(_("decimals 应为0至2的整数。"), field=f"{key}.decimals", value=decimals)
            decimals = 0
        fields = []
        for m, f in enumerate(raw.get("fields") or []):
            if not isinstance(f, dict) or not f.get("code") or not f.get("name"):
                c.add(_("每个录入字段应有 code 和 name。"), field=f"{key}.fields[{m}]")
                continue
            fields.append(Field(code=str(f["code"]), name=str(f["name"])))
            seen_fields.append(str(f["code"]))
        if not fields:
            c.add(_("项目至少应有一个录入字段。"), field=f"{key}.fields")
        min_trials = raw.get("min_trials", len(fields))
        if not isinstance(min_trials, int) or not 1 <= min_trials <= max(len(fields), 1):
            c.add(_("min_trials 应为1至字段数之间的整数。"), field=f"{key}.min_trials", value=min_trials)
            min_trials = len(fields)
        bounds: dict[tuple[int, str], tuple[float, float]] = {}
        raw_bounds = raw.get("bounds") or {}
        for grade in GRADES:
            for sex in SEXES:
                bkey = f"{key}.bounds.{grade}.{sex}"
                pair = (raw_bounds.get(grade) or {}).get(sex) if isinstance(raw_bounds, dict) else None
                if not isinstance(pair, list) or len(pair) != 2:
                    c.add(_("缺少%(grade)s年级%(sex)s生的界值 [下限, 上限]。") % {
                        "grade": grade, "sex": "男" if sex == "M" else "女"}, field=bkey)
                    continue
                lo, hi = _num(c, pair[0], bkey), _num(c, pair[1], bkey)
                if lo is not None and hi is not None:
                    if lo >= hi:
                        c.add(_("下限应小于上限。"), field=bkey, value=pair)
                    bounds[(grade, sex)] = (lo, hi)
        items.append(Item(code=code, name=str(raw.get("name") or code), unit=str(raw.get("unit") or ""),
                          decimals=decimals, best=best, fields=tuple(fields), min_trials=min_trials, bounds=bounds))
    if tuple(seen_fields) != FIELDS:
        c.add(_("录入字段应依次为 %(fields)s（与数据库列一致），现为 %(got)s。") % {
            "fields": ", ".join(FIELDS), "got": ", ".join(seen_fields)}, field="items")
    window = data.get("default_window") or {}
    opens = window.get("opens_days_after_test", 0) if isinstance(window, dict) else None
    closes = window.get("closes_days_after_test", 0) if isinstance(window, dict) else None
    if not isinstance(opens, int) or not isinstance(closes, int) or opens > closes:
        c.add(_("default_window 应有整数 opens_days_after_test ≤ closes_days_after_test。"), field="default_window")
        opens, closes = 0, 0
    if not data.get("source"):
        c.add(_("缺少界值来源 source。"), field="source")
    c.raise_if_any(_("体育测试项目配置有误。"))
    return ItemsConfig(file=path.name, source=str(data["source"]), items=tuple(items),
                       opens_days_after_test=opens, closes_days_after_test=closes)


def parse_standard(path: Path) -> Standard:
    c = ProblemCollector(file=path.name)
    data = _load(path, c)
    levels = tuple(data.get("levels") or ())
    if not levels or any(not isinstance(x, int) for x in levels) or list(levels) != sorted(levels, reverse=True):
        c.add(_("levels 应为从高到低的整数分值。"), field="levels")
    for key in ("source", "pass_score", "excellent_score"):
        if key not in data:
            c.add(_("缺少 %(key)s。") % {"key": key}, field=key)
    cuts: dict[tuple[int, str], BmiCut] = {}
    raw_bmi = data.get("bmi") or {}
    if not raw_bmi.get("source"):
        c.add(_("缺少来源 source。"), field="bmi.source")
    for grade in GRADES:
        for sex in SEXES:
            key = f"bmi.{grade}.{sex}"
            cell = (raw_bmi.get(grade) or {}).get(sex)
            if not isinstance(cell, dict) or not isinstance(cell.get("normal"), list) or len(cell["normal"]) != 2:
                c.add(_("应有 normal: [下限, 上限] 和 overweight_max。"), field=key)
                continue
            lo, hi = _num(c, cell["normal"][0], key), _num(c, cell["normal"][1], key)
            om = _num(c, cell.get("overweight_max"), key)
            if lo is not None and hi is not None and om is not None:
                if not lo < hi < om:
                    c.add(_("应满足 正常下限 < 正常上限 < 超重上限。"), field=key)
                cuts[(grade, sex)] = BmiCut(lo, hi, om)
    raw_vision = data.get("vision") or {}
    if not raw_vision.get("source"):
        c.add(_("缺少来源 source。"), field="vision.source")
    classes = []
    for n, cl in enumerate(raw_vision.get("classes") or []):
        key = f"vision.classes[{n}]"
        if not isinstance(cl, dict) or not cl.get("code") or not cl.get("name"):
            c.add(_("每个视力不良等级应有 code、name、min、max。"), field=key)
            continue
        lo, hi = _num(c, cl.get("min"), key), _num(c, cl.get("max"), key)
        if lo is not None and hi is not None:
            classes.append(VisionClass(code=str(cl["code"]), name=str(cl["name"]), min=lo, max=hi))
    normal_min = _num(c, raw_vision.get("normal_min"), "vision.normal_min") or 5.0
    tables: dict[tuple[str, int, str], ScoreTable] = {}
    names: dict[str, str] = {}
    sources: dict[str, str] = {"standard": str(data.get("source") or ""), "bmi": str(raw_bmi.get("source") or ""),
                               "vision": str(raw_vision.get("source") or "")}
    for item, raw in (data.get("items") or {}).items():
        if not isinstance(raw, dict) or raw.get("direction") not in ("higher", "lower"):
            c.add(_("应有 direction: higher 或 lower。"), field=f"items.{item}")
            continue
        names[str(item)] = str(raw.get("name") or item)
        for grade in GRADES:
            cell = raw.get(grade)
            key = f"items.{item}.{grade}"
            if not isinstance(cell, dict):
                c.add(_("缺少%(grade)s年级的评分表。") % {"grade": grade}, field=key)
                continue
            if not isinstance(cell.get("published"), bool) or not cell.get("source"):
                c.add(_("每张评分表应有 published（true/false）和 source（出处）。"), field=key)
                continue
            cell_levels = tuple(cell.get("levels") or levels)
            if cell["published"] and cell_levels != levels:
                c.add(_("已发布的评分表应使用标准的全部分值档 levels。"), field=key)
            for sex in SEXES:
                row = cell.get(sex)
                skey = f"{key}.{sex}"
                if not isinstance(row, list) or len(row) != len(cell_levels):
                    c.add(_("应有%(n)s个阈值，与分值档一一对应。") % {"n": len(cell_levels)}, field=skey)
                    continue
                values = [_num(c, v, skey) for v in row]
                if any(v is None for v in values):
                    continue
                ordered = sorted(values, reverse=raw["direction"] == "higher")  # type: ignore[type-var]
                if values != ordered:
                    c.add(_("阈值顺序与 direction 不一致（分值从高到低时阈值应单调）。"), field=skey)
                tables[(str(item), grade, sex)] = ScoreTable(
                    levels=cell_levels, thresholds=tuple(float(v) for v in values if v is not None),
                    higher_is_better=raw["direction"] == "higher", published=cell["published"],
                    source=str(cell["source"]))
    c.raise_if_any(_("体育测试衍生指标配置有误。"))
    return Standard(pass_score=int(data["pass_score"]), excellent_score=int(data["excellent_score"]),
                    bmi_cuts=cuts, vision_normal_min=normal_min, vision_classes=tuple(classes), tables=tables,
                    item_names=names, sources=sources)


@lru_cache(maxsize=4)
def items_config(path: str | None = None) -> ItemsConfig:
    return parse_items(Path(path) if path else CONFIG_DIR / "items.yaml")


@lru_cache(maxsize=4)
def standard(path: str | None = None) -> Standard:
    return parse_standard(Path(path) if path else CONFIG_DIR / "standard.yaml")


def check_all(items_path: Path | None = None, standard_path: Path | None = None) -> list[str]:
    """Validate both files; returns a list of faults (empty when both are sound)."""
    faults: list[str] = []
    for fn, p in ((parse_items, items_path or CONFIG_DIR / "items.yaml"),
                  (parse_standard, standard_path or CONFIG_DIR / "standard.yaml")):
        try:
            fn(p)
        except InvalidInput as exc:
            faults += [str(x) for x in exc.problems] or [exc.message]
    return faults
