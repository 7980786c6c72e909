"""The codebook of an analysts' export: one :class:`Variable` per column of the student file (name, Chinese label,
type, value labels, missing codes, source) and the variance formula of each replicate-weight set.

The same description is written four ways so that every tool finds it where it looks: ``codebook.xlsx`` (sheets
变量 / 取值标签 / 方差估计) and ``codebook.csv`` for people, embedded in the ``.sav`` and ``.dta`` (variable and
value labels, SPSS user-missing values) and as Parquet field metadata. Names follow the strictest of the formats
(Stata: at most 32 characters, a letter or ``_`` first, then letters, digits and ``_``), so one name serves all
four files. See docs/exports.md.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

#: Stata's limits (the strictest of SPSS, Stata, R and Parquet): name length and variable-label length.
MAX_NAME = 32
MAX_STATA_LABEL = 80

_NAME_BAD = re.compile(r"[^A-Za-z0-9_]")


@dataclass
class Variable:
    """One column of the student file. ``kind`` is ``numeric`` or ``string``; ``value_labels`` map an integer
    code to its Chinese label; ``missing`` lists the codes that are user-missing (SPSS) — a value that is absent
    altogether is system-missing (empty in CSV, null in Parquet, ``.`` in Stata)."""

    name: str
    label: str
    kind: str
    source: str
    value_labels: dict[int, str] = field(default_factory=dict)
    missing: tuple[int, ...] = ()
    decimals: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "type": self.kind, "decimals": self.decimals,
                "value_labels": {str(k): v for k, v in self.value_labels.items()}, "missing": list(self.missing),
                "source": self.source}


@dataclass
class ReplicateSet:
    """One set of replicate weights and its variance formula ``scale · Σ_r rscales_r (θ_r − θ)²``."""

    scope: str          # county | national
    weight: str         # the full-sample weight variable the replicates belong to
    prefix: str         # replicate variable names are prefix1 … prefixR
    scheme: str         # jk2 | fay …
    scale: float
    rscales: list[float]

    @property
    def n(self) -> int:
        return len(self.rscales)

    def as_dict(self) -> dict[str, Any]:
        return {"scope": self.scope, "weight": self.weight, "replicates": f"{self.prefix}1-{self.prefix}{self.n}",
                "scheme": self.scheme, "scale": self.scale, "rscales": self.rscales}


def safe_name(raw: str, *, prefix: str = "", taken: set[str] | None = None) -> str:
    """A name valid in SPSS, Stata, R and Parquet alike, unique among ``taken`` (which it extends)."""
    name = prefix + _NAME_BAD.sub("_", raw)
    if not name or not (name[0].isalpha() or name[0] == "_"):
        name = "V" + name
    name = name[:MAX_NAME]
    if taken is not None:
        base, k = name, 1
        while name.upper() in taken:  # SPSS names are case-insensitive
            k += 1
            suffix = f"_{k}"
            name = base[: MAX_NAME - len(suffix)] + suffix
        taken.add(name.upper())
    return name


def value_label_text(v: Variable) -> str:
    return "; ".join(f"{k}={t}" for k, t in sorted(v.value_labels.items()))


def variance_text(sets: Sequence[ReplicateSet]) -> list[str]:
    """The variance formula of each replicate-weight set as plain lines (for the .sav document and the sheet)."""
    out = []
    for s in sets:
        factors = sorted(set(s.rscales))
        out.append(_("%(scope)s：权重 %(w)s，重复权重 %(p)s1–%(p)s%(n)d，方法 %(scheme)s；"
                     "方差 = %(scale)s × Σ rscales_r (θ_r − θ)²，rscales 取值 %(f)s。") % {
            "scope": s.scope, "w": s.weight, "p": s.prefix, "n": s.n, "scheme": s.scheme, "scale": repr(s.scale),
            "f": "、".join(repr(x) for x in factors)})
    return out


HEADER = ("name", "label", "type", "decimals", "value_labels", "missing", "source")


def csv_bytes(variables: Sequence[Variable], sets: Sequence[ReplicateSet]) -> bytes:
    """``codebook.csv``: one row per variable, then, after an empty line, one row per replicate set (UTF-8 with a
    BOM so that Excel shows the Chinese labels)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(HEADER)
    for v in variables:
        w.writerow([v.name, v.label, v.kind, v.decimals, value_label_text(v), " ".join(str(m) for m in v.missing),
                    v.source])
    w.writerow([])
    w.writerow(["replicate_set", "weight", "replicates", "scheme", "scale", "rscales"])
    for s in sets:
        w.writerow([s.scope, s.weight, f"{s.prefix}1-{s.prefix}{s.n}", s.scheme, repr(s.scale),
                    " ".join(repr(x) for x in s.rscales)])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def xlsx_bytes(variables: Sequence[Variable], sets: Sequence[ReplicateSet], notes: Sequence[str]) -> bytes:
    """``codebook.xlsx``: 变量 (one row per variable), 取值标签 (one row per code), 方差估计 (the formula)."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("变量"))
    ws.append([_("变量名"), _("标签"), _("类型"), _("小数位"), _("取值标签"), _("缺失值代码"), _("来源")])
    for v in variables:
        ws.append([v.name, v.label, v.kind, v.decimals, value_label_text(v), " ".join(str(m) for m in v.missing),
                   v.source])
    ws = wb.create_sheet(_("取值标签"))
    ws.append([_("变量名"), _("取值"), _("标签"), _("缺失值")])
    for v in variables:
        for k, t in sorted(v.value_labels.items()):
            ws.append([v.name, k, t, _("是") if k in v.missing else ""])
    ws = wb.create_sheet(_("方差估计"))
    ws.append([_("用途"), _("全样本权重"), _("重复权重"), _("方法"), "scale", "rscales"])
    for s in sets:
        ws.append([s.scope, s.weight, f"{s.prefix}1-{s.prefix}{s.n}", s.scheme, s.scale,
                   " ".join(repr(x) for x in s.rscales)])
    ws.append([])
    for line in [*variance_text(sets), *notes]:
        ws.append([line])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def as_json(variables: Sequence[Variable], sets: Sequence[ReplicateSet], notes: Sequence[str]) -> str:
    return json.dumps({"variables": [v.as_dict() for v in variables], "replicates": [s.as_dict() for s in sets],
                       "notes": list(notes)}, ensure_ascii=False)
