"""The PE entry flow in a real browser (Chromium through Playwright): the recorder types a room's card with one
out-of-bounds value, sees the precise message, fixes it and submits; the reviewer confirms; the room is locked.
Run with ``pytest -m browser``."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from django.utils import timezone

from naeq.pe import services
from naeq.pe.models import ExamRoom, PeRecord
from tests.pe.conftest import build_pe_sample, good_values
from tests.personas import PASSWORD
from tests.web.browser import BROWSER_MARKS

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
pytestmark = BROWSER_MARKS




def _login(browser: Any, base: str, username: str) -> Any:
    page = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN").new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(f"{base}/")
    return page


def test_recorder_enters_fixes_submits_and_reviewer_locks(browser: Any, live_server: Any, world: Any,
                                                          cycle: Any) -> None:
    build_pe_sample(world, cycle, per_grade=2, sampled={"A1a-1": (4,)})
    now = timezone.now()  # the live server checks the window against its own clock
    services.window_set_system(cycle=cycle, province=world.regions["A"], opens_at=now - dt.timedelta(days=1),
                               closes_at=now + dt.timedelta(days=1))
    school = world.schools["A1a-1"]
    head, recorder = world.users["school_head@A"], world.users["school_info_officer@A"]
    room = services.rooms_generate(actor=head, cycle=cycle, school=school)[0]
    services.room_update(actor=head, room_id=room.pk, recorder_id=recorder.pk, reviewer_id=head.pk)
    records = services.room_records(room)
    base = live_server.url

    page = _login(browser, base, "school_info_officer_a")
    page.goto(f"{base}/pe/rooms/{room.pk}/")
    for k, r in enumerate(records):
        for f, v in good_values(4, r.test_taker.sampled_student.student.sex, k).items():
            page.fill(f"input[name='v-{r.test_taker.code}-{f}']", "" if v == "" else str(v))
    boy = next(r for r in records if r.test_taker.sampled_student.student.sex == "M").test_taker.code
    height = page.locator(f"input[name='v-{boy}-height']")
    height.fill("1352")  # 135.2 typed without its decimal point
    height.press("Enter")  # Enter moves down the column (keyboard-friendly grid), it does not submit
    assert page.evaluate("document.activeElement.name") != height.get_attribute("name")
    page.click("#save")
    page.wait_for_load_state()
    message = f"测试编号 {boy}：身高 1352 超出四年级男生的范围 90–170 厘米。"
    assert message in page.locator("#findings").inner_text()
    page.click("#submit")
    page.wait_for_load_state()
    assert "不能提交" in page.content() and message in page.content()
    assert ExamRoom.objects.get(pk=room.pk).status == "draft"
    page.fill(f"input[name='v-{boy}-height']", "135.2")
    page.click("#submit")
    page.wait_for_load_state()
    assert "已提交，等待审核员审核。" in page.content()
    assert page.locator("#room-status").inner_text() == "已提交待审核"
    assert page.locator("#grid input").count() == 0  # nothing editable while under review
    assert PeRecord.objects.get(test_taker__code=boy).height == 135.2

    page = _login(browser, base, "school_head_a")
    page.goto(f"{base}/pe/rooms/{room.pk}/")
    page.click("#confirm")
    page.wait_for_load_state()
    assert "已审核确认，考场成绩已锁定。" in page.content()
    assert page.locator("#room-status").inner_text() == "已审核锁定"
    assert page.locator("#grid input").count() == 0
    room.refresh_from_db()
    assert room.status == "confirmed" and room.confirmed_by == head
