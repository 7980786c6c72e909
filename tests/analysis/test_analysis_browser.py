"""The analysis pages in a real browser (Chromium through Playwright): the national analyst starts an estimation
run from the form, lands on the run's page with its national, provincial and county tables; a county liaison sees
only its county's row. Screenshots go to ``$NAEQ_SHOTS`` when set (else the test's tmp dir). Run with
``pytest -m browser``; needs /usr/bin/chromium."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tests.analysis.test_exports import YEAR_KEY, ExportWorld, exw  # noqa: F401  (the fixture)
from tests.personas import PASSWORD
from tests.web.browser import BROWSER_MARKS

pytestmark = BROWSER_MARKS


def _login(browser: Any, base: str, username: str) -> Any:
    page = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN").new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(f"{base}/")
    return page


def test_start_a_run_and_read_its_tables(browser: Any, live_server: Any, exw: ExportWorld,  # noqa: F811
                                         tmp_path: Path) -> None:
    from naeq.analysis.models import EstimationRun

    shots = Path(os.environ.get("NAEQ_SHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    base = live_server.url
    page = _login(browser, base, exw.user("national_analyst@A").username)
    page.goto(f"{base}/analysis/")
    assert "估计结果" in page.inner_text("h1")
    page.select_option("#f-subject", f"{exw.cycle.pk}:{YEAR_KEY}")
    page.fill("input[name=min_n]", "5")
    page.fill("input[name=min_schools]", "1")
    page.screenshot(path=str(shots / "home.png"), full_page=True)
    page.click("#start-form button[type=submit]")
    page.wait_for_selector("#county-table")
    run = EstimationRun.objects.get()
    assert run.status == "done"
    nat = run.estimates.get(level="nation", statistic="mean", group_var="", key="")
    assert f"{nat.value:.1f}" in page.inner_text("#nation-table")
    assert page.locator("#county-table tbody tr").count() == 4
    page.screenshot(path=str(shots / "run.png"), full_page=True)
    liaison = _login(browser, base, exw.user("county_liaison@A").username)
    liaison.goto(f"{base}/analysis/runs/{run.pk}/")
    assert liaison.locator("#county-table tbody tr").count() == 1
    assert liaison.locator("#province-table tbody tr td.muted").count() == 1  # no province row for a county
    liaison.screenshot(path=str(shots / "liaison.png"), full_page=True)
