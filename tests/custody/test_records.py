"""Session records (测试情况记录表) and ``session_attendance``.

Seeds: collected-county-and-school-plans.txt — "样本校按照要求上传测试情况记录表、测试完成情况";
2024-nanchang-city-plan.txt — the information officer supports "《测试情况记录表》录入", and the school counts
"测试年级体育免测生".
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from naeq.core.errors import InvalidInput, NotFound, PermissionDenied
from naeq.core.models import AuditEvent
from naeq.custody import selectors, services
from tests.custody.conftest import DAY, at
from tests.delivery.factories import make_session, make_taker
from tests.personas import World


@pytest.fixture
def sitting(world: World, cycle: Any) -> Any:
    school = world.schools["A1a-1"]
    session = make_session(cycle, school, instruments=["math"], grade=4, status="closed", starts_at=at(DAY, 8))
    for i in range(1, 5):
        make_taker(cycle, school, f"{school.code}4{i:02d}", grade=4)
    make_taker(cycle, school, f"{school.code}801", grade=8)  # another grade
    return session


def _save(actor: Any, session: Any, **over: Any) -> Any:
    code = session.school.code
    args: dict[str, Any] = dict(room="第1测试室", actual_start=at(DAY, 8, 5), actual_end=at(DAY, 9, 25), expected=4,
                                present=3, absentees=[{"code": f"{code}403", "reason": "病假"}],
                                pe_exempt=[{"code": f"{code}401", "reason": "腿部骨折"}],
                                deviations=[{"category": "late_start", "text": "推迟5分钟开考"}])
    args.update(over)
    return services.record_save(actor=actor, session_id=session.pk, **args)


def test_record_saved_corrected_and_audited(world: World, sitting: Any) -> None:
    head = world.users["school_head@A"]
    r = _save(head, sitting)
    assert (r.expected, r.present, r.absentees[0]["reason"]) == (4, 3, "病假")
    r2 = _save(head, sitting, present=4, absentees=[])
    assert r2.pk == r.pk and r2.present == 4
    events = list(AuditEvent.objects.filter(action="custody.record_save", object_id=str(r.pk)).order_by("id"))
    assert events[0].before is None and events[1].before["present"] == 3 and events[1].after["present"] == 4


def test_attendance_must_add_up(world: World, sitting: Any) -> None:
    with pytest.raises(InvalidInput) as exc:
        _save(world.users["school_head@A"], sitting, present=4)
    assert [p.field for p in exc.value.problems] == ["实到人数"]
    assert "应等于应到人数（4）" in exc.value.problems[0].reason


def test_absentees_must_be_test_takers_of_the_school_and_grade(world: World, sitting: Any) -> None:
    code = sitting.school.code
    other = world.schools["A1a-2"].code
    with pytest.raises(InvalidInput) as exc:
        _save(world.users["school_info_officer@A"], sitting, present=1,
              absentees=[{"code": f"{code}801", "reason": "病假"}, {"code": f"{other}401", "reason": "事假"},
                         {"code": f"{code}402", "reason": ""}])
    problems = {(p.field, p.reason) for p in exc.value.problems}
    assert ("缺考学生1", f"测试编号{code}801不是本校本年级的测试学生。") in problems
    assert ("缺考学生2", f"测试编号{other}401不是本校本年级的测试学生。") in problems
    assert ("缺考学生3", "请填写原因。") in problems


def test_times_inside_the_day_and_in_order(world: World, sitting: Any) -> None:
    with pytest.raises(InvalidInput) as exc:
        _save(world.users["chief_proctor@A"], sitting, actual_start=at(DAY, 9), actual_end=at(DAY, 8, 59))
    assert [p.field for p in exc.value.problems] == ["实际结束时间"]
    with pytest.raises(InvalidInput) as exc:
        _save(world.users["chief_proctor@A"], sitting, actual_end=at(DAY.replace(day=23), 0, 30))
    assert "测试当天（2024-05-22）" in exc.value.problems[0].reason


def test_deviation_needs_a_known_category(world: World, sitting: Any) -> None:
    with pytest.raises(InvalidInput) as exc:
        _save(world.users["school_head@A"], sitting, deviations=[{"category": "weather", "text": "暴雨"}])
    assert exc.value.problems[0].field == "异常情况1"


def test_only_the_schools_runners_write(world: World, sitting: Any) -> None:
    for persona in ("inspector@A", "county_liaison@A", "province_coordinator@A"):
        with pytest.raises(PermissionDenied):
            _save(world.users[persona], sitting)


def test_session_attendance_sums_the_rooms(world: World, sitting: Any) -> None:
    head = world.users["school_head@A"]
    assert selectors.session_attendance(sitting)["complete"] is False
    _save(head, sitting, expected=2, present=1, pe_exempt=[])
    code = sitting.school.code
    _save(head, sitting, room="第2测试室", expected=2, present=2, absentees=[],
          pe_exempt=[{"code": f"{code}402", "reason": "心脏病"}])
    a = selectors.session_attendance(sitting)
    assert (a["rooms"], a["expected"], a["present"], a["absent"]) == (2, 4, 3, 1)
    assert a["absentees"] == [{"code": f"{code}403", "reason": "病假", "room": "第1测试室"}]
    assert a["pe_exempt"] == [{"code": f"{code}402", "reason": "心脏病", "room": "第2测试室"}]
    assert len(a["deviations"]) == 2 and a["complete"] is True


def test_records_feed_the_test_taker_information(world: World, cycle: Any, client: Any) -> None:
    """Absent in every recorded session → 缺考; PE-exempt in a record → 体育免测; otherwise → 到考; a grade without
    records is left to the school. Written through sampling's test_takers_set (audited there and here)."""
    from naeq.delivery.models import TestSession
    from naeq.sampling.models import SampledStudent
    from tests.delivery.sessions_world import generate, make_test_id

    generate(world, cycle)
    school = world.schools["A1a-1"]
    head = world.users["school_head@A"]
    g8 = list(TestSession.objects.filter(cycle=cycle, school=school, kind="formal", respondent="student",
                                         grade=8).order_by("starts_at")[:2])
    assert len(g8) == 2
    one, two = make_test_id(school, 8, 1), make_test_id(school, 8, 2)
    TestSession.objects.filter(pk__in=[s.pk for s in g8]).update(status="closed")
    for i, s in enumerate(g8):
        services.record_save(actor=head, session_id=s.pk, room="第1测试室", actual_start=s.starts_at,
                             actual_end=s.starts_at + dt.timedelta(minutes=60), expected=2, present=1,
                             absentees=[{"code": two, "reason": "病假"}],
                             pe_exempt=[{"code": one, "reason": "腿部骨折"}] if i == 0 else [], deviations=[])
    with pytest.raises(PermissionDenied):
        services.records_to_test_takers(actor=world.users["city_viewer@A"], cycle=cycle, school_code=school.code)
    with pytest.raises(NotFound):
        services.records_to_test_takers(actor=world.users["county_liaison@B"], cycle=cycle,
                                        school_code=school.code)
    n = services.records_to_test_takers(actor=head, cycle=cycle, school_code=school.code)
    assert n == {"present": 0, "absent": 1, "pe_exempt": 1, "changed": 2, "unrecorded": 2}
    status = dict(SampledStudent.objects.filter(sampled_school__school=school).values_list("test_id", "status"))
    assert status == {one: "pe_exempt", two: "absent", make_test_id(school, 4, 1): "pending",
                      make_test_id(school, 4, 2): "pending"}
    assert AuditEvent.objects.filter(action="sampling.test_takers_set", object_id=school.code).count() == 1
    assert AuditEvent.objects.get(action="custody.records_to_test_takers").after["changed"] == 2
    # The page: the liaison presses the button; nothing changes now, and the message says so.
    client.force_login(world.users["county_liaison@A"])
    page = client.post(f"/custody/schools/{school.code}/test-takers/", follow=True).content.decode()
    assert "到考0人，缺考1人，体育免测1人（其中0人有变化）" in page


def test_attendance_statuses_rule() -> None:
    """The rule alone: absent from only one of two sessions is 到考; PE-exempt and absent everywhere is 缺考."""
    from types import SimpleNamespace

    s1, s2 = SimpleNamespace(grade=8), SimpleNamespace(grade=8)
    recs = [SimpleNamespace(session=s1, session_id=1, absentees=[{"code": "a"}, {"code": "b"}],
                            pe_exempt=[{"code": "b"}, {"code": "c"}]),
            SimpleNamespace(session=s2, session_id=2, absentees=[{"code": "b"}], pe_exempt=[])]
    out = services.attendance_statuses(recs, [("a", 8), ("b", 8), ("c", 8), ("d", 8), ("e", 4)])  # type: ignore[arg-type]
    assert out == {"a": "present", "b": "absent", "c": "pe_exempt", "d": "present"}
