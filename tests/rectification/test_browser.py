"""A browser walk through 问题整改 (Debian's Chromium): national staff draft and issue the letter of a province
whose estimates show problems; the province coordinator plans against a problem; the nation approves; the
coordinator reports progress with an evidence file; the next cycle's value shows against the target. Screenshots
of every page go to ``$NAEQ_SHOTS`` when set."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from django.utils import timezone

from tests.personas import PASSWORD, World
from tests.rectification import factories as f
from tests.web.browser import BROWSER_MARKS

pytestmark = BROWSER_MARKS
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _page(browser: Any, base: str, username: str) -> Any:
    page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(f"{base}/")
    return page


def _click(page: Any, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


def test_problem_to_next_cycle_in_the_browser(browser: Any, live_server: Any, world: World, settings: Any,
                                              tmp_path: Path) -> None:
    from naeq.cycles.services import load_shipped_cycles

    settings.DATA_DIR = tmp_path
    shots = Path(os.environ["NAEQ_SHOTS"]) if os.environ.get("NAEQ_SHOTS") else tmp_path / "shots"
    shots.mkdir(parents=True, exist_ok=True)

    def shot(page: Any, name: str) -> None:
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

    cycles = {c.year: c for c in load_shipped_cycles()}
    run = f.run(cycles[2023])
    f.weak_province(run, None, world.regions["A"], [world.regions["A1a"], world.regions["A1b"]])
    base = live_server.url

    admin = _page(browser, base, "national_admin_a")
    admin.goto(f"{base}/rectification/letters/")
    admin.select_option("#draft-form select[name=cycle]", str(cycles[2023].pk))
    admin.select_option("#draft-form select[name=province]", "310000")
    _click(admin, "#draft-form button")
    assert admin.locator("#problems > li").count() == 5
    shot(admin, "1-letter-draft")
    _click(admin, "#issue-form button")
    assert admin.inner_text("#letter-number") == "监测函〔2023〕1号"
    letter_url = admin.url
    admin.goto(letter_url + "print/")
    shot(admin, "2-letter-print")

    coord = _page(browser, base, "province_coordinator_a")
    coord.goto(letter_url)
    _click(coord, "#problem-1 a.plan-new")
    coord.fill("input[name=department]", "省教育厅基础教育处")
    coord.fill("input[name=target_value]", "490")
    coord.fill("input[name=deadline]", (timezone.localdate() + dt.timedelta(days=200)).isoformat())
    coord.fill("textarea[name=measures]", "开展全省数学教研专题活动\n落实国家课程方案")
    shot(coord, "3-plan-form")
    _click(coord, "#plan-form button")
    plan_url = coord.url
    _click(coord, "#submit-form button")
    assert coord.inner_text("#plan-state") == "已提交待审核"

    admin.goto(plan_url)
    admin.select_option("#review-form select[name=decision]", "approve")
    admin.fill("#review-form textarea[name=comment]", "同意")
    shot(admin, "4-review")
    _click(admin, "#review-form button")
    assert admin.inner_text("#plan-state") == "已审核通过"

    coord.goto(plan_url)
    coord.fill("#update-form textarea[name=text]", "已召开全省整改推进会")
    coord.fill("#update-form input[name=percent]", "30")
    evidence = tmp_path / "推进会纪要.pdf"
    evidence.write_bytes(PDF)
    coord.set_input_files("#update-form input[name=files]", str(evidence))
    _click(coord, "#update-form button")
    assert coord.inner_text("#plan-state") == "整改中" and "推进会纪要.pdf" in coord.inner_text("#updates")

    nxt = f.run(cycles[2024])
    f.est(nxt, world.regions["A"], "mean", 486.0, 2.7)
    coord.reload()
    assert "未达到目标" in coord.inner_text("#next-cycle")
    shot(coord, "5-plan")
    coord.goto(f"{base}/rectification/")
    assert coord.inner_text("#n-not-met") == "1"
    shot(coord, "6-dashboard")
