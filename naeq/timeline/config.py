"""The milestone configuration: ``configs/default.yaml`` plus an optional ``configs/<year>.yaml`` override.

Read with the cycle configuration's node reader (:mod:`naeq.cycles.config.yamlnodes`), so every problem is
reported with its line, dotted field path and a Chinese reason, all in one pass. Deadlines are resolved against
the cycle's test days, which come from the cycle's own schedule (``naeq/cycles/configs/<year>.yaml``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from django.utils.translation import gettext as _

from naeq.core.errors import ProblemCollector
from naeq.cycles.bilingual import bilingual
from naeq.cycles.config.yamlnodes import NodeReader, compose, join
from naeq.cycles.models import Cycle
from naeq.cycles.selectors import base_year

CONFIG_DIR = Path(__file__).resolve().parent / "configs"

LEVELS = ("school", "county", "province")
ANCHORS = ("first_test_day", "last_test_day")
#: derived fact -> the levels it can be computed for.
DERIVED: dict[str, tuple[str, ...]] = {
    "registry": ("county",),
    "roster": ("school",),
    "test_takers": ("school",),
    "sessions": ("school",),
    "report": LEVELS,
}
#: Which level reviews a manual milestone (and a report) of each level: the level above.
REVIEWER_LEVEL = {"school": "county", "county": "province", "province": "nation"}

_SIGNED = re.compile(r"^[+-]?[0-9]{1,3}$")


@dataclass(frozen=True)
class MilestoneDef:
    code: str
    name: str
    level: str  # school / county / province
    offset_days: int | None
    anchor: str | None  # first_test_day / last_test_day (with offset_days)
    date: dt.date | None  # an absolute deadline instead
    derived: str | None  # None for manual milestones
    source: str
    line: int = 0

    @property
    def manual(self) -> bool:
        return self.derived is None


@dataclass(frozen=True)
class TimelineConfig:
    remind_days_before: int
    milestones: tuple[MilestoneDef, ...]

    def get(self, code: str) -> MilestoneDef | None:
        return next((m for m in self.milestones if m.code == code), None)


@dataclass(frozen=True)
class Milestone:
    """A milestone of one cycle, with its deadline resolved."""

    code: str
    name: str
    level: str
    due: dt.date
    derived: str | None
    source: str

    @property
    def manual(self) -> bool:
        return self.derived is None


class _Reader(NodeReader):
    def signed(self, node: yaml.Node, path: str) -> int | None:
        value = self.scalar(node, path)
        if value is None:
            return None
        if not _SIGNED.match(value) or abs(int(value)) > 366:
            self.err(node, path, _("应为 -366 到 366 之间的整数天数（负数表示测试日之前）。"))
            return None
        return int(value)

    def done(self, node: yaml.Node, path: str, level: str | None) -> tuple[bool, str | None]:
        """(ok, derived fact or None for manual)."""
        value = self.scalar(node, path)
        if value is None:
            return False, None
        if value == "manual":
            return True, None
        fact = value.removeprefix("derived:") if value.startswith("derived:") else None
        if fact not in DERIVED:
            self.err(node, path, _("“%(value)s”不是允许的完成方式，应为 manual 或 derived:%(facts)s 之一。")
                     % {"value": value, "facts": "、derived:".join(DERIVED)})
            return False, None
        if level is not None and level not in DERIVED[fact]:
            self.err(node, path, _("derived:%(fact)s 只能用于以下层级：%(levels)s。")
                     % {"fact": fact, "levels": "、".join(DERIVED[fact])})
            return False, None
        return True, fact

    def milestone(self, node: yaml.Node, path: str) -> MilestoneDef | None:
        m = self.mapping(node, path, required=("code", "name", "level", "due", "done", "source"),
                         optional=("name_en",))
        if m is None:
            return None
        code = self.field(m, path, "code", self.code)
        name = self.field(m, path, "name", self.text)
        name_en = self.field(m, path, "name_en", self.text) if "name_en" in m else None
        if name is not None:
            name = bilingual(name, name_en)
        level = self.field(m, path, "level", self.one_of(LEVELS))
        source = self.field(m, path, "source", self.text)
        ok_done, derived = (self.done(m["done"][1], join(path, "done"), level) if "done" in m else (False, None))
        offset = anchor = date = None
        due_ok = False
        if "due" in m:
            dpath = join(path, "due")
            due = self.mapping(m["due"][1], dpath, required=(), optional=("offset_days", "from", "date"))
            if due is not None:
                if ("date" in due) == ("offset_days" in due):
                    self.err(m["due"][1], dpath, _("截止日期须二选一：offset_days（相对测试日的天数，配合 from）"
                                                   "或 date（YYYY-MM-DD）。"))
                elif "date" in due:
                    if "from" in due:
                        self.err(due["from"][0], join(dpath, "from"), _("使用 date 时不能再写 from。"))
                    else:
                        date = self.field(due, dpath, "date", self.date)
                        due_ok = date is not None
                else:
                    offset = self.field(due, dpath, "offset_days", self.signed)
                    if "from" not in due:
                        self.err(m["due"][1], join(dpath, "from"),
                                 _("缺少必填配置项“from”，应为：%(allowed)s。") % {"allowed": "、".join(ANCHORS)})
                    else:
                        anchor = self.field(due, dpath, "from", self.one_of(ANCHORS))
                    due_ok = offset is not None and anchor is not None
        if None in (code, name, level, source) or not ok_done or not due_ok:
            return None
        return MilestoneDef(code=code, name=name, level=level, offset_days=offset, anchor=anchor, date=date,
                            derived=derived, source=source, line=int(node.start_mark.line) + 1)

    def config(self, root: yaml.Node, *, base: TimelineConfig | None) -> TimelineConfig | None:
        required = () if base is not None else ("remind_days_before", "milestones")
        m = self.mapping(root, "", required=required, optional=("remind_days_before", "milestones"))
        if m is None:
            return None
        remind = self.field(m, "", "remind_days_before", self.integer_in(0, 60))
        if remind is None and base is not None and "remind_days_before" not in m:
            remind = base.remind_days_before
        items = self.field(m, "", "milestones", self.milestone_list) if "milestones" in m else []
        if remind is None or items is None or any(i is None for i in items):
            return None
        seen: list[tuple[str | None, yaml.Node, str]] = []
        nodes = m["milestones"][1].value if "milestones" in m else []
        for i, (item, n) in enumerate(zip(items, nodes, strict=True)):
            seen.append((item.code, n, f"milestones[{i}].code"))
        before = len(self.c.problems)
        self.unique(seen, _("里程碑代码"))
        if len(self.c.problems) > before:
            return None
        merged = list(base.milestones) if base is not None else []
        for item in items:
            at = next((i for i, old in enumerate(merged) if old.code == item.code), None)
            if at is None:
                merged.append(item)
            else:
                merged[at] = item
        return TimelineConfig(remind_days_before=remind, milestones=tuple(merged))

    def milestone_list(self, node: yaml.Node, path: str) -> list[MilestoneDef | None] | None:
        return self.items(node, path, self.milestone)


def parse_text(text: str, *, file: str = "<text>", year: int | None = None,
               base: TimelineConfig | None = None) -> TimelineConfig:
    """Parse and validate one file; with ``base``, the file is an override of it. Raises
    :class:`~naeq.core.errors.InvalidInput` listing every problem."""
    collector = ProblemCollector(file=file)
    root = compose(text, collector)
    config = _Reader(collector, year=year).config(root, base=base) if root is not None else None
    collector.raise_if_any(_("工作进度配置文件有误。"))
    if config is None:  # every path returning None reports a problem first
        raise RuntimeError("timeline configuration rejected without a reported problem")
    return config


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        c = ProblemCollector(file=str(path))
        c.add(_("无法读取文件：%(error)s") % {"error": exc})
        c.raise_if_any(_("工作进度配置文件无法读取。"))
        raise  # pragma: no cover - raise_if_any raised


@lru_cache(maxsize=16)
def load(year: int, config_dir: str | None = None) -> TimelineConfig:
    """The configuration of ``year``: default.yaml, overridden by <year>.yaml when it exists."""
    folder = Path(config_dir) if config_dir else CONFIG_DIR
    default = folder / "default.yaml"
    config = parse_text(_read(default), file=str(default))
    override = folder / f"{year}.yaml"
    if override.is_file():
        config = parse_text(_read(override), file=str(override), year=year, base=config)
    return config


def cycle_test_days(cycle: Cycle) -> tuple[dt.date, dt.date]:
    """(first, last) test day of the cycle: the days of the school schedules (primary and middle) of every
    participation type. County windows (e.g. the county manager questionnaire) are not test days."""
    days = sorted({day.date for schedule in cycle.config.schedules.values()
                   for level, level_days in schedule.items() if level in ("primary", "middle")
                   for day in level_days})
    if not days:
        raise ValueError(f"cycle {cycle.year} has no school test days in its schedule")
    return days[0], days[-1]


def milestones_for(cycle: Cycle, *, config: TimelineConfig | None = None) -> list[Milestone]:
    """The cycle's milestones with their deadlines, sorted by deadline (then level, school first)."""
    config = config or load(base_year(cycle))
    first, last = cycle_test_days(cycle)
    out = []
    for m in config.milestones:
        if m.date is not None:
            due = m.date
        else:
            base = first if m.anchor == "first_test_day" else last
            due = base + dt.timedelta(days=m.offset_days or 0)
        out.append(Milestone(code=m.code, name=m.name, level=m.level, due=due, derived=m.derived,
                             source=m.source))
    return sorted(out, key=lambda x: (x.due, LEVELS.index(x.level)))


def milestone_get(cycle: Cycle, code: str) -> Milestone | None:
    return next((m for m in milestones_for(cycle) if m.code == code), None)
