"""The registry review chain in a real browser (Chromium through Playwright): a county officer uploads a broken
file and sees every error, uploads a good one and sees what changed, submits; the province coordinator returns it
with a reason; the county re-uploads and submits again; the province approves; the national administrator locks
the province's frame. Run with ``pytest -m browser``; needs /usr/bin/chromium."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from naeq.accounts.roles import Role
from naeq.accounts.services import user_create
from naeq.registry.models import School, Submission, SubmissionKind
from naeq.registry.services import submission_review, submission_submit
from tests.personas import PASSWORD, World
from tests.registry.helpers import row, xlsx
from tests.web.browser import BROWSER_MARKS

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

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


def _upload(page: Any, name: str, data: bytes) -> None:
    page.set_input_files("#registry-file", files=[{"name": name, "mimeType": XLSX, "buffer": data}])
    page.click("#upload-form button[type=submit]")
    page.wait_for_load_state()


@pytest.mark.usefixtures("cycle")
def test_review_chain_in_the_browser(browser: Any, live_server: Any, world: World, tmp_path: Path) -> None:
    base = live_server.url
    county = world.regions["A1a"]
    county_url = f"{base}/registry/counties/{county.code}/"

    # The county officer: a broken file first — every error in one table, nothing imported.
    officer = _page(browser, base, "county_info_officer_a")
    officer.click("nav.mainnav >> text=属地学校")
    officer.click(f"#progress >> text={county.name}")
    assert officer.url == county_url
    broken = xlsx([row("1310101001", "甲省一市a县第1学校"), row("1.3101E+09", "科学计数法"),
                   row("1310101003", "小学八年级", level="小学")], title="属地学校信息")
    _upload(officer, "坏文件.xlsx", broken)
    errors = officer.locator("#upload-errors tbody tr")
    assert errors.count() == 2
    text = officer.locator("#upload-errors").inner_text()
    assert "科学计数法" in text and "八年级" in text and "坏文件.xlsx" in text
    officer.screenshot(path=str(tmp_path / "upload-errors.png"), full_page=True)
    assert not School.objects.filter(code="1310101003").exists()

    good = xlsx([row("1310101001", "甲省一市a县第1学校"), row("1310101002", "甲省一市a县第2学校"),
                 row("1310101003", "新建小学", level="小学", g8=0, c8=0)])
    _upload(officer, "学校.xlsx", good)
    assert "新建小学" in officer.locator("#diff-added").inner_text()
    officer.click("#submit-form button")
    assert officer.locator("#registry-status").get_attribute("data-status") == "submitted"
    assert officer.locator("#upload-form").count() == 0

    # The province coordinator returns it with a reason.
    coordinator = _page(browser, base, "province_coordinator_a")
    coordinator.click("nav.mainnav >> text=审核")
    queue_row = coordinator.locator(f'#review-queue tr[data-county="{county.code}"]')
    queue_row.locator("input[name=reason]").fill("新建小学的四年级班级数请核实")
    queue_row.locator("button[value=return]").click()
    assert coordinator.locator("#queue-empty").is_visible()

    # The county sees the reason, corrects, submits again.
    officer.goto(county_url)
    assert "新建小学的四年级班级数请核实" in officer.locator("#return-reason").inner_text()
    corrected = xlsx([row("1310101001", "甲省一市a县第1学校"), row("1310101002", "甲省一市a县第2学校"),
                      row("1310101003", "新建小学", level="小学", g4=45, c4=2, g8=0, c8=0)])
    _upload(officer, "学校-修改.xlsx", corrected)
    assert "四年级班级数" in officer.locator("#diff-changed").inner_text()
    officer.click("#submit-form button")
    assert officer.locator("#registry-status").get_attribute("data-status") == "submitted"

    # The province approves.
    coordinator.goto(f"{base}/review/?kind=registry")
    coordinator.locator(f'#review-queue tr[data-county="{county.code}"] button[value=approve]').click()
    assert coordinator.locator("#queue-empty").is_visible()

    # The sibling county goes through the chain off-screen, so the whole province is approved.
    sibling = world.regions["A1b"]
    other = user_create(actor=None, username="officer_a1b", password=PASSWORD, role=Role.COUNTY_LIAISON,
                        region=sibling)
    s2 = submission_submit(actor=other, kind=SubmissionKind.REGISTRY, year=2024, county_code=sibling.code)
    submission_review(actor=world.users["province_coordinator@A"], submission_id=s2.pk, approve=True)

    # The national administrator locks province A.
    admin = _page(browser, base, "national_admin_a")
    admin.goto(f"{base}/registry/")
    admin.locator('#progress tr[data-code="310000"] button').click()
    assert "已锁定2个县" in admin.locator(".messages").inner_text()
    admin.screenshot(path=str(tmp_path / "locked.png"), full_page=True)
    statuses = set(Submission.objects.filter(kind=SubmissionKind.REGISTRY).values_list("status", flat=True))
    assert statuses == {"locked"}
    assert admin.locator('#progress tr[data-code="310000"] button').count() == 0  # nothing left to lock there
    officer.goto(county_url)
    assert officer.locator("#registry-status").get_attribute("data-status") == "locked"
    assert officer.locator("#upload-form").count() == 0
