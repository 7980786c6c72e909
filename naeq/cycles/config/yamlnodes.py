"""Read YAML as nodes, so that every value keeps its 1-based line number and scalars are read as written.

``yaml.compose`` stops before Python objects are built: ``10:20`` stays a time (plain YAML 1.1 would make it the
integer 620), ``2023-05-24`` stays a date string. :class:`NodeReader` turns nodes into typed values one at a
time; a value that is wrong is reported to the collector (line, dotted field path, Chinese reason) and read as
``None``, so that reading goes on and every problem in the file is found in one pass.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import yaml
from django.utils.translation import gettext as _

from naeq.core.errors import ProblemCollector

INT_TAG = "tag:yaml.org,2002:int"
BOOL_TAG = "tag:yaml.org,2002:bool"
NULL_TAG = "tag:yaml.org,2002:null"

_CODE_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_TIME_RE = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")

#: A mapping as read by :meth:`NodeReader.mapping`: key -> (key node, value node).
Fields = dict[str, tuple[yaml.Node, yaml.Node]]
#: Values to check for duplicates with :meth:`NodeReader.unique`: (value or None, node, path).
Seen = list[tuple[str | None, yaml.Node, str]]


def compose(text: str, collector: ProblemCollector) -> yaml.Node | None:
    """The document's root node; None after reporting a syntax error or an empty document."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        collector.add(_("YAML 语法错误：%(problem)s") % {"problem": problem},
                      row=mark.line + 1 if mark is not None else None)
        return None
    if root is None:
        collector.add(_("配置文件为空。"))
    return root


def line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


@dataclass
class NodeReader:
    """Typed reads of single nodes; each returns None after reporting why the node is not what was expected."""

    c: ProblemCollector
    year: int | None = None  # once known, every date must fall in it

    def err(self, node: yaml.Node | None, path: str, reason: str) -> None:
        row = line(node) if node is not None else None
        # A block reused through a YAML alias (``middle: *primary_days``) is checked once per use; its mistakes
        # are reported once, under the path of the anchor (the first use).
        if node is not None and any(p.row == row and p.reason == reason for p in self.c.problems):
            return
        self.c.add(reason, row=row, field=path or None)

    def mapping(self, node: yaml.Node, path: str, *, required: Iterable[str],
                optional: Iterable[str]) -> Fields | None:
        """Key -> (key node, value node); reports unknown, duplicate and missing keys."""
        if not isinstance(node, yaml.MappingNode):
            self.err(node, path, _("应为键值映射（mapping）。"))
            return None
        required, optional = tuple(required), tuple(optional)
        out: Fields = {}
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
            if key in out:
                self.err(key_node, join(path, key), _("配置项重复。"))
                continue
            if key not in required and key not in optional:
                self.err(key_node, join(path, key),
                         _("未知的配置项“%(key)s”，允许的配置项：%(allowed)s。")
                         % {"key": key, "allowed": "、".join(required + optional)})
                continue
            out[key] = (key_node, value_node)
        for key in required:
            if key not in out:
                self.err(node, join(path, key), _("缺少必填配置项“%(key)s”。") % {"key": key})
        return out

    def complete_mapping(self, node: yaml.Node, path: str, *, required: tuple[str, ...],
                         optional: tuple[str, ...] = ()) -> Fields | None:
        """:meth:`mapping`, but None unless every required key is present (the missing ones are reported)."""
        m = self.mapping(node, path, required=required, optional=optional)
        if m is None or any(key not in m for key in required):
            return None
        return m

    def field(self, m: Fields, path: str, key: str, parse: Callable[[yaml.Node, str], Any]) -> Any:
        """``parse`` the value of ``key`` in ``m`` (at ``path.key``); None when the key is absent."""
        return parse(m[key][1], join(path, key)) if key in m else None

    def seq(self, node: yaml.Node, path: str, *, non_empty: bool = True) -> list[yaml.Node] | None:
        if not isinstance(node, yaml.SequenceNode):
            self.err(node, path, _("应为列表。"))
            return None
        if non_empty and not node.value:
            self.err(node, path, _("列表不能为空。"))
            return None
        return list(node.value)

    def items(self, node: yaml.Node, path: str, each: Callable[[yaml.Node, str], Any], *,
              non_empty: bool = True) -> list[Any] | None:
        nodes = self.seq(node, path, non_empty=non_empty)
        if nodes is None:
            return None
        return [each(n, f"{path}[{i}]") for i, n in enumerate(nodes)]

    def scalar(self, node: yaml.Node, path: str) -> str | None:
        if not isinstance(node, yaml.ScalarNode) or node.tag == NULL_TAG:
            self.err(node, path, _("应为单个值。"))
            return None
        return str(node.value)

    def text(self, node: yaml.Node, path: str) -> str | None:
        value = self.scalar(node, path)
        if value is not None and not value.strip():
            self.err(node, path, _("不能为空。"))
            return None
        return value.strip() if value is not None else None

    def integer(self, node: yaml.Node, path: str, *, low: int | None = None, high: int | None = None) -> int | None:
        if not isinstance(node, yaml.ScalarNode) or node.tag != INT_TAG or not re.fullmatch(r"[0-9]+", node.value):
            self.err(node, path, _("应为整数。"))
            return None
        value = int(node.value)
        if (low is not None and value < low) or (high is not None and value > high):
            self.err(node, path, _("应在 %(low)s 到 %(high)s 之间。") % {"low": low, "high": high})
            return None
        return value

    def integer_in(self, low: int, high: int) -> Callable[[yaml.Node, str], int | None]:
        """:meth:`integer` bounded to ``low``..``high``, as a reader for :meth:`items` and :meth:`field`."""
        return lambda node, path: self.integer(node, path, low=low, high=high)

    def code(self, node: yaml.Node, path: str) -> str | None:
        value = self.scalar(node, path)
        if value is not None and not _CODE_RE.match(value):
            self.err(node, path, _("代码“%(code)s”应由小写英文字母、数字和下划线组成，并以字母开头。")
                     % {"code": value})
            return None
        return value

    def choice(self, node: yaml.Node, path: str, allowed: tuple[str, ...]) -> str | None:
        value = self.scalar(node, path)
        if value is not None and value not in allowed:
            self.err(node, path, _("“%(value)s”不是允许的取值，应为：%(allowed)s。")
                     % {"value": value, "allowed": "、".join(allowed)})
            return None
        return value

    def one_of(self, allowed: tuple[str, ...]) -> Callable[[yaml.Node, str], str | None]:
        """:meth:`choice` among ``allowed``, as a reader for :meth:`items` and :meth:`field`."""
        return lambda node, path: self.choice(node, path, allowed)

    def boolean(self, node: yaml.Node, path: str) -> bool | None:
        if not isinstance(node, yaml.ScalarNode) or node.tag != BOOL_TAG:
            self.err(node, path, _("应为 true 或 false。"))
            return None
        return node.value.lower() in ("true", "yes", "on", "y")

    def date(self, node: yaml.Node, path: str) -> dt.date | None:
        value = self.scalar(node, path)
        if value is None:
            return None
        try:
            if not _DATE_RE.match(value):
                raise ValueError(value)
            day = dt.date.fromisoformat(value)
        except ValueError:
            self.err(node, path, _("日期“%(value)s”格式不对，应为 YYYY-MM-DD。") % {"value": value})
            return None
        if self.year is not None and day.year != self.year:
            self.err(node, path, _("日期 %(date)s 不在监测年度 %(year)s 年内。") % {"date": value, "year": self.year})
            return None
        return day

    def time(self, node: yaml.Node, path: str) -> dt.time | None:
        value = self.scalar(node, path)
        if value is None:
            return None
        if not _TIME_RE.match(value):
            self.err(node, path, _("时间“%(value)s”格式不对，应为 HH:MM（24小时制，如 08:30）。") % {"value": value})
            return None
        return dt.time.fromisoformat(value)

    def unique(self, values: Seen, what: str) -> None:
        seen: set[str] = set()
        for value, node, path in values:
            if value is None:
                continue
            if value in seen:
                self.err(node, path, _("%(what)s“%(value)s”重复。") % {"what": what, "value": value})
            seen.add(value)
