"""A county director reads the county's report in a real browser (Chromium through Playwright): the county
education manager (县级教育管理人员) signs in, finds the report from the navigation (监测报告), reads the county
vs province vs nation table with its significance marks and their legend, sees the charts load, finds no
school's name, downloads the PDF (audited) whose text carries the same county mean, and cannot open another
county's report nor a provincial report (404). Run with ``pytest -m browser``; needs /usr/bin/chromium.
Screenshots go to /tmp/shots/reports/ for looking at."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

from naeq.core.models import AuditEvent
from naeq.registry.models import School
from naeq.reports import services
from naeq.reports.models import Report, ReportBatch
from tests.personas import PASSWORD
from tests.reports.conftest import ReportsWorld
from tests.web.browser import BROWSER_MARKS

pytestmark = BROWSER_MARKS
SHOTS = Path(os.environ.get("NAEQ_SHOTS", "/tmp/shots")) / "reports"  # noqa: S108 — PNGs to look at
#: the reading notes' words for each significance mark (the legend of every ▲ ▼ ● in the report)
LEGEND = {"▲": "显著高于比较对象", "▼": "显著低于比较对象", "●": "差异不显著"}


def _sign_in(browser: Any, base: str, username: str) -> Any:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN", accept_downloads=True)
    page = ctx.new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(f"{base}/")
    return page


def _downloads(actor: Any) -> list[AuditEvent]:
    """The actor's download audit events, read from the test thread (retried while SQLite is busy)."""
    for _attempt in range(20):
        try:
            return list(AuditEvent.objects.filter(action="reports.download", actor=actor).order_by("id"))
        except Exception as exc:  # only SQLite's "database table is locked" is retried
            if "locked" not in str(exc):
                raise
            time.sleep(0.2)
    raise AssertionError("the audit table stayed locked")


def test_county_director_reads_the_report(browser: Any, live_server: Any, rw: ReportsWorld,
                                          tmp_path: Path) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    batch = services.report_batch_start(actor=rw.analyst, cycle=rw.cycle, levels=["county", "province", "nation"],
                                        workers=1)
    batch.refresh_from_db()
    assert batch.status == "done", batch.error
    regions = rw.world.regions
    county = regions["A1a"]
    own = Report.objects.get(batch=batch, level="county", path=county.path)
    director = rw.world.users["county_manager@A"]
    assert director.region_id == county.pk
    base = live_server.url

    page = _sign_in(browser, base, director.username)
    page.click("nav.mainnav >> text=监测报告")
    assert page.url.startswith(f"{base}/reports/")
    listed = page.locator("#reports tbody a[href^='/reports/']:not([href$='pdf'])")
    assert listed.count() == 1  # the county's own report, nothing of its neighbours
    assert listed.inner_text() == own.title
    page.screenshot(path=str(SHOTS / "director-home.png"), full_page=True)
    listed.click()
    page.wait_for_url(f"{base}/reports/{own.pk}/")

    # the comparison chain and the main results: county, province, nation with their marks and the legend
    article = page.locator("article.naeq-report")
    assert "本县（区）" in article.inner_text() and "本省" in article.inner_text()
    summary_rows = page.locator("#summary tbody tr")
    assert summary_rows.count() == 2  # math and mental health
    overall = page.locator("section[data-subject=math] table.rt").first
    assert [r.inner_text().split("\t")[0].strip() for r in overall.locator("tbody tr").all()] == [
        "本县（区）", "本省", "全国"]
    html_mean = page.locator('td[data-k="math:county:mean"]').inner_text().strip()
    assert html_mean.replace(".", "").isdigit()
    legend = page.locator("section.legend").inner_text()
    marks = {m.strip() for m in page.locator('td[data-k$=":mark"]').all_inner_texts()}
    assert marks & set(LEGEND), marks
    for mark in marks - {"—"}:
        assert mark in legend and LEGEND[mark] in legend, (mark, legend)
    if "—" in marks or "—" in article.inner_text():
        assert "不予报告" in legend
    # the main table's marks carry their colour class
    for cls in page.locator("#summary tbody span").evaluate_all("els => els.map(e => e.className)"):
        assert cls in ("mark-up", "mark-down", "mark-same"), cls

    # every chart loads, the level-distribution chart among them
    charts = page.locator("article img.chart")
    assert charts.count() >= 8
    sizes = charts.evaluate_all("imgs => imgs.map(i => [i.complete, i.naturalWidth, i.alt])")
    assert all(ok and width > 300 for ok, width, _alt in sizes), sizes
    assert sum(1 for *_x, alt in sizes if alt == "水平分布图") == 2

    # no school's name anywhere on the page (nor in the PDF below)
    body = page.content() + page.locator("body").inner_text()
    names = list(School.objects.values_list("name", flat=True))
    assert names and not [n for n in names if n in body]
    page.screenshot(path=str(SHOTS / "director-report.png"), full_page=True)

    # the PDF: downloaded from the page, audited with its hash, the same county mean in its text
    before = _downloads(director)
    with page.expect_download() as info:
        page.click("a.btn-primary >> text=下载 PDF")
    pdf_path = Path(info.value.path())
    data = pdf_path.read_bytes()
    assert data.startswith(b"%PDF-") and info.value.suggested_filename.endswith(own.pdf_name)
    after = _downloads(director)
    assert len(after) == len(before) + 1
    assert after[-1].after == {"kind": "pdf", "sha256": own.pdf_sha256, "path": county.path, "batch": batch.pk}
    text = subprocess.run(["pdftotext", "-layout", str(pdf_path), "-"], capture_output=True, check=True,
                          text=True).stdout
    county_lines = [ln for ln in text.splitlines() if ln.strip().startswith("本县（区）")]
    assert any(html_mean in ln.split() for ln in county_lines), (html_mean, county_lines[:4])
    assert not [n for n in names if n in text]
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "2", str(pdf_path),
                    str(SHOTS / "director-pdf")], check=True)

    # another county's report, the provincial reports (other province and own) and the national one: 404
    others = Report.objects.filter(batch=batch).exclude(pk=own.pk)
    forbidden = {"neighbour county": others.get(level="county", path=regions["A1b"].path),
                 "other province's county": others.get(level="county", path=regions["B1a"].path),
                 "other province": others.get(level="province", path=regions["B"].path),
                 "own province": others.get(level="province", path=regions["A"].path),
                 "nation": others.get(level="nation")}
    for what, rep in forbidden.items():
        resp = page.goto(f"{base}/reports/{rep.pk}/")
        assert resp is not None and resp.status == 404, what
        assert rep.title not in page.content(), what
        pdf = page.request.get(f"{base}/reports/{rep.pk}/pdf")
        assert pdf.status == 404 and not pdf.body().startswith(b"%PDF"), what
    page.screenshot(path=str(SHOTS / "director-404.png"), full_page=True)
    assert len(_downloads(director)) == len(after)  # refused downloads leave no download record
    assert ReportBatch.objects.count() == 1
