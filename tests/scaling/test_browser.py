"""The analyst's calibration flow in a real browser (Chromium through Playwright): start a run from the form, watch
the run page report it finished (in the embedded default the job runs in-process right after the start commits;
with a worker the page polls until it has), open the results with both charts and the flagged-item table, and
page through the person estimates. Run with ``pytest -m browser``."""

from __future__ import annotations

import os
from typing import Any

from naeq.scaling.models import CalibrationRun, RunStatus
from tests.personas import PASSWORD
from tests.scaling.conftest import ScalingWorld
from tests.web.browser import BROWSER_MARKS

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
pytestmark = BROWSER_MARKS




def test_analyst_starts_a_run_and_reads_the_results(browser: Any, live_server: Any, sw: ScalingWorld) -> None:
    base = live_server.url
    page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{base}/login/")
    page.fill("#id_username", "national_analyst_a")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/scoring/")
    page.click("a[href='/scaling/']")
    form = page.locator("#start-form")
    form.locator("select[name=instrument]").select_option(f"{sw.cycle.pk}:scaltest")
    form.locator("input[name=seed]").fill("314")
    form.locator("input[name=cuts]").fill("420,500,580")
    form.locator("button[type=submit]").click()
    run = CalibrationRun.objects.get()
    page.wait_for_url(f"{base}/scaling/runs/{run.pk}/")
    page.wait_for_selector(f"[data-run-status='{run.pk}'][data-finished='1']")
    assert "已完成" in page.locator(f"[data-run-status='{run.pk}']").inner_text()
    run.refresh_from_db()
    assert run.status == RunStatus.DONE and run.seed == 314
    assert page.locator("#chart-information svg").count() == 1
    assert page.locator("#chart-booklets svg").count() == 1
    assert page.locator("#items tbody tr").count() == 12
    assert "良好" in page.locator("#levels").inner_text()
    page.click("text=逐人查看")
    page.wait_for_url(f"{base}/scaling/runs/{run.pk}/persons/")
    assert page.locator("#persons tbody tr").count() == 50
    page.click("a[rel=next]")
    page.wait_for_load_state()
    assert page.locator("#persons tbody tr").count() == 50 and "after=" in page.url
    page.goto(f"{base}/scaling/")
    assert f"#{run.pk}" in page.locator("#runs").inner_text()
