"""Entry points: a cycle configuration file or text in, a :class:`CycleConfig` or :class:`InvalidInput` out."""

from __future__ import annotations

from pathlib import Path

from django.utils.translation import gettext as _

from naeq.core.errors import ProblemCollector
from naeq.cycles.config.types import CycleConfig
from naeq.cycles.config.validate import Validator
from naeq.cycles.config.yamlnodes import compose


def parse_file(path: str | Path) -> CycleConfig:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        c = ProblemCollector(file=str(path))
        c.add(_("无法读取文件：%(error)s") % {"error": exc})
        c.raise_if_any(_("配置文件无法读取。"))
        raise  # pragma: no cover - raise_if_any raised
    return parse_text(text, file=str(path))


def parse_text(text: str, *, file: str = "<text>") -> CycleConfig:
    """Parse and validate; raise :class:`InvalidInput` listing every problem."""
    collector = ProblemCollector(file=file)
    root = compose(text, collector)  # None after a syntax error or an empty file, both reported
    config = Validator(collector).cycle(root) if root is not None else None
    collector.raise_if_any(_("配置文件有误，未做任何更改。"))
    if config is None:  # every path that returns None reports a problem first
        raise RuntimeError("cycle configuration rejected without a reported problem")
    return config
