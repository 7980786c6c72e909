"""The singing/oral room (演唱与口语测试室; seeds: collected-county-and-school-plans.txt, plan three: "演唱与口语
测试室……配备专用耳机（只测试5名学生）"): small groups in turn, the proctor calls the next group, re-records once
only with a reason, and the list of who has a complete recording of every task.

The world: the performance instrument of tests/performance/world.py (recorded tasks E01 speaking, S01 singing) in
a session at school A1a-1 with eight students S0801…S0808; S0801 and S0802 have started (conftest ``perf``)."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from naeq.core.models import AuditEvent
from naeq.delivery.models import Attempt, AttemptStatus
from naeq.performance.models import RerecordPermit, RoomCall
from naeq.performance.selectors import DEFAULT_GROUP, room_view
from naeq.performance.storage import WEBM_MAGIC
from tests.delivery.factories import make_taker

MIME = "audio/webm;codecs=opus"


def webm(n: int, seed: int) -> bytes:
    return WEBM_MAGIC + hashlib.shake_256(f"room-{seed}".encode()).digest(n)


def upload(api: Any, item: str, data: bytes, *, upto: int | None = None) -> dict[str, Any]:
    """Declare a take and send it (all of it and complete it, or only ``upto`` bytes)."""
    rec = api.post("recordings", {"item": item, "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                                  "mime": MIME, "duration_ms": 5000}).json()
    api.chunk(rec["id"], 0, data[:upto] if upto is not None else data)
    if upto is None:
        rec = api.post(f"recordings/{rec['id']}/complete", {}).json()
        assert rec["status"] == "complete"
    return rec


@pytest.fixture
def room(perf: dict[str, Any], cycle: Any) -> dict[str, Any]:
    for n in range(3, 9):
        make_taker(cycle, perf["school"], f"S080{n}")
    perf["url"] = f"/sessions/{perf['session'].pk}/performance/room/"
    return perf


def login(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_default_group_is_the_seeds_five() -> None:
    assert DEFAULT_GROUP == 5


@pytest.mark.parametrize(("persona", "status", "runs"), [
    ("chief_proctor@A", 200, True), ("school_head@A", 200, True), ("school_info_officer@A", 200, True),
    ("inspector@A", 200, False), ("county_liaison@A", 200, False), ("city_viewer@A", 200, False),
    ("national_admin@A", 200, False),
    ("chief_proctor@B", 404, False), ("county_liaison@B", 404, False), ("rater@A", 404, False),
    ("student@A", 404, False),
])
def test_access_per_role(room: dict[str, Any], world: Any, persona: str, status: int, runs: bool) -> None:
    c = login(world.users[persona])
    page = c.get(room["url"])
    assert page.status_code == status
    live = c.get(room["url"] + "live")
    assert live.status_code == status
    call = c.post(room["url"] + "call", {"group_size": "5"})
    rerecord = c.post(room["url"] + "rerecord", {"attempt": room["a1"].pk, "item": "E01", "reason": "噪声"})
    if status == 404:
        assert (call.status_code, rerecord.status_code) == (404, 404)
        assert not RoomCall.objects.exists()
        return
    html = page.content.decode()
    assert "演唱与口语测试室" in html and 'data-taker="S0808"' in html
    assert live["Cache-Control"].startswith("max-age=0") or "no-cache" in live["Cache-Control"]
    assert ('id="room-call-next"' in html) is runs and ('id="rerecord-dialog"' in html) is runs
    if runs:
        assert call.status_code == 302 and RoomCall.objects.count() == 1
    else:  # a reader who posts anyway is refused and nothing is recorded
        assert call.status_code == 403 and rerecord.status_code == 403
        assert not RoomCall.objects.exists() and not RerecordPermit.objects.exists()


def test_anonymous_goes_to_sign_in_and_a_missing_session_is_404(room: dict[str, Any], world: Any) -> None:
    assert Client().get(room["url"]).status_code == 302
    assert login(world.users["chief_proctor@A"]).get("/sessions/999999/performance/room/").status_code == 404


def test_call_next_group_recorded_audited_and_shown_with_time(room: dict[str, Any], world: Any) -> None:
    proctor = world.users["chief_proctor@A"]
    c = login(proctor)
    before = c.get(room["url"]).content.decode()
    assert "尚未叫组" in before and 'value="5"' in before  # the default group size
    # groups by test-ID order, five at a time until called: S0801-S0805, then S0806-S0808
    assert [[st.code for st in g.students] for g in room_view(session=room["session"], can_run=True).groups] == [
        ["S0801", "S0802", "S0803", "S0804", "S0805"], ["S0806", "S0807", "S0808"]]
    resp = c.post(room["url"] + "call", {"group_size": "5"}, follow=True)
    html = resp.content.decode()
    assert "已叫第 1 组：S0801、S0802、S0803、S0804、S0805。" in html
    call = RoomCall.objects.get()
    assert (call.group, call.group_size, call.takers, call.called_by) == (
        1, 5, ["S0801", "S0802", "S0803", "S0804", "S0805"], proctor)
    event = AuditEvent.objects.get(action="performance.room_call")
    assert event.actor == proctor and event.object_id == str(room["session"].pk)
    assert event.after == {"group": 1, "group_size": 5, "takers": call.takers}
    live = c.get(room["url"] + "live").content.decode()
    clock = dt.timezone(dt.timedelta(minutes=room["session"].utc_offset_minutes))
    shown = call.called_at.astimezone(clock).strftime("%H:%M:%S")
    assert "现在：第 1 组" in live and shown in live and 'data-group-state="current"' in live
    # the size is the proctor's: two at a time now
    c.post(room["url"] + "call", {"group_size": "2"})
    assert RoomCall.objects.get(group=2).takers == ["S0806", "S0807"]
    assert "现在：第 2 组" in c.get(room["url"] + "live").content.decode()
    # bad sizes and the end of the list: a precise message, nothing recorded
    for size, message in (("0", "每组人数应为1到30之间的整数。"), ("abc", "每组人数应为1到30之间的整数。"),
                          ("31", "每组人数应为1到30之间的整数。")):
        page = c.post(room["url"] + "call", {"group_size": size}, follow=True).content.decode()
        assert message in page
    assert RoomCall.objects.count() == 2
    c.post(room["url"] + "call", {"group_size": "5"})
    assert RoomCall.objects.get(group=3).takers == ["S0808"]
    last = c.post(room["url"] + "call", {"group_size": "5"}, follow=True).content.decode()
    assert "所有学生都已叫过，没有下一组了。" in last
    assert RoomCall.objects.count() == 3
    assert AuditEvent.objects.filter(action="performance.room_call").count() == 3


def test_rerecord_once_only_with_a_reason(room: dict[str, Any], world: Any) -> None:
    api, a1 = room["api1"], room["a1"]
    upload(api, "E01", webm(3000, 1))
    c = login(world.users["chief_proctor@A"])
    live = c.get(room["url"] + "live").content.decode()
    assert f'data-attempt="{a1.pk}" data-item="E01"' in live  # the 再录一次 button of the complete take
    # no reason: a precise message, nothing changed
    page = c.post(room["url"] + "rerecord", {"attempt": a1.pk, "item": "E01", "reason": "  "},
                  follow=True).content.decode()
    assert "请写明允许重录的理由。" in page
    assert not RerecordPermit.objects.exists()
    assert not AuditEvent.objects.filter(action="performance.rerecord_allowed").exists()
    assert api.get("state").json()["rerecord"] == {}
    # with a reason: take 2 allowed, audited, and the student's client is told
    page = c.post(room["url"] + "rerecord", {"attempt": a1.pk, "item": "E01", "reason": "耳机松脱，录音听不清"},
                  follow=True).content.decode()
    assert "已允许重录：E01 第 2 次录音。" in page
    permit = RerecordPermit.objects.get()
    assert (permit.attempt_id, permit.item, permit.take, permit.reason) == (a1.pk, "E01", 2, "耳机松脱，录音听不清")
    event = AuditEvent.objects.get(action="performance.rerecord_allowed")
    assert event.after == {"item": "E01", "take": 2, "reason": "耳机松脱，录音听不清", "taker": "S0801"}
    state = api.get("state").json()
    assert state["rerecord"] == {"E01": {"take": 2, "message": "监考老师已允许重录（第 2 次录音），请再录一次。"}}
    live = c.get(room["url"] + "live").content.decode()
    assert "已允许重录，等待第 2 次录音" in live and "重录理由：耳机松脱，录音听不清" in live
    assert f'data-attempt="{a1.pk}" data-item="E01"' not in live  # the button is gone
    # a second request (a stale screen, another proctor): refused in plain Chinese, nothing changed
    page = c.post(room["url"] + "rerecord", {"attempt": a1.pk, "item": "E01", "reason": "再试一次"},
                  follow=True).content.decode()
    assert "每道题只能重录一次：E01 已于" in page and "不能再次重录" in page
    # the student records take 2; still once only
    upload(api, "E01", webm(3000, 2))
    assert api.get("state").json()["rerecord"] == {}
    page = c.post(room["url"] + "rerecord", {"attempt": a1.pk, "item": "E01", "reason": "还是不清楚"},
                  follow=True).content.decode()
    assert "每道题只能重录一次" in page
    assert RerecordPermit.objects.count() == 1
    assert AuditEvent.objects.filter(action="performance.rerecord_allowed").count() == 1
    # nothing to re-record yet, an item that is not recorded, an attempt of another session
    page = c.post(room["url"] + "rerecord", {"attempt": a1.pk, "item": "S01", "reason": "噪声"},
                  follow=True).content.decode()
    assert "这道题还没有完成的录音，不需要重录许可。" in page
    assert c.post(room["url"] + "rerecord", {"attempt": a1.pk, "item": "L01", "reason": "噪声"}).status_code == 404
    other = f"/sessions/{room['session'].pk + 1000}/performance/room/rerecord"
    assert c.post(other, {"attempt": a1.pk, "item": "E01", "reason": "噪声"}).status_code == 404
    assert RerecordPermit.objects.count() == 1


def test_rerecord_of_another_sessions_attempt_is_not_found(room: dict[str, Any], world: Any, cycle: Any) -> None:
    from naeq.delivery.attempts import attempt_start
    from tests.delivery.factories import make_session

    upload(room["api1"], "E01", webm(2000, 3))
    second = make_session(cycle, room["school"], instruments=["english"], title="另一场次")
    other = attempt_start(taker=make_taker(cycle, room["school"], "S0899"), session=second,
                          instrument_code="english")
    c = login(world.users["chief_proctor@A"])
    # the first session's attempt named under the second session's room
    resp = c.post(f"/sessions/{second.pk}/performance/room/rerecord",
                  {"attempt": room["a1"].pk, "item": "E01", "reason": "噪声"})
    assert resp.status_code == 404
    assert c.post(room["url"] + "rerecord", {"attempt": other.pk, "item": "E01", "reason": "噪声"}).status_code == 404
    assert c.post(room["url"] + "rerecord", {"attempt": "x", "item": "E01", "reason": "噪声"}).status_code == 404
    assert not RerecordPermit.objects.exists()
    # a student who has handed in cannot record again: no button, and a request is refused
    upload(room["api2"], "E01", webm(2000, 4))
    a2 = room["a2"]
    Attempt.objects.filter(pk=a2.pk).update(status=AttemptStatus.SUBMITTED, submitted_at=timezone.now())
    assert f'data-attempt="{a2.pk}"' not in c.get(room["url"] + "live").content.decode()
    page = c.post(room["url"] + "rerecord", {"attempt": a2.pk, "item": "E01", "reason": "噪声"},
                  follow=True).content.decode()
    assert "学生已经交卷，不能再重录。" in page
    assert not RerecordPermit.objects.exists()


def test_list_of_complete_recordings(room: dict[str, Any], world: Any, django_assert_num_queries: Any) -> None:
    api1, api2 = room["api1"], room["api2"]
    upload(api1, "E01", webm(3000, 4))
    upload(api1, "S01", webm(3000, 5))
    upload(api2, "E01", webm(3000, 6))
    upload(api2, "S01", webm(3996, 7), upto=1000)  # a quarter of the 4000-byte singing take
    api2.post("headset", {"heard": False})
    view = room_view(session=room["session"], can_run=True)
    by = {st.code: st for st in view.students}
    assert [st.code for st in view.students] == [f"S080{n}" for n in range(1, 9)]
    assert by["S0801"].complete and not by["S0802"].complete and not by["S0803"].complete
    assert [(t.item, t.state, t.take) for t in by["S0801"].tasks] == [("E01", "complete", 1), ("S01", "complete", 1)]
    s01 = by["S0802"].tasks[1]
    assert (s01.item, s01.state, s01.percent) == ("S01", "uploading", 25)
    assert by["S0802"].heard is False and by["S0803"].attempt is None
    assert [t.state for t in by["S0803"].tasks] == ["none", "none"]
    assert (view.n_complete, view.n_incomplete) == (1, 7)
    c = login(world.users["inspector@A"])  # a reader sees the list too
    done = c.get(room["url"] + "?show=complete").content.decode()
    table = done[done.index('id="room-complete-list"'):]
    assert 'data-taker="S0801" data-complete="yes"' in table and 'data-taker="S0802"' not in table
    todo = c.get(room["url"] + "live?show=incomplete").content.decode()
    table = todo[todo.index('id="room-complete-list"'):]
    assert 'data-taker="S0801"' not in table and 'data-taker="S0802" data-complete="no"' in table
    assert "缺：<code>S01</code>" in table and 'data-taker="S0808"' in table
    assert 'data-task="S01" data-state="uploading" data-take="1" data-percent="25"' in todo
    assert "上传中 25%（第 1 次）" in todo and 'data-heard="no"' in todo
    # a re-record allowed and not yet done: no longer complete
    from naeq.performance.services import allow_rerecord

    allow_rerecord(actor=world.users["chief_proctor@A"], attempt=room["a1"], item="S01", reason="唱错了歌词")
    view = room_view(session=room["session"], can_run=True, show="complete")
    assert view.listed == [] and [t.state for t in view.students[0].tasks] == ["complete", "rerecord"]
    # a constant number of queries, however many students
    with django_assert_num_queries(9) as few:
        room_view(session=room["session"], can_run=True)
    for n in range(10, 30):
        make_taker(room["session"].cycle, room["school"], f"S08{n}")
    with django_assert_num_queries(len(few.captured_queries)):
        room_view(session=room["session"], can_run=True)


def test_session_page_and_headset_page_link_the_room(room: dict[str, Any], world: Any, cycle: Any) -> None:
    from tests.delivery.factories import make_instrument, make_session

    c = login(world.users["chief_proctor@A"])
    detail = c.get(f"/sessions/{room['session'].pk}/").content.decode()
    assert f'href="/sessions/{room["session"].pk}/performance/room/"' in detail
    status = c.get(f"/sessions/{room['session'].pk}/performance/").content.decode()
    assert 'id="to-room"' in status
    make_instrument(cycle, "math")
    plain = make_session(cycle, room["school"], instruments=["math"])
    assert "演唱与口语测试室" not in c.get(f"/sessions/{plain.pk}/").content.decode()
    assert "本场次没有录音题。" in c.get(f"/sessions/{plain.pk}/performance/room/").content.decode()
