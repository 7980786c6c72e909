"""The upload template and the export of a county's registry in the same form."""

from __future__ import annotations

import io

from django.utils.translation import gettext as _

from naeq.registry.imports.columns import DATA_SHEET, HEADERS, MAX_STUDENTS, NOTES_SHEET, _ur_option
from naeq.registry.models import Ownership, Region, School, SchoolLevel, UrbanRural

# ------------------------------------------------------------------------------------------------ templates


def registry_template_xlsx(*, county: Region | None = None, schools: list[School] | None = None) -> bytes:
    """The upload template; with ``schools``, pre-filled with them (the county's current registry, re-uploadable)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    ws.title = DATA_SHEET
    ws.append(list(HEADERS))
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    for cell in ws[1]:
        cell.font, cell.fill, cell.alignment = bold, fill, Alignment(horizontal="center")
    for letter, width in zip("ABCDEFGHI", (14, 32, 18, 16, 10, 13, 13, 13, 13), strict=True):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"
    last = 1000
    for row in (schools or []):
        ws.append([row.code, row.name, str(SchoolLevel(row.level).label), _ur_option(row.urban_rural),
                   str(Ownership(row.ownership).label), row.g4_enrollment, row.g4_classes, row.g8_enrollment,
                   row.g8_classes])
    last = max(last, ws.max_row + 200)
    for r in range(2, last + 1):  # codes as text, so Excel keeps all ten digits and never shows 1.6301E+09
        ws.cell(row=r, column=1).number_format = "@"
    lists = (("C", [str(label) for label in SchoolLevel.labels]),
             ("D", [_ur_option(v) for v in UrbanRural.values]),
             ("E", ["公办", "民办"]))
    for letter, options in lists:
        dv = DataValidation(type="list", formula1='"' + ",".join(options) + '"', allow_blank=False,
                            showErrorMessage=True, errorTitle=_("请从下拉列表中选择"),
                            error=_("只能填写下拉列表中的值。"))
        dv.add(f"{letter}2:{letter}{last}")
        ws.add_data_validation(dv)
    counts = DataValidation(type="whole", operator="between", formula1="0", formula2=str(MAX_STUDENTS),
                            showErrorMessage=True, error=_("请填写不小于0的整数。"))
    counts.add(f"F2:I{last}")
    ws.add_data_validation(counts)
    code_len = DataValidation(type="textLength", operator="equal", formula1="10", showErrorMessage=True,
                              error=_("学校标识码为10位数字。"))
    code_len.add(f"A2:A{last}")
    ws.add_data_validation(code_len)

    notes = wb.create_sheet(NOTES_SHEET)
    notes.column_dimensions["A"].width = 16
    notes.column_dimensions["B"].width = 100
    prefix = f"1{county.code}" if county is not None else "1 + 本县（区）6位行政区划代码"
    lines = [
        (_("填写说明"), ""),
        ("", _("每所有四年级或八年级学生的学校填写一行，不要合并单元格，不要改动列标题；"
               "上传任何一处有误时不会导入任何数据。")),
        ("学校标识码", _("10位数字：%(prefix)s + 3位学校序号。请保持文本格式，不要写成科学计数法。")
         % {"prefix": prefix}),
        ("学校名称", _("学校全称，不超过100字。")),
        ("办学类型", "、".join(str(label) for label in SchoolLevel.labels)
         + _("。小学不能有八年级学生，初中和完全中学不能有四年级学生，一贯制学校至少有一个年级的学生。")),
        ("城乡分类代码", _("统计用城乡分类代码，可填“111”或“111 主城区”：") + "、".join(
            _ur_option(v) for v in UrbanRural.values)),
        ("举办者", _("公办或民办。")),
        ("学生数、班级数", _("不小于0的整数；没有该年级填0或留空；有学生时班级数至少为1，且班级数不能多于学生数。")),
    ]
    for a, b in lines:
        notes.append([a, b])
    notes["A1"].font = Font(bold=True, size=14)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def registry_template_csv() -> bytes:
    """The header row as CSV, UTF-8 with a BOM so that Excel opens it with the right encoding."""
    return ("\ufeff" + ",".join(HEADERS) + "\r\n").encode("utf-8")


def registry_export_xlsx(*, county: Region, schools: list[School]) -> bytes:
    """A county's registry in the template's form: the file to correct and upload again."""
    return registry_template_xlsx(county=county, schools=schools)


