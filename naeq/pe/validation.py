"""Checking PE values: parsing what a recorder typed, the bounds by grade and sex, completeness for submission, and
the warnings that do not block (identical trials, heaping on round numbers).

Bounds are those of ``configs/items.yaml`` (DOMAIN.md's table, design bounds of the entry system). Messages name the
student (test ID), the field and the bound, e.g. "测试编号 3101011234561：身高 250 超出四年级男生的范围 90–170 厘米。".
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from naeq.pe.config import FIELDS, Item, ItemsConfig

MISSING = -1.0
GRADE_NAMES = {4: "四年级", 8: "八年级"}
SEX_NAMES = {"M": "男生", "F": "女生"}
#: Heaping: share of an item's entered values on a round terminal digit (0 or 5 of the last decimal) above which a
#: room is warned, once it has at least HEAPING_MIN values. With uniform last digits the share is 0.2; 0.6 on 10+
#: values is far outside chance (binomial P(X ≥ 6 | n=10, p=0.2) ≈ 0.006).
HEAPING_SHARE = 0.6
HEAPING_MIN = 10


class ParseError(ValueError):
    pass


def _fmt(x: float) -> str:
    return f"{x:g}"


def parse_value(raw: Any, item: Item) -> float | None:
    """A typed value: blank -> None (not entered), "-1" -> −1 (missing), else a non-negative number with at most
    the item's decimals. Raises :class:`ParseError` with the reason."""
    if raw is None:
        return None
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        if isinstance(raw, float) and not math.isfinite(raw):
            raise ParseError(_("不是有效数值"))
        text = repr(float(raw)) if isinstance(raw, float) else str(raw)
    else:
        text = str(raw).strip()
    if text == "":
        return None
    try:
        d = Decimal(text)
    except InvalidOperation:
        raise ParseError(_("“%(v)s”不是数值（缺测请填 -1）") % {"v": text}) from None
    if not d.is_finite():
        raise ParseError(_("“%(v)s”不是数值（缺测请填 -1）") % {"v": text})
    if d == -1:
        return MISSING
    if d < 0:
        raise ParseError(_("不能为负数（缺测请填 -1）"))
    d = d.normalize()
    exponent = d.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    if places > item.decimals:
        raise ParseError(_("最多保留%(n)s位小数（单位：%(unit)s）") % {"n": item.decimals, "unit": item.unit}
                         if item.decimals else _("应为整数（单位：%(unit)s）") % {"unit": item.unit})
    return float(d)


@dataclass(frozen=True)
class Finding:
    """One fault or warning about a student's value (or a room, when ``code`` is empty)."""

    code: str  # the student's test ID, "" for a room-level finding
    seq: int | None
    field: str  # field name (Chinese) or item name
    reason: str
    blocking: bool


def bound_message(code: str, field_name: str, value: float, item: Item, grade: int, sex: str) -> str | None:
    b = item.bound(grade, sex)
    if b is None:
        return _("测试编号 %(code)s：没有%(grade)s%(sex)s的%(field)s界值配置。") % {
            "code": code, "grade": GRADE_NAMES.get(grade, grade), "sex": SEX_NAMES.get(sex, sex), "field": field_name}
    lo, hi = b
    if lo <= value <= hi:
        return None
    return _("测试编号 %(code)s：%(field)s %(value)s 超出%(grade)s%(sex)s的范围 %(lo)s–%(hi)s %(unit)s。") % {
        "code": code, "field": field_name, "value": _fmt(value), "grade": GRADE_NAMES.get(grade, grade),
        "sex": SEX_NAMES.get(sex, sex), "lo": _fmt(lo), "hi": _fmt(hi), "unit": item.unit}


@dataclass(frozen=True)
class Row:
    code: str
    seq: int
    grade: int
    sex: str  # "M" / "F" / "" when unknown
    attendance: str  # present / absent / exempt
    values: Mapping[str, float | None]


def check_rows(rows: Iterable[Row], cfg: ItemsConfig, *, missing_items: Mapping[str, str],
               for_submit: bool) -> list[Finding]:
    """Every fault (blocking) and warning of a room's rows. Out-of-bounds values always block submission; blanks
    block only ``for_submit``. Exempt and absent students are not checked."""
    out: list[Finding] = []
    rows = list(rows)
    for r in rows:
        if r.attendance != "present":
            continue
        if r.sex not in ("M", "F"):
            msg = _("测试编号 %(code)s：样本中没有该生的性别，无法按性别核对界值。") % {"code": r.code}
            out.append(Finding(r.code, r.seq, _("性别"), msg, True))
            continue
        for item in cfg.items:
            whole_missing = item.code in missing_items
            trial_values = []
            for n, f in enumerate(item.fields):
                v = r.values.get(f.code)
                if v is None:
                    if for_submit and not whole_missing and n < item.min_trials:
                        msg = _("测试编号 %(code)s：%(field)s 未录入（缺测请填 -1）。") % {"code": r.code,
                                                                                     "field": f.name}
                        out.append(Finding(r.code, r.seq, f.name, msg, True))
                    continue
                if v == MISSING:
                    continue
                bad = bound_message(r.code, f.name, v, item, r.grade, r.sex)
                if bad:
                    out.append(Finding(r.code, r.seq, f.name, bad, True))
                trial_values.append(v)
            if len(item.fields) > 1 and item.code != "vision" and len(trial_values) >= 2 \
                    and len(set(trial_values)) == 1:
                msg = _("测试编号 %(code)s：%(item)s 各次成绩完全相同（%(v)s），请核对记录卡。") % {
                    "code": r.code, "item": item.name, "v": _fmt(trial_values[0])}
                out.append(Finding(r.code, r.seq, item.name, msg, False))
    for item in cfg.items:
        digits: list[int] = []
        for r in rows:
            if r.attendance != "present":
                continue
            for f in item.fields:
                v = r.values.get(f.code)
                if v is not None and v != MISSING:
                    digits.append(round(v * 10 ** item.decimals) % 10)
        if len(digits) >= HEAPING_MIN and item.code != "vision":
            share = sum(Counter(digits)[d] for d in (0, 5)) / len(digits)
            if share > HEAPING_SHARE:
                msg = _("%(item)s 有 %(pct)s%% 的成绩末位为0或5，疑似估读取整，请核对记录卡。") % {
                    "item": item.name, "pct": round(share * 100)}
                out.append(Finding("", None, item.name, msg, False))
    return out


def empty_values() -> dict[str, float | None]:
    return dict.fromkeys(FIELDS)
