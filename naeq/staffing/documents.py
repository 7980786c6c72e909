"""Staff lists (Excel and PDF), badges (胸牌, PDF) and the staff-list import template and reader.

Pure functions of their arguments: no access checks (the views and the CLI decide what is printed). PDFs are HTML +
CSS rendered by WeasyPrint with Noto Sans CJK (Debian's fonts-noto-cjk), as in :mod:`naeq.sampling.documents`.

Badges, from the seed (2024-nanchang-city-plan.txt): "现场测试工作人员须佩戴工作胸牌。各类胸牌由县级实施工作领导小组统一
制作并配发" — eight per A4 page (2 × 4, 90 × 62 mm), each with the cycle name, the post, the name, the unit and
the badge number.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font

from naeq.core.errors import InvalidInput, ProblemCollector
from naeq.sampling.documents import CJK_FONT_FAMILY, CJK_FONT_FILE

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
BADGES_PER_PAGE = 8
MAX_IMPORT_ROWS = 2000

#: Import columns: header -> row key. The template's 说明 sheet explains each.
IMPORT_HEADER = (
    (N_("姓名"), "name", N_("必填，2–40个字符")),
    (N_("性别"), "gender", N_("必填：男 / 女")),
    (N_("手机号"), "phone", N_("必填：11位手机号")),
    (N_("身份证后四位"), "id_last4", N_("选填：只填后四位（如 123X），不填完整身份证号")),
    (N_("工作单位学校标识码"), "home_school", N_("选填：本人所在学校的10位学校标识码；县直单位人员不填")),
    (N_("职务"), "position", N_("选填：如 教务主任、体育教师、校医")),
    (N_("任教学科"), "subjects", N_("选填：多个学科用顿号分隔，如 数学、科学（用于检查主监测员不得任教测试学科）")),
    (N_("岗位"), "post", N_("选填：岗位名称，见“岗位”工作表；不填则只登记人员")),
    (N_("任职学校标识码"), "school", N_("学校岗位必填：样本校的10位学校标识码；县级领导小组岗位不填")),
    (N_("测试日期"), "day", N_("选填：YYYY-MM-DD；不填表示整个测试期间")),
    (N_("时段"), "slot", N_("选填：全天 / 上午 / 下午（须同时填写测试日期）")),
)


@dataclass(frozen=True)
class StaffLine:
    """One assignment as printed."""

    badge_no: str
    post: str
    name: str
    gender: str
    phone: str
    unit: str  # the school the post is at, or the county for the county team
    home: str  # where the person works
    day: str


def _font_css() -> str:
    if CJK_FONT_FILE.exists():
        return (f'@font-face {{ font-family: "naeq-cjk"; src: url("{CJK_FONT_FILE.as_uri()}"); }}\n'
                f'body {{ font-family: "naeq-cjk", "{CJK_FONT_FAMILY}", sans-serif; }}')
    return f'body {{ font-family: "{CJK_FONT_FAMILY}", sans-serif; }}'


def _pdf(template: str, context: dict[str, object]) -> bytes:
    from weasyprint import HTML  # imported late: loading pango costs time

    html = render_to_string(template, {**context, "font_css": _font_css()})
    pdf = HTML(string=html, base_url=str(Path(__file__).parent)).write_pdf()
    if pdf is None:  # write_pdf() without a target returns bytes
        raise RuntimeError("WeasyPrint returned no PDF")
    return bytes(pdf)


def _header() -> list[str]:
    return [_("胸牌编号"), _("岗位"), _("姓名"), _("性别"), _("手机号"), _("任职单位"), _("工作单位"), _("测试日期")]


def staff_list_xlsx(lines: Sequence[StaffLine], *, title: str) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = _("实施人员名单")
    ws.append([title])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(_header())
    for ln in lines:
        ws.append([ln.badge_no, ln.post, ln.name, ln.gender, ln.phone, ln.unit, ln.home, ln.day])
    for col, width in zip("ABCDEFGH", (18, 18, 10, 6, 14, 28, 28, 12), strict=True):
        ws.column_dimensions[col].width = width
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def staff_list_pdf(lines: Sequence[StaffLine], *, title: str) -> bytes:
    return _pdf("staffing/staff_list.html", {"title": title, "header": _header(), "lines": list(lines)})


def badges_pdf(lines: Sequence[StaffLine], *, cycle_name: str) -> bytes:
    """Badges, eight per A4 page; an empty list gives one empty page."""
    pages = [list(lines[i:i + BADGES_PER_PAGE]) for i in range(0, len(lines), BADGES_PER_PAGE)] or [[]]
    return _pdf("staffing/badges.html", {"cycle_name": cycle_name, "pages": pages})


def import_template(*, post_names: Sequence[str], example_school: str = "") -> bytes:
    """The staff-list template: the sheet to fill in, a 说明 sheet and the list of posts."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = _("人员名单")
    ws.append([h for h, _k, _n in IMPORT_HEADER])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for i, _h in enumerate(IMPORT_HEADER):
        ws.column_dimensions[chr(ord("A") + i)].width = 16
    note = wb.create_sheet(_("说明"))
    note.append([_("列"), _("填写要求")])
    for h, _k, n in IMPORT_HEADER:
        note.append([h, _(n)])
    note.append([])
    note.append([_("每行一人一个岗位；同一人担任多个岗位时写多行，姓名和手机号相同即为同一人。")])
    note.append([_("表格中任何一行有误时，整个表格都不导入；请按错误提示（行、列、原因）修改后重新上传。")])
    note.append([_("主监测员须由非本校人员担任，且不得任教本次测试学科（2024-nanchang-city-plan.txt）。")])
    if example_school:
        note.append([_("示例任职学校标识码：%(code)s") % {"code": example_school}])
    note.column_dimensions["A"].width = 20
    note.column_dimensions["B"].width = 80
    posts = wb.create_sheet(_("岗位"))
    posts.append([_("岗位名称")])
    for name in post_names:
        posts.append([name])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def read_import_sheet(*, file_name: str, data: bytes) -> list[tuple[int, dict[str, Any]]]:
    """(spreadsheet row, row dict keyed as :data:`IMPORT_HEADER`) for every non-empty row of the first sheet."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise InvalidInput(_("文件过大（上限5MB）。"), code="file_too_large")
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several unrelated types for a file that is not a workbook
        raise InvalidInput(_("无法读取该文件，请上传Excel（.xlsx）文件。"), code="not_xlsx") from exc
    problems = ProblemCollector(file=file_name)
    ws = wb.worksheets[0]
    it = ws.iter_rows(values_only=True)
    header = [str(c).strip() if c is not None else "" for c in next(it, ())]
    cols: dict[str, int] = {}
    for h, key, _n in IMPORT_HEADER:
        idx = next((k for k, x in enumerate(header) if x in (h, _(h))), -1)
        if idx >= 0:
            cols[key] = idx
        elif key in ("name", "gender", "phone"):
            problems.add(_("缺少“%(col)s”列。") % {"col": h}, row=1, field=h)
    problems.raise_if_any(_("人员名单格式不正确，请使用下载的模板。"))
    out: list[tuple[int, dict[str, Any]]] = []
    for n, row in enumerate(it, start=2):
        if not row or all(c is None or str(c).strip() == "" for c in row):
            continue
        if len(out) >= MAX_IMPORT_ROWS:
            problems.add(_("超过%(n)s行，请分批导入。") % {"n": MAX_IMPORT_ROWS}, row=n)
            break
        values: dict[str, Any] = {}
        for key, idx in cols.items():
            v = row[idx] if idx < len(row) else None
            values[key] = v if key == "day" and v is not None and not isinstance(v, str) else (
                "" if v is None else str(v).strip())
        out.append((n, values))
    problems.raise_if_any(_("人员名单格式不正确。"))
    return out
