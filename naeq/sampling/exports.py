"""Excel workbooks of the sample (write-only, streamed) and the test-taker sheet reader.

Student lists are pseudonymised unless the caller passes ``with_names`` (decided by
:func:`naeq.sampling.access.may_see_names`): test ID, sex, birth month, grade, class, booklets, status.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook

from naeq.core.errors import InvalidInput, ProblemCollector
from naeq.sampling.models import SampledSchool, SampledStudent, StudentStatus
from naeq.sampling.selectors import CountyProgress

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_UPLOAD_BYTES = 5 * 1024 * 1024


def _workbook(title: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=title[:31])
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def schools_xlsx(rows: Sequence[SampledSchool]) -> bytes:
    header = [_("县（区）代码"), _("学校标识码"), _("学校名称"), _("年级"), _("角色"), _("替补对象"), _("县内入样概率"),
              _("必选"), _("学校基础权重"), _("年级学生数"), _("参与情况"), _("说明")]
    return _workbook(_("样本校"), header, (
        [r.path[-7:-1], r.school.code, r.school.name, r.grade, r.get_role_display(),
         r.replaces.school.code if r.replaces_id and r.replaces else "", round(r.pi, 6),
         _("是") if r.certainty else "",
         round(r.base_weight, 4), r.enrollment, r.get_participation_display(), r.participation_reason]
        for r in rows))


def students_xlsx(rows: Sequence[SampledStudent], *, with_names: bool) -> bytes:
    subjects = sorted({s for r in rows for s in r.booklets})
    header = [_("测试编号"), *([_("姓名")] if with_names else []), _("性别"), _("出生年月"), _("年级"), _("班级"),
              *[_("%(subject)s题本") % {"subject": s} for s in subjects], _("测试情况")]
    return _workbook(_("样本学生"), header, (
        [r.test_id, *([r.student.name] if with_names else []), r.student.get_sex_display(), r.student.birth_month,
         r.grade, r.student.class_no, *[r.booklets.get(s, "") for s in subjects], r.get_status_display()]
        for r in rows))


def progress_xlsx(rows: Sequence[CountyProgress]) -> bytes:
    header = [_("县（区）代码"), _("县（区）"), _("参与类型"), _("入样概率"), _("样本校"), _("已启用"), _("参加"),
              _("拒绝"), _("名单已提交"), _("已抽学生"), _("测试情况已填报"), _("测试生信息已审核通过")]
    return _workbook(_("各县进度"), header, (
        [r.county.county.code, r.county.county.name, r.county.get_participation_display(), round(r.county.pi, 6),
         r.sampled, r.activated, r.participating, r.refused, r.rosters, r.students_drawn, r.reported,
         r.approved]
        for r in rows))


def test_taker_template(rows: Sequence[SampledStudent], *, with_names: bool) -> bytes:
    """The sheet a school fills in after the test: one row per sampled student, status column to complete."""
    header = [_("测试编号"), *([_("姓名")] if with_names else []), _("年级"), _("班级"), _("测试情况")]
    return _workbook(_("测试生信息"), header, (
        [r.test_id, *([r.student.name] if with_names else []), r.grade, r.student.class_no,
         "" if r.status == StudentStatus.PENDING else r.get_status_display()]
        for r in rows))


def read_test_taker_sheet(*, file_name: str, data: bytes) -> tuple[dict[str, str], dict[str, int]]:
    """(test ID -> status label, test ID -> spreadsheet row) from the first sheet; columns found by header."""
    problems = ProblemCollector(file=file_name)
    if len(data) > MAX_UPLOAD_BYTES:
        raise InvalidInput(_("文件过大（上限5MB）。"), code="file_too_large")
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several unrelated types for a file that is not a workbook
        raise InvalidInput(_("无法读取该文件，请上传Excel（.xlsx）文件。"), code="not_xlsx",
                           problems=[]) from exc
    ws = wb.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    header = [str(c).strip() if c is not None else "" for c in next(rows, ())]
    # The sheet may come from a Chinese or an English session: accept either header.
    id_col = next((k for k, h in enumerate(header) if h in ("测试编号", _("测试编号"))), -1)
    st_col = next((k for k, h in enumerate(header) if h in ("测试情况", _("测试情况"))), -1)
    if id_col < 0:
        problems.add(_("缺少“测试编号”列。"), row=1, field=_("测试编号"))
    if st_col < 0:
        problems.add(_("缺少“测试情况”列。"), row=1, field=_("测试情况"))
    problems.raise_if_any(_("测试生信息表格式不正确。"))
    statuses: dict[str, str] = {}
    where: dict[str, int] = {}
    for n, row in enumerate(rows, start=2):  # one school: at most a few dozen rows
        if not row or all(c is None or str(c).strip() == "" for c in row):
            continue
        tid = str(row[id_col]).strip() if id_col < len(row) and row[id_col] is not None else ""
        status = str(row[st_col]).strip() if st_col < len(row) and row[st_col] is not None else ""
        if not tid:
            problems.add(_("测试编号为空。"), row=n, field=_("测试编号"))
            continue
        if tid in statuses:
            problems.add(_("测试编号重复（第%(row)s行已出现）。") % {"row": where[tid]}, row=n, field=_("测试编号"),
                         value=tid)
            continue
        if not status:
            problems.add(_("测试情况为空。"), row=n, field=_("测试情况"), value=tid)
            continue
        statuses[tid] = status
        where[tid] = n
    problems.raise_if_any(_("测试生信息有误，未做任何修改。"))
    return statuses, where
