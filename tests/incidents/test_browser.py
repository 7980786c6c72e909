"""The grade-3 flow in a real browser: a county liaison records a leak from the secure room (grade 3 by the
configuration, 2023-dongli 六 3), the province coordinator finds it in the notices, adds a handling entry and closes
it with an accountability finding. Run with ``pytest -m browser``; needs /usr/bin/chromium."""

from __future__ import annotations

from typing import Any

from naeq.incidents.models import IncidentCase
from tests.personas import PASSWORD, World
from tests.web.browser import BROWSER_MARKS

pytestmark = BROWSER_MARKS


def _page(browser: Any, base: str, username: str) -> Any:
    page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(f"{base}/")
    return page


def test_grade3_leak_reaches_the_province(browser: Any, live_server: Any, world: World, cycle: Any) -> None:
    base = live_server.url
    county = _page(browser, base, world.users["county_liaison@A"].username)
    county.goto(f"{base}/incidents/new/")
    county.select_option("select[name=county]", world.regions["A1a"].code)
    county.select_option("select[name=category]", "leak")
    county.fill("textarea[name=description]", "保密室一箱监测工具封条破损")
    county.click("form button.btn-primary")
    county.wait_for_selector("text=应急事件已登记。")
    assert "省级" in county.inner_text("dl.facts")
    case = IncidentCase.objects.get()
    assert case.grade == 3 and case.level == "province"

    province = _page(browser, base, world.users["province_coordinator@A"].username)
    province.goto(f"{base}/incidents/notices/")
    province.click(f"text=#{case.pk}")
    province.fill("textarea[name=text]", "已指示县级清点封存")
    province.click("text=添加处置记录")
    province.wait_for_selector("text=已指示县级清点封存")
    province.fill("textarea[name=summary]", "经清点无缺失，整改保管制度")
    province.select_option("select[name=violation]", "leak")
    province.fill("input[name=finding_note]", "保密室未按要求双人双锁")
    province.click("form button.btn-primary")
    province.wait_for_selector("text=应急事件已办结。")
    case.refresh_from_db()
    assert case.state == "closed" and case.findings.get().county_id == world.regions["A1a"].pk
