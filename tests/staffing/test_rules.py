"""The rules engine lists every fault with its rule and seed; a complete, clean staff list has none."""

from __future__ import annotations

import datetime as dt
from typing import Any

from naeq.staffing import services
from naeq.staffing.config import catalogue_for
from naeq.staffing.models import StaffAssignment
from naeq.staffing.rules import violations
from tests.staffing.helpers import person, staff_county_team, staff_school

DAY1, DAY2 = dt.date(2024, 5, 22), dt.date(2024, 5, 23)


def _codes(sw: Any, school_key: str | None = "A1a-1") -> list[tuple[str, str, str]]:
    found = violations(sw.cycle, sw.world.regions["A1a"])
    sid = sw.world.schools[school_key].pk if school_key else None
    return [(v.rule_code, v.post, v.person) for v in found if v.school_id == sid]


def test_complete_staff_list_has_no_violation(sw: Any) -> None:
    staff_county_team(sw)
    staff_school(sw)
    assert _codes(sw, None) == []
    assert _codes(sw) == []
    # The other sample school of the county has nobody yet: every post is short.
    other = _codes(sw, "A1a-2")
    assert {c for c, _p, _n in other} == {"too_few"}
    assert [p for _c, p, _n in other] == [p.name for p in catalogue_for(sw.cycle.year).posts_at("school")]


def test_empty_county_lists_each_missing_post_with_its_seed(sw: Any) -> None:
    """"组长 1 人 由县级政府分管教育工作的领导担任" — an empty county team is short on every post."""
    found = [v for v in violations(sw.cycle, sw.world.regions["A1a"]) if v.school_id is None]
    assert {v.post for v in found} == {"组长", "副组长", "联络员", "县级信息员"}
    leader = next(v for v in found if v.post == "组长")
    assert leader.rule_code == "too_few" and leader.message_zh == "“组长”应至少1人，现有0人。"
    assert "由县级政府分管教育工作的领导担任" in leader.seed_source


def test_missing_custodian_is_listed(sw: Any) -> None:
    """"保密员 2人 由样本校工作人员担任" — one custodian removed, the school is short of one."""
    staff_school(sw)
    a = StaffAssignment.objects.filter(school=sw.world.schools["A1a-1"], post="custodian").first()
    services.assignment_delete(actor=sw.user("school_head@A"), assignment_id=a.pk)
    assert _codes(sw) == [("too_few", "保密员", "")]


def test_chief_proctor_from_his_own_school(sw: Any) -> None:
    """"主监测员 每样本校 1 人 由非本校的教务（教导）主任担任"."""
    staff_school(sw)
    a = StaffAssignment.objects.get(school=sw.world.schools["A1a-1"], post="chief_proctor")
    a.person.home_school = sw.world.schools["A1a-1"]
    a.person.save()
    found = [v for v in violations(sw.cycle, sw.world.regions["A1a"]) if v.rule_code == "same_school"]
    assert len(found) == 1 and found[0].person == a.person.name and "非本校" in found[0].seed_source
    assert found[0].message_zh == f"{a.person.name}是本校人员，不能担任本校的“主监测员”。"


def test_chief_proctor_teaching_a_tested_subject(sw: Any) -> None:
    """collected-county-and-school-plans.txt: "由非本样本校的非语文、非艺术（音乐、美术）学科教师担任" — in 2024 the
    sample counties test 数学、心理健康、体育与健康 (cycle configuration), so a maths teacher may not be chief proctor,
    a Chinese teacher may."""
    staff_school(sw)
    a = StaffAssignment.objects.get(school=sw.world.schools["A1a-1"], post="chief_proctor")
    a.person.subjects = ["chinese"]
    a.person.save()
    assert _codes(sw) == []
    a.person.subjects = ["chinese", "math"]
    a.person.save()
    found = [v for v in violations(sw.cycle, sw.world.regions["A1a"]) if v.rule_code == "tested_subject"]
    assert [v.message_zh for v in found] == [f"{a.person.name}任教测试学科（数学），不能担任“主监测员”。"]


def test_custodian_also_proctor_on_the_same_day_conflicts(sw: Any) -> None:
    """Conflict table: custodian and proctor ("保密员…负责监测工具的领取、保管和送回") in one session day."""
    staff_school(sw)
    school = sw.world.schools["A1a-1"]
    custodian = StaffAssignment.objects.filter(school=school, post="custodian").first().person
    head = sw.user("school_head@A")
    services.assignment_create(actor=head, cycle=sw.cycle, county=sw.world.regions["A1a"], post_code="proctor",
                               person_id=custodian.pk, school=school, day=DAY1)
    assert _codes(sw) == [("conflict", "保密员、监测员", custodian.name)]


def test_posts_on_different_days_do_not_conflict(sw: Any) -> None:
    staff_school(sw)
    school = sw.world.schools["A1a-1"]
    county = sw.world.regions["A1a"]
    head = sw.user("school_head@A")
    someone = person(sw, "school_head@A", "A1a", name="值日教师", home=school)
    services.assignment_create(actor=head, cycle=sw.cycle, county=county, post_code="proctor",
                               person_id=someone.pk, school=school, day=DAY1)
    services.assignment_create(actor=head, cycle=sw.cycle, county=county, post_code="custodian",
                               person_id=someone.pk, school=school, day=DAY2)
    assert _codes(sw) == [("too_many", "保密员", "")]


def test_inspector_also_chief_proctor_conflicts(sw: Any) -> None:
    """"责任督学…负责全面监督样本校测试工作" — the supervisor cannot be the chief proctor he supervises."""
    county, school = sw.world.regions["A1a"], sw.world.schools["A1a-1"]
    liaison = sw.user("county_liaison@A")
    who = person(sw, "county_liaison@A", "A1a", name="督学甲", home=sw.world.schools["A1a-2"])
    for post in ("inspector", "chief_proctor"):
        services.assignment_create(actor=liaison, cycle=sw.cycle, county=county, post_code=post,
                                   person_id=who.pk, school=school)
    assert [c for c in _codes(sw) if c[0] != "too_few"] == [("conflict", "主监测员、责任督学", who.name)]


def test_one_person_at_two_schools_on_the_same_day(sw: Any) -> None:
    county = sw.world.regions["A1a"]
    liaison = sw.user("county_liaison@A")
    who = person(sw, "county_liaison@A", "A1a", name="体育教师甲", home=sw.world.schools["A1a-2"])
    services.assignment_create(actor=liaison, cycle=sw.cycle, county=county, post_code="pe_proctor_county",
                               person_id=who.pk, school=sw.world.schools["A1a-1"], day=DAY1)
    services.assignment_create(actor=liaison, cycle=sw.cycle, county=county, post_code="inspector",
                               person_id=who.pk, school=sw.world.schools["A1a-2"], day=DAY2)
    assert not [v for v in violations(sw.cycle, county) if v.rule_code == "two_schools"]
    services.assignment_create(actor=liaison, cycle=sw.cycle, county=county, post_code="pe_proctor_county",
                               person_id=who.pk, school=sw.world.schools["A1a-2"], day=DAY1)
    found = [v for v in violations(sw.cycle, county) if v.rule_code == "two_schools"]
    assert len(found) == 1 and found[0].person == who.name


def test_one_proctor_per_test_room(sw: Any) -> None:
    """One 监测员 per test room (DOMAIN.md; 2023-dongli-district-rules.txt leaves the number to the manual:
    "具体人数要求根据组织手册确定"): with three rooms in the school's 测试情况记录表 on the first day and one proctor,
    the rule is broken for that day only; a second proctor for that day and a third for the whole test fix it."""
    staff_school(sw)
    school = sw.world.schools["A1a-1"]
    rooms = {(school.pk, DAY1): 3, (school.pk, DAY2): 1}
    found = [v for v in violations(sw.cycle, sw.world.regions["A1a"], rooms=rooms) if v.school_id == school.pk]
    assert [(v.rule_code, v.post) for v in found] == [("per_room", "监测员")]
    assert found[0].message_zh == "“监测员”每个测试教室1人：2024-05-22有3个测试教室（测试情况记录表），只安排了1人。"
    assert "具体人数要求根据组织手册确定" in found[0].seed_source and found[0].rule_name == "每个测试教室1人"
    assert _codes(sw) == []  # without rooms (no record yet) only "at least one" is checked
    county = sw.world.regions["A1a"]
    for name, day in (("监测员甲", DAY1), ("监测员乙", None)):
        who = person(sw, "school_head@A", "A1a", name=name, home=school)
        services.assignment_create(actor=sw.user("school_head@A"), cycle=sw.cycle, county=county,
                                   post_code="proctor", person_id=who.pk, school=school, day=day)
    assert [v for v in violations(sw.cycle, county, rooms=rooms) if v.school_id == school.pk] == []


def test_rooms_come_from_the_session_records(sw: Any, client: Any) -> None:
    """The staffing pages count the rooms of the school's 测试情况记录表 (custody) per test day."""
    from naeq.custody.models import SessionRecord
    from tests.custody.conftest import at
    from tests.delivery.factories import make_session

    staff_school(sw)
    school = sw.world.schools["A1a-1"]
    session = make_session(sw.cycle, school, instruments=["math"], grade=8, status="closed", starts_at=at(DAY1, 8))
    for room in ("第1测试室", "第2测试室"):
        SessionRecord.objects.create(session=session, path=session.path, room=room, actual_start=at(DAY1, 8),
                                     actual_end=at(DAY1, 9), expected=0, present=0)
    client.force_login(sw.user("county_liaison@A"))
    page = client.get(f"/staffing/schools/{school.code}/").content.decode()
    assert "2024-05-22有2个测试教室（测试情况记录表），只安排了1人。" in page
    page = client.get("/staffing/counties/310101/").content.decode()
    assert "2024-05-22有2个测试教室" in page
