"""Reading a scan file (CSV or Excel) against an instrument's card layout (docs/papercapture.md, "The scan file").

Only the file's structure is checked here; a structurally broken file is refused whole with every fault listed
(file, row, column, reason) and nothing is written:

* a CSV that is not UTF-8 (with or without BOM), an Excel file that cannot be opened, an empty file;
* a missing column (``batch``, ``sheet``, ``test_id``, ``booklet`` and one column per bubble row of the card), a
  duplicate column, an unknown column (not a bubble row of this instrument's card: wrong instrument or layout);
* a row with more cells than the header, a blank ``batch``, a ``sheet`` that is not a positive whole number, the same
  batch and sheet twice.

What a scanner reads wrong on a sound file — an unknown or duplicate test ID, a booklet number that differs from
the assigned one or cannot be read, multiple marks, blanks, marks on items not in the booklet — is not refused: it
goes to the review queue (:mod:`naeq.papercapture.services`).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from django.utils.translation import gettext as _

from naeq.core.errors import InvalidInput, ProblemCollector
from naeq.papercapture.layout import CardLayout

MAX_ROWS = 20000


@dataclass(frozen=True)
class ScanRow:
    row: int  # 1-based line of the file (the header is line 1)
    batch: str
    sheet: int
    test_id: str
    booklet: str
    marks: dict[str, str]


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _table(name: str, data: bytes) -> list[list[str]]:
    if name.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for a file that is not a workbook
            raise InvalidInput(_("%(name)s不是可读取的Excel（.xlsx）文件。") % {"name": name},
                               code="scan_unreadable") from exc
        ws = wb.worksheets[0]
        rows = [[_cell(v) for v in r] for r in ws.iter_rows(values_only=True)]
        wb.close()
        return rows
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            _("%(name)s不是UTF-8编码的CSV文件（第%(pos)s个字节无法解码）。请在导出时选择UTF-8编码，或使用Excel模板。")
            % {"name": name, "pos": exc.start + 1}, code="scan_encoding") from exc
    return [[c.strip() for c in r] for r in csv.reader(io.StringIO(text))]


def read_scan_file(name: str, data: bytes, layout: CardLayout) -> list[ScanRow]:
    """The rows of a scan file, or :class:`InvalidInput` listing every structural fault."""
    rows = _table(name, data)
    while rows and not any(rows[-1]):
        rows.pop()
    c = ProblemCollector(file=name)
    if not rows:
        c.add(_("文件是空的：第1行应为列名。"), row=1)
        c.raise_if_any(_("扫描结果文件无法导入，未作任何更改。"))
    header = [h.strip() for h in rows[0]]
    while header and header[-1] == "":
        header.pop()
    known = set(layout.columns)
    boxes = {f.item for f in layout.fields if f.kind == "box"}
    seen: set[str] = set()
    for n, h in enumerate(header, start=1):
        if h in seen:
            c.add(_("列名“%(h)s”重复。") % {"h": h}, row=1, field=h)
        seen.add(h)
        if h in boxes:
            c.add(_("题目%(h)s是书写框题，不由扫描读取，不应出现在扫描结果中。") % {"h": h}, row=1, field=h)
        elif h not in known:
            c.add(_("第%(n)s列“%(h)s”不是%(inst)s答题卡的列（可用的列见模板）。")
                  % {"n": n, "h": h or "（空）", "inst": layout.instrument}, row=1, field=h or str(n))
    for col in layout.columns:
        if col not in seen:
            c.add(_("缺少列“%(col)s”。") % {"col": col}, row=1, field=col)
    c.raise_if_any(_("扫描结果文件的列与答题卡版式不符，未作任何更改。"))
    index = {h: n for n, h in enumerate(header)}
    out: list[ScanRow] = []
    sheets: dict[tuple[str, int], int] = {}
    body = rows[1:]
    if not any(any(r) for r in body):
        c.add(_("文件没有数据行。"), row=2)
    if len(body) > MAX_ROWS:
        c.add(_("一个文件最多%(n)s张答题卡，请分批导入。") % {"n": MAX_ROWS}, row=MAX_ROWS + 2)
        c.raise_if_any(_("扫描结果文件无法导入，未作任何更改。"))
    for line, raw in enumerate(body, start=2):
        if not any(raw):
            continue
        if len([v for v in raw[len(header):] if v]) > 0:
            c.add(_("这一行的单元格比列名多。"), row=line)
            continue
        cells = raw + [""] * (len(header) - len(raw))
        batch = cells[index["batch"]]
        sheet_text = cells[index["sheet"]]
        if not batch:
            c.add(_("扫描批号不能为空。"), row=line, field="batch")
        if not sheet_text.isdigit() or int(sheet_text) < 1:
            c.add(_("张号应为正整数，现为“%(v)s”。") % {"v": sheet_text}, row=line, field="sheet", value=sheet_text)
            continue
        sheet = int(sheet_text)
        if batch and (batch, sheet) in sheets:
            c.add(_("扫描批号%(b)s的第%(s)s张在第%(first)s行已出现。") % {"b": batch, "s": sheet,
                                                                   "first": sheets[(batch, sheet)]},
                  row=line, field="sheet")
        sheets.setdefault((batch, sheet), line)
        marks = {f.item: cells[index[f.item]] for f in layout.bubble_fields}
        out.append(ScanRow(row=line, batch=batch, sheet=sheet, test_id=cells[index["test_id"]],
                           booklet=cells[index["booklet"]], marks=marks))
    c.raise_if_any(_("扫描结果文件有误，未作任何更改。"))
    return out


def template_rows(layout: CardLayout) -> list[list[str]]:
    """The header and one example row (a first sheet with every bubble blank)."""
    return [layout.columns, ["B001", "1", "", "", *([""] * len(layout.bubble_fields))]]


def template_csv(layout: CardLayout) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(template_rows(layout)[:1])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def template_xlsx(layout: CardLayout) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None  # a new workbook has its active sheet
    ws.title = "scan"
    ws.append(layout.columns)
    for cell in ws[1]:
        cell.number_format = "@"
    notes = wb.create_sheet("说明")
    notes.append([_("列"), _("含义")])
    notes.append(["batch", _("扫描批号（扫描仪的批次标签）")])
    notes.append(["sheet", _("张号：批内第几张，正整数；同一批号内不能重复")])
    notes.append(["test_id", _("识别出的测试编号（条码或填涂）；未识别留空")])
    notes.append(["booklet", _("识别出的题本号填涂；未涂留空，多涂如“13”")])
    for f in layout.bubble_fields:
        notes.append([f.item, _("第%(p)s题的涂点：%(opts)s 之一；多涂写在一起如“AB”，未涂留空")
                      % {"p": f.position, "opts": "/".join(f.options)}])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
