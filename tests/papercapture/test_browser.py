"""The province coordinator's scan flow in a real browser (Chromium through Playwright): upload a scan file, see the
double mark and the blank in the review queue, correct one, confirm the other as 99, and score the batch — refused
while the queue is open. Run with ``pytest -m browser``."""

from __future__ import annotations

import os
from typing import Any

from naeq.papercapture.models import PaperResponse, ReviewEntry, ScanBatch
from tests.papercapture.conftest import build_paper_world
from tests.papercapture.helpers import scan_csv
from tests.personas import PASSWORD
from tests.web.browser import BROWSER_MARKS

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
pytestmark = BROWSER_MARKS




def test_upload_review_resolve_score_in_the_browser(browser: Any, live_server: Any, world: Any, cycle: Any) -> None:
    pw = build_paper_world(world, cycle)
    base = live_server.url
    page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{base}/login/")
    page.fill("#id_username", "province_coordinator_a")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/scoring/")
    page.click("text=进入纸笔作答采集")
    page.click("text=导入扫描结果")
    page.set_input_files("input[name=file]", files=[{
        "name": "scan.csv", "mimeType": "text/csv",
        "buffer": scan_csv(["B1,1,A0001,1,AB,AC,,D,", "B1,2,A0002,2,,,,A,C"])}])
    page.click("form button.btn-primary")
    page.wait_for_url(f"{base}/paper/batches/*/")
    table = page.locator("#open-entries")
    assert "第1题是单选题，识别到多个涂点“AB”。" in table.inner_text()
    assert "第3题未涂。" in table.inner_text()
    assert page.locator("#score-batch").is_disabled()
    row = table.locator("tr", has_text="多涂或无效涂点")
    row.locator("select[name=resolution]").select_option("correct")
    row.locator("input[name=value]").fill("b")
    row.locator("button").click()
    page.wait_for_load_state()
    assert "识别到多个涂点" not in page.locator("#open-entries").inner_text()
    page.click("text=确认全部未涂为99、多涂为97")
    page.wait_for_load_state()
    assert "已确认1个缺失代码（97/99）。" in page.content()
    page.click("#score-batch")
    page.wait_for_load_state()
    assert "已评分并发布该批次。" in page.content()
    assert page.locator("#batch-status").inner_text() == "已评分发布"
    batch = ScanBatch.objects.get()
    assert batch.status == "released" and not ReviewEntry.objects.filter(resolved_at__isnull=True).exists()
    got = dict(PaperResponse.objects.filter(test_taker=pw.takers["A0001"]).values_list("item", "code"))
    assert got == {"P01": "B", "P02": '["A","C"]', "P03": "99", "P04": "D", "P05": ""}
