"""The PE pages end to end through the test client: the grid refuses unreadable input with the typed values kept
(nothing saved), the scoring hub links to the PE section, the school page arranges rooms and names the recorder and
reviewer, the window page sets the window."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from naeq.pe import services
from naeq.pe.models import EntryWindow, ExamRoom, PeRecord
from tests.pe.conftest import PeWorld

pytestmark = pytest.mark.django_db


def _open_now(pw: PeWorld) -> None:
    now = timezone.now()  # the pages check the window against the clock: open it around the request
    services.window_set_system(cycle=pw.cycle, province=pw.world.regions["A"], opens_at=now - dt.timedelta(days=1),
                               closes_at=now + dt.timedelta(days=1))


def test_grid_refuses_unreadable_values_and_keeps_what_was_typed(pw: PeWorld, client: Client) -> None:
    _open_now(pw)
    room = pw.staffed_rooms()[0]
    code = services.room_records(room)[0].test_taker.code
    client.force_login(pw.user("school_info_officer@A"))
    r = client.post(f"/pe/rooms/{room.pk}/", {"action": "save", f"v-{code}-height": "13五", f"v-{code}-weight": "30.2"})
    assert r.status_code == 400
    body = r.content.decode()
    assert f"测试编号 {code}：身高 “13五”不是数值（缺测请填 -1）。" in body
    assert 'value="13五"' in body and 'value="30.2"' in body
    assert PeRecord.objects.get(test_taker__code=code).weight is None
    r = client.post(f"/pe/rooms/{room.pk}/", {"action": "save", f"v-{code}-height": "1352"}, follow=True)
    assert "超出四年级" in r.content.decode() and "提交前请改正" in r.content.decode()


def test_scoring_hub_links_staff_to_the_pe_section(pw: PeWorld, client: Client) -> None:
    client.force_login(pw.user("school_head@A"))
    page = client.get("/scoring/").content.decode()
    assert 'id="pe-section"' in page and 'href="/pe/"' in page and "进入本校体育测试" in page
    client.force_login(pw.user("rater@A"))
    assert 'id="pe-section"' not in client.get("/scoring/").content.decode()


def test_school_page_arranges_rooms_and_names_recorder_and_reviewer(pw: PeWorld, client: Client) -> None:
    school = pw.world.schools["A1a-1"]
    head, officer = pw.user("school_head@A"), pw.user("school_info_officer@A")
    client.force_login(head)
    r = client.post(f"/pe/schools/{school.code}/generate/", {"size": "2"}, follow=True)
    assert "已编排4个考场。" in r.content.decode()
    room = ExamRoom.objects.filter(school=school).order_by("number").first()
    assert room is not None
    r = client.post(f"/pe/rooms/{room.pk}/staff/", {"name": "操场东", "recorder": officer.pk, "reviewer": officer.pk},
                    follow=True)
    assert "录入员和审核员必须是两个不同的账户。" in r.content.decode()
    client.post(f"/pe/rooms/{room.pk}/staff/", {"name": "操场东", "recorder": officer.pk, "reviewer": head.pk})
    room.refresh_from_db()
    assert (room.name, room.recorder, room.reviewer) == ("操场东", officer, head)


def test_window_page(pw: PeWorld, client: Client) -> None:
    client.force_login(pw.user("province_coordinator@A"))
    r = client.post("/pe/regions/310000/window/", {"opens_at": "2024-05-23T08:00", "closes_at": "2024-05-20T08:00"},
                    follow=True)
    assert "录入截止时间应晚于开始时间。" in r.content.decode()
    client.post("/pe/regions/310000/window/", {"opens_at": "2024-05-23T08:00", "closes_at": "2024-06-01T20:00"})
    w = EntryWindow.objects.get(province=pw.world.regions["A"], cycle=pw.cycle)
    assert timezone.localtime(w.closes_at).strftime("%Y-%m-%d %H:%M") == "2024-06-01 20:00"
    page = client.get("/pe/regions/310000/window/").content.decode()
    assert "2024-05-23 08:00 — 2024-06-01 20:00（省级设置）" in page
