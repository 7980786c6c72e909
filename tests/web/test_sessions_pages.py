"""Session pages through the Django test client: the test taker's sign-in, "my tests" and role pick (plain pages
without the staff navigation), the proctor view, practice sessions, completion and role reset approvals."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from naeq.core.models import AuditEvent
from naeq.delivery.models import Attempt, Incident, InstrumentKind, Respondent, RoleResetRequest, SessionStatus
from naeq.delivery.models import TestSession as Session
from naeq.delivery.models import TestTaker as Taker
from tests.delivery.factories import make_instrument
from tests.delivery.sessions_world import Sampled, generate
from tests.personas import World
from tests.web.browser import ARGS, BROWSER_MARKS, CHROMIUM

STAFF_NAV = 'class="mainnav"'


@pytest.fixture
def g(world: World, cycle: Any) -> Sampled:
    cache.clear()
    make_instrument(cycle, "math", booklets={1: ["B1", "B2"], 2: ["B2", "B1"]})
    for code in ("head_teacher_questionnaire", "math_teacher_questionnaire", "pe_teacher_questionnaire"):
        make_instrument(cycle, code, kind=InstrumentKind.QUESTIONNAIRE)
    return generate(world, cycle)


def _now_open(s: Session) -> Session:
    """Move the session's window around now and open it (pages use the real clock)."""
    now = timezone.now()
    Session.objects.filter(pk=s.pk).update(starts_at=now - dt.timedelta(minutes=10),
                                           ends_at=now + dt.timedelta(minutes=70) if s.ends_at else None,
                                           status=SessionStatus.OPEN, opened_at=now)
    return Session.objects.get(pk=s.pk)


def _math(g: Sampled) -> Session:
    return next(s for s in Session.objects.filter(school=g.world.schools["A1a-1"], grade=4,
                                                  respondent=Respondent.STUDENT) if s.instruments == ["math"])


def test_student_signs_in_and_starts_the_test(client: Client, g: Sampled) -> None:
    s = _now_open(_math(g))
    page = client.get("/t/")
    assert page.status_code == 200 and "测试编号" in page.content.decode()
    assert STAFF_NAV not in page.content.decode() and "<script" not in page.content.decode()
    assert 'name="language" value="en"' in page.content.decode()  # English is one click away
    code = g.test_ids["A1a-1"][0]
    bad = client.post("/t/", {"code": code, "key": "WRONG2"})
    assert bad.status_code == 400 and "测试编号或登录码不正确" in bad.content.decode()
    assert client.get("/t/home/").url == "/t/"
    ok = client.post("/t/", {"code": code, "key": s.key.lower()})
    assert ok.status_code == 302 and ok.url == "/t/home/"
    home = client.get("/t/home/").content.decode()
    assert "学生数学测试" in home and "开始作答" in home and STAFF_NAV not in home
    assert client.get("/t/home/")["Cache-Control"].startswith("max-age=0")
    started = client.post("/t/start/math/")
    attempt = Attempt.objects.get(test_taker__code=code)
    assert started.status_code == 302 and started.url == f"/t/attempt/{attempt.pk}/"
    assert attempt.booklet == 1  # the sample's booklet for the subject
    assert client.get(started.url).status_code == 200  # the test-taking page accepts the sign-in
    assert "继续作答" in client.get("/t/home/").content.decode()
    assert client.post("/t/start/principal_questionnaire/").status_code == 404
    client.post("/t/signout/")
    assert client.get("/t/home/").status_code == 302


def test_sign_in_limit_counts_the_forwarded_address(client: Client, g: Sampled, settings: Any) -> None:
    settings.NAEQ_SIGNIN_IP_HEADER = "HTTP_X_REAL_IP"
    settings.NAEQ_SIGNIN_IP_FAILURES = 3
    s = _now_open(_math(g))
    for n in range(3):
        client.post("/t/", {"code": f"1000000000001{n}", "key": "WRONG2"}, HTTP_X_REAL_IP="10.9.0.1")
    locked = client.post("/t/", {"code": g.test_ids["A1a-1"][0], "key": s.key}, HTTP_X_REAL_IP="10.9.0.1")
    assert locked.status_code == 400 and "尝试次数过多" in locked.content.decode()
    # Another room behind the same balancer (same REMOTE_ADDR) still signs in.
    ok = client.post("/t/", {"code": g.test_ids["A1a-1"][0], "key": s.key}, HTTP_X_REAL_IP="10.9.0.2")
    assert ok.status_code == 302


def test_teacher_picks_roles_then_gets_the_matching_questionnaires(client: Client, g: Sampled) -> None:
    school = g.world.schools["A1a-1"]
    s = _now_open(Session.objects.get(school=school, grade=4, respondent=Respondent.TEACHER))
    teacher = Taker.objects.filter(school=school, kind=Respondent.TEACHER, grade=4).order_by("code").first()
    assert teacher is not None
    client.post("/t/", {"code": teacher.code, "key": s.key})
    assert client.get("/t/home/").url == "/t/roles/"
    page = client.get("/t/roles/").content.decode()
    assert "班主任" in page and "数学教师" in page
    unconfirmed = client.post("/t/roles/", {"roles": ["head_teacher", "subject:math"]})
    assert unconfirmed.status_code == 400 and not Taker.objects.get(pk=teacher.pk).roles_locked
    client.post("/t/roles/", {"roles": ["head_teacher", "subject:math"], "confirm": "1"})
    home = client.get("/t/home/").content.decode()
    assert "班主任问卷" in home and "数学教师问卷" in home and "体育教师问卷" not in home
    assert client.get("/t/roles/").url == "/t/home/"  # locked: no second pick
    client.post("/t/roles/reset/", {"reason": "误选了班主任"})
    req = RoleResetRequest.objects.get(test_taker=teacher)
    assert req.reason == "误选了班主任" and "等待县级审批" in client.get("/t/home/").content.decode()
    staff = Client()
    staff.force_login(g.world.users["county_liaison@A"])
    assert "误选了班主任" in staff.get("/sessions/resets/").content.decode()
    staff.post(f"/sessions/resets/{req.pk}/decide/", {"decision": "approve"})
    assert not Taker.objects.get(pk=teacher.pk).roles_locked
    assert client.get("/t/home/").url == "/t/roles/"


def test_proctor_view_open_close_and_incidents(client: Client, g: Sampled) -> None:
    s = _math(g)
    client.force_login(g.world.users["chief_proctor@A"])
    listing = client.get("/sessions/").content.decode()
    assert s.code in listing and STAFF_NAV in listing
    detail = client.get(f"/sessions/{s.pk}/").content.decode()
    assert s.key in detail and "开启场次" in detail and g.test_ids["A1a-1"][0] in detail
    client.post(f"/sessions/{s.pk}/open/")
    assert Session.objects.get(pk=s.pk).status == SessionStatus.OPEN
    client.post(f"/sessions/{s.pk}/times/", {"actual_start": "2024-05-22 08:33"})
    assert Session.objects.get(pk=s.pk).actual_start == dt.datetime(2024, 5, 22, 8, 33,
                                                                   tzinfo=dt.timezone(dt.timedelta(hours=8)))
    bad = client.post(f"/sessions/{s.pk}/times/", {"actual_end": "yesterday"}, follow=True)
    assert "格式应为" in bad.content.decode()
    client.post(f"/sessions/{s.pk}/incidents/", {"category": "power", "grade": "2", "description": "教室停电5分钟"})
    assert Incident.objects.get(session=s).description == "教室停电5分钟"
    credentials = client.get(f"/sessions/{s.pk}/credentials/").content.decode()
    assert "学生41" in credentials and g.test_ids["A1a-1"][0] in credentials
    client.post(f"/sessions/{s.pk}/close/")
    assert Session.objects.get(pk=s.pk).status == SessionStatus.CLOSED
    closed = client.get(f"/sessions/{s.pk}/").content.decode()
    assert closed.count("缺考</span>") == 2  # nobody signed in
    # The inspector supervises: sees the session and records incidents, but no key and no buttons.
    inspector = Client()
    inspector.force_login(g.world.users["inspector@A"])
    page = inspector.get(f"/sessions/{s.pk}/").content.decode()
    assert s.key not in page and "记录应急事件" in page and "开启场次" not in page
    assert inspector.get(f"/sessions/{s.pk}/credentials/").status_code == 403
    assert AuditEvent.objects.filter(action__startswith="delivery.session_").count() == 3


def test_practice_session_page(client: Client, g: Sampled) -> None:
    client.force_login(g.world.users["school_info_officer@A"])
    form = client.get("/sessions/practice/new/").content.decode()
    assert "学生数学测试" in form
    bad = client.post("/sessions/practice/new/", {"grade": "4", "respondent": "student"}, follow=True)
    assert "请至少选择一个监测工具" in bad.content.decode()
    made = client.post("/sessions/practice/new/", {"grade": "4", "respondent": "student",
                                                   "instruments": ["math"], "title": "数学练习"})
    s = Session.objects.get(kind="practice")
    assert made.url == f"/sessions/{s.pk}/" and s.title == "数学练习"


def test_completion_page_drills_down(client: Client, g: Sampled) -> None:
    client.force_login(g.world.users["province_coordinator@A"])
    page = client.get("/sessions/completion/").content.decode()
    assert g.world.regions["A1"].name in page and g.world.regions["B"].name not in page
    county = client.get(f"/sessions/completion/?region={g.world.regions['A1a'].code}").content.decode()
    assert g.world.schools["A1a-1"].name in county and "0/4" in county
    assert client.get(f"/sessions/completion/?region={g.world.regions['B1a'].code}").status_code == 404


def test_local_time_sessions_show_their_own_clock(client: Client, g: Sampled, cycle: Any) -> None:
    """DOMAIN.md: "Xinjiang and Tibet run on local time": pages show 08:30 there, not Beijing's 10:30."""
    from naeq.delivery.sessions import sessions_generate
    from tests.delivery.sessions_world import xinjiang_county

    _county, school = xinjiang_county(cycle)
    sessions_generate(actor=g.world.users["national_admin@A"], year=2024)
    math = next(s for s in Session.objects.filter(school=school) if s.instruments == ["math"])
    client.force_login(g.world.users["national_admin@A"])
    detail = client.get(f"/sessions/{math.pk}/").content.decode()
    assert "2024-05-22 08:30 – 2024-05-22 09:50" in detail and "当地时间" in detail
    listing = client.get(f"/sessions/?school={school.code}&date=2024-05-22").content.decode()
    assert "2024-05-22 08:30" in listing and "2024-05-22 10:30" not in listing


def _queries(client: Client, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_list_and_proctor_view_queries_do_not_grow_with_rows(client: Client, g: Sampled, cycle: Any) -> None:
    from tests.delivery.factories import make_taker

    client.force_login(g.world.users["national_admin@A"])
    s = _math(g)
    list_before, view_before = _queries(client, "/sessions/"), _queries(client, f"/sessions/{s.pk}/")
    school = g.world.schools["A1a-1"]
    for n in range(10):  # ten more students expected in the session, and ten more sessions in the list
        make_taker(cycle, school, f"{school.code}49{n}1", grade=4)
        Session.objects.create(cycle=cycle, county=school.county, school=school, path=school.path, level="primary",
                               grade=4, respondent="student", kind="practice", title=f"练习{n}",
                               instruments=["math"], starts_at=s.starts_at, code=f"P{n:07d}", key="ABCDEF")
    assert _queries(client, "/sessions/") == list_before
    assert _queries(client, f"/sessions/{s.pk}/") == view_before


@BROWSER_MARKS[0]
@BROWSER_MARKS[1]
@BROWSER_MARKS[2]
def test_browser_teacher_signs_in_and_picks_roles(live_server: Any, world: World, cycle: Any) -> None:
    """In Chromium without JavaScript: the chief proctor opens the teachers' session and reads the key; a teacher
    signs in with test ID + key, confirms roles, and gets exactly the matching questionnaires."""
    sync_api = pytest.importorskip("playwright.sync_api")
    from tests.personas import PASSWORD

    g = _g_for_browser(world, cycle)
    school = world.schools["A1a-1"]
    s = Session.objects.get(school=school, grade=8, respondent=Respondent.TEACHER)
    now = timezone.now()
    Session.objects.filter(pk=s.pk).update(starts_at=now - dt.timedelta(minutes=5))
    teacher = Taker.objects.filter(school=school, kind=Respondent.TEACHER, grade=8).order_by("code").first()
    assert teacher is not None and g is not None
    base = live_server.url
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        staff = browser.new_context(locale="zh-CN").new_page()
        staff.goto(f"{base}/login/")
        staff.fill("#id_username", world.users["chief_proctor@A"].username)
        staff.fill("#id_password", PASSWORD)
        staff.click("button[type=submit].btn-primary")
        staff.wait_for_url(f"{base}/")
        staff.goto(f"{base}/sessions/{s.pk}/")
        staff.click("text=开启场次")
        key = staff.inner_text("code.key")
        assert Session.objects.get(pk=s.pk).status == SessionStatus.OPEN
        kid = browser.new_context(locale="zh-CN", java_script_enabled=False).new_page()
        kid.goto(f"{base}/t/")
        assert kid.locator(".mainnav").count() == 0
        kid.fill("#code", teacher.code)
        kid.fill("#key", key)
        kid.click("form:has(#code) button[type=submit]")  # not the language switch's button
        kid.wait_for_url(f"{base}/t/roles/")
        kid.check("input[value='head_teacher']")
        kid.check("input[value='subject:pe']")
        kid.check("input[name=confirm]")
        kid.click("form:has(input[name=confirm]) button[type=submit]")
        kid.wait_for_url(f"{base}/t/home/")
        body = kid.inner_text("body")
        assert "班主任问卷" in body and "体育教师问卷" in body and "数学教师问卷" not in body
        browser.close()
    assert Taker.objects.get(pk=teacher.pk).roles == ["head_teacher", "subject:pe"]


def _g_for_browser(world: World, cycle: Any) -> Sampled:
    cache.clear()
    for code in ("head_teacher_questionnaire", "math_teacher_questionnaire", "pe_teacher_questionnaire"):
        make_instrument(cycle, code, kind=InstrumentKind.QUESTIONNAIRE)
    return generate(world, cycle)
