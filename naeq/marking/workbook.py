"""The files of marking: the rubric workbook (template and parsing) and the paper-response manifest.

Rubric workbook (``.xlsx``), three data sheets and a 说明 sheet:

* ``评分标准`` — 工具代码, 题目编号, 分值, 评分描述: one row per score point; an item's rows must cover every
  score 0..满分 exactly once.
* ``样卷`` — 工具代码, 题目编号, 样卷编号, 样卷内容, 评定分数, 说明: anchor papers (exemplar responses and their
  agreed score); optional.
* ``检测卷`` — 工具代码, 题目编号, 检测卷内容, 标准分: pre-scored check papers (validity papers) seeded into
  raters' queues; optional.

Paper manifest (``.csv`` in UTF-8, or ``.xlsx``): columns ``test_id, instrument, item, image`` (or 测试编号,
工具代码, 题目编号, 图像文件), one row per scanned writing box; the images come in a zip beside it.

Parsing collects every problem (file, row, column, reason) before failing; nothing is written here.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font

from naeq.core.errors import InvalidInput, ProblemCollector

POINT_HEADERS = ["工具代码", "题目编号", "分值", "评分描述"]
ANCHOR_HEADERS = ["工具代码", "题目编号", "样卷编号", "样卷内容", "评定分数", "说明"]
CHECK_HEADERS = ["工具代码", "题目编号", "检测卷内容", "标准分"]
SHEETS = {"评分标准": POINT_HEADERS, "样卷": ANCHOR_HEADERS, "检测卷": CHECK_HEADERS}
MANIFEST_COLUMNS = {"test_id": "test_id", "测试编号": "test_id", "instrument": "instrument",
                    "工具代码": "instrument", "item": "item", "题目编号": "item", "image": "image",
                    "图像文件": "image"}


@dataclass
class ItemRubric:
    points: dict[int, str] = field(default_factory=dict)
    anchors: list[dict[str, Any]] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)


def rubric_template(items: list[tuple[str, str, int, str]]) -> bytes:
    """The rubric workbook, pre-filled with one row per score point of each rater-scored item
    (``(instrument code, item code, max score, existing descriptor…)``)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "说明"
    for line in (
        "评分标准导入模板（主观题评分）",
        "“评分标准”表：每道主观题的每个分值一行，分值须覆盖0至满分且不重复，评分描述必填。",
        "“样卷”表：样卷（标杆卷）及其评定分数，可选；同一题内样卷编号不重复。",
        "“检测卷”表：已定分的检测卷（效度卷），按设定比例混入评分员任务，评分员无法区分；可选。",
        "导入后为每道出现的题生成评分标准新版本，旧版本保留；有任何错误则整份文件不导入。",
    ):
        ws.append([line])
    ws["A1"].font = Font(bold=True)
    for title, headers in SHEETS.items():
        sheet = wb.create_sheet(title)
        sheet.append(headers)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        if title == "评分标准":
            for inst, item, max_score, _name in items:
                for s in range(max_score + 1):
                    sheet.append([inst, item, s, ""])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v).strip()


def _int(v: Any) -> int | None:
    s = _text(v)
    return int(s) if s.isdigit() else None


def _rows(ws: Any) -> Iterator[tuple[int, list[Any]]]:
    for i, row in enumerate(ws.iter_rows(min_row=2, values_only=True), start=2):
        values = list(row)
        if any(_text(v) for v in values):
            yield i, values + [None] * 8


def rubric_parse(data: bytes, *, filename: str,
                 max_scores: dict[tuple[str, str], int]) -> dict[tuple[str, str], ItemRubric]:
    """Parse a rubric workbook against the cycle's rater-scored items (``(instrument, item) → max score``)."""
    c = ProblemCollector(file=filename)
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a file that is not a workbook
        raise InvalidInput(_("文件“%(f)s”不是有效的Excel（.xlsx）文件。") % {"f": filename},
                           code="bad_workbook") from None
    if "评分标准" not in wb.sheetnames:
        raise InvalidInput(_("文件“%(f)s”缺少“评分标准”工作表。") % {"f": filename}, code="bad_workbook")
    out: dict[tuple[str, str], ItemRubric] = {}
    for title, headers in SHEETS.items():
        if title not in wb.sheetnames:
            continue
        ws = wb[title]
        head = [_text(v) for v in next(ws.iter_rows(min_row=1, max_row=1, values_only=True), ())]
        if head[:len(headers)] != headers:
            c.add(_("“%(s)s”表的表头应为：%(h)s。") % {"s": title, "h": "、".join(headers)}, row=1)
            continue
        seen: set[tuple[str, str, str]] = set()
        for row_no, v in _rows(ws):
            inst, item = _text(v[0]), _text(v[1])
            where = f"{title}"
            key = (inst, item)
            if key not in max_scores:
                c.add(_("%(s)s：工具“%(i)s”没有需人工评分的题目“%(q)s”（须为已发布测试卷中无答案、满分大于0的题）。")
                      % {"s": where, "i": inst, "q": item}, row=row_no, field=_("题目编号"), value=item)
                continue
            max_score = max_scores[key]
            rub = out.setdefault(key, ItemRubric())
            if title == "评分标准":
                score, desc = _int(v[2]), _text(v[3])
                if score is None or score > max_score:
                    c.add(_("%(s)s：分值应为0至%(m)s的整数。") % {"s": where, "m": max_score}, row=row_no,
                          field=_("分值"), value=v[2])
                    continue
                if score in rub.points:
                    c.add(_("%(s)s：题目“%(q)s”的分值%(v)s重复。") % {"s": where, "q": item, "v": score},
                          row=row_no, field=_("分值"))
                    continue
                if not desc:
                    c.add(_("%(s)s：评分描述不能为空。") % {"s": where}, row=row_no, field=_("评分描述"))
                rub.points[score] = desc
            elif title == "样卷":
                code, text, score = _text(v[2]), _text(v[3]), _int(v[4])
                if not code or (inst, item, code) in seen:
                    c.add(_("%(s)s：样卷编号为空或重复。") % {"s": where}, row=row_no, field=_("样卷编号"),
                          value=code)
                    continue
                seen.add((inst, item, code))
                if not text:
                    c.add(_("%(s)s：样卷内容不能为空。") % {"s": where}, row=row_no, field=_("样卷内容"))
                if score is None or score > max_score:
                    c.add(_("%(s)s：评定分数应为0至%(m)s的整数。") % {"s": where, "m": max_score}, row=row_no,
                          field=_("评定分数"), value=v[4])
                    continue
                rub.anchors.append({"code": code, "text": text, "score": score, "note": _text(v[5])})
            else:
                text, score = _text(v[2]), _int(v[3])
                if not text:
                    c.add(_("%(s)s：检测卷内容不能为空。") % {"s": where}, row=row_no, field=_("检测卷内容"))
                if score is None or score > max_score:
                    c.add(_("%(s)s：标准分应为0至%(m)s的整数。") % {"s": where, "m": max_score}, row=row_no,
                          field=_("标准分"), value=v[3])
                    continue
                rub.checks.append({"text": text, "score": score})
    for (inst, item), rub in out.items():
        missing = sorted(set(range(max_scores[(inst, item)] + 1)) - set(rub.points))
        if missing and (rub.points or not (rub.anchors or rub.checks)):
            c.add(_("评分标准：题目“%(i)s/%(q)s”缺少分值%(m)s的评分描述（须覆盖0至满分）。")
                  % {"i": inst, "q": item, "m": "、".join(str(m) for m in missing)}, field=_("分值"))
    if not out and not c.problems:
        c.add(_("文件中没有任何评分标准行。"))
    c.raise_if_any(_("评分标准文件有误，未导入任何内容。"))
    return out


@dataclass(frozen=True)
class ManifestRow:
    row: int
    test_id: str
    instrument: str
    item: str
    image: str


def manifest_parse(data: bytes, *, filename: str) -> list[ManifestRow]:
    """Rows of a paper manifest (CSV or Excel); header and blank-field problems collected."""
    c = ProblemCollector(file=filename)
    rows: list[list[Any]]
    if filename.lower().endswith(".xlsx"):
        try:
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception:
            raise InvalidInput(_("文件“%(f)s”不是有效的Excel（.xlsx）文件。") % {"f": filename},
                               code="bad_manifest") from None
        rows = [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInput(_("文件“%(f)s”不是UTF-8编码的CSV文件。") % {"f": filename},
                               code="bad_manifest") from None
        rows = [list(r) for r in csv.reader(io.StringIO(text))]
    if not rows:
        raise InvalidInput(_("文件“%(f)s”是空的。") % {"f": filename}, code="bad_manifest")
    head = [MANIFEST_COLUMNS.get(_text(h)) for h in rows[0]]
    need = ["test_id", "instrument", "item", "image"]
    missing = [n for n in need if n not in head]
    if missing:
        raise InvalidInput(_("文件“%(f)s”缺少列：%(c)s（应有 test_id, instrument, item, image）。")
                           % {"f": filename, "c": ", ".join(missing)}, code="bad_manifest")
    idx = {n: head.index(n) for n in need}
    out: list[ManifestRow] = []
    for row_no, r in enumerate(rows[1:], start=2):
        vals = {n: _text(r[i]) if i < len(r) else "" for n, i in idx.items()}
        if not any(vals.values()):
            continue
        blank = [n for n, v in vals.items() if not v]
        for n in blank:
            c.add(_("不能为空。"), row=row_no, field=n)
        if not blank:
            out.append(ManifestRow(row=row_no, **vals))
    c.raise_if_any(_("扫描清单有误，未导入任何内容。"))
    if not out:
        raise InvalidInput(_("文件“%(f)s”中没有任何答卷行。") % {"f": filename}, code="bad_manifest")
    return out
