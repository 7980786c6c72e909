"""Excel files of the PE field test: the per-room entry template and its reader, and the completion export.

Pure functions of their arguments (no access checks: the views, services and CLI decide). The template lists the
room's students in seat order with one column per field of the record card; the reader maps the columns by their
header, so a recorder may hide or reorder columns, and reports every fault with its row and column.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill

from naeq.core.errors import InvalidInput, ProblemCollector
from naeq.pe.config import FIELDS, items_config

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
HEADER_ROW = 3
MAX_ROWS = 500


def _fixed_headers() -> list[str]:
    return [_("序号"), _("测试编号"), _("性别"), _("参测情况"), _("免测原因")]


def room_template(*, title: str, room_number: int, rows: Sequence[dict[str, Any]],
                  missing_items: dict[str, str]) -> bytes:
    """The room's entry sheet. ``rows``: {"seq", "code", "sex" (男/女), "attendance" (参测/缺考/免测),
    "exempt_reason", field code: value or None}."""
    cfg = items_config()
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = _("成绩录入")
    ws.append([title])
    hint = _("缺测填 -1；立定跳远最多3次，未跳的次数留空；参测情况填 参测 / 缺考 / 免测。")
    ws.append([_("考场号"), room_number, hint])
    header = [*_fixed_headers(), *[cfg.field_name(f) for f in FIELDS]]
    ws.append(header)
    for cell in ws[HEADER_ROW]:
        cell.font = Font(bold=True)
    grey = PatternFill("solid", fgColor="DDDDDD")
    missing_fields = {f.code for i in cfg.items if i.code in missing_items for f in i.fields}
    for r in rows:
        ws.append([r["seq"], r["code"], r["sex"], r["attendance"], r.get("exempt_reason", ""),
                   *[r.get(f) for f in FIELDS]])
        for k, f in enumerate(FIELDS):
            if f in missing_fields:
                ws.cell(row=ws.max_row, column=len(_fixed_headers()) + k + 1).fill = grey
    for k in range(len(header)):
        ws.column_dimensions[chr(ord("A") + k)].width = 12 if k != 1 else 16
    note = wb.create_sheet(_("说明"))
    note.append([_("项目"), _("单位"), _("界值（四年级 男/女；八年级 男/女）")])
    for item in cfg.items:
        b = item.bounds
        note.append([item.name, item.unit, "；".join(
            f"{g}年级 男 {b[(g, 'M')][0]:g}–{b[(g, 'M')][1]:g} 女 {b[(g, 'F')][0]:g}–{b[(g, 'F')][1]:g}"
            for g in (4, 8))])
    for code, reason in missing_items.items():
        spec = cfg.item(code)
        note.append([_("整场缺测：%(item)s（%(reason)s），该项无需填写。") % {"item": spec.name if spec else code,
                                                                "reason": reason}])
    note.column_dimensions["A"].width = 16
    note.column_dimensions["C"].width = 80
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def read_room_sheet(*, file_name: str, data: bytes,
                    room_number: int) -> tuple[dict[str, dict[str, Any]], dict[str, int]]:
    """(test ID -> {field or attendance / exempt_reason: raw value}, test ID -> spreadsheet row). Raises with
    every fault (not a workbook, another room's file, missing columns, blank or duplicate test IDs)."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise InvalidInput(_("文件过大（上限5MB）。"), code="file_too_large")
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several unrelated types for a file that is not a workbook
        raise InvalidInput(_("无法读取文件%(f)s，请上传Excel（.xlsx）文件。") % {"f": file_name},
                           code="not_xlsx") from exc
    cfg = items_config()
    c = ProblemCollector(file=file_name)
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    meta: tuple[Any, ...] = tuple(rows[1]) if len(rows) > 1 else ()
    if len(meta) >= 2 and str(meta[0] or "").strip() == _("考场号") and str(meta[1] or "").strip() not in (
            "", str(room_number)):
        c.add(_("该文件是第%(other)s考场的模板，不是第%(this)s考场的；请下载本考场的模板。") % {
            "other": meta[1], "this": room_number}, row=2, field=_("考场号"))
        c.raise_if_any(_("导入文件与考场不符。"))
    header = [str(x).strip() if x is not None else "" for x in (rows[HEADER_ROW - 1] if len(rows) >= HEADER_ROW
                                                               else ())]
    keys = {_("测试编号"): "code", _("参测情况"): "attendance", _("免测原因"): "exempt_reason"}
    keys.update({cfg.field_name(f): f for f in FIELDS})
    cols: dict[str, int] = {}
    for k, name in enumerate(header):
        if name in keys:
            cols[keys[name]] = k
    if "code" not in cols:
        c.add(_("缺少“测试编号”列（第%(row)s行应为表头）。") % {"row": HEADER_ROW}, row=HEADER_ROW, field=_("测试编号"))
    c.raise_if_any(_("导入文件格式不正确，请使用下载的模板。"))
    out: dict[str, dict[str, Any]] = {}
    row_of: dict[str, int] = {}
    for n, row in enumerate(rows[HEADER_ROW:], start=HEADER_ROW + 1):
        if not row or all(x is None or str(x).strip() == "" for x in row):
            continue
        if len(out) >= MAX_ROWS:
            c.add(_("超过%(n)s行。") % {"n": MAX_ROWS}, row=n)
            break
        raw_code = row[cols["code"]] if cols["code"] < len(row) else None
        code = str(raw_code).strip() if raw_code is not None else ""
        if code.endswith(".0"):
            code = code[:-2]  # a test ID typed as a number
        if not code:
            c.add(_("测试编号为空。"), row=n, field=_("测试编号"))
            continue
        if code in out:
            c.add(_("测试编号 %(code)s 重复（另见第%(other)s行）。") % {"code": code, "other": row_of[code]}, row=n,
                  field=_("测试编号"))
            continue
        values: dict[str, Any] = {}
        for key, k in cols.items():
            if key == "code":
                continue
            v = row[k] if k < len(row) else None
            values[key] = v.strip() if isinstance(v, str) else v
        out[code] = values
        row_of[code] = n
    if not out and not c.problems:
        c.add(_("文件中没有学生成绩行。"), row=HEADER_ROW + 1)
    c.raise_if_any(_("导入文件有误，本次未导入任何数据。"))
    return out, row_of


def completion_xlsx(*, title: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = _("完成情况")
    ws.append([title])
    ws.append(list(header))
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for r in rows:
        ws.append(list(r))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
