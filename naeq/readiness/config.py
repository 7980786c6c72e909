"""The readiness configuration: training topics, the posts to train, the county and school self-check lists.

``configs/default.yaml`` holds the defaults; ``configs/<year>.yaml``, when present, replaces each top-level key it
sets. Both are validated here with one precise Chinese message per fault (file, field path, reason), so a broken
file is fixed in one pass. The format is in docs/readiness.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from django.utils.translation import gettext as _

from naeq.core.errors import ProblemCollector
from naeq.cycles.bilingual import bilingual

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
ITEM_TYPES = ("yesno", "number", "text", "evidence")
UNIT_KINDS = ("school", "county")
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@dataclass(frozen=True)
class Topic:
    code: str
    name: str


@dataclass(frozen=True)
class Post:
    code: str
    name: str
    required: bool


@dataclass(frozen=True)
class Item:
    id: str
    section: str
    label: str
    type: str
    required: bool
    seed: str
    min: float | None = None
    min_ratio_of_students: float | None = None


@dataclass(frozen=True)
class Checklist:
    kind: str
    title: str
    items: tuple[Item, ...]

    def item(self, item_id: str) -> Item | None:
        return next((i for i in self.items if i.id == item_id), None)

    def sections(self) -> list[tuple[str, list[Item]]]:
        out: list[tuple[str, list[Item]]] = []
        for item in self.items:
            if not out or out[-1][0] != item.section:
                out.append((item.section, []))
            out[-1][1].append(item)
        return out


@dataclass(frozen=True)
class ReadinessConfig:
    topics: tuple[Topic, ...]
    posts: tuple[Post, ...]
    checklists: dict[str, Checklist] = field(default_factory=dict)

    @property
    def required_posts(self) -> tuple[Post, ...]:
        return tuple(p for p in self.posts if p.required)

    def topic_names(self) -> dict[str, str]:
        return {t.code: t.name for t in self.topics}

    def post_names(self) -> dict[str, str]:
        return {p.code: p.name for p in self.posts}


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _codes(raw: Any, key: str, problems: ProblemCollector, *, with_required: bool) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        problems.add(_("必须是非空列表。"), field=key)
        return []
    seen: set[str] = set()
    out = []
    for n, entry in enumerate(raw, start=1):
        where = f"{key}[{n}]"
        if not isinstance(entry, dict):
            problems.add(_("每一项必须包含 code 和 name。"), field=where)
            continue
        code, name = entry.get("code"), _text(entry.get("name"))
        if not isinstance(code, str) or not _CODE.fullmatch(code):
            problems.add(_("code“%(code)s”不合法：只能用小写字母、数字和下划线，以字母开头。") % {"code": code},
                         field=f"{where}.code")
            continue
        if code in seen:
            problems.add(_("code“%(code)s”重复。") % {"code": code}, field=f"{where}.code")
        seen.add(code)
        if not name:
            problems.add(_("缺少名称（name）。"), field=f"{where}.name")
        required = entry.get("required", False)
        if with_required and not isinstance(required, bool):
            problems.add(_("required 只能是 true 或 false。"), field=f"{where}.required")
        extra = set(entry) - {"code", "name", *({"required"} if with_required else set())}
        if extra:
            problems.add(_("不认识的键：%(keys)s。") % {"keys": "、".join(sorted(map(str, extra)))}, field=where)
        out.append({"code": code, "name": name, "required": required is True})
    return out


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _item(raw: Any, where: str, problems: ProblemCollector) -> Item | None:
    if not isinstance(raw, dict):
        problems.add(_("自查项必须是映射（id、label、type……）。"), field=where)
        return None
    known = {"id", "section", "section_en", "label", "label_en", "type", "required", "seed", "min",
             "min_ratio_of_students"}
    extra = set(raw) - known
    if extra:
        problems.add(_("不认识的键：%(keys)s。") % {"keys": "、".join(sorted(map(str, extra)))}, field=where)
    item_id = raw.get("id")
    if not isinstance(item_id, str) or not _CODE.fullmatch(item_id):
        problems.add(_("id“%(id)s”不合法：只能用小写字母、数字和下划线，以字母开头。") % {"id": item_id},
                     field=f"{where}.id")
        return None
    ok = True
    for key in ("section", "label"):
        if not _text(raw.get(key)):
            problems.add(_("自查项“%(id)s”缺少 %(key)s。") % {"id": item_id, "key": key}, field=f"{where}.{key}")
            ok = False
    if not _text(raw.get("seed")):
        problems.add(_("自查项“%(id)s”没有注明依据（seed：种子文件和原文）。") % {"id": item_id},
                     field=f"{where}.seed")
        ok = False
    kind = raw.get("type")
    if kind not in ITEM_TYPES:
        problems.add(_("自查项“%(id)s”的类型“%(type)s”不受支持，只能是 %(types)s。") % {
            "id": item_id, "type": kind, "types": "、".join(ITEM_TYPES)}, field=f"{where}.type")
        ok = False
    required = raw.get("required", False)
    if not isinstance(required, bool):
        problems.add(_("required 只能是 true 或 false。"), field=f"{where}.required")
        ok = False
    minimum, ratio = raw.get("min"), raw.get("min_ratio_of_students")
    if (minimum is not None or ratio is not None) and kind != "number":
        problems.add(_("只有数值（number）类型的自查项才能设置 min 或 min_ratio_of_students。"), field=where)
        ok = False
    if minimum is not None and (_number(minimum) is None or _number(minimum) < 0):  # type: ignore[operator]
        problems.add(_("min 必须是不小于0的数。"), field=f"{where}.min")
        ok = False
    if ratio is not None and (_number(ratio) is None or not 0 < _number(ratio) <= 1):  # type: ignore[operator]
        problems.add(_("min_ratio_of_students 必须是大于0且不大于1的小数（如0.1表示10%）。"),
                     field=f"{where}.min_ratio_of_students")
        ok = False
    if not ok:
        return None
    return Item(id=item_id, section=bilingual(_text(raw["section"]), raw.get("section_en")),
                label=bilingual(_text(raw["label"]), raw.get("label_en")), type=str(kind),
                required=bool(required), seed=_text(raw["seed"]), min=_number(minimum),
                min_ratio_of_students=_number(ratio))


def _checklist(kind: str, raw: Any, problems: ProblemCollector) -> Checklist | None:
    where = f"checklists.{kind}"
    if not isinstance(raw, dict):
        problems.add(_("缺少%(kind)s自查清单。") % {"kind": kind}, field=where)
        return None
    if not _text(raw.get("title")):
        problems.add(_("缺少清单标题（title）。"), field=f"{where}.title")
    items_raw = raw.get("items")
    if not isinstance(items_raw, list) or not items_raw:
        problems.add(_("自查清单至少要有一项（items）。"), field=f"{where}.items")
        return None
    items: list[Item] = []
    seen: set[str] = set()
    for n, entry in enumerate(items_raw, start=1):
        item = _item(entry, f"{where}.items[{n}]", problems)
        if item is None:
            continue
        if item.id in seen:
            problems.add(_("自查项 id“%(id)s”重复。") % {"id": item.id}, field=f"{where}.items[{n}].id")
            continue
        seen.add(item.id)
        items.append(item)
    return Checklist(kind=kind, title=bilingual(_text(raw.get("title")), raw.get("title_en")), items=tuple(items))


def parse_data(data: Any, *, file: str) -> ReadinessConfig:
    """Validate the parsed YAML ``data``; raise :class:`InvalidInput` listing every fault."""
    problems = ProblemCollector(file=file)
    if not isinstance(data, dict):
        problems.add(_("配置文件的顶层必须是映射。"))
        problems.raise_if_any(_("准备就绪配置有误。"))
    extra = set(data) - {"version", "topics", "posts", "checklists"}
    if extra:
        problems.add(_("不认识的键：%(keys)s。") % {"keys": "、".join(sorted(map(str, extra)))})
    if data.get("version") != 1:
        problems.add(_("version 必须是 1。"), field="version")
    topics = _codes(data.get("topics"), "topics", problems, with_required=False)
    posts = _codes(data.get("posts"), "posts", problems, with_required=True)
    if posts and not any(p["required"] for p in posts):
        problems.add(_("至少要有一个必须培训的岗位（required: true）。"), field="posts")
    checklists_raw = data.get("checklists")
    checklists: dict[str, Checklist] = {}
    if not isinstance(checklists_raw, dict):
        problems.add(_("缺少自查清单（checklists：school 和 county）。"), field="checklists")
    else:
        for key in set(checklists_raw) - set(UNIT_KINDS):
            problems.add(_("不认识的清单“%(k)s”，只能是 school 或 county。") % {"k": key}, field="checklists")
        for kind in UNIT_KINDS:
            cl = _checklist(kind, checklists_raw.get(kind), problems)
            if cl is not None:
                checklists[kind] = cl
    problems.raise_if_any(_("准备就绪配置有误。"))
    return ReadinessConfig(topics=tuple(Topic(t["code"], t["name"]) for t in topics),
                           posts=tuple(Post(p["code"], p["name"], p["required"]) for p in posts),
                           checklists=checklists)


def _load_yaml(text: str, file: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problems = ProblemCollector(file=file)
        problems.add(_("YAML 语法错误：%(msg)s") % {"msg": getattr(exc, "problem", None) or str(exc)[:200]},
                     row=(mark.line + 1) if mark is not None else None)
        problems.raise_if_any(_("准备就绪配置有误。"))
        raise  # unreachable: raise_if_any raised


def parse_text(text: str, *, file: str = "readiness.yaml", base: dict[str, Any] | None = None) -> ReadinessConfig:
    """Parse ``text``; with ``base`` (the default's data) each top-level key of ``text`` replaces the base's."""
    data = _load_yaml(text, file)
    if base is not None:
        if data is not None and not isinstance(data, dict):
            problems = ProblemCollector(file=file)
            problems.add(_("配置文件的顶层必须是映射。"))
            problems.raise_if_any(_("准备就绪配置有误。"))
        data = {**base, **(data or {})}
    return parse_data(data, file=file)


@lru_cache(maxsize=16)
def config_for(year: int | None) -> ReadinessConfig:
    """The configuration of the cycle of ``year``: the default with ``<year>.yaml`` laid over it."""
    default_path = CONFIG_DIR / "default.yaml"
    default_text = default_path.read_text(encoding="utf-8")
    year_path = CONFIG_DIR / f"{year}.yaml" if year is not None else None
    if year_path is None or not year_path.is_file():
        return parse_text(default_text, file=default_path.name)
    base = _load_yaml(default_text, default_path.name)
    return parse_text(year_path.read_text(encoding="utf-8"), file=year_path.name, base=base)
