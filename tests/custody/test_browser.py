"""The county liaison keeps the ledger in a real browser (Chromium through Playwright): a receipt short of the
manifest, an issue with one signature refused, the issue with two; then the province coordinator sees the county
and its alert in red. Run with ``pytest -m browser``; needs /usr/bin/chromium."""

from __future__ import annotations

from typing import Any

import pytest

from naeq.custody.models import CustodyEvent
from tests.personas import PASSWORD, World
from tests.web.browser import BROWSER_MARKS

pytestmark = BROWSER_MARKS


def _page(browser: Any, base: str, username: str) -> Any:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(f"{base}/")
    return page


@pytest.mark.usefixtures("cycle")
def test_county_ledger_in_the_browser(browser: Any, live_server: Any, world: World) -> None:
    base = live_server.url
    school = world.schools["A1a-1"]
    liaison = _page(browser, base, "county_liaison_a")
    liaison.goto(f"{base}/custody/")
    assert liaison.url == f"{base}/custody/counties/310101/"
    form = "form[action$='/events/']"
    liaison.select_option(f"{form} select[name=kind]", "received")
    liaison.fill(f"{form} input[name=boxes]", "9")
    liaison.fill(f"{form} input[name=expected_boxes]", "10")
    liaison.fill(f"{form} input[name=seal_numbers]", "F01-F10")
    liaison.fill(f"{form} input[name=signatory_1]", "县保密员甲")
    liaison.fill(f"{form} input[name=signatory_2]", "县保密员乙")
    liaison.click(f"{form} button")
    liaison.wait_for_load_state()
    assert "交接记录已登记" in liaison.inner_text(".messages")
    liaison.select_option(f"{form} select[name=kind]", "issued")
    liaison.fill(f"{form} input[name=boxes]", "2")
    liaison.select_option(f"{form} select[name=school]", school.code)
    liaison.fill(f"{form} input[name=signatory_1]", "县保密员甲")
    liaison.click(f"{form} button")
    liaison.wait_for_load_state()
    assert "须由两人签字" in liaison.inner_text(".messages")
    assert not CustodyEvent.objects.filter(kind="issued").exists()
    liaison.select_option(f"{form} select[name=kind]", "issued")
    liaison.fill(f"{form} input[name=boxes]", "2")
    liaison.select_option(f"{form} select[name=school]", school.code)
    liaison.fill(f"{form} input[name=signatory_1]", "县保密员甲")
    liaison.fill(f"{form} input[name=signatory_2]", "校保密员乙")
    liaison.click(f"{form} button")
    liaison.wait_for_load_state()
    assert liaison.inner_text("[data-on-hand]") == "7", liaison.inner_text(".messages")

    province = _page(browser, base, "province_coordinator_a")
    province.goto(f"{base}/custody/")
    panel = province.locator(".custody-alerts .alert-error")
    assert "与机要清单应到箱数（10）不符" in panel.inner_text()
    province.click("table >> text=甲省一市a县")
    assert province.url == f"{base}/custody/counties/310101/"
    assert province.locator("form[action$='/events/']").count() == 0  # read-only
