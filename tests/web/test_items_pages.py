"""The item bank pages (题库): national staff only, every other persona 404; uploads with precise errors and
nothing saved on error; publish; QTI export audited; item content never cacheable.

Issue 4, "Secrecy": "Item content reaches only a signed-in test taker inside an open session window, is never
cacheable, and every delivery is audited. Only national staff can export items." The authorisation matrix reuses
the machinery of :mod:`tests.web.test_matrix` (personas, role groups, expectation shorthands).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

import tests.web.test_matrix as m
from naeq.accounts.roles import Role
from naeq.core.models import AuditEvent
from naeq.delivery.demo_bank import CHART, bar_chart_png, demo_spec
from naeq.delivery.items import instrument_import, workbook_write
from naeq.delivery.models import Instrument, InstrumentStatus
from tests.personas import World
from tests.web.browser import ARGS, BROWSER_MARKS, CHROMIUM

OK, REDIRECT, BAD, FORBIDDEN, MISSING = m.OK, m.REDIRECT, m.BAD, m.FORBIDDEN, m.MISSING
by_role = m._by_role
SECRET_STEM = "一个长方形长8厘米、宽5厘米"  # a stem of the demo maths test


@pytest.fixture
def bank(cycle: Any, settings: Any, tmp_path: Any) -> dict[str, Any]:
    settings.DATA_DIR = tmp_path
    spec = demo_spec("math", "学生数学测试")
    assert spec is not None
    spec.kind = "test"
    data = workbook_write(spec)
    draft = instrument_import(actor=None, year=cycle.year, data=data, file_name="math.xlsx",
                              media={CHART: bar_chart_png()})
    return {"id": draft.pk, "year": cycle.year, "data": data}


@dataclass(frozen=True)
class Page:
    name: str
    url: Callable[[dict[str, Any]], str]
    method: str = "GET"


PAGES = [
    Page("bank", lambda c: f"/items/?year={c['year']}"),
    Page("template", lambda _c: "/items/template.xlsx"),
    Page("detail", lambda c: f"/items/{c['id']}/"),
    Page("media", lambda c: f"/items/{c['id']}/media/{CHART}"),
    Page("export", lambda c: f"/items/{c['id']}/qti.zip"),
    Page("upload", lambda _c: "/items/upload/", "POST"),
    Page("publish", lambda c: f"/items/{c['id']}/publish/", "POST"),
]
OUTSIDERS = dict(province=MISSING, city=MISSING, county=MISSING, school=MISSING, taker=MISSING)
EXPECT = {
    "bank": by_role(national=OK, **OUTSIDERS),
    "template": by_role(national=OK, **OUTSIDERS),
    "detail": by_role(national=OK, **OUTSIDERS),
    "media": by_role(national=OK, **OUTSIDERS),
    "export": by_role(national=OK, **OUTSIDERS),
    # An empty upload: the administrator is told what is missing (400); the analyst reads only.
    "upload": by_role(national_admin=BAD, national_analyst=FORBIDDEN, **OUTSIDERS),
    # Publishing the draft: done by the first administrator; the analyst may not.
    "publish": by_role(national_admin=REDIRECT, national_analyst=FORBIDDEN, **OUTSIDERS),
}


def test_every_items_page_has_a_row_for_every_role() -> None:
    assert set(EXPECT) == {p.name for p in PAGES}
    for name, row in EXPECT.items():
        assert set(row) == {r.value for r in Role}, name


@pytest.mark.parametrize("page_name", [p.name for p in PAGES])
def test_items_matrix(client: Client, world: World, bank: dict[str, Any], page_name: str) -> None:
    page = next(p for p in PAGES if p.name == page_name)
    for role in Role:
        for p in ("A", "B"):
            persona = f"{role.value}@{p}"
            client.force_login(world.users[persona])
            Instrument.objects.filter(pk=bank["id"]).update(status=InstrumentStatus.DRAFT)  # publish again
            url = page.url(bank)
            response = client.post(url, {"year": bank["year"]}) if page.method == "POST" else client.get(url)
            expected = EXPECT[page_name][role.value]
            assert response.status_code == expected, (persona, page_name, response.status_code)
            if expected == MISSING and page.method == "GET":
                assert SECRET_STEM.encode() not in response.content
            if page_name in ("detail", "media", "export", "bank") and expected == OK:
                assert "no-store" in response["Cache-Control"], page_name


def test_anonymous_is_sent_to_login(client: Client, bank: dict[str, Any]) -> None:
    for page in PAGES:
        url = page.url(bank)
        response = client.post(url) if page.method == "POST" else client.get(url)
        assert response.status_code == REDIRECT and "/login/" in response["Location"], page.name


def test_missing_instrument_looks_like_forbidden(client: Client, world: World, bank: dict[str, Any]) -> None:
    client.force_login(world.users["national_admin@A"])
    assert client.get(f"/items/{bank['id'] + 999}/").status_code == MISSING
    client.force_login(world.users["province_coordinator@A"])
    assert client.get(f"/items/{bank['id']}/").status_code == MISSING


def test_detail_shows_items_with_hierarchy_and_preview(client: Client, world: World, bank: dict[str, Any]) -> None:
    client.force_login(world.users["national_analyst@A"])
    response = client.get(f"/items/{bank['id']}/")
    body = response.content.decode()
    assert SECRET_STEM in body
    assert "数学学业表现" in body and "图形的测量" in body  # dimension and second-level indicator
    assert 'id="item-M07"' in body and "M2 / 1" in body  # the open item of the unit, block/screen
    assert f"/items/{bank['id']}/media/{CHART}" in body
    media = client.get(f"/items/{bank['id']}/media/{CHART}")
    assert media.content == bar_chart_png() and media["Content-Type"] == "image/png"
    assert client.get(f"/items/{bank['id']}/media/..%2Fsecret_key").status_code == MISSING


def test_bank_lists_versions_and_nav_entry(client: Client, world: World, bank: dict[str, Any]) -> None:
    client.force_login(world.users["national_admin@A"])
    body = client.get(f"/items/?year={bank['year']}").content.decode()
    assert 'href="/items/"' in body and "题库" in body  # nav entry for national staff
    assert f'href="/items/{bank["id"]}/"' in body and "草稿" in body
    assert "questionnaire_1" in body  # listed among the online instruments not yet imported
    client.force_login(world.users["county_liaison@A"])
    assert 'href="/items/"' not in client.get("/").content.decode()


def test_upload_with_broken_rows_lists_problems_and_saves_nothing(client: Client, world: World,
                                                                  bank: dict[str, Any]) -> None:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(bank["data"]))
    ws = wb["题目"]
    headers = [c.value for c in ws[1]]
    ws.cell(row=2, column=headers.index("答案") + 1, value="Z")  # M01: key not among the options
    ws.cell(row=4, column=headers.index("题型") + 1, value="猜谜题")  # M03: unknown type
    out = io.BytesIO()
    wb.save(out)
    before = Instrument.objects.count()
    events = AuditEvent.objects.count()
    client.force_login(world.users["national_admin@A"])
    response = client.post("/items/upload/", {"year": bank["year"],
                                              "file": SimpleUploadedFile("broken.xlsx", out.getvalue())})
    assert response.status_code == BAD
    body = response.content.decode()
    assert 'id="upload-errors"' in body
    assert "M01：答案“Z”不是选项编号之一。" in body
    assert "M03：题型“猜谜题”不认识" in body
    assert "<td>题目</td><td class=\"num\">2</td><td>答案</td>" in body
    assert Instrument.objects.count() == before and AuditEvent.objects.count() == events


def test_upload_with_media_zip_then_publish_then_export(client: Client, world: World, bank: dict[str, Any]) -> None:
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr(f"pics/{CHART}", bar_chart_png())
    client.force_login(world.users["national_admin@A"])
    response = client.post("/items/upload/", {
        "year": bank["year"], "file": SimpleUploadedFile("math.xlsx", bank["data"]),
        "media": SimpleUploadedFile("media.zip", zipped.getvalue())})
    assert response.status_code == REDIRECT
    v2 = Instrument.objects.get(code="math", version=2)
    assert response["Location"] == f"/items/{v2.pk}/" and v2.status == InstrumentStatus.DRAFT
    client.post(f"/items/{bank['id']}/publish/")
    client.post(f"/items/{v2.pk}/publish/")
    assert Instrument.objects.get(pk=bank["id"]).status == InstrumentStatus.RETIRED
    assert Instrument.objects.get(pk=v2.pk).status == InstrumentStatus.PUBLISHED
    client.force_login(world.users["national_analyst@B"])
    response = client.get(f"/items/{v2.pk}/qti.zip")
    assert response.status_code == OK and "no-store" in response["Cache-Control"]
    with zipfile.ZipFile(io.BytesIO(response.content)) as z:
        assert "imsmanifest.xml" in z.namelist() and "items/M01.xml" in z.namelist()
    event = AuditEvent.objects.filter(action="delivery.instrument_export").latest("id")
    assert event.actor_label == world.users["national_analyst@B"].username and event.object_id == str(v2.pk)


def test_template_download_has_the_sheets(client: Client, world: World, bank: dict[str, Any]) -> None:
    from openpyxl import load_workbook

    client.force_login(world.users["national_admin@A"])
    response = client.get("/items/template.xlsx")
    wb = load_workbook(io.BytesIO(response.content))
    assert wb.sheetnames == ["说明", "题目", "共享材料", "题本", "填写说明"]
    assert [c.value for c in wb["题目"][1]][:6] == ["题目编号", "题块", "屏号", "题型", "题干", "选项"]
    assert any("D2:D2000" in str(dv.sqref) for dv in wb["题目"].data_validations.dataValidation)


# ------------------------------------------------------------------------------------------------ browser

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@BROWSER_MARKS[0]
@BROWSER_MARKS[1]
@BROWSER_MARKS[2]
def test_import_broken_then_good_workbook_in_the_browser(live_server: Any, world: World, cycle: Any,
                                                          settings: Any, tmp_path: Any) -> None:
    """The national administrator opens 题库 from the navigation, uploads a workbook with a broken row and sees
    the sheet, row, column and reason; uploads the fixed workbook with its media zip, sees the items with the
    picture, and publishes."""
    from openpyxl import load_workbook

    from tests.personas import PASSWORD

    sync_api = pytest.importorskip("playwright.sync_api")

    settings.DATA_DIR = tmp_path
    spec = demo_spec("math", "学生数学测试")
    assert spec is not None
    spec.kind = "test"
    good = workbook_write(spec)
    wb = load_workbook(io.BytesIO(good))
    headers = [c.value for c in wb["题目"][1]]
    wb["题目"].cell(row=3, column=headers.index("作答限制") + 1).value = "最多选=9"  # M02 has four options
    out = io.BytesIO()
    wb.save(out)
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr(CHART, bar_chart_png())

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(locale="zh-CN").new_page()
        page.set_default_timeout(15_000)
        base = live_server.url
        page.goto(f"{base}/login/")
        page.fill("#id_username", world.users["national_admin@A"].username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit].btn-primary")
        page.wait_for_url(f"{base}/")
        page.click("nav.mainnav >> text=题库")
        page.wait_for_url(f"{base}/items/")
        page.set_input_files("#items-file", files=[{"name": "broken.xlsx", "mimeType": XLSX, "buffer": out.getvalue()}])
        page.set_input_files("#items-media", files=[{"name": "media.zip", "mimeType": "application/zip",
                                                     "buffer": zipped.getvalue()}])
        page.click("#upload-form button[type=submit]")
        page.wait_for_selector("#upload-errors")
        cells = page.locator("#upload-errors tbody tr").first.locator("td").all_inner_texts()
        assert cells[:3] == ["题目", "3", "作答限制"] and cells[3].startswith("M02：最少选、最多选")
        assert Instrument.objects.count() == 0

        page.set_input_files("#items-file", files=[{"name": "math.xlsx", "mimeType": XLSX, "buffer": good}])
        page.set_input_files("#items-media", files=[{"name": "media.zip", "mimeType": "application/zip",
                                                     "buffer": zipped.getvalue()}])
        page.click("#upload-form button[type=submit]")
        page.wait_for_selector("#items")
        assert page.locator("#items tbody tr").count() == len(spec.items)
        width = page.eval_on_selector("#stimulus-S1 img", "img => img.complete ? img.naturalWidth : -1")
        assert width == 160  # the PNG drawn at build time, served from the secret media store
        page.click("#publish-form button[type=submit]")
        page.wait_for_selector("#status")
        assert page.inner_text("#status") == "已发布"
        browser.close()
    assert Instrument.objects.get().status == InstrumentStatus.PUBLISHED


def test_bank_page_queries_do_not_grow_with_the_bank(client: Client, world: World, bank: dict[str, Any],
                                                     cycle: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from naeq.delivery.demo_bank import demo_bank_load

    client.force_login(world.users["national_analyst@A"])
    url = f"/items/?year={bank['year']}"
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        assert client.get(url).status_code == OK
    demo_bank_load(actor=None, year=cycle.year)  # fifteen more instruments
    assert Instrument.objects.count() > 10
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).status_code == OK
    assert len(many) == len(one)
