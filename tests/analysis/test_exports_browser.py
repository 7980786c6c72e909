"""The 数据导出 page in a real browser (Chromium through Playwright): a county liaison downloads its county's SPSS
file as a zip, and a region outside its county is refused on the form in Chinese. Screenshots go to
``$NAEQ_SHOTS`` when set (else the test's tmp dir). Run with ``pytest -m browser``; needs /usr/bin/chromium."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path
from typing import Any

from tests.analysis.test_exports import YEAR_KEY, ExportWorld, exw  # noqa: F401  (the fixture)
from tests.personas import PASSWORD
from tests.web.browser import BROWSER_MARKS

pytestmark = BROWSER_MARKS


def test_county_liaison_downloads_its_county(browser: Any, live_server: Any, exw: ExportWorld,  # noqa: F811
                                             tmp_path: Path) -> None:
    import pyreadstat

    shots = Path(os.environ.get("NAEQ_SHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    base = live_server.url
    page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN",
                               accept_downloads=True).new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{base}/login/")
    page.fill("#id_username", exw.user("county_liaison@A").username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/exports/")
    assert "数据导出" in page.inner_text("h1")
    page.screenshot(path=str(shots / "form.png"), full_page=True)
    page.select_option("#f-subject", f"{exw.cycle.year}:{YEAR_KEY}")
    page.select_option("#f-format", "sav")
    with page.expect_download() as info:
        page.click("#export-form button[type=submit]")
    target = tmp_path / "export.zip"
    info.value.save_as(str(target))
    zf = zipfile.ZipFile(io.BytesIO(target.read_bytes()))
    name = f"naeq_{exw.cycle.year}_exm_310101.sav"
    assert name in zf.namelist()
    (tmp_path / name).write_bytes(zf.read(name))
    data, meta = pyreadstat.read_sav(str(tmp_path / name), output_format="dict")
    assert set(data["COUNTY"]) == {310101.0} and meta.column_names_to_labels["SEX"] == "性别"
    page.fill("#f-region", "440101")
    with page.expect_navigation():
        page.click("#export-form button[type=submit]")
    assert "不在您的管辖范围内" in page.inner_text("#export-error")
    page.screenshot(path=str(shots / "refused.png"), full_page=True)
