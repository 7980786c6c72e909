"""The incident configuration (``configs/default.yaml``): categories, grades 1–3 with their escalation, and the
accountable violations, read once and validated with precise messages (file, field, reason)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from django.utils.translation import gettext_lazy as _

from naeq.core.errors import ProblemCollector
from naeq.cycles.bilingual import bilingual

DEFAULT = Path(__file__).with_name("configs") / "default.yaml"
LEVELS = ("school", "county", "city", "province")
LEVEL_NAMES = {"school": _("样本校"), "county": _("县级"), "city": _("地市级"), "province": _("省级")}
DELIVERY_CATEGORIES = {"power", "network", "weather", "illness", "instrument", "impersonation", "cheating", "other"}


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    delivery: str | None  # the naeq.delivery.Incident category this one is recorded as in a session
    min_grade: int


@dataclass(frozen=True)
class Deadline:
    level: str
    hours: float


@dataclass(frozen=True)
class Grade:
    grade: int
    name: str
    definition: str
    source: str
    notify_at_once: tuple[str, ...]
    reach_at_once: str
    escalate_within: tuple[Deadline, ...]


@dataclass(frozen=True)
class Violation:
    code: str
    name: str


@dataclass(frozen=True)
class IncidentConfig:
    categories: tuple[Category, ...]
    grades: dict[int, Grade]
    violations: tuple[Violation, ...]

    def category(self, code: str) -> Category | None:
        return next((c for c in self.categories if c.code == code), None)

    def violation(self, code: str) -> Violation | None:
        return next((v for v in self.violations if v.code == code), None)

    def from_delivery(self, delivery_code: str) -> Category:
        """The first category recorded as ``delivery_code`` in a session (``other`` when none)."""
        found = next((c for c in self.categories if c.delivery == delivery_code), None)
        return found or self.category("other") or self.categories[-1]

    def category_choices(self) -> list[tuple[str, str]]:
        return [(c.code, c.name) for c in self.categories]

    def violation_choices(self) -> list[tuple[str, str]]:
        return [(v.code, v.name) for v in self.violations]


def parse(text: str, *, file: str = "incidents.yaml") -> IncidentConfig:
    """Parse and validate; every problem is reported at once as :class:`~naeq.core.errors.InvalidInput`."""
    col = ProblemCollector(file=file)
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        col.add(f"YAML 格式错误：{exc}")
        col.raise_if_any("应急事件配置文件有误。")
        raise AssertionError from exc  # unreachable: raise_if_any raised
    if not isinstance(raw, dict):
        col.add("配置文件应为映射（键: 值）。")
        col.raise_if_any("应急事件配置文件有误。")
    assert isinstance(raw, dict)
    if raw.get("levels") != list(LEVELS):
        col.add("levels 应为 [school, county, city, province]。", field="levels")
    categories: list[Category] = []
    for i, c in enumerate(raw.get("categories") or []):
        where = f"categories[{i}]"
        if not isinstance(c, dict) or not c.get("code") or not c.get("name"):
            col.add("每个类别须有 code 和 name。", field=where)
            continue
        if c.get("delivery") is not None and c["delivery"] not in DELIVERY_CATEGORIES:
            col.add(f"delivery 应为场次应急事件类别之一（{', '.join(sorted(DELIVERY_CATEGORIES))}）或 null。",
                    field=f"{where}.delivery", value=c.get("delivery"))
        if c.get("min_grade") not in (1, 2, 3):
            col.add("min_grade 应为 1、2 或 3。", field=f"{where}.min_grade", value=c.get("min_grade"))
        categories.append(Category(str(c["code"]), bilingual(c["name"], c.get("name_en")), c.get("delivery"),
                                   int(c.get("min_grade") or 1)))
    codes = [c.code for c in categories]
    if len(set(codes)) != len(codes):
        col.add("类别代码重复。", field="categories")
    if "other" not in codes:
        col.add("须有代码为 other 的“其他”类别。", field="categories")
    grades: dict[int, Grade] = {}
    for i, g in enumerate(raw.get("grades") or []):
        where = f"grades[{i}]"
        if not isinstance(g, dict) or g.get("grade") not in (1, 2, 3):
            col.add("grade 应为 1、2 或 3。", field=where)
            continue
        notify = tuple(g.get("notify_at_once") or ())
        reach = g.get("reach_at_once")
        bad = [x for x in (*notify, reach) if x not in LEVELS]
        if bad:
            col.add(f"层级只能是 {', '.join(LEVELS)}。", field=where, value=bad)
        deadlines = []
        for d in g.get("escalate_within") or []:
            if not isinstance(d, dict) or d.get("level") not in LEVELS or not isinstance(d.get("hours"), int | float) \
                    or d["hours"] <= 0:
                col.add("escalate_within 每项须有 level（层级）和正数 hours。", field=f"{where}.escalate_within")
                continue
            deadlines.append(Deadline(d["level"], float(d["hours"])))
        for key in ("name", "definition", "source"):
            if not g.get(key):
                col.add(f"缺少 {key}。", field=f"{where}.{key}")
        grades[g["grade"]] = Grade(g["grade"], str(g.get("name", "")), str(g.get("definition", "")),
                                   str(g.get("source", "")), notify, str(reach), tuple(deadlines))
    if set(grades) != {1, 2, 3}:
        col.add("须定义 1、2、3 级。", field="grades")
    violations = [Violation(str(v["code"]), bilingual(v["name"], v.get("name_en"))) for v in raw.get("violations") or []
                  if isinstance(v, dict) and v.get("code") and v.get("name")]
    if len(violations) != len(raw.get("violations") or []) or not violations:
        col.add("每条责任追究情形须有 code 和 name。", field="violations")
    col.raise_if_any("应急事件配置文件有误。")
    return IncidentConfig(tuple(categories), grades, tuple(violations))


@lru_cache(maxsize=1)
def default_config() -> IncidentConfig:
    return parse(DEFAULT.read_text(encoding="utf-8"), file=DEFAULT.name)


def level_rank(level: str) -> int:
    return LEVELS.index(level)


def grade_name(grade: int) -> str:
    g = default_config().grades.get(grade)
    return g.name if g else str(grade)

