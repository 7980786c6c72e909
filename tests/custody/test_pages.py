"""The custody pages driven as a county liaison and a school would: forms, messages, the red alerts panel, the
Excel export, and the 测试情况记录表 form."""

from __future__ import annotations

import io
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from naeq.custody.models import CustodyEvent, SessionRecord
from tests.custody.conftest import DAY, at
from tests.delivery.factories import make_session, make_taker
from tests.personas import World

TWO = {"signatory_1": "县保密员甲", "signatory_2": "校保密员乙"}


def _post_receipt(c: Client) -> Any:
    return c.post("/custody/counties/310101/events/", {
        "kind": "received", "at": "2024-05-19 10:00", "boxes": "9", "expected_boxes": "10",
        "seal_numbers": "F01-F10", **TWO})


def test_ledger_flow_refuses_one_signature_and_shows_alerts(client: Client, world: World, cycle: Any) -> None:
    client.force_login(world.users["county_liaison@A"])
    assert _post_receipt(client).status_code == 302
    school = world.schools["A1a-1"]
    r = client.post("/custody/counties/310101/events/", {
        "kind": "issued", "at": "2024-05-22 07:10", "boxes": "3", "school": school.code, "test_day": "2024-05-22",
        "signatory_1": "县保密员甲", "signatory_2": ""}, follow=True)
    assert "须由两人签字" in r.content.decode()
    assert not CustodyEvent.objects.filter(kind="issued").exists()
    client.post("/custody/counties/310101/events/", {
        "kind": "issued", "at": "2024-05-22 07:10", "boxes": "3", "school": school.code, "test_day": "2024-05-22",
        **TWO})
    page = client.get("/custody/counties/310101/")
    body = page.content.decode()
    assert page.status_code == 200
    assert 'data-alert="receipt_mismatch"' in body and 'data-alert="not_returned"' in body
    assert "alert-error" in body and "<strong data-on-hand>6</strong>" in body


def test_ledger_page_queries_do_not_grow_with_events(client: Client, world: World, cycle: Any) -> None:
    client.force_login(world.users["county_liaison@A"])
    _post_receipt(client)
    with CaptureQueriesContext(connection) as few:
        client.get("/custody/counties/310101/")
    for _i in range(5):
        _post_receipt(client)
    with CaptureQueriesContext(connection) as many:
        client.get("/custody/counties/310101/")
    assert len(many) == len(few)


def test_export_has_every_event_and_the_alerts(client: Client, world: World, cycle: Any) -> None:
    client.force_login(world.users["county_liaison@A"])
    _post_receipt(client)
    client.force_login(world.users["city_viewer@A"])
    r = client.get("/custody/counties/310101/ledger.xlsx")
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.content))
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    assert rows[1][2] == "接收（机要送达）" and rows[1][6] == 9 and rows[1][7] == 10
    alerts = list(wb.worksheets[1].iter_rows(values_only=True))
    assert alerts[1][0] == "receipt_mismatch"


def test_two_day_keep_request_and_approval_pages(client: Client, world: World, cycle: Any) -> None:
    client.force_login(world.users["county_info_officer@A"])
    school = world.schools["A1a-2"]
    r = client.post("/custody/counties/310101/keeps/", {"school": school.code, "first_day": "2024-05-22",
                                                        "travel_minutes": "90", "reason": "远"}, follow=True)
    assert "车程超过2小时" in r.content.decode()
    client.post("/custody/counties/310101/keeps/", {"school": school.code, "first_day": "2024-05-22",
                                                    "travel_minutes": "150", "reason": "山区"})
    from naeq.custody.models import TwoDayKeep

    keep = TwoDayKeep.objects.get()
    r = client.post(f"/custody/keeps/{keep.pk}/decide/", {"decision": "approve"})
    assert r.status_code == 403  # the requester does not approve
    client.force_login(world.users["county_liaison@A"])
    assert client.post(f"/custody/keeps/{keep.pk}/decide/", {"decision": "approve"}).status_code == 302
    keep.refresh_from_db()
    assert keep.status == "approved" and keep.decided_by == world.users["county_liaison@A"]


def test_session_record_form(client: Client, world: World, cycle: Any) -> None:
    school = world.schools["A1a-1"]
    session = make_session(cycle, school, instruments=["math"], grade=4, status="closed", starts_at=at(DAY, 8))
    for i in (1, 2, 3):
        make_taker(cycle, school, f"{school.code}4{i:02d}", grade=4)
    client.force_login(world.users["school_info_officer@A"])
    url = f"/custody/sessions/{session.pk}/record/"
    form = {"room": "第1测试室", "actual_start": "2024-05-22 08:05", "actual_end": "2024-05-22 09:20",
            "expected": "3", "present": "3", "absentees": f"{school.code}402 病假",
            "pe_exempt": f"{school.code}401，哮喘", "dev_category": ["late_start", ""],
            "dev_text": ["推迟5分钟", ""]}
    r = client.post(url, form)
    assert r.status_code == 400 and "应等于应到人数" in r.content.decode()
    assert 'value="第1测试室"' in r.content.decode()  # the form keeps what was typed
    r = client.post(url, {**form, "present": "2"})
    assert r.status_code == 302
    rec = SessionRecord.objects.get()
    assert rec.absentees == [{"code": f"{school.code}402", "reason": "病假"}]
    assert rec.pe_exempt == [{"code": f"{school.code}401", "reason": "哮喘"}]
    assert rec.deviations == [{"category": "late_start", "text": "推迟5分钟"}]
    client.force_login(world.users["county_liaison@A"])
    body = client.get(url).content.decode()
    assert "推迟开考：推迟5分钟" in body and "填报或更正" not in body
    school_page = client.get(f"/custody/schools/{school.code}/").content.decode()
    assert "已填1个教室" in school_page


def test_home_lists_closed_sessions_without_a_record(client: Client, world: World, cycle: Any) -> None:
    school = world.schools["A1a-1"]
    session = make_session(cycle, school, instruments=["math"], grade=4, status="closed", starts_at=at(DAY, 8),
                           title="学生数学测试（待填报）")
    client.force_login(world.users["province_coordinator@A"])
    assert "学生数学测试（待填报）" in client.get("/custody/").content.decode()
    client.force_login(world.users["school_head@A"])
    r = client.post(f"/custody/sessions/{session.pk}/record/", {
        "room": "第1测试室", "actual_start": "2024-05-22 08:00", "actual_end": "2024-05-22 09:20", "expected": "0",
        "present": "0"})
    assert r.status_code == 302
    client.force_login(world.users["province_coordinator@A"])
    assert "学生数学测试（待填报）" not in client.get("/custody/").content.decode()


def test_session_detail_links_each_incident_to_its_case_and_the_record_form(client: Client, world: World,
                                                                           cycle: Any) -> None:
    """The proctor's session page leads to the case of every incident recorded there and to the session's
    测试情况记录表 (with the rooms already filed); another county's liaison gets the same NotFound as for a
    missing session."""
    from naeq.delivery.sessions import incident_record
    from naeq.incidents.models import IncidentCase

    school = world.schools["A1a-1"]
    session = make_session(cycle, school, instruments=["math"], grade=8, status="open", starts_at=at(DAY, 8))
    head = world.users["school_head@A"]
    incident_record(actor=head, session_id=session.pk, category="power", grade=1, description="停电十分钟",
                    at=at(DAY, 8, 20))
    case = IncidentCase.objects.get()
    client.force_login(head)
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert f'href="/incidents/{case.pk}/"' in page and f"处置记录 #{case.pk}" in page
    assert f'href="/custody/sessions/{session.pk}/record/"' in page and "尚未填报。" in page
    SessionRecord.objects.create(session=session, path=session.path, room="第2测试室", actual_start=at(DAY, 8),
                                 actual_end=at(DAY, 9), expected=0, present=0)
    client.force_login(world.users["county_liaison@A"])
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert "已填报：第2测试室。" in page and f'href="/incidents/{case.pk}/"' in page
    client.force_login(world.users["county_liaison@B"])
    assert client.get(f"/sessions/{session.pk}/").status_code == 404


def test_session_records_export_is_scoped_and_audited(client: Client, world: World, cycle: Any) -> None:
    from naeq.core.models import AuditEvent

    for key in ("A1a-1", "B1a-1"):
        school = world.schools[key]
        session = make_session(cycle, school, instruments=["math"], grade=8, status="closed",
                               starts_at=at(DAY, 8), title=f"学生数学测试{key}")
        SessionRecord.objects.create(session=session, path=session.path, room="第1测试室", actual_start=at(DAY, 8),
                                     actual_end=at(DAY, 9, 20), expected=2, present=1,
                                     absentees=[{"code": f"{school.code}8011", "reason": "病假"}],
                                     pe_exempt=[], deviations=[{"category": "late_start", "text": "推迟5分钟"}])
    client.force_login(world.users["school_head@A"])
    r = client.get("/custody/records.xlsx")
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.content), read_only=True).worksheets[0]
    rows = [list(x) for x in ws.iter_rows(values_only=True)]
    assert len(rows) == 2 and rows[1][1] == world.schools["A1a-1"].code  # only the own school
    assert rows[1][5:11] == ["第1测试室", "2024-05-22 08:00", "2024-05-22 09:20", 2, 1, 1]
    assert rows[1][11] == f"{world.schools['A1a-1'].code}8011 病假" and rows[1][13].endswith("：推迟5分钟")
    assert AuditEvent.objects.get(action="custody.records_export").after == {"rows": 1}
    client.force_login(world.users["national_admin@A"])
    ws = load_workbook(io.BytesIO(client.get("/custody/records.xlsx").content), read_only=True).worksheets[0]
    assert len(list(ws.iter_rows(values_only=True))) == 3
    client.force_login(world.users["teacher@A"])
    assert client.get("/custody/records.xlsx").status_code == 404
