"""Writes of naeq.custody: the chain-of-custody events, the two-day keep requests and decisions, session records.

Every service is atomic, checks access through :mod:`naeq.custody.access`, validates with precise Chinese messages
(one :class:`~naeq.core.errors.Problem` per field) and writes an audit event in the same transaction.

Rules (seed citations in :mod:`naeq.custody.models`):

* A receipt, storage, issue and return is signed by two different people (双人双锁; "做好交接登记"); an issue without
  two signatures is refused, not merely flagged.
* An issue is for one test day and is made on that day ("当天领取，当天送回"); a second issue to the same school for the
  same day is refused while the first is out.
* An issue for two days needs a two-day keep approved before the issue
  ("车程超过2小时的样本校，经县级实施工作领导小组审查同意后，可领取两天的监测工具").
* Boxes cannot be issued or mailed beyond what the secure room holds (received + returned − issued − mailed).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from naeq.core.audit import audit_record
from naeq.core.errors import InvalidInput, ProblemCollector
from naeq.custody.access import (
    records_visible,
    require_custodian,
    require_keep_decider,
    require_record_writer,
    require_test_taker_writer,
)
from naeq.custody.config import custody_config
from naeq.custody.models import (
    TWO_SIGNATURES,
    CustodyEvent,
    DeviationCategory,
    EventKind,
    KeepStatus,
    SessionRecord,
    TwoDayKeep,
)
from naeq.cycles.models import Cycle
from naeq.delivery.models import TestTaker
from naeq.registry.models import Region, School

MAX_BOXES = 999


def local_tz() -> dt.tzinfo:
    return dt.timezone(dt.timedelta(minutes=custody_config().utc_offset_minutes))


def local_date(at: dt.datetime) -> dt.date:
    return at.astimezone(local_tz()).date()


def end_of_day(day: dt.date) -> dt.datetime:
    """The first instant after ``day`` in the custody time zone."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 0), tzinfo=local_tz())


def on_hand(cycle: Cycle, county: Region) -> int:
    """Boxes the county's secure room holds now: received + returned − issued − mailed."""
    sums = {k: v or 0 for k, v in (
        CustodyEvent.objects.filter(cycle=cycle, county=county).values_list("kind")
        .annotate(n=Sum("boxes")).values_list("kind", "n"))}
    return (sums.get(EventKind.RECEIVED, 0) + sums.get(EventKind.RETURNED, 0) - sums.get(EventKind.ISSUED, 0)
            - sums.get(EventKind.MAILED, 0))


def event_state(e: CustodyEvent) -> dict[str, Any]:
    return {"kind": e.kind, "county": e.county.code, "school": e.school.code if e.school else None,
            "at": e.at, "boxes": e.boxes, "expected_boxes": e.expected_boxes, "test_day": e.test_day,
            "seal_numbers": e.seal_numbers, "seals_intact": e.seals_intact, "location": e.location,
            "tracking_no": e.tracking_no, "signatories": [e.signatory_1, e.signatory_2], "issue": e.issue_id,
            "keep": e.keep_id, "note": e.note}


def _clean(value: Any, limit: int) -> str:
    return str(value or "").strip()[:limit + 1]


@transaction.atomic
def event_record(*, actor: Any, cycle: Cycle, county_code: str, kind: str, at: dt.datetime | None, boxes: Any,
                 signatory_1: str = "", signatory_2: str = "", school_code: str = "",
                 test_day: dt.date | None = None, expected_boxes: Any = None, seal_numbers: str = "",
                 seals_intact: bool | None = None, location: str = "", tracking_no: str = "",
                 issue_id: int | None = None, keep_id: int | None = None, note: str = "") -> CustodyEvent:
    """Append the next event to a county's chain of custody."""
    county = require_custodian(actor=actor, code=county_code)
    Region.objects.select_for_update().filter(pk=county.pk).first()  # one writer per county ledger at a time
    errors = ProblemCollector()
    now = timezone.now()
    if kind not in EventKind.values:
        raise InvalidInput(_("交接环节无效。"), code="bad_kind")
    at = at or now
    if at > now + dt.timedelta(minutes=5):
        errors.add(_("时间不能晚于当前时间。"), field=_("时间"))
    try:
        n = int(boxes)
    except (TypeError, ValueError):
        n = 0
    if not 1 <= n <= MAX_BOXES:
        errors.add(_("箱数应为1到%(max)s之间的整数。") % {"max": MAX_BOXES}, field=_("箱数"), value=boxes)
    s1, s2 = _clean(signatory_1, 40), _clean(signatory_2, 40)
    if kind in TWO_SIGNATURES:
        if not s1 or not s2:
            errors.add(_("须由两人签字（双人交接），请填写两位签字人姓名。"), field=_("签字人"))
        elif s1 == s2:
            errors.add(_("两位签字人不能是同一人。"), field=_("签字人"))
        elif len(s1) > 40 or len(s2) > 40:
            errors.add(_("签字人姓名不能超过40字。"), field=_("签字人"))
    note = _clean(note, 300)
    if len(note) > 300:
        errors.add(_("备注不能超过300字。"), field=_("备注"))
    fields: dict[str, Any] = {}
    school: School | None = None
    issue: CustodyEvent | None = None
    keep: TwoDayKeep | None = None
    if kind == EventKind.RECEIVED:
        if expected_boxes not in (None, ""):
            try:
                fields["expected_boxes"] = int(expected_boxes)
                if fields["expected_boxes"] < 1:
                    raise ValueError
            except (TypeError, ValueError):
                errors.add(_("应到箱数应为正整数（按机要清单填写）。"), field=_("应到箱数"), value=expected_boxes)
        fields["seal_numbers"] = _clean(seal_numbers, 300)
        if not fields["seal_numbers"]:
            errors.add(_("请填写封条号。"), field=_("封条号"))
        fields["seals_intact"] = True if seals_intact is None else bool(seals_intact)
    elif kind == EventKind.STORED:
        fields["location"] = _clean(location, 100)
        if not fields["location"]:
            errors.add(_("请填写存放位置（保密室及保密柜）。"), field=_("存放位置"))
        received = CustodyEvent.objects.filter(cycle=cycle, county=county, kind=EventKind.RECEIVED).aggregate(
            n=Sum("boxes"))["n"] or 0
        stored = CustodyEvent.objects.filter(cycle=cycle, county=county, kind=EventKind.STORED).aggregate(
            n=Sum("boxes"))["n"] or 0
        if n and n > received - stored:
            errors.add(_("入库箱数超过已接收未入库的箱数（%(left)s箱）。") % {"left": received - stored},
                       field=_("箱数"), value=n)
    elif kind == EventKind.ISSUED:
        school = School.objects.filter(code=(school_code or "").strip(), county=county).first()
        if school is None:
            errors.add(_("本县没有该学校。"), field=_("学校"), value=school_code)
        if test_day is None:
            errors.add(_("请填写测试日期。"), field=_("测试日期"))
        elif local_date(at) != test_day:
            errors.add(_("监测工具须在测试当天发放（当天领取，当天送回）：发放时间不在测试日期当天。"), field=_("时间"))
        if keep_id:
            keep = TwoDayKeep.objects.filter(pk=keep_id, county=county, cycle=cycle).first()
            if keep is None:
                errors.add(_("没有找到该两天保管申请。"), field=_("两天保管审批"))
            elif keep.status != KeepStatus.APPROVED or keep.decided_at is None or keep.decided_at > at:
                errors.add(_("两天保管申请须在发放前获得批准。"), field=_("两天保管审批"))
            elif school is not None and (keep.school_id != school.pk or keep.first_day != test_day):
                errors.add(_("两天保管审批的学校或日期与本次发放不符。"), field=_("两天保管审批"))
        if school is not None and test_day is not None and CustodyEvent.objects.filter(
                cycle=cycle, kind=EventKind.ISSUED, school=school, test_day=test_day, returns__isnull=True).exists():
            errors.add(_("该校当天已有未送回的发放记录。"), field=_("学校"))
        left = on_hand(cycle, county)
        if n and n > left:
            errors.add(_("发放箱数超过保密室现存箱数（%(left)s箱）。") % {"left": left}, field=_("箱数"), value=n)
        fields["test_day"] = test_day
        fields["seal_numbers"] = _clean(seal_numbers, 300)
    elif kind == EventKind.RETURNED:
        issue = CustodyEvent.objects.select_related("school").filter(
            pk=issue_id or 0, county=county, cycle=cycle, kind=EventKind.ISSUED).first()
        if issue is None:
            errors.add(_("请选择对应的发放记录。"), field=_("对应发放记录"))
        else:
            school = issue.school
            if issue.returns.exists():
                errors.add(_("该发放记录已登记送回。"), field=_("对应发放记录"))
            if at < issue.at:
                errors.add(_("送回时间不能早于发放时间。"), field=_("时间"))
        if seals_intact is None:
            errors.add(_("请说明封条是否完好。"), field=_("封条完好"))
        fields["seals_intact"] = seals_intact
        fields["seal_numbers"] = _clean(seal_numbers, 300)
    elif kind == EventKind.MAILED:
        fields["tracking_no"] = _clean(tracking_no, 40)
        if not fields["tracking_no"]:
            errors.add(_("请填写邮寄单号。"), field=_("邮寄单号"))
        left = on_hand(cycle, county)
        if n and n > left:
            errors.add(_("回邮箱数超过保密室现存箱数（%(left)s箱）。") % {"left": left}, field=_("箱数"), value=n)
    for key in ("seal_numbers", "tracking_no"):
        limit = 300 if key == "seal_numbers" else 40
        if len(fields.get(key) or "") > limit:
            errors.add(_("内容过长。"), field=key)
    errors.raise_if_any(_("交接记录未保存，请修改以下问题。"))
    event = CustodyEvent(cycle=cycle, county=county, path=county.path, school=school, kind=kind, at=at, boxes=n,
                         signatory_1=s1, signatory_2=s2, issue=issue, keep=keep, note=note, recorded_by=actor,
                         recorded_at=now, **fields)
    event.full_clean()
    event.save()
    audit_record(actor=actor, action=f"custody.event_{kind}", object_type="custody.CustodyEvent",
                 object_id=event.pk, after=event_state(event))
    return event


def _keep_state(k: TwoDayKeep) -> dict[str, Any]:
    return {"school": k.school.code, "first_day": k.first_day, "travel_minutes": k.travel_minutes,
            "reason": k.reason, "status": k.status, "decision_note": k.decision_note}


@transaction.atomic
def keep_request(*, actor: Any, cycle: Cycle, county_code: str, school_code: str, first_day: dt.date | None,
                 travel_minutes: Any, reason: str) -> TwoDayKeep:
    """The county asks that a school more than two hours away keep two days of instruments."""
    county = require_custodian(actor=actor, code=county_code)
    errors = ProblemCollector()
    school = School.objects.filter(code=(school_code or "").strip(), county=county).first()
    if school is None:
        errors.add(_("本县没有该学校。"), field=_("学校"), value=school_code)
    if first_day is None:
        errors.add(_("请填写第一天测试日期。"), field=_("第一天测试日期"))
    try:
        minutes = int(travel_minutes)
    except (TypeError, ValueError):
        minutes = 0
    if minutes <= 120:
        errors.add(_("只有车程超过2小时（120分钟）的样本校才能申请领取两天的监测工具。"), field=_("单程车程（分钟）"),
                   value=travel_minutes)
    elif minutes > 1440:
        errors.add(_("单程车程不能超过1440分钟。"), field=_("单程车程（分钟）"), value=travel_minutes)
    text = _clean(reason, 300)
    if not text:
        errors.add(_("请填写理由。"), field=_("理由"))
    elif len(text) > 300:
        errors.add(_("理由不能超过300字。"), field=_("理由"))
    if school is not None and first_day is not None and TwoDayKeep.objects.filter(
            cycle=cycle, school=school, first_day=first_day, status__in=["pending", "approved"]).exists():
        errors.add(_("该校该日期已有待审批或已同意的申请。"), field=_("学校"))
    errors.raise_if_any(_("申请未提交，请修改以下问题。"))
    assert school is not None and first_day is not None
    keep = TwoDayKeep(cycle=cycle, county=county, path=county.path, school=school, first_day=first_day,
                      travel_minutes=minutes, reason=text, requested_by=actor)
    keep.full_clean()
    keep.save()
    audit_record(actor=actor, action="custody.keep_request", object_type="custody.TwoDayKeep", object_id=keep.pk,
                 after=_keep_state(keep))
    return keep


@transaction.atomic
def keep_decide(*, actor: Any, keep_id: int, approve: bool, note: str = "") -> TwoDayKeep:
    keep = require_keep_decider(actor=actor, keep_id=keep_id)
    keep = TwoDayKeep.objects.select_for_update().select_related("school").get(pk=keep.pk)
    if keep.status != KeepStatus.PENDING:
        raise InvalidInput(_("该申请已审批，不能再次审批。"), code="already_decided")
    text = _clean(note, 300)
    if not approve and not text:
        raise InvalidInput(_("不同意时请填写审批意见。"), code="note_required")
    before = _keep_state(keep)
    keep.status = KeepStatus.APPROVED if approve else KeepStatus.REJECTED
    keep.decided_by, keep.decided_at, keep.decision_note = actor, timezone.now(), text[:300]
    keep.full_clean()
    keep.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit_record(actor=actor, action="custody.keep_decide", object_type="custody.TwoDayKeep", object_id=keep.pk,
                 before=before, after=_keep_state(keep))
    return keep


# ------------------------------------------------------------------------------------------- session records


def _people(rows: Any, label: str, takers: dict[str, Any], errors: ProblemCollector) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    seen: set[str] = set()
    for i, row in enumerate(rows or [], start=1):
        code = str((row or {}).get("code") or "").strip().upper()
        reason = str((row or {}).get("reason") or "").strip()
        if not code and not reason:
            continue
        field = f"{label}{i}"
        if code not in takers:
            errors.add(_("测试编号%(code)s不是本校本年级的测试学生。") % {"code": code or "—"}, field=field, value=code)
        elif code in seen:
            errors.add(_("测试编号%(code)s重复。") % {"code": code}, field=field, value=code)
        if not reason:
            errors.add(_("请填写原因。"), field=field)
        elif len(reason) > 100:
            errors.add(_("原因不能超过100字。"), field=field)
        seen.add(code)
        out.append({"code": code, "reason": reason[:100]})
    return out


def record_state(r: SessionRecord) -> dict[str, Any]:
    return {"session": r.session_id, "room": r.room, "actual_start": r.actual_start, "actual_end": r.actual_end,
            "expected": r.expected, "present": r.present, "absentees": r.absentees, "pe_exempt": r.pe_exempt,
            "deviations": r.deviations}


@transaction.atomic
def record_save(*, actor: Any, session_id: int, room: str, actual_start: dt.datetime | None,
                actual_end: dt.datetime | None, expected: Any, present: Any, absentees: list[dict[str, str]],
                pe_exempt: list[dict[str, str]], deviations: list[dict[str, str]]) -> SessionRecord:
    """Create or correct one room's 测试情况记录表 of a school session."""
    session = require_record_writer(actor=actor, session_id=session_id)
    errors = ProblemCollector()
    room = _clean(room, 40)
    if not room:
        errors.add(_("请填写测试教室。"), field=_("测试教室"))
    elif len(room) > 40:
        errors.add(_("测试教室不能超过40字。"), field=_("测试教室"))
    tz = dt.timezone(dt.timedelta(minutes=session.utc_offset_minutes))
    day = session.starts_at.astimezone(tz).date()
    if actual_start is None:
        errors.add(_("请填写实际开始时间。"), field=_("实际开始时间"))
    if actual_end is None:
        errors.add(_("请填写实际结束时间。"), field=_("实际结束时间"))
    for label, value in ((_("实际开始时间"), actual_start), (_("实际结束时间"), actual_end)):
        if value is not None and value.astimezone(tz).date() != day:
            errors.add(_("时间应在测试当天（%(day)s）。") % {"day": day.isoformat()}, field=label)
    if actual_start and actual_end and actual_end <= actual_start:
        errors.add(_("实际结束时间应晚于实际开始时间。"), field=_("实际结束时间"))
    numbers: dict[str, int] = {}
    for key, label, raw in (("expected", _("应到人数"), expected), ("present", _("实到人数"), present)):
        try:
            numbers[key] = int(raw)
            if not 0 <= numbers[key] <= 999:
                raise ValueError
        except (TypeError, ValueError):
            errors.add(_("应为0到999之间的整数。"), field=label, value=raw)
    takers = {t.code: t for t in TestTaker.objects.filter(cycle=session.cycle, school=session.school,
                                                          kind=session.respondent, grade=session.grade)}
    absent = _people(absentees, _("缺考学生"), takers, errors)
    exempt = _people(pe_exempt, _("体育免测学生"), takers, errors)
    if "expected" in numbers and "present" in numbers:
        if numbers["present"] + len(absent) != numbers["expected"]:
            errors.add(_("实到人数（%(p)s）加缺考人数（%(a)s）应等于应到人数（%(e)s）。") % {
                "p": numbers["present"], "a": len(absent), "e": numbers["expected"]}, field=_("实到人数"))
        if takers and numbers["expected"] > len(takers):
            errors.add(_("应到人数超过本校本年级测试学生数（%(n)s）。") % {"n": len(takers)}, field=_("应到人数"))
    devs: list[dict[str, str]] = []
    for i, row in enumerate(deviations or [], start=1):
        cat = str((row or {}).get("category") or "").strip()
        text = str((row or {}).get("text") or "").strip()
        if not cat and not text:
            continue
        if cat not in DeviationCategory.values:
            errors.add(_("请选择异常情况类别。"), field=f"{_('异常情况')}{i}", value=cat)
        if not text:
            errors.add(_("请填写异常情况说明。"), field=f"{_('异常情况')}{i}")
        elif len(text) > 500:
            errors.add(_("异常情况说明不能超过500字。"), field=f"{_('异常情况')}{i}")
        devs.append({"category": cat, "text": text[:500]})
    errors.raise_if_any(_("测试情况记录表未保存，请修改以下问题。"))
    assert actual_start is not None and actual_end is not None
    record = SessionRecord.objects.select_for_update().filter(session=session, room=room).first()
    before = record_state(record) if record else None
    if record is None:
        record = SessionRecord(session=session, path=session.path, room=room)
    record.actual_start, record.actual_end = actual_start, actual_end
    record.expected, record.present = numbers["expected"], numbers["present"]
    record.absentees, record.pe_exempt, record.deviations = absent, exempt, devs
    record.recorded_by, record.recorded_at = actor, timezone.now()
    record.full_clean(validate_constraints=False)
    record.save()
    audit_record(actor=actor, action="custody.record_save", object_type="custody.SessionRecord",
                 object_id=record.pk, before=before, after=record_state(record))
    return record


# ------------------------------------------------------------------- session records → test-taker information


def attendance_statuses(records: list[SessionRecord], students: list[tuple[str, int]]) -> dict[str, str]:
    """The test-taker status (sampling's 到考 / 缺考 / 体育免测) of each sampled student ``(test ID, grade)``
    that the formal student sessions' 测试情况记录表 speak about. The seeds ask the school to upload its records
    ("样本校按照要求上传测试情况记录表", collected-county-and-school-plans.txt) and to count its PE-exempt students
    ("统计测试年级体育免测生", 2024-nanchang-city-plan.txt) but do not say how the records become 测试生信息; the
    rule here is a design choice:

    * 缺考 — listed absent in every recorded session of the student's grade;
    * 体育免测 — otherwise, listed PE-exempt in any record;
    * 到考 — otherwise (the student sat at least one recorded session).

    A student of a grade without any record is left out (the school still reports them by hand)."""
    by_grade: dict[int, list[SessionRecord]] = {}
    for r in records:
        if r.session.grade is not None:
            by_grade.setdefault(r.session.grade, []).append(r)
    out: dict[str, str] = {}
    for code, grade in students:
        recs = by_grade.get(grade)
        if not recs:
            continue
        sessions = {r.session_id for r in recs}
        absent_in = {r.session_id for r in recs if any(a.get("code") == code for a in r.absentees)}
        if absent_in == sessions:
            out[code] = "absent"
        elif any(p.get("code") == code for r in recs for p in r.pe_exempt):
            out[code] = "pe_exempt"
        else:
            out[code] = "present"
    return out


@transaction.atomic
def records_to_test_takers(*, actor: Any, cycle: Cycle, school_code: str) -> dict[str, int]:
    """Write what the school's 测试情况记录表 say (absent, PE-exempt, present) into the sampling issue's test-taker
    information of its sampled students, through :func:`naeq.sampling.services.test_takers_set` (which checks
    the actor may write the school's test takers and that the submission is still a draft or returned, and
    audits the change). Returns the number of students per status and how many changed."""
    from naeq.sampling.selectors import school_sample
    from naeq.sampling.services import test_takers_set

    require_test_taker_writer(actor=actor, code=school_code)
    sample = school_sample(actor=actor, code=school_code, year=cycle.year)
    students = [(s.test_id, s.grade) for s in sample.students]
    records = list(records_visible(actor=actor).filter(
        session__cycle=cycle, session__school__code=school_code, session__kind="formal",
        session__respondent="student").select_related("session"))
    if not records:
        raise InvalidInput(_("该校尚未填报学生测试场次的测试情况记录表，无法生成测试生信息。"), code="no_records")
    statuses = attendance_statuses(records, students)
    if not statuses:
        raise InvalidInput(_("测试情况记录表中没有本校样本学生所在年级的场次。"), code="no_students_recorded")
    changed = test_takers_set(actor=actor, year=cycle.year, school_code=school_code, statuses=statuses)
    counts = {k: sum(1 for v in statuses.values() if v == k) for k in ("present", "absent", "pe_exempt")}
    audit_record(actor=actor, action="custody.records_to_test_takers", object_type="School",
                 object_id=school_code, after={**counts, "changed": changed, "records": len(records)})
    return {**counts, "changed": changed, "unrecorded": len(students) - len(statuses)}
