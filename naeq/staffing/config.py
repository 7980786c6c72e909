"""The role catalogue (岗位目录): posts, their counts and rules, and the posts one person may not combine.

Loaded from ``configs/<cycle year>.yaml`` when the cycle has one, else ``configs/default.yaml``; every file is
validated completely before use, and every fault is reported with the file, the key and the reason
(:class:`~naeq.core.errors.InvalidInput` with one :class:`~naeq.core.errors.Problem` per fault). Format:
docs/staffing.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from django.utils.translation import gettext as _

from naeq.core.errors import InvalidInput, ProblemCollector
from naeq.cycles.bilingual import bilingual

CONFIG_DIR = Path(__file__).parent / "configs"
LEVELS = ("county", "school")
SENDERS = ("county", "school")
RULES = ("other_school", "not_tested_subject", "one_per_room")
POST_KEYS = {"code", "name", "name_en", "level", "sent_by", "min", "max", "rules", "source"}
CONFLICT_KEYS = {"posts", "reason", "source"}


@dataclass(frozen=True)
class Post:
    code: str
    name: str
    level: str  # county / school
    sent_by: str  # county / school: who edits it
    min: int
    max: int | None  # None: no upper bound
    rules: tuple[str, ...]
    source: str

    @property
    def single(self) -> bool:
        return self.max == 1


@dataclass(frozen=True)
class Conflict:
    posts: frozenset[str]
    reason: str
    source: str


@dataclass(frozen=True)
class Catalogue:
    file: str
    posts: tuple[Post, ...]
    conflicts: tuple[Conflict, ...]

    def post(self, code: str) -> Post | None:
        return next((p for p in self.posts if p.code == code), None)

    def by_name(self, name: str) -> Post | None:
        """A post by its code or its Chinese name (import sheets use the name)."""
        return next((p for p in self.posts if name in (p.code, p.name)), None)

    def conflict(self, a: str, b: str) -> Conflict | None:
        pair = frozenset((a, b))
        return next((c for c in self.conflicts if c.posts == pair), None)

    def posts_at(self, level: str) -> tuple[Post, ...]:
        return tuple(p for p in self.posts if p.level == level)


def _count(c: ProblemCollector, raw: Any, key: str, *, nullable: bool) -> int | None:
    if raw is None and nullable:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        c.add(_("应为非负整数%(null)s。") % {"null": _("或null") if nullable else ""}, field=key, value=raw)
        return None
    return raw


def _text(c: ProblemCollector, raw: Any, key: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        c.add(_("应为非空文字。"), field=key, value=raw)
        return ""
    return raw.strip()


def parse_catalogue(text: str, *, file: str) -> Catalogue:
    """Validate and parse one catalogue file; every fault is collected before raising."""
    c = ProblemCollector(file=file)
    try:
        root = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        c.add(_("YAML语法错误：%(err)s") % {"err": getattr(exc, "problem", None) or exc},
              row=mark.line + 1 if mark is not None else None)
        c.raise_if_any(_("岗位目录文件有误。"))
        raise AssertionError("unreachable") from exc
    if not isinstance(root, dict):
        c.add(_("文件应为包含 posts 和 conflicts 的映射。"))
        c.raise_if_any(_("岗位目录文件有误。"))
    for key in sorted(set(root) - {"posts", "conflicts"}):
        c.add(_("未知的键。"), field=str(key))
    posts: list[Post] = []
    raw_posts = root.get("posts")
    if not isinstance(raw_posts, list) or not raw_posts:
        c.add(_("应为非空的岗位列表。"), field="posts")
        raw_posts = []
    seen: set[str] = set()
    names: set[str] = set()
    for i, item in enumerate(raw_posts):
        at = f"posts[{i}]"
        if not isinstance(item, dict):
            c.add(_("每个岗位应为映射。"), field=at)
            continue
        for key in sorted(set(item) - POST_KEYS):
            c.add(_("未知的键。"), field=f"{at}.{key}")
        for key in sorted({"code", "name", "level", "sent_by", "min", "max", "source"} - set(item)):
            c.add(_("缺少必填键。"), field=f"{at}.{key}")
        code = _text(c, item.get("code"), f"{at}.code")
        name = _text(c, item.get("name"), f"{at}.name")
        if code and code in seen:
            c.add(_("岗位代码“%(code)s”重复。") % {"code": code}, field=f"{at}.code")
        if name and name in names:
            c.add(_("岗位名称“%(name)s”重复。") % {"name": name}, field=f"{at}.name")
        seen.add(code)
        names.add(name)
        level = item.get("level")
        if level not in LEVELS:
            c.add(_("应为 county 或 school。"), field=f"{at}.level", value=level)
        sent_by = item.get("sent_by")
        if sent_by not in SENDERS:
            c.add(_("应为 county 或 school。"), field=f"{at}.sent_by", value=sent_by)
        elif level == "county" and sent_by != "county":
            c.add(_("县级岗位只能由县级安排（sent_by: county）。"), field=f"{at}.sent_by", value=sent_by)
        lo = _count(c, item.get("min"), f"{at}.min", nullable=False)
        hi = _count(c, item.get("max"), f"{at}.max", nullable=True)
        if lo is not None and hi is not None and hi < lo:
            c.add(_("max（%(hi)s）不能小于min（%(lo)s）。") % {"hi": hi, "lo": lo}, field=f"{at}.max")
        if hi == 0:
            c.add(_("max不能为0。"), field=f"{at}.max")
        rules = item.get("rules") or []
        if not isinstance(rules, list):
            c.add(_("应为规则列表。"), field=f"{at}.rules")
            rules = []
        for j, rule in enumerate(rules):
            if rule not in RULES:
                c.add(_("未知的规则“%(rule)s”，可用：%(known)s。") % {"rule": rule, "known": "、".join(RULES)},
                      field=f"{at}.rules[{j}]")
            elif level == "county":
                c.add(_("规则“%(rule)s”只适用于学校岗位。") % {"rule": rule}, field=f"{at}.rules[{j}]")
        source = _text(c, item.get("source"), f"{at}.source")
        posts.append(Post(code=code, name=bilingual(name, item.get("name_en")), level=str(level),
                          sent_by=str(sent_by), min=lo or 0, max=hi,
                          rules=tuple(str(r) for r in rules), source=source))
    conflicts: list[Conflict] = []
    raw_conflicts = root.get("conflicts") or []
    if not isinstance(raw_conflicts, list):
        c.add(_("应为冲突岗位列表。"), field="conflicts")
        raw_conflicts = []
    pairs: set[frozenset[str]] = set()
    for i, item in enumerate(raw_conflicts):
        at = f"conflicts[{i}]"
        if not isinstance(item, dict):
            c.add(_("每项应为映射。"), field=at)
            continue
        for key in sorted(set(item) - CONFLICT_KEYS):
            c.add(_("未知的键。"), field=f"{at}.{key}")
        pair = item.get("posts")
        if not isinstance(pair, list) or len(pair) != 2 or len(set(map(str, pair))) != 2:
            c.add(_("应为两个不同的岗位代码。"), field=f"{at}.posts", value=pair)
            continue
        for j, code in enumerate(pair):
            if code not in seen:
                c.add(_("岗位“%(code)s”未在 posts 中定义。") % {"code": code}, field=f"{at}.posts[{j}]")
        key = frozenset(map(str, pair))
        if key in pairs:
            c.add(_("冲突岗位组合重复。"), field=f"{at}.posts")
        pairs.add(key)
        conflicts.append(Conflict(posts=key, reason=_text(c, item.get("reason"), f"{at}.reason"),
                                  source=_text(c, item.get("source"), f"{at}.source")))
    c.raise_if_any(_("岗位目录文件有误。"))
    return Catalogue(file=file, posts=tuple(posts), conflicts=tuple(conflicts))


def catalogue_path(year: int | None) -> Path:
    """``configs/<year>.yaml`` when present, else ``configs/default.yaml``."""
    if year is not None:
        own = CONFIG_DIR / f"{year}.yaml"
        if own.exists():
            return own
    return CONFIG_DIR / "default.yaml"


@lru_cache(maxsize=8)
def _load(path: str) -> Catalogue:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(_("无法读取岗位目录文件 %(file)s。") % {"file": p.name}, code="no_catalogue") from exc
    return parse_catalogue(text, file=p.name)


def catalogue_for(year: int | None) -> Catalogue:
    """The validated catalogue of the cycle ``year`` (cached per file)."""
    return _load(str(catalogue_path(year)))
