"""The county liaison's staffing flow in a real browser (Chromium through Playwright): the empty county shows its
missing posts with their seed; the liaison adds a person from another school and sends him as chief proctor; the
second chief proctor is refused with the Chinese message. Run with ``pytest -m browser``."""

from __future__ import annotations

import os
from typing import Any

from naeq.staffing.models import StaffAssignment
from tests.personas import PASSWORD
from tests.staffing.conftest import build_staffing_sample
from tests.web.browser import BROWSER_MARKS

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
pytestmark = BROWSER_MARKS




def test_liaison_staffs_a_school_in_the_browser(browser: Any, live_server: Any, world: Any, cycle: Any) -> None:
    build_staffing_sample(world, cycle)
    base = live_server.url
    page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{base}/login/")
    page.fill("#id_username", "county_liaison_a")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/staffing/counties/310101/")
    panel = page.locator("#violations")
    assert "“组长”应至少1人，现有0人。" in panel.inner_text()
    assert "由县级政府分管教育工作的领导担任" in panel.inner_text()
    other = world.schools["A1a-2"].code
    for name in ("主任甲", "主任乙"):
        form = page.locator("form[action$='/people/']")
        form.locator("input[name=name]").fill(name)
        form.locator("input[name=phone]").fill("1390000000" + str(len(name) + (name == "主任乙")))
        form.locator("input[name=home_school]").fill(other)
        form.locator("button").click()
        page.wait_for_load_state()
        assert f"已添加人员{name}。" in page.content()
    school = world.schools["A1a-1"].code
    page.goto(f"{base}/staffing/schools/{school}/")
    for name in ("主任甲", "主任乙"):
        form = page.locator("form[action$='/assign/']")
        form.locator("select[name=post]").select_option("chief_proctor")
        form.locator("select[name=person]").select_option(label=f"{name}（{world.schools['A1a-2'].name}）")
        form.locator("button").click()
        page.wait_for_load_state()
    assert "“主监测员”每校只设1人，已由主任甲担任；请先撤销再安排。" in page.content()
    assert list(StaffAssignment.objects.values_list("person__name", flat=True)) == ["主任甲"]
