"""Writes of naeq.readiness: trainings and their attendance, self-check answers, evidence, submission and review.

Every service is atomic, decides access through :mod:`naeq.readiness.access`, validates with precise Chinese
messages (:class:`InvalidInput` with one :class:`Problem` per field or row) and writes an audit event in the same
transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from naeq.core.audit import audit_record
from naeq.core.errors import InvalidInput, PermissionDenied, ProblemCollector
from naeq.core.validation import full_clean_or_raise
from naeq.cycles.models import Cycle
from naeq.readiness import access
from naeq.readiness.attendance import read_attendance
from naeq.readiness.config import Checklist, Item, config_for
from naeq.readiness.evidence import check_upload, clean_original_name, evidence_store, evidence_unlink
from naeq.readiness.models import (
    CheckStatus,
    Evidence,
    SelfCheck,
    TrainingAttendance,
    TrainingEvent,
    TrainingLevel,
)
from naeq.registry.models import Region, School
from naeq.sampling.models import SampledStudent

# ------------------------------------------------------------------------------------------- trainings


def _parse_date(raw: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat((raw or "").strip())
    except ValueError:
        return None


@transaction.atomic
def training_create(*, actor: Any, cycle: Cycle, title: str, topics: list[str], date: str, place: str,
                    trainer: str, materials: str = "") -> TrainingEvent:
    """Record a training of the actor's own unit (province, county or school)."""
    j = access.staff(actor)
    level = access.training_level_of(actor=actor)
    if level is None:
        raise PermissionDenied(_("您的账户只能查看培训记录，不能录入。"))
    config = config_for(cycle.year)
    problems = ProblemCollector()
    title, place, trainer, materials = (title or "").strip(), (place or "").strip(), (trainer or "").strip(), (
        materials or "").strip()
    if not title:
        problems.add(_("请填写培训名称。"), field=_("培训名称"))
    elif len(title) > 100:
        problems.add(_("培训名称不能超过100字。"), field=_("培训名称"))
    names = config.topic_names()
    chosen = [t for t in dict.fromkeys(topics or []) if t]
    if not chosen:
        problems.add(_("请至少选择一项培训内容。"), field=_("培训内容"))
    for t in chosen:
        if t not in names:
            problems.add(_("培训内容“%(t)s”不在配置的培训内容中。") % {"t": t}, field=_("培训内容"))
    day = _parse_date(date)
    if day is None:
        problems.add(_("培训日期格式应为YYYY-MM-DD。"), field=_("培训日期"))
    elif not cycle.year - 1 <= day.year <= cycle.year:
        problems.add(_("培训日期应在%(y)s年监测周期内。") % {"y": cycle.year}, field=_("培训日期"))
    if not place:
        problems.add(_("请填写培训地点。"), field=_("培训地点"))
    elif len(place) > 100:
        problems.add(_("培训地点不能超过100字。"), field=_("培训地点"))
    if not trainer:
        problems.add(_("请填写培训人。"), field=_("培训人"))
    elif len(trainer) > 60:
        problems.add(_("培训人不能超过60字。"), field=_("培训人"))
    if len(materials) > 300:
        problems.add(_("培训材料不能超过300字。"), field=_("培训材料"))
    problems.raise_if_any(_("培训记录未保存，请修改以下问题。"))
    assert day is not None  # raise_if_any raised when the date was unreadable
    school: School | None = None
    if level == TrainingLevel.SCHOOL:
        school = School.objects.select_related("county").get(pk=int(j.school_id or 0))
        region = school.county
    else:
        region = Region.objects.get(path=j.path)
    event = TrainingEvent(cycle=cycle, level=level, region=region, school=school, path=region.path, title=title,
                          topics=chosen, date=day, place=place, trainer=trainer, materials=materials,
                          created_by=actor)
    full_clean_or_raise(event)
    event.save()
    audit_record(actor=actor, action="readiness.training_create", object_type="readiness.TrainingEvent",
                 object_id=event.pk, after={"level": level, "region": region.code,
                                            "school": school.code if school else None, "title": title,
                                            "topics": chosen, "date": day, "place": place, "trainer": trainer})
    return event


def _allowed_schools(event: TrainingEvent) -> dict[str, int]:
    """Codes of the schools whose staff may appear on ``event``'s attendance -> id."""
    if event.level == TrainingLevel.SCHOOL:
        qs = School.objects.filter(pk=int(event.school_id or 0))
    else:
        qs = School.objects.filter(path__startswith=event.path)
    return dict(qs.values_list("code", "id"))


@transaction.atomic
def attendance_import(*, actor: Any, event_id: int, file_name: str, data: bytes) -> int:
    """Replace the attendance of a training with the rows of the workbook (all or nothing). Returns the count."""
    event = access.require_training_writer(actor=actor, event_id=event_id)
    config = config_for(event.cycle.year)
    rows = read_attendance(data, file_name=file_name, config=config)
    schools = _allowed_schools(event)
    problems = ProblemCollector(file=file_name)
    for r in rows:
        if r.school_code and r.school_code not in schools:
            problems.add(_("学校标识码“%(code)s”不在本次培训的组织单位范围内。") % {"code": r.school_code},
                         row=r.row, field="学校标识码", value=r.school_code)
        if not r.school_code and event.level == TrainingLevel.SCHOOL:
            problems.add(_("校级培训的每一行都要填写本校的学校标识码。"), row=r.row, field="学校标识码")
    problems.raise_if_any(_("签到表无法导入：请修改以下问题后重新上传（未导入任何记录）。"))
    before = event.attendance.count()
    event.attendance.all().delete()
    TrainingAttendance.objects.bulk_create([
        TrainingAttendance(event=event, person_name=r.person_name, post=r.post,
                           school_id=schools[r.school_code] if r.school_code else None, attended=r.attended,
                           note=r.note) for r in rows])
    audit_record(actor=actor, action="readiness.attendance_import", object_type="readiness.TrainingEvent",
                 object_id=event.pk, before={"rows": before},
                 after={"rows": len(rows), "attended": sum(r.attended for r in rows), "file": file_name,
                        "sha256": hashlib.sha256(data).hexdigest()})
    return len(rows)


# ------------------------------------------------------------------------------------------- self-checks


def students_of(cycle: Cycle, school: School) -> int:
    """The number of students a school tests in ``cycle``: its drawn students, or (before the draw) the
    enrolment of its tested grades."""
    drawn = SampledStudent.objects.filter(cycle=cycle, sampled_school__school=school).count()
    if drawn:
        return drawn
    return sum(getattr(school, f"g{g}_enrollment") for g in school.grades)


def minimum_for(item: Item, students: int) -> int | None:
    """The least acceptable number for a number item (``min`` and ``min_ratio_of_students`` of students)."""
    floors = []
    if item.min is not None:
        floors.append(math.ceil(item.min))
    if item.min_ratio_of_students is not None:
        floors.append(math.ceil(item.min_ratio_of_students * students - 1e-9))
    return max(floors) if floors else None


def _checklist(cycle: Cycle, kind: str) -> Checklist:
    return config_for(cycle.year).checklists[kind]


def _unit_check(cycle: Cycle, kind: str, obj: School | Region, *, lock: bool = False) -> SelfCheck | None:
    qs = SelfCheck.objects.filter(cycle=cycle, kind=kind).order_by("pk")  # no join: FOR UPDATE on PostgreSQL
    if lock:
        qs = qs.select_for_update()
    if isinstance(obj, School):
        return qs.filter(school=obj).first()
    return qs.filter(county=obj).first()


def _new_check(cycle: Cycle, kind: str, obj: School | Region) -> SelfCheck:
    if isinstance(obj, School):
        return SelfCheck(cycle=cycle, kind=kind, county_id=obj.county_id, school=obj, path=obj.path)
    return SelfCheck(cycle=cycle, kind=kind, county=obj, school=None, path=obj.path)


def minimums_for(cycle: Cycle, checklist: Checklist, obj: School | Region) -> dict[str, int]:
    students = students_of(cycle, obj) if isinstance(obj, School) else 0
    out = {}
    for item in checklist.items:
        if item.type == "number":
            m = minimum_for(item, students)
            if m is not None:
                out[item.id] = m
    return out


def clean_answers(checklist: Checklist, raw: dict[str, dict[str, str]], minimums: dict[str, int],
                  problems: ProblemCollector) -> dict[str, dict[str, Any]]:
    """Check the format of every answer (not completeness); returns the answers to store."""
    out: dict[str, dict[str, Any]] = {}
    for item in checklist.items:
        if item.type == "evidence":
            continue
        entry = raw.get(item.id) or {}
        value_raw = (entry.get("value") or "").strip()
        remedy = (entry.get("remedy") or "").strip()
        remedy_date = (entry.get("remedy_date") or "").strip()
        stored: dict[str, Any] = {}
        if item.type == "yesno":
            if value_raw not in ("", "yes", "no"):
                problems.add(_("只能选择“是”或“否”。"), field=item.label, value=value_raw)
                continue
            stored["value"] = value_raw
        elif item.type == "number":
            if value_raw and not (value_raw.isdigit() and len(value_raw) <= 6):
                problems.add(_("应填写不小于0的整数。"), field=item.label, value=value_raw)
                continue
            stored["value"] = int(value_raw) if value_raw else None
        else:
            if len(value_raw) > 1000:
                problems.add(_("不能超过1000字。"), field=item.label)
                continue
            stored["value"] = value_raw
        if len(remedy) > 500:
            problems.add(_("整改措施不能超过500字。"), field=item.label)
        if remedy_date and _parse_date(remedy_date) is None:
            problems.add(_("整改完成日期格式应为YYYY-MM-DD。"), field=item.label, value=remedy_date)
        stored["remedy"] = remedy
        stored["remedy_date"] = remedy_date if _parse_date(remedy_date) else ""
        out[item.id] = stored
    unknown = set(raw) - {i.id for i in checklist.items}
    for key in sorted(unknown):
        problems.add(_("自查清单中没有这一项。"), field=key)
    return out


def needs_remedy(item: Item, answer: dict[str, Any], minimums: dict[str, int]) -> bool:
    """A required "no", or a number below its minimum, needs a remedy note and a date."""
    value = answer.get("value")
    if item.type == "yesno":
        return item.required and value == "no"
    if item.type == "number" and value is not None and item.id in minimums:
        return int(value) < minimums[item.id]
    return False


def completeness_problems(checklist: Checklist, answers: dict[str, dict[str, Any]], minimums: dict[str, int],
                          evidence_items: set[str]) -> ProblemCollector:
    """What stops a submission: unanswered required items, a "no" or shortfall without remedy and date,
    required evidence missing."""
    problems = ProblemCollector()
    for item in checklist.items:
        answer = answers.get(item.id) or {}
        value = answer.get("value")
        if item.type == "evidence":
            if item.required and item.id not in evidence_items:
                problems.add(_("请上传佐证材料（照片或PDF）。"), field=item.label)
            continue
        if item.required and value in (None, ""):
            problems.add(_("必填项未填写。"), field=item.label)
            continue
        if needs_remedy(item, answer, minimums):
            if item.type == "number":
                reason = _("%(v)s低于要求的%(m)s，须填写整改措施和完成日期。") % {
                    "v": value, "m": minimums[item.id]}
            else:
                reason = _("选择“否”时须填写整改措施和整改完成日期。")
            if not answer.get("remedy") or not answer.get("remedy_date"):
                problems.add(reason, field=item.label)
    return problems


def _snapshot(check: SelfCheck) -> dict[str, Any]:
    return {"status": check.status, "answers": check.answers, "return_reason": check.return_reason}


@transaction.atomic
def check_save(*, actor: Any, cycle: Cycle, kind: str, code: str,
               raw: dict[str, dict[str, str]]) -> SelfCheck:
    """Save the answers of a unit's self-check as a draft (a returned form stays returned until resubmitted)."""
    obj = access.require_filler(actor=actor, cycle=cycle, kind=kind, code=code)
    checklist = _checklist(cycle, kind)
    check = _unit_check(cycle, kind, obj, lock=True) or _new_check(cycle, kind, obj)
    if check.pk and not check.editable:
        raise InvalidInput(_("该自查表已%(status)s，不能修改。") % {"status": check.get_status_display()},
                           code="check_locked")
    problems = ProblemCollector()
    answers = clean_answers(checklist, raw, minimums_for(cycle, checklist, obj), problems)
    problems.raise_if_any(_("自查表未保存，请修改以下问题。"))
    before = _snapshot(check) if check.pk else None
    check.answers = answers
    check.updated_at, check.updated_by = timezone.now(), actor
    full_clean_or_raise(check, exclude=["cycle", "county", "school"])
    check.save()
    audit_record(actor=actor, action="readiness.check_save", object_type="readiness.SelfCheck",
                 object_id=check.pk, before=before, after=_snapshot(check))
    return check


@transaction.atomic
def check_submit(*, actor: Any, cycle: Cycle, kind: str, code: str) -> SelfCheck:
    """Submit a saved self-check for review; every required item answered, every "no" with remedy and date."""
    obj = access.require_filler(actor=actor, cycle=cycle, kind=kind, code=code)
    check = _unit_check(cycle, kind, obj, lock=True)
    if check is None:
        raise InvalidInput(_("请先填写并保存自查表。"), code="check_missing")
    if not check.editable:
        raise InvalidInput(_("该自查表已%(status)s，不能再次提交。") % {"status": check.get_status_display()},
                           code="check_locked")
    checklist = _checklist(cycle, kind)
    evidence_items = set(check.evidence.values_list("item_id", flat=True))
    problems = completeness_problems(checklist, check.answers, minimums_for(cycle, checklist, obj), evidence_items)
    problems.raise_if_any(_("自查表不能提交，请修改以下问题。"))
    before = _snapshot(check)
    check.status = CheckStatus.SUBMITTED
    check.submitted_at, check.submitted_by = timezone.now(), actor
    check.save(update_fields=["status", "submitted_at", "submitted_by"])
    audit_record(actor=actor, action="readiness.check_submit", object_type="readiness.SelfCheck",
                 object_id=check.pk, before=before, after=_snapshot(check))
    return check


@transaction.atomic
def check_review(*, actor: Any, cycle: Cycle, kind: str, code: str, approve: bool, reason: str = "") -> SelfCheck:
    """Approve (locks the form) or return with a reason (editable again) a submitted self-check."""
    obj = access.require_reviewer(actor=actor, cycle=cycle, kind=kind, code=code)
    check = _unit_check(cycle, kind, obj, lock=True)
    if check is None or check.status != CheckStatus.SUBMITTED:
        raise InvalidInput(_("只能审核已提交的自查表。"), code="check_not_submitted")
    reason = (reason or "").strip()
    if not approve and not reason:
        raise InvalidInput(_("退回时必须填写退回理由。"), code="no_reason")
    if len(reason) > 500:
        raise InvalidInput(_("退回理由不能超过500字。"), code="reason_too_long")
    before = _snapshot(check)
    check.status = CheckStatus.APPROVED if approve else CheckStatus.RETURNED
    check.return_reason = "" if approve else reason
    check.reviewed_at, check.reviewed_by = timezone.now(), actor
    check.save(update_fields=["status", "return_reason", "reviewed_at", "reviewed_by"])
    audit_record(actor=actor, action="readiness.check_approve" if approve else "readiness.check_return",
                 object_type="readiness.SelfCheck", object_id=check.pk, before=before, after=_snapshot(check))
    return check


@transaction.atomic
def evidence_add(*, actor: Any, cycle: Cycle, kind: str, code: str, item_id: str, file_name: str,
                 data: bytes) -> Evidence:
    """Attach a photo or PDF to an evidence item of an editable self-check (a draft is started if none)."""
    obj = access.require_filler(actor=actor, cycle=cycle, kind=kind, code=code)
    item = _checklist(cycle, kind).item(item_id)
    if item is None or item.type != "evidence":
        raise InvalidInput(_("该自查项不需要上传佐证材料。"), code="not_evidence_item")
    check = _unit_check(cycle, kind, obj, lock=True)
    if check is None:
        check = _new_check(cycle, kind, obj)
        check.updated_by = actor
        check.save()
        audit_record(actor=actor, action="readiness.check_save", object_type="readiness.SelfCheck",
                     object_id=check.pk, before=None, after=_snapshot(check))
    elif not check.editable:
        raise InvalidInput(_("该自查表已%(status)s，不能修改。") % {"status": check.get_status_display()},
                           code="check_locked")
    if check.evidence.count() >= 50:
        raise InvalidInput(_("每份自查表最多上传50个佐证文件。"), code="too_many_files")
    ext, content_type = check_upload(file_name, data)
    stored = evidence_store(check.pk, ext, data)
    ev = Evidence(selfcheck=check, item_id=item.id, stored_name=stored, original_name=clean_original_name(file_name),
                  content_type=content_type, size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                  uploaded_by=actor)
    ev.save()
    audit_record(actor=actor, action="readiness.evidence_add", object_type="readiness.Evidence", object_id=ev.pk,
                 after={"check": check.pk, "item": item.id, "name": ev.original_name, "size": ev.size,
                        "sha256": ev.sha256})
    return ev


@transaction.atomic
def evidence_delete(*, actor: Any, cycle: Cycle, kind: str, code: str, evidence_id: int) -> None:
    """Remove an evidence file from an editable self-check of the actor's unit."""
    obj = access.require_filler(actor=actor, cycle=cycle, kind=kind, code=code)
    check = _unit_check(cycle, kind, obj, lock=True)
    ev = Evidence.objects.filter(pk=evidence_id, selfcheck=check).first() if check else None
    if ev is None or check is None:
        raise InvalidInput(_("没有找到该佐证材料。"), code="evidence_missing")
    if not check.editable:
        raise InvalidInput(_("该自查表已%(status)s，不能修改。") % {"status": check.get_status_display()},
                           code="check_locked")
    snapshot = {"check": check.pk, "item": ev.item_id, "name": ev.original_name, "sha256": ev.sha256}
    check_id, stored = check.pk, ev.stored_name
    ev.delete()
    audit_record(actor=actor, action="readiness.evidence_delete", object_type="readiness.Evidence",
                 object_id=evidence_id, before=snapshot)
    transaction.on_commit(lambda: evidence_unlink(check_id, stored))
