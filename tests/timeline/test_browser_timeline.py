"""The county liaison's timeline in a real browser (Chromium through Playwright): the overdue panel is red, a
milestone is marked done from the county page, and the province approves it. Today is after the 2024 deadlines,
so every milestone not done is overdue. Run with ``pytest -m browser``."""

from __future__ import annotations

from typing import Any

from naeq.timeline.models import MilestoneStatus, State
from tests.personas import PASSWORD, World
from tests.web.browser import BROWSER_MARKS

pytestmark = BROWSER_MARKS


def _login(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(f"{base}/")


def test_liaison_marks_done_and_province_approves(browser: Any, live_server: Any,
                                                  sample: World) -> None:
    base = live_server.url
    county = sample.regions["A1a"]
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    page.set_default_timeout(15_000)
    _login(page, base, "county_liaison_a")
    page.goto(f"{base}/timeline/")
    panel = page.locator("#timeline-overdue")
    assert int(panel.locator("[data-overdue-count]").inner_text()) > 0
    assert "192, 57, 43" in panel.evaluate("e => getComputedStyle(e).borderLeftColor")
    page.click("#own-unit")
    page.wait_for_url(f"{base}/timeline/units/{county.code}/")
    row = page.locator("#m-staff_lists")
    row.locator("input[name=note]").fill("名单已汇总")
    row.locator("button", has_text="标记完成").click()
    page.wait_for_load_state()
    assert "待审核" in page.locator("#m-staff_lists").inner_text()
    ctx.close()
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    page.set_default_timeout(15_000)
    _login(page, base, "province_coordinator_a")
    page.goto(f"{base}/timeline/reviews/")
    page.click("text=测试工作人员名单")
    page.locator("#m-staff_lists button", has_text="通过").click()
    page.wait_for_load_state()
    assert "已通过" in page.locator("#m-staff_lists").inner_text()
    ctx.close()
    assert MilestoneStatus.objects.get(milestone="staff_lists").state == State.APPROVED
