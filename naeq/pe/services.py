"""Writes of the PE field test: the provincial entry window, exam rooms, entry (draft, submit, import, whole-room
missing items), review (confirm, return) and the audited unlock.

Every service is atomic, takes the acting user keyword-only, checks access through :mod:`naeq.pe.access`, validates
with precise Chinese messages (student, field, bound) and writes an audit event in the same transaction. Bad input
changes nothing: a save with one unreadable value saves no value.

The status of a room: ``draft`` (the recorder enters; out-of-bounds values are kept and flagged so the recorder can
check the paper card, but block submission) → ``submitted`` (the reviewer checks) → ``confirmed`` (locked) — or back
to ``draft`` when the reviewer returns it with a reason, or when the county unlocks a confirmed room with a reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from naeq.core.audit import audit_record
from naeq.core.errors import InvalidInput, NotFound, Problem
from naeq.cycles.models import Cycle
from naeq.delivery.models import TestTaker
from naeq.pe import access
from naeq.pe.config import FIELDS, ItemsConfig, items_config
from naeq.pe.models import Attendance, EntryWindow, ExamRoom, PeRecord, RoomStatus
from naeq.pe.validation import Finding, ParseError, Row, check_rows, parse_value
from naeq.registry.models import Region, School

ROOM_SIZE = 30  # students per generated room: one class-sized group per PE station rotation
# Exempt reasons copied from upstream records are stored data (Chinese, not translated), so they are recognised.
UPSTREAM_RECORD = "测试情况记录表："
UPSTREAM_SAMPLING = "学生测试情况：体育免测"
ATTENDANCE_NAMES = {"参测": "present", "缺考": "absent", "免测": "exempt", "体育免测": "exempt",
                    "present": "present", "absent": "absent", "exempt": "exempt", "": "present"}


# ----------------------------------------------------------------------------------------------------------- window

def pe_test_day(cycle: Cycle) -> dt.date | None:
    """The first day of the cycle's schedule with a session of a field-test instrument (学生体育现场测试)."""
    field = {i.code for i in cycle.config.instruments if "field_test" in i.delivery.values()}
    days = sorted({d.date for levels in cycle.config.schedules.values() for ds in levels.values() for d in ds
                   if any(set(s.instruments) & field for s in d.sessions)})
    return days[0] if days else None


def province_of(region_path: str) -> Region | None:
    first = region_path.split("/")[0]
    return Region.objects.filter(code=first, level="province").first() if first else None


def window_for(cycle: Cycle, province: Region | None,
               cfg: ItemsConfig | None = None) -> tuple[dt.datetime | None, dt.datetime | None, str]:
    """(opens, closes, source) of the entry window for a province: the coordinator's, else the national default
    from configuration (days after the PE test day), else none (source "none")."""
    if province is not None:
        w = EntryWindow.objects.filter(cycle=cycle, province=province).first()
        if w is not None:
            return w.opens_at, w.closes_at, "province"
    cfg = cfg or items_config()
    day = pe_test_day(cycle)
    if day is None:
        return None, None, "none"
    tz = timezone.get_current_timezone()
    opens = dt.datetime.combine(day + dt.timedelta(days=cfg.opens_days_after_test), dt.time.min, tzinfo=tz)
    closes = dt.datetime.combine(day + dt.timedelta(days=cfg.closes_days_after_test), dt.time(23, 59), tzinfo=tz)
    return opens, closes, "default"


def _local(t: dt.datetime) -> str:
    return timezone.localtime(t).strftime("%Y-%m-%d %H:%M")


def require_window_open(cycle: Cycle, school: School, *, now: dt.datetime | None = None) -> None:
    opens, closes, _source = window_for(cycle, province_of(school.path))
    now = now or timezone.now()
    if opens is None or closes is None:
        raise InvalidInput(_("尚未设置体育测试成绩录入时间，请联系省级协调员。"), code="pe_window_closed")
    if not opens <= now <= closes:
        raise InvalidInput(_("体育测试成绩录入时间为 %(opens)s 至 %(closes)s，现在不在录入时间内。") % {
            "opens": _local(opens), "closes": _local(closes)}, code="pe_window_closed")


@transaction.atomic
def window_set(*, actor: Any, cycle: Cycle, province: Region, opens_at: dt.datetime,
               closes_at: dt.datetime) -> EntryWindow:
    access.require_window_setter(actor=actor, province=province)
    if closes_at <= opens_at:
        raise InvalidInput(_("录入截止时间应晚于开始时间。"), code="invalid_window",
                           problems=[Problem(field=_("录入截止时间"), reason=_("应晚于开始时间"))])
    w = EntryWindow.objects.filter(cycle=cycle, province=province).first()
    before = w.as_audit() if w else None
    if w is None:
        w = EntryWindow(cycle=cycle, province=province, opens_at=opens_at, closes_at=closes_at)
    w.opens_at, w.closes_at, w.set_by, w.set_at = opens_at, closes_at, actor, timezone.now()
    w.full_clean()
    w.save()
    audit_record(actor=actor, action="pe.window_set", object_type="pe.EntryWindow", object_id=w.pk, before=before,
                 after=w.as_audit())
    return w


def window_set_system(*, cycle: Cycle, province: Region, opens_at: dt.datetime, closes_at: dt.datetime) -> None:
    """The demo's window (no acting account, audited as system)."""
    w, _created = EntryWindow.objects.update_or_create(cycle=cycle, province=province,
                                                       defaults={"opens_at": opens_at, "closes_at": closes_at})
    audit_record(actor=None, action="pe.window_set", object_type="pe.EntryWindow", object_id=w.pk,
                 after=w.as_audit())


# ------------------------------------------------------------------------------------------------------------ rooms

def external_exempt(cycle: Cycle, school: School) -> dict[str, str]:
    """PE-exempt students (体育免测生) already recorded elsewhere, by test ID, with the reason: the sample's
    test-taker status (naeq.sampling, 体育免测) and the rooms' 测试情况记录表 (naeq.custody)."""
    from naeq.custody.models import SessionRecord
    from naeq.sampling.models import SampledStudent, StudentStatus

    out: dict[str, str] = {}
    for code in SampledStudent.objects.filter(cycle=cycle, sampled_school__school=school,
                                              status=StudentStatus.PE_EXEMPT).values_list("test_id", flat=True):
        out[code] = UPSTREAM_SAMPLING
    for exempt in SessionRecord.objects.filter(session__cycle=cycle, session__school=school).values_list(
            "pe_exempt", flat=True):
        for p in exempt or []:
            if p.get("code"):
                out[str(p["code"])] = UPSTREAM_RECORD + str(p.get("reason") or "体育免测")
    return out


def pe_takers(cycle: Cycle, school: School) -> list[TestTaker]:
    """The school's sampled students of the cycle (the PE test takers), by grade and test ID: a student test taker
    without a sampled student (none in a real cycle) has no sex on record, so no bounds, and takes no PE test."""
    return list(TestTaker.objects.filter(cycle=cycle, school=school, kind="student", grade__in=[4, 8],
                                         sampled_student__isnull=False)
                .order_by("grade", "code"))


def _note(room: ExamRoom, actor: Any, action: str, reason: str = "") -> None:
    room.history = [*room.history, {"at": timezone.now().isoformat(timespec="seconds"),
                                    "by": getattr(actor, "username", None) or "system", "action": action,
                                    "reason": reason}]


@transaction.atomic
def rooms_generate(*, actor: Any, cycle: Cycle, school: School, size: int = ROOM_SIZE) -> list[ExamRoom]:
    """Split the school's PE test takers not yet in a room into rooms of at most ``size``, by grade and test ID
    (the roster's sequence). Idempotent: students already in a room stay where they are."""
    access.require_room_manager(actor=actor, school=school)
    return _rooms_generate(actor, cycle, school, size)


@transaction.atomic
def rooms_generate_system(*, cycle: Cycle, school: School, size: int = ROOM_SIZE) -> list[ExamRoom]:
    """The same without an acting account (demo data, audited as system)."""
    return _rooms_generate(None, cycle, school, size)


def _rooms_generate(actor: Any, cycle: Cycle, school: School, size: int) -> list[ExamRoom]:
    if not 1 <= size <= 200:
        raise InvalidInput(_("每个考场人数应在1至200之间。"), code="invalid_room_size")
    placed = set(PeRecord.objects.filter(room__cycle=cycle, room__school=school).values_list("test_taker_id",
                                                                                           flat=True))
    takers = [t for t in pe_takers(cycle, school) if t.pk not in placed]
    if not takers:
        raise InvalidInput(_("%(school)s没有尚未编入考场的体育测试学生。") % {"school": school.name}, code="no_takers")
    exempt = external_exempt(cycle, school)
    number = (ExamRoom.objects.filter(cycle=cycle, school=school).aggregate(m=Max("number"))["m"] or 0)
    made: list[ExamRoom] = []
    for grade in (4, 8):
        group = [t for t in takers if t.grade == grade]
        for start in range(0, len(group), size):
            number += 1
            room = ExamRoom(cycle=cycle, school=school, path=school.path, number=number, grade=grade,
                            name=_("%(grade)s年级第%(n)s考场") % {"grade": grade, "n": number})
            _note(room, actor, "create")
            room.full_clean()
            room.save()
            for seq, t in enumerate(group[start:start + size], start=1):
                reason = exempt.get(t.code, "")
                PeRecord.objects.create(room=room, test_taker=t, path=school.path, seq=seq,
                                        attendance=Attendance.EXEMPT if reason else Attendance.PRESENT,
                                        exempt_reason=reason)
            audit_record(actor=actor, action="pe.room_create", object_type="pe.ExamRoom", object_id=room.pk,
                         after={**room.as_audit(), "students": [t.code for t in group[start:start + size]]})
            made.append(room)
    return made


def _entry_account(school: School, user_id: int | None, label: str) -> Any:
    if user_id is None:
        return None
    user = access.entry_accounts(school=school).filter(pk=user_id).first()
    if user is None:
        raise InvalidInput(_("%(label)s应为本校工作人员或本县（区）选派人员的账户。") % {"label": label},
                           code="invalid_entry_account", problems=[Problem(field=label, reason=_("账户不符合要求"))])
    return user


@transaction.atomic
def room_update(*, actor: Any, room_id: int, name: str | None = None, recorder_id: int | None = None,
                reviewer_id: int | None = None) -> ExamRoom:
    """Rename a room and name its recorder and reviewer (two different accounts)."""
    room = access.room_access(actor=actor, room_id=room_id)
    access.require_room_manager(actor=actor, school=room.school)
    if room.locked:
        raise InvalidInput(_("考场已审核锁定，不能修改。"), code="pe_room_locked")
    before = room.as_audit()
    if recorder_id is not None and recorder_id == reviewer_id:
        raise InvalidInput(_("录入员和审核员必须是两个不同的账户。"), code="pe_same_person",
                           problems=[Problem(field=_("审核员"), reason=_("与录入员相同"))])
    room.recorder = _entry_account(room.school, recorder_id, _("录入员"))
    room.reviewer = _entry_account(room.school, reviewer_id, _("审核员"))
    if name is not None:
        name = name.strip()
        if not 1 <= len(name) <= 40:
            raise InvalidInput(_("考场名称应为1至40个字符。"), code="invalid_room_name")
        room.name = name
    _note(room, actor, "update")
    room.full_clean()
    room.save()
    audit_record(actor=actor, action="pe.room_update", object_type="pe.ExamRoom", object_id=room.pk, before=before,
                 after=room.as_audit())
    return room


@transaction.atomic
def record_move(*, actor: Any, record_id: int, room_id: int) -> PeRecord:
    """Move a student to another room of the same school and grade (both rooms in draft)."""
    rec = access.records_visible(actor=actor).select_related("room", "room__school").filter(pk=record_id).first()
    if rec is None:
        raise NotFound(_("没有找到该学生的体育测试记录。"))
    access.require_room_manager(actor=actor, school=rec.room.school)
    target = access.rooms_visible(actor=actor).filter(pk=room_id, school=rec.room.school,
                                                      grade=rec.room.grade).first()
    if target is None:
        raise InvalidInput(_("只能调到本校同年级的考场。"), code="invalid_room")
    if rec.room.status != RoomStatus.DRAFT or target.status != RoomStatus.DRAFT:
        raise InvalidInput(_("只能在录入中的考场之间调整学生。"), code="pe_room_locked")
    before = {"room": rec.room_id, "seq": rec.seq}
    rec.room = target
    rec.seq = (target.records.aggregate(m=Max("seq"))["m"] or 0) + 1
    rec.save()
    audit_record(actor=actor, action="pe.record_move", object_type="pe.PeRecord", object_id=rec.pk, before=before,
                 after={"room": target.pk, "seq": rec.seq})
    return rec


# ------------------------------------------------------------------------------------------------------------ entry

def _sex(rec: PeRecord) -> str:
    ss = rec.test_taker.sampled_student
    return ss.student.sex if ss is not None else ""


def room_records(room: ExamRoom) -> list[PeRecord]:
    return list(room.records.select_related("test_taker", "test_taker__sampled_student__student").order_by("seq"))


def rows_of(room: ExamRoom, records: list[PeRecord]) -> list[Row]:
    return [Row(code=r.test_taker.code, seq=r.seq, grade=room.grade, sex=_sex(r), attendance=r.attendance,
                values=r.values()) for r in records]


def room_findings(room: ExamRoom, records: list[PeRecord] | None = None, *, for_submit: bool) -> list[Finding]:
    records = room_records(room) if records is None else records
    return check_rows(rows_of(room, records), items_config(), missing_items=room.missing_items,
                      for_submit=for_submit)


def _require_entry(actor: Any, room: ExamRoom, now: dt.datetime | None) -> None:
    access.require_recorder(actor=actor, room=room)
    if room.status == RoomStatus.CONFIRMED:
        raise InvalidInput(_("考场已审核锁定，不能再修改成绩；如需更正，请县级联络员说明理由后解锁。"),
                           code="pe_room_locked")
    if room.status == RoomStatus.SUBMITTED:
        raise InvalidInput(_("考场成绩已提交，正在等待审核员审核；审核员退回后才能修改。"), code="pe_room_submitted")
    require_window_open(room.cycle, room.school, now=now)


def _apply(room: ExamRoom, records: list[PeRecord], data: Mapping[str, Mapping[str, Any]], *,
           file: str | None = None, row_of: Mapping[str, int] | None = None) -> list[PeRecord]:
    """Parse ``data`` (test ID -> {field code or "attendance" / "exempt_reason": raw}) onto ``records`` in
    memory; raise with every unreadable value (nothing is saved)."""
    cfg = items_config()
    by_code = {r.test_taker.code: r for r in records}
    problems: list[Problem] = []
    changed: list[PeRecord] = []
    for code, raw in data.items():
        rec = by_code.get(code)
        row = row_of.get(code) if row_of else rec.seq if rec else None
        if rec is None:
            problems.append(Problem(file=file, row=row, field=_("测试编号"),
                                    reason=_("测试编号 %(code)s 不是本考场的学生。") % {"code": code}))
            continue
        if "attendance" in raw:
            att = ATTENDANCE_NAMES.get(str(raw["attendance"] or "").strip())
            if att is None:
                problems.append(Problem(file=file, row=row, field=_("参测情况"),
                                        reason=_("测试编号 %(code)s：参测情况应为“参测”“缺考”或“免测”。")
                                        % {"code": code}))
                continue
            if rec.attendance == Attendance.EXEMPT and rec.exempt_reason.startswith((UPSTREAM_RECORD,
                                                                                    UPSTREAM_SAMPLING)):
                att = Attendance.EXEMPT  # recorded upstream; not overridden here
            elif att == Attendance.EXEMPT:
                reason = str(raw.get("exempt_reason") or "").strip()
                if not reason:
                    problems.append(Problem(file=file, row=row, field=_("免测原因"),
                                            reason=_("测试编号 %(code)s：体育免测须填写原因。") % {"code": code}))
                    continue
                rec.exempt_reason = reason[:200]
            else:
                rec.exempt_reason = ""
            rec.attendance = att
        for f in FIELDS:
            if f not in raw:
                continue
            item = cfg.item_of_field(f)
            if item is None or item.code in room.missing_items:
                continue  # the whole room misses this item: −1 stays
            try:
                setattr(rec, f, parse_value(raw[f], item))
            except ParseError as exc:
                problems.append(Problem(file=file, row=row, field=cfg.field_name(f),
                                        reason=_("测试编号 %(code)s：%(field)s %(reason)s。") % {
                                            "code": code, "field": cfg.field_name(f), "reason": exc}))
        changed.append(rec)
    if problems:
        raise InvalidInput(_("有%(n)s处成绩无法识别，本次未保存任何数据。") % {"n": len(problems)},
                           code="invalid_pe_values", problems=problems)
    return changed


def _save_records(actor: Any, room: ExamRoom, changed: list[PeRecord], before: dict[int, Any]) -> int:
    n = 0
    for rec in changed:
        after = rec.as_audit()
        if after == before[rec.pk]:
            continue
        rec.updated_at, rec.updated_by = timezone.now(), actor if getattr(actor, "pk", None) else None
        rec.full_clean()
        rec.save()
        audit_record(actor=actor, action="pe.record_save", object_type="pe.PeRecord", object_id=rec.pk,
                     before=before[rec.pk], after=after)
        n += 1
    return n


@transaction.atomic
def entry_save(*, actor: Any, room_id: int, data: Mapping[str, Mapping[str, Any]], submit: bool = False,
               now: dt.datetime | None = None, file: str | None = None,
               row_of: Mapping[str, int] | None = None) -> tuple[int, list[Finding]]:
    """Save the recorder's values (a draft); with ``submit`` also submit the room. Returns (records changed,
    findings of the saved room). Unreadable values refuse the whole save; out-of-bounds values are saved and
    returned as blocking findings; a submit with any blocking finding is refused (after nothing is saved)."""
    room = _locked_room(actor, room_id)
    _require_entry(actor, room, now)
    records = room_records(room)
    before = {r.pk: r.as_audit() for r in records}
    changed = _apply(room, records, data, file=file, row_of=row_of)
    findings = room_findings(room, records, for_submit=submit)
    if submit and any(f.blocking for f in findings):
        raise InvalidInput(_("考场成绩有%(n)s处问题，不能提交：") % {"n": sum(f.blocking for f in findings)},
                           code="pe_not_submittable",
                           problems=[Problem(row=f.seq, field=f.field, reason=f.reason) for f in findings
                                     if f.blocking])
    n = _save_records(actor, room, changed, before)
    if submit:
        _submit(actor, room)
    return n, findings


def _submit(actor: Any, room: ExamRoom) -> None:
    if room.reviewer_id is None:
        raise InvalidInput(_("本考场尚未指定审核员，不能提交。"), code="pe_no_reviewer")
    before = room.as_audit()
    room.status, room.submitted_at, room.return_reason = RoomStatus.SUBMITTED, timezone.now(), ""
    _note(room, actor, "submit")
    room.full_clean()
    room.save()
    audit_record(actor=actor, action="pe.room_submit", object_type="pe.ExamRoom", object_id=room.pk, before=before,
                 after=room.as_audit())


@transaction.atomic
def room_submit(*, actor: Any, room_id: int, now: dt.datetime | None = None) -> ExamRoom:
    entry_save(actor=actor, room_id=room_id, data={}, submit=True, now=now)
    return ExamRoom.objects.get(pk=room_id)


@transaction.atomic
def missing_item_set(*, actor: Any, room_id: int, item: str, reason: str, clear: bool = False,
                     now: dt.datetime | None = None) -> ExamRoom:
    """Mark one item missing for the whole room (equipment failure), once, with a reason: every present student's
    fields of the item become −1. ``clear`` takes the mark back (the fields become blank to be entered)."""
    room = _locked_room(actor, room_id)
    _require_entry(actor, room, now)
    spec = items_config().item(item)
    if spec is None:
        raise InvalidInput(_("未知的测试项目“%(item)s”。") % {"item": item}, code="unknown_item")
    before = room.as_audit()
    if clear:
        if item not in room.missing_items:
            raise InvalidInput(_("%(item)s 没有被标记为整场缺测。") % {"item": spec.name}, code="not_missing")
        room.missing_items = {k: v for k, v in room.missing_items.items() if k != item}
        value: float | None = None
    else:
        reason = reason.strip()
        if not reason:
            raise InvalidInput(_("请填写整场缺测的原因（如测试器材故障）。"), code="missing_reason",
                               problems=[Problem(field=_("原因"), reason=_("必填"))])
        if item in room.missing_items:
            raise InvalidInput(_("%(item)s 已标记为整场缺测。") % {"item": spec.name}, code="already_missing")
        room.missing_items = {**room.missing_items, item: reason[:200]}
        value = -1.0
    for rec in room.records.all():
        for f in spec.fields:
            setattr(rec, f.code, value)
        rec.save(update_fields=[f.code for f in spec.fields])
    _note(room, actor, "missing_clear" if clear else "missing_set", f"{spec.name}：{reason}")
    room.save()
    audit_record(actor=actor, action="pe.room_missing_item", object_type="pe.ExamRoom", object_id=room.pk,
                 before=before, after=room.as_audit())
    return room


# ----------------------------------------------------------------------------------------------------------- review

def _locked_room(actor: Any, room_id: int) -> ExamRoom:
    """The room, access-checked, then row-locked for a review transition."""
    room = access.room_access(actor=actor, room_id=room_id)
    return ExamRoom.objects.select_for_update().select_related("school", "cycle").get(pk=room.pk)


def _save_transition(room: ExamRoom, actor: Any, action: str, before: dict[str, Any], reason: str = "",
                     after_extra: dict[str, Any] | None = None) -> ExamRoom:
    _note(room, actor, action, reason)
    room.full_clean()
    room.save()
    audit_record(actor=actor, action=f"pe.room_{action}", object_type="pe.ExamRoom", object_id=room.pk,
                 before=before, after={**room.as_audit(), **(after_extra or {})})
    return room

@transaction.atomic
def room_confirm(*, actor: Any, room_id: int) -> ExamRoom:
    room = _locked_room(actor, room_id)
    access.require_reviewer(actor=actor, room=room)
    if room.status != RoomStatus.SUBMITTED:
        raise InvalidInput(_("只有已提交的考场才能审核确认。"), code="pe_not_submitted")
    blocking = [f for f in room_findings(room, for_submit=True) if f.blocking]
    if blocking:
        raise InvalidInput(_("考场成绩有问题，不能确认，请退回录入员："), code="pe_not_submittable",
                           problems=[Problem(row=f.seq, field=f.field, reason=f.reason) for f in blocking])
    before = room.as_audit()
    room.status, room.confirmed_at, room.confirmed_by = RoomStatus.CONFIRMED, timezone.now(), actor
    return _save_transition(room, actor, "confirm", before)


@transaction.atomic
def room_return(*, actor: Any, room_id: int, reason: str) -> ExamRoom:
    room = _locked_room(actor, room_id)
    access.require_reviewer(actor=actor, room=room)
    if room.status != RoomStatus.SUBMITTED:
        raise InvalidInput(_("只有已提交的考场才能退回。"), code="pe_not_submitted")
    reason = reason.strip()
    if not reason:
        raise InvalidInput(_("退回时请填写原因。"), code="missing_reason",
                           problems=[Problem(field=_("退回原因"), reason=_("必填"))])
    before = room.as_audit()
    room.status, room.return_reason = RoomStatus.DRAFT, reason[:300]
    return _save_transition(room, actor, "return", before, reason)


@transaction.atomic
def room_unlock(*, actor: Any, room_id: int, reason: str) -> ExamRoom:
    """Unlock a confirmed room for correction (county officers only), with a reason; audited."""
    room = _locked_room(actor, room_id)
    access.require_unlocker(actor=actor, room=room)
    if room.status != RoomStatus.CONFIRMED:
        raise InvalidInput(_("只有已审核锁定的考场才需要解锁。"), code="pe_not_locked")
    reason = reason.strip()
    if not reason:
        raise InvalidInput(_("解锁时请填写原因。"), code="missing_reason",
                           problems=[Problem(field=_("解锁原因"), reason=_("必填"))])
    before = room.as_audit()
    room.status, room.confirmed_at, room.confirmed_by = RoomStatus.DRAFT, None, None
    room.return_reason = _("县级解锁：%(r)s") % {"r": reason[:280]}
    return _save_transition(room, actor, "unlock", before, reason, {"reason": reason})


@transaction.atomic
def entry_import(*, actor: Any, room_id: int, file_name: str, data: bytes, submit: bool = False,
                 now: dt.datetime | None = None) -> tuple[int, list[Finding]]:
    """Import a filled room template (Excel): every unreadable cell, unknown test ID or duplicate row is reported
    with its row and column, and nothing is saved."""
    from naeq.pe.documents import read_room_sheet

    room = access.room_access(actor=actor, room_id=room_id)
    parsed, row_of = read_room_sheet(file_name=file_name, data=data, room_number=room.number)
    return entry_save(actor=actor, room_id=room_id, data=parsed, submit=submit, now=now, file=file_name,
                      row_of=row_of)


def entry_save_system(*, room: ExamRoom, data: Mapping[str, Mapping[str, Any]]) -> None:
    """Demo data: the same parsing without an acting account or window (audited as system)."""
    records = room_records(room)
    before = {r.pk: r.as_audit() for r in records}
    changed = _apply(room, records, data)
    _save_records(None, room, changed, before)


def room_set_status_system(*, room: ExamRoom, status: str, by: Any) -> None:
    """Demo data: move a room to submitted or confirmed as its recorder/reviewer would."""
    before = room.as_audit()
    room.status = status
    room.submitted_at = timezone.now()
    if status == RoomStatus.CONFIRMED:
        room.confirmed_at, room.confirmed_by = timezone.now(), by
    _note(room, by, status)
    room.full_clean()
    room.save()
    audit_record(actor=None, action=f"pe.room_{status}", object_type="pe.ExamRoom", object_id=room.pk,
                 before=before, after=room.as_audit())
