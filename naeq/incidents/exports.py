"""Excel exports of the incidents app (write-only workbooks, audited): the schools' incident report forms
(应急事件报告表) and the supervision hotline's call log (监督专线来电记录, phone numbers masked)."""

from __future__ import annotations

import io
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook

from naeq.core.audit import audit_record
from naeq.incidents import access

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _at(value: Any) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _save(wb: Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def reports_xlsx(*, actor: Any, cycle: Any) -> bytes:
    """Every incident report form of ``cycle`` the actor may see, by school and test day."""
    access.staff(actor)
    rows = list(access.reports_visible(actor=actor).filter(cycle=cycle).select_related("school", "county")
                .prefetch_related("cases").order_by("school__code", "test_date"))
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=_("应急事件报告表")[:31])
    ws.append([_("县（区）"), _("学校标识码"), _("学校名称"), _("测试日期"), _("无应急事件"), _("应急事件"),
               _("处置情况说明"), _("校长签名"), _("填报时间"), _("县级收取时间")])
    for r in rows:
        cases = "；".join(f"#{c.pk} {c.category_name}（{c.grade_name}）" for c in r.cases.all())
        ws.append([r.county.name, r.school.code, r.school.name, r.test_date.isoformat(),
                   _("是") if r.no_incident else _("否"), cases, r.handling, r.signed_by, _at(r.filed_at),
                   _at(r.collected_at)])
    audit_record(actor=actor, action="incidents.reports_export", object_type="cycle", object_id=cycle.pk,
                 after={"rows": len(rows)})
    return _save(wb)


def calls_xlsx(*, actor: Any, cycle: Any) -> bytes:
    """The hotline call log of ``cycle`` in the actor's jurisdiction (county staff and above); caller phone
    numbers masked as on the pages (139*****78)."""
    from naeq.incidents.selectors import call_list

    rows = list(call_list(actor=actor, cycle=cycle).order_by("received_at", "id"))
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=_("监督专线来电记录")[:31])
    ws.append([_("来电时间"), _("县（区）"), _("涉及学校"), _("来电人类型"), _("来电号码"), _("来电类别"),
               _("来电内容摘要"), _("接听人"), _("处理结果"), _("办结时间"), _("转为应急事件")])
    for c in rows:
        ws.append([_at(c.received_at), c.county.name, c.school.name if c.school else "", c.get_caller_type_display(),
                   c.masked_phone, c.get_topic_display(), c.summary, c.handler.username if c.handler else "",
                   c.result, _at(c.closed_at), f"#{c.case.pk}" if c.case else ""])
    audit_record(actor=actor, action="incidents.calls_export", object_type="cycle", object_id=cycle.pk,
                 after={"rows": len(rows)})
    return _save(wb)
