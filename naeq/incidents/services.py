"""Writes of naeq.incidents: ``<entity>_<verb>(*, actor, ...)``, atomic, validated, audited in the same
transaction; e-mail goes out on commit.

Escalation (configs/default.yaml, from 2023-dongli-district-rules.txt 五: "严重（3级）应急事件，须第一时间报市级
实施工作领导小组"): a new case reaches at once the level its grade names (grade 3 the province, through county and
city; grade 2 the county; grade 1 stays at the school), and the accounts of every level named in
``notify_at_once`` get an in-app notice and an e-mail. Any writer may escalate by hand to a higher level; a grade-2
case still open past its deadline is escalated by :func:`cases_escalate_overdue` (CLI ``naeq incidents overdue``).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from naeq.accounts.models import User
from naeq.accounts.roles import Role
from naeq.core.audit import audit_record
from naeq.core.errors import InvalidInput
from naeq.cycles.models import Cycle
from naeq.incidents import access
from naeq.incidents.config import LEVEL_NAMES, LEVELS, default_config, level_rank
from naeq.incidents.models import (
    CallerType,
    CallTopic,
    CaseLevel,
    CaseSource,
    CaseState,
    EntryKind,
    Escalation,
    Finding,
    HandlingEntry,
    HotlineCall,
    IncidentCase,
    IncidentReport,
    Notice,
)
from naeq.registry.models import Region, School

log = logging.getLogger(__name__)

MAX_TEXT = 2000
#: The accounts told about a case at each level of the chain.
LEVEL_ROLES = {
    "school": (Role.SCHOOL_HEAD,),
    "county": (Role.COUNTY_LIAISON, Role.COUNTY_INFO_OFFICER),
    "city": (Role.CITY_VIEWER,),
    "province": (Role.PROVINCE_COORDINATOR,),
}


def _label(actor: Any) -> str:
    return getattr(actor, "display_name", "") or getattr(actor, "username", "") or _("系统")


def _text(raw: str, field: str, *, required: bool = True) -> str:
    text = (raw or "").strip()
    if required and not text:
        raise InvalidInput(_("请填写%(field)s。") % {"field": field}, code="required")
    if len(text) > MAX_TEXT:
        raise InvalidInput(_("%(field)s不能超过2000字。") % {"field": field}, code="too_long")
    return text


def _actor_or_none(actor: Any) -> Any:
    return actor if getattr(actor, "pk", None) is not None else None


def _snapshot(case: IncidentCase) -> dict[str, Any]:
    return {"grade": case.grade, "category": case.category, "level": case.level, "state": case.state,
            "county": case.county.code, "school": case.school.code if case.school else None}


# ------------------------------------------------------------------------------------------- notices


def _recipients(case: IncidentCase, level: str) -> list[User]:
    if level == "school":
        if case.school_id is None:
            return []
        return list(User.objects.filter(role__in=LEVEL_ROLES["school"], school_id=case.school_id, is_active=True))
    parts = case.path.strip("/").split("/")
    prefixes = ["/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1)]
    region = Region.objects.filter(path__in=prefixes, level=level).first()
    if region is None:
        return []
    return list(User.objects.filter(role__in=LEVEL_ROLES[level], scope_path=region.path, is_active=True))


def _notify(case: IncidentCase, levels: list[str], text: str) -> int:
    """In-app notices for the accounts of ``levels``; e-mail to those with an address after commit."""
    made = 0
    mails: list[str] = []
    for level in levels:
        for user in _recipients(case, level):
            _notice, created = Notice.objects.get_or_create(recipient=user, case=case, text=text[:500],
                                                            defaults={"emailed": bool(user.email)})
            if created:
                made += 1
                if user.email:
                    mails.append(user.email)
    if mails:
        subject = _("【应急事件】%(grade)s %(what)s") % {"grade": case.grade_name, "what": case.category_name}
        body = text

        def send() -> None:
            try:
                send_mail(subject, body, getattr(settings, "DEFAULT_FROM_EMAIL", None), mails)
            except Exception:  # a mail outage must not lose the recorded incident
                log.exception("incident notice e-mail failed for case %s", case.pk)

        transaction.on_commit(send)
    return made


def _notice_text(case: IncidentCase, to_level: str) -> str:
    where = case.school.name if case.school else case.county.name
    return _("%(where)s发生%(grade)s应急事件（%(what)s），已上报至%(level)s：%(desc)s") % {
        "where": where, "grade": case.grade_name, "what": case.category_name, "level": LEVEL_NAMES[to_level],
        "desc": case.description[:200]}


def _escalate(case: IncidentCase, *, to_level: str, how: str, actor: Any, reason: str) -> Escalation:
    from_level = case.level
    esc = Escalation.objects.create(case=case, from_level=from_level, to_level=to_level, how=how,
                                    by=_actor_or_none(actor), reason=reason[:500])
    case.level = to_level
    if case.state == CaseState.OPEN and how == Escalation.How.BY_HAND:
        case.state = CaseState.HANDLING
    case.save(update_fields=["level", "state"])
    HandlingEntry.objects.create(case=case, by=_actor_or_none(actor), by_label=_label(actor),
                                 kind=EntryKind.ESCALATE, to_level=to_level,
                                 text=reason or _("上报至%(level)s。") % {"level": LEVEL_NAMES[to_level]})
    passed = [lv for lv in LEVELS if level_rank(from_level) < level_rank(lv) <= level_rank(to_level)]
    _notify(case, passed, _notice_text(case, to_level))
    return esc


# ------------------------------------------------------------------------------------------- cases


def _create_case(*, actor: Any, cycle: Cycle, county: Region, school: School | None, source: str, category: str,
                 grade: int, occurred_at: dt.datetime, description: str, incident: Any = None) -> IncidentCase:
    config = default_config()
    cat = config.category(category)
    if cat is None:
        raise InvalidInput(_("应急事件类别无效。"), code="bad_category")
    if grade not in (1, 2, 3):
        raise InvalidInput(_("应急事件级别只能是1、2或3级。"), code="bad_grade")
    raised = grade < cat.min_grade
    grade = max(grade, cat.min_grade)
    case = IncidentCase(cycle=cycle, incident=incident, county=county, school=school, path=county.path,
                        source=source, category=category, grade=grade, occurred_at=occurred_at,
                        description=description, opened_by=_actor_or_none(actor),
                        level=CaseLevel.SCHOOL if school is not None else CaseLevel.COUNTY)
    case.full_clean(exclude=["incident"])
    case.save()
    HandlingEntry.objects.create(case=case, by=_actor_or_none(actor), by_label=_label(actor), kind=EntryKind.RECORD,
                                 text=description)
    if raised:
        HandlingEntry.objects.create(
            case=case, by=None, by_label=_("系统"), kind=EntryKind.ACTION,
            text=_("按细则，“%(cat)s”属严重（3级）应急事件，级别已定为%(grade)s。") % {
                "cat": cat.name, "grade": case.grade_name})
    rule = config.grades[grade]
    if level_rank(rule.reach_at_once) > level_rank(case.level):
        _escalate(case, to_level=rule.reach_at_once, how=Escalation.How.AT_ONCE, actor=None,
                  reason=_("%(grade)s应急事件按规定立即上报至%(level)s。") % {
                      "grade": case.grade_name, "level": LEVEL_NAMES[rule.reach_at_once]})
    else:
        extra = [lv for lv in rule.notify_at_once if level_rank(lv) > level_rank(case.level)]
        if extra:
            _notify(case, extra, _notice_text(case, case.level))
    audit_record(actor=actor, action="incidents.case_open", object_type="incidents.IncidentCase",
                 object_id=case.pk, after={**_snapshot(case), "source": source, "description": description,
                                           "grade_raised_by_rule": raised})
    return case


@transaction.atomic
def case_from_incident(*, incident: Any) -> IncidentCase:
    """The case of a session incident (called when :mod:`naeq.delivery` records one; the recorder's access was
    checked there). Idempotent."""
    existing = IncidentCase.objects.filter(incident=incident).first()
    if existing is not None:
        return existing
    session = incident.session
    category = default_config().from_delivery(incident.category).code
    return _create_case(actor=incident.recorded_by, cycle=session.cycle, county=session.county,
                        school=session.school, source=CaseSource.SESSION, category=category, grade=incident.grade,
                        occurred_at=incident.at, description=incident.description, incident=incident)


@transaction.atomic
def case_open(*, actor: Any, county_code: str = "", school_code: str = "", category: str, grade: int,
              description: str, occurred_at: dt.datetime | None = None, cycle: Cycle | None = None) -> IncidentCase:
    """A standalone case (outside a session): a county-level leak, an event before the test, ..."""
    county, school = access.require_case_opener(actor=actor, county_code=county_code, school_code=school_code)
    if cycle is None:
        from naeq.cycles.selectors import cycle_current

        cycle = cycle_current()
        if cycle is None:
            raise InvalidInput(_("尚未设置当前监测周期。"), code="no_cycle")
    when = occurred_at or timezone.now()
    if when > timezone.now() + dt.timedelta(minutes=5):
        raise InvalidInput(_("发生时间不能晚于现在。"), code="future")
    return _create_case(actor=actor, cycle=cycle, county=county, school=school, source=CaseSource.MANUAL,
                        category=category, grade=grade, occurred_at=when,
                        description=_text(description, _("情况说明")))


@transaction.atomic
def case_log(*, actor: Any, case_id: int, text: str) -> HandlingEntry:
    """Append what was done to the handling log."""
    case = access.require_case_writer(actor=actor, case_id=case_id)
    case = IncidentCase.objects.select_for_update(of=("self",)).select_related("county", "school").get(pk=case.pk)
    if case.state == CaseState.CLOSED:
        raise InvalidInput(_("该事件已办结，不能再添加处置记录。"), code="closed")
    body = _text(text, _("处置情况"))
    entry = HandlingEntry.objects.create(case=case, by=actor, by_label=_label(actor), kind=EntryKind.ACTION,
                                         text=body)
    before = case.state
    if case.state == CaseState.OPEN:
        case.state = CaseState.HANDLING
        case.save(update_fields=["state"])
    audit_record(actor=actor, action="incidents.case_log", object_type="incidents.IncidentCase", object_id=case.pk,
                 before={"state": before}, after={"state": case.state, "entry": entry.pk, "text": body})
    return entry


@transaction.atomic
def case_log_system(*, case_id: int, text: str) -> HandlingEntry:
    """A handling log entry written by the system (demo, imports), audited with no actor."""
    case = IncidentCase.objects.select_for_update(of=("self",)).get(pk=case_id)
    entry = HandlingEntry.objects.create(case=case, by=None, by_label=_("系统"), kind=EntryKind.ACTION,
                                         text=_text(text, _("处置情况")))
    before = case.state
    if case.state == CaseState.OPEN:
        case.state = CaseState.HANDLING
        case.save(update_fields=["state"])
    audit_record(actor=None, action="incidents.case_log", object_type="incidents.IncidentCase", object_id=case.pk,
                 before={"state": before}, after={"state": case.state, "entry": entry.pk, "text": entry.text})
    return entry


@transaction.atomic
def case_escalate(*, actor: Any, case_id: int, to_level: str, reason: str) -> IncidentCase:
    case = access.require_case_writer(actor=actor, case_id=case_id)
    case = IncidentCase.objects.select_for_update(of=("self",)).select_related("county", "school").get(pk=case.pk)
    if case.state == CaseState.CLOSED:
        raise InvalidInput(_("该事件已办结，不能再上报。"), code="closed")
    if to_level not in LEVELS:
        raise InvalidInput(_("请选择上报层级。"), code="bad_level")
    if level_rank(to_level) <= level_rank(case.level):
        raise InvalidInput(_("只能上报至高于当前层级（%(level)s）的层级。") % {"level": LEVEL_NAMES[case.level]},
                           code="not_higher")
    body = _text(reason, _("上报理由"))
    before = _snapshot(case)
    _escalate(case, to_level=to_level, how=Escalation.How.BY_HAND, actor=actor, reason=body)
    audit_record(actor=actor, action="incidents.case_escalate", object_type="incidents.IncidentCase",
                 object_id=case.pk, before=before, after={**_snapshot(case), "reason": body})
    return case


@transaction.atomic
def case_close(*, actor: Any, case_id: int, summary: str, violation: str = "", finding_note: str = "",
               unit_is_school: bool = True) -> IncidentCase:
    """Close with the handling result and, if someone is held to account, one finding (violation, unit, note)."""
    case = access.require_case_closer(actor=actor, case_id=case_id)
    case = IncidentCase.objects.select_for_update(of=("self",)).select_related("county", "school").get(pk=case.pk)
    if case.state == CaseState.CLOSED:
        raise InvalidInput(_("该事件已办结。"), code="closed")
    body = _text(summary, _("处置结果"))
    finding = None
    if violation:
        v = default_config().violation(violation)
        if v is None:
            raise InvalidInput(_("责任追究情形无效。"), code="bad_violation")
        note = _text(finding_note, _("认定说明"))
        if unit_is_school and case.school_id is None:
            raise InvalidInput(_("该事件未关联学校，责任单位只能是县（区）。"), code="no_school")
        finding = Finding.objects.create(case=case, violation=v.code, county=case.county,
                                         school=case.school if unit_is_school else None, note=note, by=actor)
    elif finding_note.strip():
        raise InvalidInput(_("填写了认定说明，请选择责任追究情形。"), code="no_violation")
    before = _snapshot(case)
    case.state, case.closed_at, case.closed_by, case.closing_summary = (CaseState.CLOSED, timezone.now(), actor,
                                                                        body)
    case.save(update_fields=["state", "closed_at", "closed_by", "closing_summary"])
    HandlingEntry.objects.create(case=case, by=actor, by_label=_label(actor), kind=EntryKind.CLOSE, text=body)
    audit_record(actor=actor, action="incidents.case_close", object_type="incidents.IncidentCase",
                 object_id=case.pk, before=before,
                 after={**_snapshot(case), "summary": body,
                        "finding": {"violation": finding.violation, "school": finding.school_id is not None,
                                    "note": finding.note} if finding else None})
    return case


@transaction.atomic
def cases_escalate_overdue(*, now: dt.datetime | None = None) -> list[IncidentCase]:
    """Escalate every open case past a deadline of its grade (configs/default.yaml ``escalate_within``) that has
    not yet reached the deadline's level. Run by the system (CLI ``naeq incidents overdue --escalate``)."""
    now = now or timezone.now()
    config = default_config()
    done = []
    for grade, rule in config.grades.items():
        for deadline in rule.escalate_within:
            below = [lv for lv in LEVELS if level_rank(lv) < level_rank(deadline.level)]
            due = (IncidentCase.objects.select_for_update(of=("self",)).select_related("county", "school")
                   .filter(grade=grade, level__in=below, occurred_at__lte=now - dt.timedelta(hours=deadline.hours))
                   .exclude(state=CaseState.CLOSED))
            for case in due:
                before = _snapshot(case)
                _escalate(case, to_level=deadline.level, how=Escalation.How.OVERDUE, actor=None,
                          reason=_("%(grade)s应急事件%(h)s小时内未办结，自动上报至%(level)s。") % {
                              "grade": case.grade_name, "h": f"{deadline.hours:g}",
                              "level": LEVEL_NAMES[deadline.level]})
                audit_record(actor=None, action="incidents.case_escalate_overdue",
                             object_type="incidents.IncidentCase", object_id=case.pk, before=before,
                             after=_snapshot(case))
                done.append(case)
    return done


# ------------------------------------------------------------------------------------------- reports


@transaction.atomic
def report_file(*, actor: Any, school_code: str, test_date: dt.date, no_incident: bool, handling: str,
                signed_by: str, cycle: Cycle | None = None) -> IncidentReport:
    """File (or, until the county collects it, correct) the school's 应急事件情况报告表 for one test day."""
    from naeq.incidents.selectors import school_test_days

    school = access.require_report_filer(actor=actor, school_code=school_code)
    if cycle is None:
        from naeq.cycles.selectors import cycle_current

        cycle = cycle_current()
        if cycle is None:
            raise InvalidInput(_("尚未设置当前监测周期。"), code="no_cycle")
    days = school_test_days(cycle, [school.pk]).get(school.pk, [])
    if test_date not in days:
        raise InvalidInput(_("%(d)s不是本校的测试日。") % {"d": test_date.isoformat()}, code="not_test_day")
    if test_date > timezone.localdate():
        raise InvalidInput(_("测试结束后才能填报该日的报告表。"), code="too_early")
    signer = _text(signed_by, _("校长签名"))
    if len(signer) > 60:
        raise InvalidInput(_("校长签名不能超过60字。"), code="too_long")
    cases = list(IncidentCase.objects.filter(cycle=cycle, school=school).filter(
        occurred_at__date=test_date).order_by("occurred_at"))
    body = _text(handling, _("处置情况说明"), required=not no_incident)
    if no_incident and cases:
        raise InvalidInput(_("本校当天登记了%(n)s起应急事件，不能填报“无应急事件”，请说明处置情况。")
                           % {"n": len(cases)}, code="has_incidents")
    existing = IncidentReport.objects.select_for_update(of=("self",)).filter(cycle=cycle, school=school,
                                                                 test_date=test_date).first()
    before = None
    if existing is not None:
        if existing.collected_at is not None:
            raise InvalidInput(_("县级已收取该报告表，不能再修改。"), code="collected")
        before = {"no_incident": existing.no_incident, "handling": existing.handling,
                  "signed_by": existing.signed_by}
        report = existing
    else:
        report = IncidentReport(cycle=cycle, school=school, county=school.county, path=school.path,
                                test_date=test_date)
    report.no_incident, report.handling, report.signed_by = no_incident, body, signer
    report.filed_at, report.filed_by = timezone.now(), actor
    report.save()
    report.cases.set(cases)
    audit_record(actor=actor, action="incidents.report_file", object_type="incidents.IncidentReport",
                 object_id=report.pk, before=before,
                 after={"school": school.code, "date": test_date.isoformat(), "no_incident": no_incident,
                        "handling": body, "signed_by": signer, "cases": [c.pk for c in cases]})
    return report


@transaction.atomic
def report_collect(*, actor: Any, report_id: int) -> IncidentReport:
    report = access.require_report_collector(actor=actor, report_id=report_id)
    report = IncidentReport.objects.select_for_update(of=("self",)).get(pk=report.pk)
    if report.collected_at is not None:
        raise InvalidInput(_("该报告表已收取。"), code="collected")
    report.collected_at, report.collected_by = timezone.now(), actor
    report.save(update_fields=["collected_at", "collected_by"])
    audit_record(actor=actor, action="incidents.report_collect", object_type="incidents.IncidentReport",
                 object_id=report.pk, after={"collected": True})
    return report


# ------------------------------------------------------------------------------------------- hotline


def _phone(raw: str) -> str:
    phone = "".join((raw or "").split())
    if phone and (not all(ch.isdigit() or ch in "+-" for ch in phone) or not 5 <= len(phone) <= 20):
        raise InvalidInput(_("来电号码只能包含数字、“+”和“-”，5至20位；可不填。"), code="bad_phone")
    return phone


def _no_id_number(text: str) -> None:
    """Never store a caller's (or a child's) ID number: reject an 18-character 身份证号 pattern in free text."""
    import re

    if re.search(r"(?<![0-9])[1-9][0-9]{16}[0-9Xx](?![0-9])", text):
        raise InvalidInput(_("请勿记录身份证号码等个人敏感信息。"), code="id_number")


@transaction.atomic
def call_record(*, actor: Any, received_at: dt.datetime, caller_type: str, topic: str, summary: str,
                caller_phone: str = "", school_code: str = "", cycle: Cycle | None = None) -> HotlineCall:
    county = access.require_hotline_keeper(actor=actor)
    if caller_type not in CallerType.values:
        raise InvalidInput(_("请选择来电人类型。"), code="bad_caller_type")
    if topic not in CallTopic.values:
        raise InvalidInput(_("请选择来电类别（投诉、违规举报或咨询）。"), code="bad_topic")
    if received_at > timezone.now() + dt.timedelta(minutes=5):
        raise InvalidInput(_("来电时间不能晚于现在。"), code="future")
    body = _text(summary, _("来电内容摘要"))
    _no_id_number(body)
    phone = _phone(caller_phone)
    if caller_type == CallerType.ANONYMOUS and phone:
        raise InvalidInput(_("匿名来电不记录来电号码。"), code="anonymous_phone")
    school = None
    if school_code:
        school = School.objects.filter(code=school_code.strip(), county=county).first()
        if school is None:
            raise InvalidInput(_("本县（区）没有学校标识码为%(c)s的学校。") % {"c": school_code}, code="bad_school")
    if cycle is None:
        from naeq.cycles.selectors import cycle_current

        cycle = cycle_current()
        if cycle is None:
            raise InvalidInput(_("尚未设置当前监测周期。"), code="no_cycle")
    call = HotlineCall.objects.create(cycle=cycle, county=county, path=county.path, school=school,
                                      received_at=received_at, caller_type=caller_type, caller_phone=phone,
                                      topic=topic, summary=body, handler=actor)
    audit_record(actor=actor, action="incidents.call_record", object_type="incidents.HotlineCall",
                 object_id=call.pk, after={"county": county.code, "school": school.code if school else None,
                                           "caller_type": caller_type, "topic": topic, "summary": body,
                                           "phone_given": bool(phone)})
    return call


@transaction.atomic
def call_handle(*, actor: Any, call_id: int, result: str, close: bool) -> HotlineCall:
    call = access.require_call_keeper(actor=actor, call_id=call_id)
    call = HotlineCall.objects.select_for_update(of=("self",)).get(pk=call.pk)
    if call.closed_at is not None:
        raise InvalidInput(_("该来电已办结。"), code="closed")
    body = _text(result, _("处理结果"))
    _no_id_number(body)
    before = {"result": call.result, "closed": False}
    call.result = body
    if close:
        call.closed_at = timezone.now()
    call.save(update_fields=["result", "closed_at"])
    audit_record(actor=actor, action="incidents.call_handle", object_type="incidents.HotlineCall",
                 object_id=call.pk, before=before, after={"result": body, "closed": close})
    return call


@transaction.atomic
def call_to_case(*, actor: Any, call_id: int, category: str, grade: int) -> IncidentCase:
    """Turn a report of violation into an incident case (the call keeps a link to it)."""
    call = access.require_call_keeper(actor=actor, call_id=call_id)
    call = HotlineCall.objects.select_for_update(of=("self",)).select_related("county", "school").get(pk=call.pk)
    if call.topic != CallTopic.VIOLATION:
        raise InvalidInput(_("只有违规举报可以转为应急事件。"), code="not_violation")
    if call.case_id is not None:
        raise InvalidInput(_("该来电已转为应急事件。"), code="already")
    case = _create_case(actor=actor, cycle=call.cycle, county=call.county, school=call.school,
                        source=CaseSource.HOTLINE, category=category, grade=grade, occurred_at=call.received_at,
                        description=_("监督专线举报：%(s)s") % {"s": call.summary})
    call.case = case
    call.save(update_fields=["case"])
    audit_record(actor=actor, action="incidents.call_to_case", object_type="incidents.HotlineCall",
                 object_id=call.pk, after={"case": case.pk})
    return case


@transaction.atomic
def notices_mark_read(*, actor: Any) -> int:
    n = Notice.objects.filter(recipient=actor, read_at__isnull=True).update(read_at=timezone.now())
    if n:
        audit_record(actor=actor, action="incidents.notices_read", object_type="user", object_id=actor.pk,
                     after={"count": n})
    return n
