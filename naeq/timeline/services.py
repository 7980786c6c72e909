"""Writes of the timeline: mark a manual milestone done, review it; save, submit and review a completion report or
implementation summary; attach files. Each is atomic, checked by :mod:`naeq.timeline.access`, validated with
precise Chinese messages and audited in the same transaction.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from naeq.core.audit import audit_record
from naeq.core.errors import InvalidInput, NotFound, Problem
from naeq.cycles.models import Cycle
from naeq.timeline import access, attachments
from naeq.timeline.config import Milestone, milestone_get
from naeq.timeline.models import (
    REPORT_KIND_OF_LEVEL,
    MilestoneStatus,
    Report,
    ReportAttachment,
    State,
)
from naeq.timeline.reports import MAX_SECTION_CHARS, SECTIONS
from naeq.timeline.units import Unit

MAX_REASON = 500
DECISIONS = ("approve", "return")


def _manual(cycle: Cycle, unit: Unit, code: str) -> Milestone:
    m = milestone_get(cycle, code)
    if m is None or m.level != unit.level:
        raise NotFound(_("没有找到该里程碑。"))
    if not m.manual:
        raise InvalidInput(_("“%(name)s”由系统根据已提交的数据自动计算，不能手工标记。") % {"name": m.name},
                           code="derived_milestone")
    return m


def _snapshot(st: MilestoneStatus) -> dict[str, Any]:
    return {"milestone": st.milestone, "unit": st.school_id or st.region_id, "state": st.state, "note": st.note,
            "reason": st.reason}


def _reason(decision: str, reason: str) -> str:
    if decision not in DECISIONS:
        raise InvalidInput(_("审核结论应为“通过”或“退回”。"), code="bad_decision",
                           problems=[Problem(reason=_("审核结论应为“通过”或“退回”。"), field="decision")])
    reason = (reason or "").strip()
    if decision == "return" and not reason:
        raise InvalidInput(_("退回时必须填写退回原因。"), code="reason_required",
                           problems=[Problem(reason=_("退回时必须填写退回原因。"), field="reason")])
    if len(reason) > MAX_REASON:
        raise InvalidInput(_("退回原因不能超过%(n)s个字符。") % {"n": MAX_REASON}, code="reason_too_long",
                           problems=[Problem(reason=_("退回原因不能超过%(n)s个字符。") % {"n": MAX_REASON},
                                             field="reason")])
    return reason


# ------------------------------------------------------------------------------------------------ milestones


@transaction.atomic
def milestone_submit(*, actor: Any, cycle: Cycle, unit_code: str, milestone: str, note: str = "") -> MilestoneStatus:
    """The unit marks a manual milestone done; it waits for the level above."""
    unit = access.require_submitter(actor=actor, cycle=cycle, code=unit_code)
    m = _manual(cycle, unit, milestone)
    note = (note or "").strip()
    if len(note) > MAX_REASON:
        raise InvalidInput(_("说明不能超过%(n)s个字符。") % {"n": MAX_REASON}, code="note_too_long",
                           problems=[Problem(reason=_("说明不能超过%(n)s个字符。") % {"n": MAX_REASON}, field="note")])
    st, _created = MilestoneStatus.objects.select_for_update().get_or_create(
        cycle=cycle, milestone=m.code, region=unit.region, school=unit.school,
        defaults={"level": unit.level, "path": unit.path})
    if st.state not in (State.NOT_STARTED, State.RETURNED):
        raise InvalidInput(_("“%(name)s”已提交（%(state)s），不能重复提交。")
                           % {"name": m.name, "state": st.get_state_display()}, code="already_submitted")
    before = _snapshot(st)
    st.state, st.note, st.reason = State.SUBMITTED, note, ""
    st.submitted_at, st.submitted_by = timezone.now(), actor
    st.full_clean()
    st.save()
    audit_record(actor=actor, action="timeline.milestone_submit", object_type="timeline.MilestoneStatus",
                 object_id=st.pk, before=before, after=_snapshot(st))
    return st


@transaction.atomic
def milestone_review(*, actor: Any, cycle: Cycle, unit_code: str, milestone: str, decision: str,
                     reason: str = "") -> MilestoneStatus:
    """The level above approves a submitted milestone or returns it with a reason."""
    unit = access.require_reviewer(actor=actor, cycle=cycle, code=unit_code)
    m = _manual(cycle, unit, milestone)
    reason = _reason(decision, reason)
    st = MilestoneStatus.objects.select_for_update().filter(cycle=cycle, milestone=m.code, region=unit.region,
                                                            school=unit.school).first()
    if st is None or st.state != State.SUBMITTED:
        raise InvalidInput(_("“%(name)s”不在待审核状态。") % {"name": m.name}, code="not_submitted")
    before = _snapshot(st)
    st.state = State.APPROVED if decision == "approve" else State.RETURNED
    st.reason = reason if decision == "return" else ""
    st.reviewed_at, st.reviewed_by = timezone.now(), actor
    st.full_clean()
    st.save()
    audit_record(actor=actor, action=f"timeline.milestone_{decision}", object_type="timeline.MilestoneStatus",
                 object_id=st.pk, before=before, after=_snapshot(st))
    return st


# ------------------------------------------------------------------------------------------------ reports


def _report_snapshot(r: Report) -> dict[str, Any]:
    return {"kind": r.kind, "unit": r.school_id or r.region_id, "state": r.state, "sections": r.sections,
            "reason": r.reason}


def _editable_report(actor: Any, cycle: Cycle, unit_code: str) -> tuple[Unit, Report]:
    unit = access.require_submitter(actor=actor, cycle=cycle, code=unit_code)
    kind = REPORT_KIND_OF_LEVEL[unit.level]
    report, _created = Report.objects.select_for_update().get_or_create(
        cycle=cycle, kind=kind, region=unit.region, school=unit.school,
        defaults={"level": unit.level, "path": unit.path})
    if report.state not in (State.DRAFT, State.RETURNED):
        raise InvalidInput(_("该报告已提交（%(state)s），不能修改。") % {"state": report.get_state_display()},
                           code="report_locked")
    return unit, report


@transaction.atomic
def report_save(*, actor: Any, cycle: Cycle, unit_code: str, sections: dict[str, str]) -> Report:
    """Save the text sections (a draft may be incomplete; :func:`report_submit` checks the required ones)."""
    _unit, report = _editable_report(actor, cycle, unit_code)
    defs = SECTIONS[report.kind]
    problems = []
    clean: dict[str, str] = {}
    for s in defs:
        text = (sections.get(s.code) or "").strip()
        if len(text) > MAX_SECTION_CHARS:
            problems.append(Problem(reason=_("“%(title)s”不能超过%(n)s个字符（现有%(len)s个）。")
                                    % {"title": s.title, "n": MAX_SECTION_CHARS, "len": len(text)}, field=s.code))
        clean[s.code] = text
    unknown = sorted(set(sections) - {s.code for s in defs})
    for code in unknown:
        problems.append(Problem(reason=_("未知的报告栏目“%(code)s”。") % {"code": code}, field=code))
    if problems:
        raise InvalidInput(_("报告内容有误，未保存。"), code="bad_report", problems=problems)
    before = _report_snapshot(report)
    report.sections = clean
    report.full_clean()
    report.save()
    audit_record(actor=actor, action="timeline.report_save", object_type="timeline.Report", object_id=report.pk,
                 before=before, after=_report_snapshot(report))
    return report


@transaction.atomic
def report_submit(*, actor: Any, cycle: Cycle, unit_code: str) -> Report:
    """Submit the report to the level above; every required section must be filled."""
    _unit, report = _editable_report(actor, cycle, unit_code)
    missing = [Problem(reason=_("“%(title)s”为必填栏目。") % {"title": s.title}, field=s.code)
               for s in SECTIONS[report.kind] if s.required and not (report.sections.get(s.code) or "").strip()]
    if missing:
        raise InvalidInput(_("报告尚未填写完整，不能提交。"), code="report_incomplete", problems=missing)
    before = _report_snapshot(report)
    report.state, report.reason = State.SUBMITTED, ""
    report.submitted_at, report.submitted_by = timezone.now(), actor
    report.full_clean()
    report.save()
    audit_record(actor=actor, action="timeline.report_submit", object_type="timeline.Report", object_id=report.pk,
                 before=before, after=_report_snapshot(report))
    return report


@transaction.atomic
def report_review(*, actor: Any, cycle: Cycle, unit_code: str, decision: str, reason: str = "") -> Report:
    """The level above approves a submitted report or returns it for revision with a reason."""
    unit = access.require_reviewer(actor=actor, cycle=cycle, code=unit_code)
    reason = _reason(decision, reason)
    report = Report.objects.select_for_update().filter(cycle=cycle, kind=REPORT_KIND_OF_LEVEL[unit.level],
                                                       region=unit.region, school=unit.school).first()
    if report is None or report.state != State.SUBMITTED:
        raise InvalidInput(_("该报告不在待审核状态。"), code="not_submitted")
    before = _report_snapshot(report)
    report.state = State.APPROVED if decision == "approve" else State.RETURNED
    report.reason = reason if decision == "return" else ""
    report.reviewed_at, report.reviewed_by = timezone.now(), actor
    report.full_clean()
    report.save()
    audit_record(actor=actor, action=f"timeline.report_{decision}", object_type="timeline.Report",
                 object_id=report.pk, before=before, after=_report_snapshot(report))
    return report


@transaction.atomic
def attachment_add(*, actor: Any, cycle: Cycle, unit_code: str, name: str, data: bytes) -> ReportAttachment:
    """Attach a file (PDF, JPEG, PNG, DOCX, XLSX; at most 10 MB, at most 10 files) to an editable report."""
    _unit, report = _editable_report(actor, cycle, unit_code)
    name, content_type = attachments.check(name, data)
    if report.attachments.count() >= attachments.MAX_ATTACHMENTS:
        raise InvalidInput(_("每份报告最多上传%(n)s个附件。") % {"n": attachments.MAX_ATTACHMENTS},
                           code="too_many_attachments")
    stored, digest = attachments.store(report.pk, name, data)
    try:
        att = ReportAttachment(report=report, name=name, stored_name=stored, size=len(data),
                               content_type=content_type, sha256=digest, uploaded_by=actor)
        att.full_clean()
        att.save()
        audit_record(actor=actor, action="timeline.attachment_add", object_type="timeline.ReportAttachment",
                     object_id=att.pk, before=None,
                     after={"report": report.pk, "name": name, "size": len(data), "sha256": digest})
    except Exception:
        attachments.remove(report.pk, stored)
        raise
    return att


@transaction.atomic
def attachment_remove(*, actor: Any, cycle: Cycle, unit_code: str, attachment_id: int) -> None:
    _unit, report = _editable_report(actor, cycle, unit_code)
    att = report.attachments.filter(pk=attachment_id).first()
    if att is None:
        raise NotFound(_("没有找到该附件。"))
    before = {"report": report.pk, "name": att.name, "size": att.size, "sha256": att.sha256}
    stored = att.stored_name
    att.delete()
    audit_record(actor=actor, action="timeline.attachment_remove", object_type="timeline.ReportAttachment",
                 object_id=attachment_id, before=before, after=None)
    transaction.on_commit(lambda: attachments.remove(report.pk, stored))
