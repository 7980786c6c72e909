"""The county custody ledger as an Excel workbook (write-only): one sheet of events in order, one of alerts."""

from __future__ import annotations

import io
from typing import Any

from django.utils.translation import gettext as _
from openpyxl import Workbook

from naeq.custody.services import local_tz

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _yes_no(value: bool | None) -> str:
    return "" if value is None else (_("是") if value else _("否"))


def ledger_xlsx(ledger: Any) -> bytes:
    """``ledger`` is a :class:`naeq.custody.selectors.Ledger`."""
    tz = local_tz()
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=_("保密交接记录")[:31])
    ws.append([_("序号"), _("时间"), _("环节"), _("学校标识码"), _("学校名称"), _("测试日期"), _("箱数"),
               _("应到箱数（清单）"), _("封条号"), _("封条完好"), _("存放位置"), _("邮寄单号"), _("签字人一"),
               _("签字人二"), _("对应发放记录"), _("两天保管审批"), _("备注"), _("登记人"), _("登记时间")])
    for i, e in enumerate(ledger.events, start=1):
        ws.append([i, e.at.astimezone(tz).strftime("%Y-%m-%d %H:%M"), e.get_kind_display(),
                   e.school.code if e.school else "", e.school.name if e.school else "",
                   e.test_day.isoformat() if e.test_day else "", e.boxes,
                   e.expected_boxes if e.expected_boxes is not None else "", e.seal_numbers,
                   _yes_no(e.seals_intact), e.location, e.tracking_no, e.signatory_1, e.signatory_2,
                   e.issue_id or "", e.keep_id or "", e.note,
                   e.recorded_by.username if e.recorded_by else "",
                   e.recorded_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")])
    wa = wb.create_sheet(title=_("预警")[:31])
    wa.append([_("类别"), _("学校标识码"), _("学校名称"), _("说明"), _("时限")])
    for a in ledger.alerts:
        wa.append([a.kind, a.school_code, a.school_name, a.message,
                   a.due.astimezone(tz).strftime("%Y-%m-%d %H:%M") if a.due else ""])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def records_xlsx(*, actor: Any, cycle: Any) -> bytes:
    """Every 测试情况记录表 of ``cycle`` the actor may read (their jurisdiction), one row per session and room, in
    school and time order; the export is audited. Test IDs only — no names."""
    from naeq.core.audit import audit_record
    from naeq.custody.access import records_visible, require_records_reader
    from naeq.custody.models import DeviationCategory

    require_records_reader(actor=actor)
    tz = local_tz()
    labels = dict(DeviationCategory.choices)
    rows = list(records_visible(actor=actor).filter(session__cycle=cycle).select_related(
        "session", "session__school", "session__county").order_by("session__school__code", "session__starts_at",
                                                                   "room"))

    def people(items: list[dict[str, str]]) -> str:
        return "；".join(f"{p.get('code', '')} {p.get('reason', '')}".strip() for p in items)

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=_("测试情况记录表")[:31])
    ws.append([_("县（区）"), _("学校标识码"), _("学校名称"), _("场次"), _("计划开始时间"), _("测试教室"),
               _("实际开始时间"), _("实际结束时间"), _("应到人数"), _("实到人数"), _("缺考人数"), _("缺考学生"),
               _("体育免测学生"), _("异常情况")])
    for r in rows:
        s = r.session
        ws.append([s.county.name, s.school.code if s.school else "", s.school.name if s.school else "", s.title,
                   s.starts_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"), r.room,
                   r.actual_start.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                   r.actual_end.astimezone(tz).strftime("%Y-%m-%d %H:%M"), r.expected, r.present,
                   len(r.absentees), people(r.absentees), people(r.pe_exempt),
                   "；".join(f"{labels.get(d.get('category', ''), d.get('category', ''))}：{d.get('text', '')}"
                            for d in r.deviations)])
    buf = io.BytesIO()
    wb.save(buf)
    audit_record(actor=actor, action="custody.records_export", object_type="cycle", object_id=cycle.pk,
                 after={"rows": len(rows)})
    return buf.getvalue()
