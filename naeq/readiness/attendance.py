"""The training attendance workbook: a downloadable template (sheets 签到表 and 说明) and its reader.

Columns of 签到表: 姓名, 岗位, 学校标识码, 是否参加, 备注. 岗位 is a post of the readiness configuration (its Chinese
name or code); 学校标识码 is the 10-digit code of the person's school (blank for county staff); 是否参加 is 是 or 否.
Reading collects every fault (row, column, reason) before failing: an import is all or nothing.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from naeq.core.errors import InvalidInput, ProblemCollector
from naeq.readiness.config import ReadinessConfig

DATA_SHEET, NOTES_SHEET = "签到表", "说明"
HEADERS = ("姓名", "岗位", "学校标识码", "是否参加", "备注")
REQUIRED_HEADERS = ("姓名", "岗位", "是否参加")
YES, NO = ("是", "参加", "y", "yes", "1", "true"), ("否", "未参加", "n", "no", "0", "false")
MAX_ROWS = 5000


@dataclass(frozen=True)
class AttendanceRow:
    row: int
    person_name: str
    post: str  # post code
    school_code: str
    attended: bool
    note: str


def template_bytes(config: ReadinessConfig) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    assert ws is not None  # a new workbook always has its first sheet
    ws.title = DATA_SHEET
    ws.append(list(HEADERS))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for col, width in zip("ABCDE", (14, 16, 16, 10, 30), strict=True):
        ws.column_dimensions[col].width = width
    posts = ",".join(p.name for p in config.posts)
    if len(posts) < 250:  # Excel limits an inline list to 255 characters
        dv = DataValidation(type="list", formula1=f'"{posts}"', allow_blank=False)
        dv.add("B2:B2000")
        ws.add_data_validation(dv)
    yn = DataValidation(type="list", formula1='"是,否"', allow_blank=False)
    yn.add("D2:D2000")
    ws.add_data_validation(yn)
    notes = wb.create_sheet(NOTES_SHEET)
    notes.column_dimensions["A"].width = 16
    notes.column_dimensions["B"].width = 80
    lines = [
        ("填写说明", ""),
        ("签到表", _("每行一人；第一行是列名，不要修改。一个文件导入一次培训的全部签到，"
                    "导入会替换该培训已有的签到记录。")),
        ("姓名", _("必填，不超过40字。")),
        ("岗位", _("必填，只能填下列岗位之一（名称或代码）。")),
        ("学校标识码", _("10位数字；县级工作人员可以不填。学校必须在本次培训的组织单位范围内。")),
        ("是否参加", _("必填，填“是”或“否”。")),
        ("备注", _("选填，不超过200字。")),
        ("", ""),
        ("岗位", _("代码")),
        *[(p.name, p.code + (_("（必须培训）") if p.required else "")) for p in config.posts],
    ]
    for a, b in lines:
        notes.append([a, b])
    notes["A1"].font = Font(bold=True)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def read_attendance(data: bytes, *, file_name: str, config: ReadinessConfig) -> list[AttendanceRow]:
    """Parse the attendance workbook; raise :class:`InvalidInput` with every fault."""
    from openpyxl import load_workbook

    problems = ProblemCollector(file=file_name)
    if not data:
        problems.add(_("文件是空的。"))
        problems.raise_if_any(_("签到表无法导入。"))
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many types for a file that is not a workbook
        problems.add(_("无法读取该Excel文件，文件可能已损坏；请用模板重新填写并另存为 .xlsx。"))
        problems.raise_if_any(_("签到表无法导入。"))
        raise  # unreachable
    if DATA_SHEET not in wb.sheetnames:
        problems.add(_("找不到工作表“%(sheet)s”；请使用下载的模板。") % {"sheet": DATA_SHEET})
        problems.raise_if_any(_("签到表无法导入。"))
    ws = wb[DATA_SHEET]
    rows = ws.iter_rows(values_only=True)
    header = [_text(v) for v in next(rows, ())]
    missing = [h for h in REQUIRED_HEADERS if h not in header]
    if missing:
        problems.add(_("第1行缺少列：%(cols)s。") % {"cols": "、".join(missing)}, row=1)
        problems.raise_if_any(_("签到表无法导入。"))
    index = {h: header.index(h) for h in HEADERS if h in header}
    posts = {p.name: p.code for p in config.posts} | {p.code: p.code for p in config.posts}
    out: list[AttendanceRow] = []
    seen: dict[tuple[str, str, str], int] = {}
    for n, raw in enumerate(rows, start=2):
        cells = {h: _text(raw[i]) if i < len(raw) else "" for h, i in index.items()}
        if not any(cells.values()):
            continue
        if len(out) >= MAX_ROWS:
            problems.add(_("超过%(n)d行，请分批导入。") % {"n": MAX_ROWS}, row=n)
            break
        name, post, school = cells.get("姓名", ""), cells.get("岗位", ""), cells.get("学校标识码", "")
        attended, note = cells.get("是否参加", ""), cells.get("备注", "")
        ok = True
        if not name:
            problems.add(_("姓名不能为空。"), row=n, field="姓名")
            ok = False
        elif len(name) > 40:
            problems.add(_("姓名不能超过40字。"), row=n, field="姓名", value=name)
            ok = False
        if post not in posts:
            problems.add(_("岗位“%(post)s”不在岗位列表中，应为：%(posts)s。") % {
                "post": post, "posts": "、".join(p.name for p in config.posts)}, row=n, field="岗位", value=post)
            ok = False
        if school and not (len(school) == 10 and school.isdigit()):
            problems.add(_("学校标识码“%(code)s”应为10位数字。") % {"code": school}, row=n, field="学校标识码",
                         value=school)
            ok = False
        if attended.lower() not in YES + NO:
            problems.add(_("是否参加只能填“是”或“否”。"), row=n, field="是否参加", value=attended)
            ok = False
        if len(note) > 200:
            problems.add(_("备注不能超过200字。"), row=n, field="备注")
            ok = False
        if not ok:
            continue
        key = (name, posts[post], school)
        if key in seen:
            problems.add(_("与第%(row)d行重复（同一姓名、岗位和学校）。") % {"row": seen[key]}, row=n, field="姓名",
                         value=name)
            continue
        seen[key] = n
        out.append(AttendanceRow(row=n, person_name=name, post=posts[post], school_code=school,
                                 attended=attended.lower() in YES, note=note))
    if not out and not problems.problems:
        problems.add(_("签到表中没有数据行。"))
    problems.raise_if_any(_("签到表无法导入：请修改以下问题后重新上传（未导入任何记录）。"))
    return out


__all__ = ["AttendanceRow", "InvalidInput", "read_attendance", "template_bytes"]
