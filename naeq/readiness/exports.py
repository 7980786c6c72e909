"""The self-checks (自查表) as an Excel workbook (write-only, audited): one sheet per kind (school, county), one row
per unit of the actor's jurisdiction that has started its self-check, one column per checklist item."""

from __future__ import annotations

import io
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook

from naeq.core.audit import audit_record
from naeq.readiness import access
from naeq.readiness.config import config_for

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _at(value: Any) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def checks_xlsx(*, actor: Any, cycle: Any) -> bytes:
    access.staff(actor)
    config = config_for(cycle.year)
    checks = list(access.checks_visible(actor=actor).filter(cycle=cycle)
                  .select_related("county", "school").prefetch_related("evidence")
                  .order_by("kind", "county__code", "school__code"))
    answer_label = {"yes": _("是"), "no": _("否")}
    wb = Workbook(write_only=True)
    for kind in ("school", "county"):
        checklist = config.checklists.get(kind)
        if checklist is None:
            continue
        ws = wb.create_sheet(title=str(checklist.title)[:31])
        ws.append([_("县（区）"), _("单位标识码"), _("单位名称"), _("状态"), _("提交时间"), _("审核时间"),
                   _("退回理由"), *[str(i.label) for i in checklist.items]])
        for c in (c for c in checks if c.kind == kind):
            unit = c.school if c.school is not None else c.county
            evidence: dict[str, int] = {}
            for ev in c.evidence.all():
                evidence[ev.item_id] = evidence.get(ev.item_id, 0) + 1
            cells = []
            for item in checklist.items:
                if item.type == "evidence":
                    cells.append(_("%(n)s个文件") % {"n": evidence.get(item.id, 0)})
                    continue
                a = c.answers.get(item.id) or {}
                value = str(a.get("value", ""))
                text = answer_label.get(value, value) if item.type == "yesno" else value
                if a.get("remedy"):
                    text += "（" + _("整改：%(r)s %(d)s") % {"r": a["remedy"], "d": a.get("remedy_date", "")} + "）"
                cells.append(text)
            ws.append([c.county.name, unit.code, unit.name, c.get_status_display(), _at(c.submitted_at),
                       _at(c.reviewed_at), c.return_reason, *cells])
    buf = io.BytesIO()
    wb.save(buf)
    audit_record(actor=actor, action="readiness.checks_export", object_type="cycle", object_id=cycle.pk,
                 after={"rows": len(checks)})
    return buf.getvalue()

