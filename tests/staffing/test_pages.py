"""The staffing pages end to end: the request, then the response, then the database and the audit trail."""

from __future__ import annotations

import io
from typing import Any

from django.test import Client
from openpyxl import Workbook

from naeq.core.models import AuditEvent
from naeq.staffing.documents import IMPORT_HEADER
from naeq.staffing.models import StaffAssignment, StaffMember
from tests.staffing.helpers import person, staff_county_team, staff_school


def _login(client: Client, sw: Any, persona: str) -> Client:
    client.force_login(sw.user(persona))
    return client


def test_county_page_lists_violations_with_rule_unit_person_and_seed(client: Client, sw: Any) -> None:
    staff_county_team(sw)
    staff = staff_school(sw)
    chief = staff["chief_proctor"][0]
    chief.home_school = sw.world.schools["A1a-1"]
    chief.save()
    body = _login(client, sw, "county_liaison@A").get("/staffing/counties/310101/").content.decode()
    assert 'data-rule="same_school"' in body and "主监测员须非本校" in body
    assert f"{chief.name}是本校人员，不能担任本校的“主监测员”。" in body
    assert "由非本校的教务（教导）主任担任" in body
    assert 'data-rule="too_few"' in body and "甲省一市a县第2学校" in body  # the empty second school
    assert "打印胸牌" in body and "导入人员名单" in body
    city = _login(client, sw, "city_viewer@A").get("/staffing/counties/310101/").content.decode()
    assert 'data-rule="same_school"' in city and "打印胸牌" not in city and "添加人员" not in city


def test_school_head_assigns_a_custodian_from_the_school_page(client: Client, sw: Any) -> None:
    school = sw.world.schools["A1a-1"]
    who = person(sw, "school_head@A", "A1a", name="保管员甲", home=school)
    c = _login(client, sw, "school_head@A")
    page = c.get(f"/staffing/schools/{school.code}/").content.decode()
    assert 'value="custodian"' in page and 'value="chief_proctor"' not in page  # only the school's own posts
    response = c.post("/staffing/counties/310101/assign/", {
        "post": "custodian", "person": str(who.pk), "school": school.code, "next_school": school.code,
        "day": "2024-05-22", "slot": "am"})
    assert response.status_code == 302 and response.url == f"/staffing/schools/{school.code}/"
    a = StaffAssignment.objects.get(post="custodian")
    assert (a.person_id, str(a.day), a.slot) == (who.pk, "2024-05-22", "am")
    assert "已安排保管员甲，胸牌编号2024-310101-0001。" in c.get(response.url).content.decode()
    assert AuditEvent.objects.filter(action="staffing.assignment_create", object_id=str(a.pk)).exists()


def test_bad_form_input_is_reported_and_nothing_saved(client: Client, sw: Any) -> None:
    c = _login(client, sw, "county_liaison@A")
    response = c.post("/staffing/counties/310101/people/", {"name": "甲", "gender": "M", "phone": "1"},
                      follow=True)
    body = response.content.decode()
    assert "姓名应为2至40个字符。" in body and "手机号应为以1开头的11位数字。" in body
    assert not StaffMember.objects.exists()


def _xlsx(rows: list[list[Any]]) -> io.BytesIO:
    wb = Workbook()
    wb.active.append([h for h, _k, _n in IMPORT_HEADER])
    for r in rows:
        wb.active.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    buf.name = "名单.xlsx"
    return buf


def test_import_page_shows_row_column_reason_then_imports(client: Client, sw: Any) -> None:
    c = _login(client, sw, "county_liaison@A")
    s1 = sw.world.schools["A1a-1"].code
    bad = _xlsx([["督学甲", "男", "13900000001", "", "", "", "", "责任督学", s1, "", ""],
                 ["督学乙", "男", "139", "", "", "", "", "责任督学", s1, "", ""]])
    response = c.post("/staffing/counties/310101/import/", {"file": bad})
    assert response.status_code == 400
    body = response.content.decode()
    assert "人员名单有误，未导入任何数据。" in body
    assert "<td>名单.xlsx</td><td>3</td><td>手机号</td><td>手机号应为以1开头的11位数字。</td>" in body
    assert not StaffMember.objects.exists()
    good = _xlsx([["督学甲", "男", "13900000001", "", "", "", "", "责任督学", s1, "", ""]])
    response = c.post("/staffing/counties/310101/import/", {"file": good})
    assert response.status_code == 302 and StaffAssignment.objects.filter(post="inspector").count() == 1


def test_downloads(client: Client, sw: Any) -> None:
    staff_school(sw)
    c = _login(client, sw, "county_liaison@A")
    school = sw.world.schools["A1a-1"].code
    x = c.get(f"/staffing/schools/{school}/staff.xlsx")
    assert x.status_code == 200 and x["Content-Type"].startswith("application/vnd.openxmlformats")
    b = c.get("/staffing/counties/310101/badges.pdf")
    assert b.status_code == 200 and b.content.startswith(b"%PDF") and "badges-310101.pdf" in b["Content-Disposition"]
    t = c.get("/staffing/template.xlsx")
    assert t.status_code == 200 and "staff-list-template.xlsx" in t["Content-Disposition"]


def test_county_and_school_pages_query_count_does_not_grow_with_staff(client: Client, sw: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    c = _login(client, sw, "county_liaison@A")
    school = sw.world.schools["A1a-1"].code
    counts = []
    for fill in (False, True):
        if fill:
            staff_county_team(sw)
            staff_school(sw)
        for url in ("/staffing/counties/310101/", f"/staffing/schools/{school}/"):
            with CaptureQueriesContext(connection) as q:
                assert c.get(url).status_code == 200
            counts.append(len(q))
    assert counts[:2] == counts[2:] and max(counts) <= 20, counts
