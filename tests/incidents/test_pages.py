"""The incident pages walked as a school, a county and a province would (request, then response, then database),
and the CLI verbs."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from click.testing import CliRunner
from django.test import Client
from django.utils import timezone

from naeq.incidents.models import HotlineCall, IncidentCase, IncidentReport
from tests.delivery.factories import make_session
from tests.personas import World

pytestmark = pytest.mark.django_db


def test_grade3_from_the_proctor_view_to_the_province(client: Client, world: World, cycle: Any) -> None:
    """2023-dongli 五: a grade-3 incident recorded in the session reaches the city and the province at once; the
    list highlights it; the province adds a handling entry and closes it with a finding (六 1)."""
    session = make_session(cycle, world.schools["A1a-1"], instruments=["math"])
    client.force_login(world.users["inspector@A"])
    r = client.post(f"/sessions/{session.pk}/incidents/", {"category": "impersonation", "grade": "3",
                                                          "description": "检录发现替考"})
    assert r.status_code == 302
    case = IncidentCase.objects.get(incident__session=session)
    client.force_login(world.users["city_viewer@A"])
    body = client.get("/incidents/notices/").content.decode()
    assert f"#{case.pk}" in body and "已上报至省级" in body
    body = client.get("/incidents/?grade=3").content.decode()
    assert 'class="grade-3"' in body and "冒名顶替（替考）" in body
    body = client.get(f"/incidents/{case.pk}/").content.decode()
    assert "按级别立即上报" in body and "添加处置记录" not in body  # the city reads only
    client.force_login(world.users["province_coordinator@A"])
    assert client.post(f"/incidents/{case.pk}/log/", {"text": "指示县级封存材料"}).status_code == 302
    r = client.post(f"/incidents/{case.pk}/close/", {"summary": "该生成绩作废", "violation": "hide_replace",
                                                     "unit": "school", "finding_note": "学校替换参测学生"})
    assert r.status_code == 302
    case.refresh_from_db()
    assert case.state == "closed" and case.findings.get().violation == "hide_replace"
    body = client.get(f"/incidents/{case.pk}/").content.decode()
    assert "瞒报教师和学生信息，替换参测人员，进行舞弊" in body and "指示县级封存材料" in body


def test_bad_input_is_reported_in_chinese(client: Client, world: World, cycle: Any) -> None:
    client.force_login(world.users["county_liaison@A"])
    r = client.post("/incidents/new/", {"county": world.regions["A1a"].code, "category": "power", "grade": "4",
                                        "description": "x"})
    assert r.status_code == 400 and "应急事件级别只能是1、2或3级" in r.content.decode()
    r = client.post("/incidents/new/", {"county": world.regions["A1a"].code, "category": "power", "grade": "1",
                                        "occurred_at": "昨天", "description": "x"})
    assert r.status_code == 400 and "时间格式应为" in r.content.decode()
    assert not IncidentCase.objects.exists()


def test_school_report_form_and_county_collection(client: Client, world: World, cycle: Any) -> None:
    yesterday = timezone.now() - dt.timedelta(days=1)
    school = world.schools["A1a-1"]
    make_session(cycle, school, instruments=["math"], starts_at=yesterday, status="closed")
    make_session(cycle, world.schools["A1a-2"], instruments=["math"], starts_at=yesterday, status="closed")
    day = timezone.localtime(yesterday).date().isoformat()
    client.force_login(world.users["school_head@A"])
    r = client.post(f"/incidents/reports/{school.code}/{day}/", {"handling": "", "signed_by": "校长甲"})
    assert r.status_code == 400 and "请填写处置情况说明" in r.content.decode()
    r = client.post(f"/incidents/reports/{school.code}/{day}/", {"no_incident": "1", "signed_by": "校长甲"})
    assert r.status_code == 302
    report = IncidentReport.objects.get(school=school)
    assert report.no_incident and report.signed_by == "校长甲"
    assert client.get(f"/incidents/reports/{school.code}/2001-01-01/").status_code == 404
    client.force_login(world.users["county_info_officer@A"])
    body = client.get("/incidents/reports/").content.decode()
    assert "缺报 1" in body and world.schools["A1a-2"].name in body
    assert client.post(f"/incidents/reports/{report.pk}/collect/").status_code == 302
    report.refresh_from_db()
    assert report.collected_by == world.users["county_info_officer@A"]


def test_hotline_form_masks_the_phone_in_lists(client: Client, world: World, cycle: Any) -> None:
    county = world.regions["A1a"]
    county.supervision_hotline = "021-55550000"
    county.save(update_fields=["supervision_hotline"])
    client.force_login(world.users["county_liaison@A"])
    assert "021-55550000" in client.get("/incidents/hotline/").content.decode()
    r = client.post("/incidents/hotline/new/", {"received_at": "2024-05-22 10:05", "caller_type": "parent",
                                                "caller_phone": "13912345678", "topic": "violation",
                                                "summary": "举报考前突击复习", "school": world.schools["A1a-1"].code})
    assert r.status_code == 302
    call = HotlineCall.objects.get()
    assert call.caller_phone == "13912345678"
    client.force_login(world.users["province_coordinator@A"])
    body = client.get("/incidents/hotline/").content.decode()
    assert "139******78" in body and "13912345678" not in body
    assert "13912345678" not in client.get(f"/incidents/hotline/{call.pk}/").content.decode()
    client.force_login(world.users["county_liaison@A"])
    r = client.post(f"/incidents/hotline/{call.pk}/case/", {"category": "other", "grade": "1"})
    case = IncidentCase.objects.get(source="hotline")
    assert r.status_code == 302 and r.url == f"/incidents/{case.pk}/"


def test_cli_verbs(world: World, cycle: Any) -> None:
    from naeq.delivery.sessions import incident_record
    from naeq.incidents.cli import incidents

    session = make_session(cycle, world.schools["A1a-1"], instruments=["math"],
                           starts_at=timezone.now() - dt.timedelta(hours=3))
    incident_record(actor=world.users["school_head@A"], session_id=session.pk, category="network", grade=2,
                    description="断网", at=timezone.now() - dt.timedelta(hours=3))
    runner = CliRunner()
    assert "OK (12 categories" in runner.invoke(incidents, ["check-config"]).output
    out = runner.invoke(incidents, ["overdue"]).output
    assert "grade 2 310101 at county, due at city" in out
    assert "-> city" in runner.invoke(incidents, ["overdue", "--escalate"]).output
    assert IncidentCase.objects.get().level == "city"
    out = runner.invoke(incidents, ["counts"]).output
    assert "grade 2 1" in out and "310101" in out
    for verb in ("check-config", "overdue", "counts"):
        assert runner.invoke(incidents, [verb, "--help"]).exit_code == 0


def test_list_pages_do_not_query_per_row(client: Client, world: World, cycle: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from naeq.delivery.sessions import incident_record
    from naeq.incidents.services import call_record

    def add(n: int) -> None:
        for i in range(n):
            s = make_session(cycle, world.schools["A1a-1"], instruments=["math"], title=f"q{i}{n}")
            incident_record(actor=world.users["school_head@A"], session_id=s.pk, category="power", grade=1 + i % 3,
                            description="停电")
            call_record(actor=world.users["county_liaison@A"], received_at=timezone.now(), caller_type="parent",
                        topic="question", summary="咨询", caller_phone="13900001111", cycle=cycle,
                        school_code=world.schools["A1a-1"].code)

    client.force_login(world.users["province_coordinator@A"])
    counts = []
    for n in (2, 6):
        add(n)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/incidents/").status_code == 200
            assert client.get("/incidents/hotline/").status_code == 200
            assert client.get("/incidents/reports/").status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts
