"""Spreadsheets as county officers make them, built with openpyxl (never checked-in binaries)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook

from naeq.registry.imports import HEADERS

HEADER = list(HEADERS)


def xlsx(rows: Sequence[Sequence[Any]], *, header: Sequence[Any] | None = None, title: str | None = None,
         two_row_header: bool = False, sheet: str = "学校信息") -> bytes:
    """A workbook whose data sheet holds ``rows`` under the template header (or ``header``). ``title`` adds a
    title row merged over the columns above the header; ``two_row_header`` splits the count headers into a
    merged grade row over 学生数 | 班级数 — both common in files counties send."""
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    head = list(header if header is not None else HEADER)
    if title:
        ws.append([title])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(head))
    if two_row_header:
        top = ws.max_row + 1 if title else 1
        ws.append([*head[:5], "四年级", None, "八年级", None])
        ws.append([*[None] * 5, "学生数", "班级数", "学生数", "班级数"])
        for c in range(1, 6):  # the first five headers span both rows
            ws.merge_cells(start_row=top, start_column=c, end_row=top + 1, end_column=c)
        ws.merge_cells(start_row=top, start_column=6, end_row=top, end_column=7)
        ws.merge_cells(start_row=top, start_column=8, end_row=top, end_column=9)
    else:
        ws.append(head)
    for r in rows:
        ws.append(list(r))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def csv_bytes(rows: Sequence[Sequence[Any]], *, encoding: str = "utf-8-sig",
              header: Sequence[str] | None = None) -> bytes:
    lines = [",".join(header if header is not None else HEADER)]
    lines += [",".join("" if v is None else str(v) for v in r) for r in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def row(code: Any, name: str = "示例学校", level: str = "九年一贯制学校", ur: Any = "121", owner: str = "公办",
        g4: Any = 45, c4: Any = 1, g8: Any = 60, c8: Any = 2) -> list[Any]:
    return [code, name, level, ur, owner, g4, c4, g8, c8]
