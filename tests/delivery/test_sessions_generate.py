"""Generating test takers and formal sessions from the 2024 sample and schedule."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from naeq.core.errors import PermissionDenied
from naeq.core.models import AuditEvent
from naeq.delivery import takers
from naeq.delivery.models import Respondent, SessionKind, SessionStatus
from naeq.delivery.models import TestSession as Session
from naeq.delivery.models import TestTaker as Taker
from naeq.delivery.sessions import KEY_ALPHABET, sessions_generate
from tests.delivery.sessions_world import Sampled, build_sample, xinjiang_county
from tests.personas import World

BEIJING = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def sampled(world: World, cycle: Any) -> Sampled:
    return build_sample(world, cycle)


def _one(qs: Any, code: str) -> Session:
    (found,) = [s for s in qs if s.instruments == [code]]
    return found


def _admin(sampled: Sampled) -> Any:
    return sampled.world.users["national_admin@A"]


def test_takers_from_the_sample(sampled: Sampled) -> None:
    created = takers.test_takers_generate(actor=_admin(sampled), year=2024)
    # Students: 2 per sampled grade of the participating schools (A1a-1 twice, A1a-2, B1a-1); the refused A1b-1
    # has none.
    assert created == {"student": 8, "teacher": 8, "principal": 3, "county_manager": 4 * 5}
    s1 = sampled.world.schools["A1a-1"]
    student = Taker.objects.get(code=sampled.test_ids["A1a-1"][0])
    assert (student.kind, student.school_id, student.grade) == (Respondent.STUDENT, s1.pk, 4)
    # The sample's booklets are keyed by subject; the taker's by instrument code (questionnaires: booklet 1).
    assert student.booklets["math"] == 1 and student.booklets["mental_health"] == 2
    assert student.booklets["questionnaire_1"] == 1
    teachers = list(Taker.objects.filter(school=s1, kind=Respondent.TEACHER).values_list("code", "grade"))
    assert teachers == [(f"{s1.code}T001", 4), (f"{s1.code}T002", 4), (f"{s1.code}T003", 8), (f"{s1.code}T004", 8)]
    assert Taker.objects.filter(code=f"{s1.code}P001", kind=Respondent.PRINCIPAL, grade=None).exists()
    a1a = sampled.world.regions["A1a"]
    assert sorted(Taker.objects.filter(county=a1a, kind=Respondent.COUNTY_MANAGER).values_list("code", flat=True)
                  ) == [f"{a1a.code}M0{n}" for n in range(1, 6)]
    assert not Taker.objects.filter(school=sampled.world.schools["A1b-1"]).exists()
    assert AuditEvent.objects.filter(action="delivery.takers_generate").count() == 1


def test_takers_generation_is_idempotent_and_keeps_numbers(sampled: Sampled) -> None:
    from naeq.registry.models import Teacher

    takers.test_takers_generate(actor=_admin(sampled), year=2024)
    before = dict(Taker.objects.values_list("code", "pk"))
    s1 = sampled.world.schools["A1a-1"]
    new = Teacher.objects.create(school=s1, name="新教师", sex="F", grade=4, subjects="mental_health")
    created = takers.test_takers_generate(actor=_admin(sampled), year=2024, county_managers_per_county=5)
    assert created == {"student": 0, "teacher": 1, "principal": 0, "county_manager": 0}
    assert {c: pk for c, pk in Taker.objects.values_list("code", "pk") if c in before} == before
    assert Taker.objects.get(teacher=new).code == f"{s1.code}T005"


def test_only_the_national_admin_generates(sampled: Sampled) -> None:
    for persona in ("national_analyst@A", "province_coordinator@A", "county_liaison@A", "school_head@A"):
        with pytest.raises(PermissionDenied):
            takers.test_takers_generate(actor=sampled.world.users[persona], year=2024)
        with pytest.raises(PermissionDenied):
            sessions_generate(actor=sampled.world.users[persona], year=2024)
    assert not Taker.objects.exists() and not Session.objects.exists()


def test_sessions_from_the_2024_schedule(sampled: Sampled) -> None:
    created = sessions_generate(actor=_admin(sampled), year=2024)
    s1 = sampled.world.schools["A1a-1"]
    mine = Session.objects.filter(school=s1)
    # Per sampled grade: 数学, 心理健康, three questionnaires (students) + one teacher session; principal once per
    # school. The PE field test (field_test) has no online session.
    students = mine.filter(respondent=Respondent.STUDENT)
    assert students.count() == 2 * 5
    assert sorted(set(students.values_list("title", flat=True))) == sorted(
        {"学生数学测试", "学生心理健康测试", "学生相关因素问卷（一）填答", "学生相关因素问卷（二）填答",
         "学生相关因素问卷（三）填答"})
    assert not any("pe_field_test" in s.instruments for s in Session.objects.all())
    math4 = _one(students.filter(grade=4), "math")
    assert (math4.level, math4.kind, math4.status) == ("primary", SessionKind.FORMAL, SessionStatus.SCHEDULED)
    # "2024 年 5 月 22 日 … 08:30–09:50 数学" in Beijing time.
    assert math4.starts_at == dt.datetime(2024, 5, 22, 8, 30, tzinfo=BEIJING)
    assert math4.ends_at == dt.datetime(2024, 5, 22, 9, 50, tzinfo=BEIJING)
    assert (math4.utc_offset_minutes, math4.local_time) == (480, False)
    assert _one(students.filter(grade=8), "math").level == "middle"
    teachers = mine.filter(respondent=Respondent.TEACHER)
    assert sorted(teachers.values_list("grade", flat=True)) == [4, 8]
    t4 = teachers.get(grade=4)
    # "09:00 至全部完成 | 校长与教师问卷填答": no end.
    assert t4.ends_at is None and t4.starts_at == dt.datetime(2024, 5, 22, 9, 0, tzinfo=BEIJING)
    assert t4.instruments == ["head_teacher_questionnaire", "math_teacher_questionnaire", "pe_teacher_questionnaire",
                              "mental_health_teacher_questionnaire"]
    principal = mine.get(respondent=Respondent.PRINCIPAL)
    assert principal.instruments == ["principal_questionnaire"] and principal.grade is None
    # County manager window 5/24–5/31, one per sample county, no school.
    county = Session.objects.get(county=sampled.world.regions["A1a"], school=None)
    assert county.respondent == Respondent.COUNTY_MANAGER and county.level == "county"
    assert county.starts_at == dt.datetime(2024, 5, 24, 0, 0, tzinfo=BEIJING)
    assert county.ends_at == dt.datetime(2024, 6, 1, 0, 0, tzinfo=BEIJING)
    assert created["county_manager"] == 4
    assert not Session.objects.filter(school=sampled.world.schools["A1b-1"]).exists()
    # Unique session numbers; keys of 6 characters from the unambiguous alphabet.
    codes = list(Session.objects.values_list("code", flat=True))
    assert len(codes) == len(set(codes))
    for key in Session.objects.values_list("key", flat=True):
        assert len(key) == 6 and set(key) <= set(KEY_ALPHABET)
        assert not set(key) & set("0O1IL")


def test_sessions_generation_is_idempotent(sampled: Sampled) -> None:
    sessions_generate(actor=_admin(sampled), year=2024)
    before = dict(Session.objects.values_list("pk", "key"))
    assert sessions_generate(actor=_admin(sampled), year=2024) == {r.value: 0 for r in Respondent}
    assert dict(Session.objects.values_list("pk", "key")) == before


def test_xinjiang_sessions_run_on_local_time(sampled: Sampled) -> None:
    """DOMAIN.md: "Xinjiang and Tibet run on local time": 08:30 there is 10:30 Beijing time."""
    county, school = xinjiang_county(sampled.cycle, offset_hours=-2)
    sessions_generate(actor=_admin(sampled), year=2024)
    math = _one(Session.objects.filter(school=school), "math")
    assert (math.utc_offset_minutes, math.local_time) == (360, True)
    assert math.starts_at == dt.datetime(2024, 5, 22, 10, 30, tzinfo=BEIJING)
    assert math.starts_at.astimezone(dt.timezone(dt.timedelta(hours=6))).time() == dt.time(8, 30)
    assert Session.objects.get(county=county, school=None).local_time
    # The list's date filter uses the session's own clock.
    from naeq.delivery.selectors import session_list

    admin = _admin(sampled)
    day1 = session_list(actor=admin, date="2024-05-22", school_code=school.code)
    assert math in day1 and day1.count() == Session.objects.filter(school=school).count()
    assert session_list(actor=admin, date="2024-05-21", school_code=school.code).count() == 0


def test_listed_province_without_offset_defaults_to_two_hours(sampled: Sampled) -> None:
    _county, school = xinjiang_county(sampled.cycle, offset_hours=0)
    sessions_generate(actor=_admin(sampled), year=2024)
    math = _one(Session.objects.filter(school=school), "math")
    assert math.utc_offset_minutes == 360


def test_application_county_gets_its_own_schedule(world: World, cycle: Any) -> None:
    sampled = build_sample(world, cycle, participation={"A1a": "application"})
    sessions_generate(actor=_admin(sampled), year=2024)
    titles = set(Session.objects.filter(school=world.schools["A1a-2"]).values_list("title", flat=True))
    assert "学生语文测试" in titles and "学生劳动测试" in titles
    # No questionnaires on the application county's own schedule.
    assert "学生相关因素问卷（一）填答" not in titles
    assert "学生语文测试" not in set(Session.objects.filter(school=world.schools["B1a-1"])
                                 .values_list("title", flat=True))
