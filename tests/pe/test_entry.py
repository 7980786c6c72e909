"""Entry per exam room: bounds by grade and sex, −1 for missing, whole-room missing items, PE-exempt students,
recorder ≠ reviewer, review, lock and audited unlock, the provincial entry window.

Seed 2024-nanchang-city-plan.txt: "学生体育现场测试记录卡为纸笔记录，用于记录学生身高、体重、握力、视力、肺活量、
50米跑、立定跳远、15米折返跑共计8个测试项目的测试数据" and the PE proctors "按要求测试并如实记录学生测试数据，
协助信息员将体育测试数据录入系统中，核查体育测试数据录入的准确性"; the test-day preparation
"统计测试年级体育免测生". DOMAIN.md ("The platform as it exists"): "PE entry per exam room by a recorder and a
reviewer; −1 means missing; a submitted room is locked; a province-wide entry window".
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import IntegrityError, transaction

from naeq.core.audit import audit_verify
from naeq.core.errors import InvalidInput, NotFound, PermissionDenied
from naeq.core.models import AuditEvent
from naeq.pe import selectors, services
from naeq.pe.models import EntryWindow, ExamRoom, PeRecord, RoomStatus
from naeq.sampling.models import SampledStudent, StudentStatus
from tests.pe.conftest import NOW, PeWorld, fill

pytestmark = pytest.mark.django_db


def _rec(pw: PeWorld) -> Any:
    return pw.user("school_info_officer@A")


def _head(pw: PeWorld) -> Any:
    return pw.user("school_head@A")


def _codes(room: ExamRoom) -> list[tuple[str, str]]:
    return [(r.test_taker.code, r.test_taker.sampled_student.student.sex) for r in services.room_records(room)]


def _save(pw: PeWorld, room: ExamRoom, data: dict[str, Any], *, submit: bool = False, now: Any = NOW) -> Any:
    return services.entry_save(actor=_rec(pw), room_id=room.pk, data=data, submit=submit, now=now)


def test_rooms_are_generated_by_grade_and_sequence_and_idempotently(pw: PeWorld) -> None:
    school = pw.world.schools["A1a-1"]
    made = services.rooms_generate(actor=_head(pw), cycle=pw.cycle, school=school, size=3)
    # 4 grade-4 students -> rooms of 3 + 1; 4 grade-8 students -> 3 + 1.
    assert [(r.grade, r.records.count()) for r in made] == [(4, 3), (4, 1), (8, 3), (8, 1)]
    assert [r.test_taker.code for r in services.room_records(made[0])] == sorted(
        t.code for t in pw.takers["A1a-1"] if t.grade == 4)[:3]
    with pytest.raises(InvalidInput, match="没有尚未编入考场的体育测试学生"):
        services.rooms_generate(actor=_head(pw), cycle=pw.cycle, school=school)
    with pytest.raises(PermissionDenied):
        services.rooms_generate(actor=pw.user("inspector@A"), cycle=pw.cycle, school=pw.world.schools["A1a-1"])
    # The school moves a student between its draft rooms of the same grade.
    moved = services.record_move(actor=_head(pw), record_id=made[1].records.get().pk, room_id=made[0].pk)
    assert (moved.room_id, moved.seq) == (made[0].pk, 4)
    with pytest.raises(InvalidInput, match="同年级"):
        services.record_move(actor=_head(pw), record_id=moved.pk, room_id=made[2].pk)


def test_recorder_and_reviewer_are_two_different_accounts(pw: PeWorld) -> None:
    room = pw.staffed_rooms()[0]
    with pytest.raises(InvalidInput, match="两个不同的账户"):
        services.room_update(actor=_head(pw), room_id=room.pk, recorder_id=_head(pw).pk, reviewer_id=_head(pw).pk)
    # Only accounts of the school or of its county qualify.
    with pytest.raises(InvalidInput, match="本校工作人员或本县"):
        services.room_update(actor=_head(pw), room_id=room.pk, recorder_id=pw.user("school_head@B").pk,
                             reviewer_id=_head(pw).pk)
    # The database holds the rule too.
    with pytest.raises(IntegrityError), transaction.atomic():
        ExamRoom.objects.filter(pk=room.pk).update(reviewer=room.recorder)


def test_values_are_checked_against_the_bounds_of_the_grade_and_sex(pw: PeWorld) -> None:
    g4, g8 = pw.staffed_rooms()
    boy8, girl8 = (next(c for c, s in _codes(g8) if s == sex) for sex in "MF")
    boy4, girl4 = (next(c for c, s in _codes(g4) if s == sex) for sex in "MF")
    # DOMAIN.md: grip grade 8 "boys 10–70, girls 5–50"; standing long jump grade 4 "boys 80–230, girls 75–220".
    data8 = fill(g8)
    data8[boy8]["grip_1"] = 55
    data8[girl8]["grip_1"] = 55
    _n, findings = _save(pw, g8, data8)
    blocking = [f.reason for f in findings if f.blocking]
    assert blocking == [f"测试编号 {girl8}：握力第1次 55 超出八年级女生的范围 5–50 千克。"]
    # The draft keeps the value so the recorder can check the card; submission is refused with the same message.
    assert PeRecord.objects.get(test_taker__code=girl8).grip_1 == 55
    with pytest.raises(InvalidInput) as exc:
        _save(pw, g8, {}, submit=True)
    assert [p.reason for p in exc.value.problems] == blocking
    assert ExamRoom.objects.get(pk=g8.pk).status == RoomStatus.DRAFT
    data4 = fill(g4)
    data4[boy4]["jump_1"] = 225
    data4[girl4]["jump_1"] = 225
    _n, findings = _save(pw, g4, data4)
    assert [f.reason for f in findings if f.blocking] == [
        f"测试编号 {girl4}：立定跳远第1次 225 超出四年级女生的范围 75–220 厘米。"]


def test_minus_one_means_missing_and_unreadable_values_save_nothing(pw: PeWorld) -> None:
    room = pw.staffed_rooms()[0]
    data = fill(room)
    first, second = list(data)[:2]
    data[first]["vc_1"] = "-1"
    data[first]["vc_2"] = -1
    _save(pw, room, data)
    rec = PeRecord.objects.get(test_taker__code=first)
    assert (rec.vc_1, rec.vc_2) == (-1, -1)
    before = PeRecord.objects.get(test_taker__code=second).height
    for bad, reason in (("abc", "不是数值"), ("-2", "不能为负数"), ("135.25", "最多保留1位小数")):
        with pytest.raises(InvalidInput) as exc:
            _save(pw, room, {second: {"height": 150.1}, first: {"height": bad}})
        assert exc.value.problems[0].field == "身高"
        assert first in exc.value.problems[0].reason and reason in exc.value.problems[0].reason
        assert PeRecord.objects.get(test_taker__code=second).height == before  # nothing saved
    with pytest.raises(InvalidInput, match="应为整数"):
        _save(pw, room, {first: {"vc_1": "1500.5"}})
    # A −1 item is complete for submission and counts as missing in the completion statistics.
    _save(pw, room, {}, submit=True)
    c = selectors.school_completion(actor=_head(pw), cycle=pw.cycle, school=room.school)
    assert c.rows[0].missing["vc"] == 1 and c.rows[0].entered == 4


def test_blanks_block_submission_but_later_jump_trials_are_optional(pw: PeWorld) -> None:
    room = pw.staffed_rooms()[0]
    data = fill(room)
    code = next(iter(data))
    data[code]["jump_2"] = ""
    data[code]["jump_3"] = ""  # "standing long jump (≤3 trials)": one trial is enough
    data[code]["shuttle"] = ""
    _save(pw, room, data)
    with pytest.raises(InvalidInput) as exc:
        _save(pw, room, {}, submit=True)
    assert [p.reason for p in exc.value.problems] == [f"测试编号 {code}：15米折返跑 未录入（缺测请填 -1）。"]
    _save(pw, room, {code: {"shuttle": -1}}, submit=True)
    assert ExamRoom.objects.get(pk=room.pk).status == RoomStatus.SUBMITTED


def test_whole_room_missing_item_is_marked_once_with_a_reason(pw: PeWorld) -> None:
    room = pw.staffed_rooms()[0]
    with pytest.raises(InvalidInput, match="原因"):
        services.missing_item_set(actor=_rec(pw), room_id=room.pk, item="shuttle", reason=" ", now=NOW)
    services.missing_item_set(actor=_rec(pw), room_id=room.pk, item="shuttle", reason="计时器故障", now=NOW)
    with pytest.raises(InvalidInput, match="已标记为整场缺测"):
        services.missing_item_set(actor=_rec(pw), room_id=room.pk, item="shuttle", reason="再次", now=NOW)
    assert set(PeRecord.objects.filter(room=room).values_list("shuttle", flat=True)) == {-1}
    data = fill(room)  # includes shuttle values, which are ignored for a whole-room missing item
    _save(pw, room, data, submit=True)
    assert set(PeRecord.objects.filter(room=room).values_list("shuttle", flat=True)) == {-1}
    room.refresh_from_db()
    assert room.missing_items == {"shuttle": "计时器故障"} and room.status == RoomStatus.SUBMITTED
    c = selectors.school_completion(actor=_head(pw), cycle=pw.cycle, school=room.school)
    assert c.rows[0].missing["shuttle"] == 4 and c.rows[0].missing["grip"] == 0


def test_exempt_students_are_exempt_not_missing(pw: PeWorld) -> None:
    # 体育免测生 already reported in the sample's test-taker information (naeq.sampling) are taken over as such.
    upstream = pw.takers["A1a-1"][0]
    SampledStudent.objects.filter(pk=upstream.sampled_student_id).update(status=StudentStatus.PE_EXEMPT)
    room = pw.staffed_rooms()[0]
    rec = PeRecord.objects.get(test_taker=upstream)
    assert (rec.attendance, rec.exempt_reason) == ("exempt", "学生测试情况：体育免测")
    data = fill(room)
    data[upstream.code] = {"attendance": "present", "height": 140}  # cannot be overridden here
    other = next(c for c in data if c != upstream.code)
    data[other] = {"attendance": "exempt", "exempt_reason": ""}
    with pytest.raises(InvalidInput, match="体育免测须填写原因"):
        _save(pw, room, data)
    data[other] = {"attendance": "免测", "exempt_reason": "腿部骨折"}
    _save(pw, room, data, submit=True)  # exempt students need no values
    assert PeRecord.objects.get(test_taker=upstream).attendance == "exempt"
    c = selectors.school_completion(actor=_head(pw), cycle=pw.cycle, school=room.school)
    assert (c.rows[0].exempt, c.rows[0].entered) == (2, 2)
    assert all(v == 0 for v in c.rows[0].missing.values())


def test_exempt_students_of_the_session_records_are_taken_over(pw: PeWorld) -> None:
    """The 测试情况记录表 (naeq.custody) lists PE-exempt students by test ID with a reason."""
    from naeq.custody.models import SessionRecord
    from naeq.delivery.models import TestSession

    school = pw.world.schools["A1a-1"]
    taker = [t for t in pw.takers["A1a-1"] if t.grade == 8][1]
    session = TestSession.objects.create(cycle=pw.cycle, county=school.county, school=school, path=school.path,
                                         level="primary", grade=8, respondent="student", title="数学",
                                         starts_at=NOW, code="S0001", key="K0001")
    SessionRecord.objects.create(session=session, path=school.path, room="1", actual_start=NOW,
                                 actual_end=NOW + dt.timedelta(hours=1), expected=4, present=4,
                                 pe_exempt=[{"code": taker.code, "reason": "心脏病"}])
    pw.staffed_rooms()
    rec = PeRecord.objects.get(test_taker=taker)
    assert (rec.attendance, rec.exempt_reason) == ("exempt", "测试情况记录表：心脏病")


def test_only_the_recorder_enters_and_only_the_reviewer_reviews(pw: PeWorld) -> None:
    room = pw.staffed_rooms()[0]
    for persona in ("school_head@A", "county_liaison@A", "national_admin@A"):
        with pytest.raises(PermissionDenied, match="录入员"):
            services.entry_save(actor=pw.user(persona), room_id=room.pk, data=fill(room), now=NOW)
    _save(pw, room, fill(room), submit=True)
    with pytest.raises(PermissionDenied, match="审核员"):
        services.room_confirm(actor=_rec(pw), room_id=room.pk)


def test_confirmed_rooms_are_locked_and_unlocked_only_by_the_county_with_a_reason(pw: PeWorld) -> None:
    room = pw.staffed_rooms()[0]
    _save(pw, room, fill(room), submit=True)
    with pytest.raises(InvalidInput, match="等待审核员审核"):
        _save(pw, room, {})
    services.room_confirm(actor=_head(pw), room_id=room.pk)
    room.refresh_from_db()
    assert room.status == RoomStatus.CONFIRMED and room.confirmed_by == _head(pw)
    with pytest.raises(InvalidInput, match="已审核锁定"):
        _save(pw, room, fill(room))
    with pytest.raises(InvalidInput, match="已审核锁定"):
        services.room_update(actor=_head(pw), room_id=room.pk, name="改名")
    with pytest.raises(PermissionDenied, match="县级联络员"):
        services.room_unlock(actor=_head(pw), room_id=room.pk, reason="录错")
    with pytest.raises(InvalidInput, match="原因"):
        services.room_unlock(actor=pw.user("county_liaison@A"), room_id=room.pk, reason="")
    with pytest.raises(NotFound):  # another province's county officer does not even see it
        services.room_unlock(actor=pw.user("county_liaison@B"), room_id=room.pk, reason="x")
    services.room_unlock(actor=pw.user("county_liaison@A"), room_id=room.pk, reason="身高记录卡抄错一位")
    room.refresh_from_db()
    assert room.status == RoomStatus.DRAFT and room.confirmed_by is None
    event = AuditEvent.objects.filter(action="pe.room_unlock").get()
    assert event.actor == pw.user("county_liaison@A")
    assert event.before["status"] == "confirmed" and event.after["reason"] == "身高记录卡抄错一位"
    assert audit_verify().ok
    _save(pw, room, {next(iter(fill(room))): {"height": 141.0}})  # the recorder corrects


def test_the_reviewer_returns_with_a_reason(pw: PeWorld) -> None:
    room = pw.staffed_rooms()[0]
    _save(pw, room, fill(room), submit=True)
    with pytest.raises(InvalidInput, match="退回时请填写原因"):
        services.room_return(actor=_head(pw), room_id=room.pk, reason="")
    services.room_return(actor=_head(pw), room_id=room.pk, reason="第3名学生体重疑似录错")
    room.refresh_from_db()
    assert (room.status, room.return_reason) == (RoomStatus.DRAFT, "第3名学生体重疑似录错")
    assert [h["action"] for h in room.history][-2:] == ["submit", "return"]


def test_entry_outside_the_provincial_window_is_refused_with_the_window(pw: PeWorld) -> None:
    room = pw.staffed_rooms()[0]
    later = NOW + dt.timedelta(days=6)
    with pytest.raises(InvalidInput) as exc:
        _save(pw, room, fill(room), now=later)
    # The window of conftest: NOW − 1 day to NOW + 5 days, NOW = 2024-05-24 10:00 UTC = 18:00 in Beijing.
    assert exc.value.message == "体育测试成绩录入时间为 2024-05-23 18:00 至 2024-05-29 18:00，现在不在录入时间内。"
    # Without a provincial window the national default applies: the PE day (2024-05-23 in the 2024 schedule, "5 月
    # 23 日 上午 09:00 至全部完成 学生体育现场测试") to 10 days later, 23:59.
    EntryWindow.objects.all().delete()
    assert services.pe_test_day(pw.cycle) == dt.date(2024, 5, 23)
    _save(pw, room, fill(room), now=NOW)
    with pytest.raises(InvalidInput, match="2024-05-23 00:00 至 2024-06-02 23:59"):
        _save(pw, room, {}, now=dt.datetime(2024, 6, 3, 0, 0, tzinfo=dt.UTC))
    # Only the province's coordinator sets it; review is not entry and is allowed outside the window.
    coordinator = pw.user("province_coordinator@A")
    with pytest.raises(PermissionDenied):
        services.window_set(actor=pw.user("province_coordinator@B"), cycle=pw.cycle, province=pw.world.regions["A"],
                            opens_at=NOW, closes_at=NOW + dt.timedelta(days=1))
    with pytest.raises(InvalidInput, match="晚于开始时间"):
        services.window_set(actor=coordinator, cycle=pw.cycle, province=pw.world.regions["A"], opens_at=NOW,
                            closes_at=NOW)
    services.window_set(actor=coordinator, cycle=pw.cycle, province=pw.world.regions["A"],
                        opens_at=NOW - dt.timedelta(hours=1), closes_at=NOW + dt.timedelta(hours=1))
    _save(pw, room, {}, submit=True, now=NOW)
    services.room_confirm(actor=_head(pw), room_id=room.pk)
    assert AuditEvent.objects.filter(action="pe.window_set", actor=coordinator).exists()


def test_implausible_but_legal_patterns_are_warnings_only(pw: PeWorld) -> None:
    room = pw.staffed_rooms()[0]
    data = fill(room)
    code = next(iter(data))
    data[code]["grip_2"] = data[code]["grip_1"]
    _n, findings = _save(pw, room, data, submit=True)  # submitted despite the warnings
    warnings = [f.reason for f in findings if not f.blocking]
    assert any("握力 各次成绩完全相同" in w and code in w for w in warnings)
    assert ExamRoom.objects.get(pk=room.pk).status == RoomStatus.SUBMITTED


def test_heaping_on_round_numbers_is_a_room_warning(pw: PeWorld) -> None:
    from naeq.pe.config import items_config
    from naeq.pe.validation import Row, check_rows

    # 12 heights all ending in .0 or .5: far above the 20% expected by chance (see HEAPING_SHARE).
    rows = [Row(code=f"C{k}", seq=k, grade=4, sex="M", attendance="present",
                values={"height": 130.0 + (k % 2) * 0.5}) for k in range(12)]
    findings = check_rows(rows, items_config(), missing_items={}, for_submit=False)
    heaping = "身高 有 100% 的成绩末位为0或5，疑似估读取整，请核对记录卡。"
    assert [f.reason for f in findings if f.code == ""] == [heaping]
    assert not any(f.blocking for f in findings)
    mixed = [Row(code=f"C{k}", seq=k, grade=4, sex="M", attendance="present", values={"height": 130.1 + k / 10})
             for k in range(12)]
    assert not [f for f in check_rows(mixed, items_config(), missing_items={}, for_submit=False) if f.code == ""]
