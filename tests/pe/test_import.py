"""The per-room Excel template: download, fill, upload — on real .xlsx files, with every error kind reported with its
file, row and column, and nothing saved when anything is wrong."""

from __future__ import annotations

import io
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from naeq.core.errors import InvalidInput
from naeq.pe import documents, services
from naeq.pe.models import PeRecord
from tests.pe.conftest import NOW, PeWorld, good_values

pytestmark = pytest.mark.django_db


def _template(room: Any) -> bytes:
    rows = [{"seq": r.seq, "code": r.test_taker.code, "sex": "男", "attendance": "参测", "exempt_reason": "",
             **r.values()} for r in services.room_records(room)]
    return documents.room_template(title="t", room_number=room.number, rows=rows, missing_items=room.missing_items)


def _filled(room: Any, edit: Any = None) -> bytes:
    wb = load_workbook(io.BytesIO(_template(room)))
    ws = wb.worksheets[0]
    header = [c.value for c in ws[documents.HEADER_ROW]]
    for k, rec in enumerate(services.room_records(room)):
        row = documents.HEADER_ROW + 1 + k
        values = good_values(room.grade, rec.test_taker.sampled_student.student.sex, k)
        for f, v in values.items():
            column = header.index(rec._meta.get_field(f).verbose_name) + 1
            ws.cell(row=row, column=column).value = v if v != "" else None
    if edit:
        edit(ws, header)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _import(pw: PeWorld, room: Any, data: bytes, name: str = "room.xlsx", submit: bool = False) -> Any:
    return services.entry_import(actor=pw.user("school_info_officer@A"), room_id=room.pk, file_name=name, data=data,
                                 submit=submit, now=NOW)


def test_template_lists_the_room_in_seat_order(pw: PeWorld) -> None:
    room = pw.staffed_rooms()[0]
    ws = load_workbook(io.BytesIO(_template(room))).worksheets[0]
    assert [c.value for c in ws[2]][:2] == ["考场号", room.number]
    header = [c.value for c in ws[documents.HEADER_ROW]]
    assert header[:5] == ["序号", "测试编号", "性别", "参测情况", "免测原因"] and "立定跳远第3次" in header
    assert [ws.cell(row=r, column=2).value for r in range(4, 8)] == [
        r.test_taker.code for r in services.room_records(room)]


def test_a_filled_template_imports_and_submits(pw: PeWorld) -> None:
    room = pw.staffed_rooms()[0]
    n, findings = _import(pw, room, _filled(room), submit=True)
    assert n == 4 and not [f for f in findings if f.blocking]
    room.refresh_from_db()
    assert room.status == "submitted"
    assert PeRecord.objects.filter(room=room, height__isnull=False).count() == 4


def test_out_of_bounds_values_import_as_draft_and_block_submission(pw: PeWorld) -> None:
    room = pw.staffed_rooms()[0]
    data = _filled(room, lambda ws, h: ws.cell(row=4, column=h.index("身高") + 1, value=1352))
    with pytest.raises(InvalidInput, match="不能提交"):
        _import(pw, room, data, submit=True)
    n, findings = _import(pw, room, data)
    assert n == 4
    code = services.room_records(room)[0].test_taker.code
    expected = f"测试编号 {code}：身高 1352 超出四年级男生的范围 90–170 厘米。"
    assert [f.reason for f in findings if f.blocking] == [expected]


def _wb_bytes(rows: list[list[Any]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_every_error_kind_is_named_and_nothing_is_saved(pw: PeWorld) -> None:
    room = pw.staffed_rooms()[0]
    codes = [r.test_taker.code for r in services.room_records(room)]

    def problems(data: bytes) -> list[tuple[Any, Any, str]]:
        with pytest.raises(InvalidInput) as exc:
            _import(pw, room, data, name="card.xlsx")
        return [(p.row, p.field, p.reason) for p in exc.value.problems] or [(None, None, exc.value.message)]

    # Too large (5 MB), then not a workbook.
    assert "文件过大" in problems(b"x" * (documents.MAX_UPLOAD_BYTES + 1))[0][2]
    # Not a workbook.
    assert "无法读取文件card.xlsx" in problems(b"PK not really a zip")[0][2]
    # Another room's template.
    other = _wb_bytes([["t"], ["考场号", room.number + 7], ["序号", "测试编号"]])
    wrong = f"该文件是第{room.number + 7}考场的模板，不是第{room.number}考场的；请下载本考场的模板。"
    assert problems(other) == [(2, "考场号", wrong)]
    # No test-ID column.
    assert problems(_wb_bytes([["t"], ["考场号", room.number], ["序号", "身高"], [1, 140]]))[0][:2] == (3, "测试编号")
    # No rows.
    empty = _wb_bytes([["t"], ["考场号", room.number], ["序号", "测试编号"]])
    assert problems(empty) == [(4, None, "文件中没有学生成绩行。")]

    def edit(ws: Any, h: list[Any]) -> None:
        ws.cell(row=5, column=2).value = None  # blank test ID
        ws.cell(row=6, column=2, value=codes[0])  # duplicate of row 4
        ws.cell(row=7, column=2, value="99999999999999")  # not this room's student
    found = problems(_filled(room, edit))
    assert (5, "测试编号", "测试编号为空。") in found
    assert (6, "测试编号", f"测试编号 {codes[0]} 重复（另见第4行）。") in found
    # Sheet-level faults are reported before value faults; once fixed, the unknown ID and bad cells are named.

    def edit2(ws: Any, h: list[Any]) -> None:
        ws.cell(row=7, column=2, value="99999999999999")
        ws.cell(row=4, column=h.index("肺活量第1次") + 1, value="一千五")
        ws.cell(row=5, column=h.index("参测情况") + 1, value="请假")
    found = problems(_filled(room, edit2))
    assert (7, "测试编号", "测试编号 99999999999999 不是本考场的学生。") in found
    assert (4, "肺活量第1次", f"测试编号 {codes[0]}：肺活量第1次 “一千五”不是数值（缺测请填 -1）。") in found
    assert (5, "参测情况", f"测试编号 {codes[1]}：参测情况应为“参测”“缺考”或“免测”。") in found
    assert not PeRecord.objects.filter(room=room, height__isnull=False).exists()
