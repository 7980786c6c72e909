"""The pages through Django's test client: upload → queue → resolve → score, keying and reconciliation, downloads
(booklets never cached), and query counts on the list pages."""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from naeq.core.models import AuditEvent
from naeq.papercapture.models import KeyedCard, PaperResponse, ReviewEntry, ScanBatch
from tests.papercapture.conftest import PaperWorld
from tests.papercapture.helpers import scan_csv


def test_upload_queue_resolve_score(client: Client, pw: PaperWorld) -> None:
    client.force_login(pw.user("province_coordinator@A"))
    url = f"/paper/instruments/{pw.instrument.pk}/import/"
    assert client.get(url).status_code == 200
    bad = client.post(url, {"file": SimpleUploadedFile("bad.csv", b"batch,sheet\nB1,1\n")})
    assert bad.status_code == 400 and "缺少列“test_id”。" in bad.content.decode()
    assert not ScanBatch.objects.exists()
    response = client.post(url, {"file": SimpleUploadedFile("scan.csv", scan_csv(["B1,1,A0001,1,AB,AC,A,D,"]))})
    batch = ScanBatch.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/paper/batches/{batch.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert "第1题是单选题，识别到多个涂点“AB”。" in page and "确认缺失代码" in page
    entry = ReviewEntry.objects.get()
    refused = client.post(f"/paper/batches/{batch.pk}/score/", follow=True).content.decode()
    assert "复核队列中还有1个问题未处理，处理完之前不评分。" in refused
    wrong = client.post(f"/paper/entries/{entry.pk}/resolve/", {"resolution": "correct", "value": "Z"}, follow=True)
    assert "第1题更正值“Z”无效：应为A/B/C/D之一。" in wrong.content.decode()
    client.post(f"/paper/entries/{entry.pk}/resolve/", {"resolution": "correct", "value": "B"})
    client.post(f"/paper/batches/{batch.pk}/score/")
    assert PaperResponse.objects.get(item="P01").score == 1.0
    assert client.get("/paper/").status_code == 200


def test_keying_and_reconciliation_pages(client: Client, pw: PaperWorld) -> None:
    url = f"/paper/instruments/{pw.instrument.pk}/key/"
    card = {"test_id": "A0001", "booklet": "1", "P01": "B", "P02": "AC", "P03": "A", "P04": "D", "P06": ""}
    client.force_login(pw.user("county_info_officer@A"))
    assert client.get(url).status_code == 200
    assert client.post(url, card).status_code == 302
    bad = client.post(url, {**card, "test_id": "A0002", "booklet": "9"})
    assert bad.status_code == 400 and "题本号应为1、2之一。" in bad.content.decode()
    client.force_login(pw.user("province_coordinator@A"))
    client.post(url, {**card, "P04": "C"})
    keyed = KeyedCard.objects.get()
    assert keyed.status == "mismatch"
    client.force_login(pw.user("county_liaison@A"))
    page = client.get(f"/paper/keyed/{keyed.pk}/").content.decode()
    assert 'name="pick_P04" value="D"' in page and 'name="pick_P04" value="C"' in page
    client.post(f"/paper/keyed/{keyed.pk}/", {"pick_P04": "D"})
    keyed.refresh_from_db()
    assert keyed.status == "released" and PaperResponse.objects.get(item="P04").code == "D"


def test_downloads_and_secret_booklets(client: Client, pw: PaperWorld) -> None:
    client.force_login(pw.user("national_analyst@A"))
    response = client.get(f"/paper/instruments/{pw.instrument.pk}/booklets/1.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"]
    assert AuditEvent.objects.filter(action="papercapture.booklet_print").count() == 1
    layout = client.get(f"/paper/instruments/{pw.instrument.pk}/template.json").json()
    assert layout["columns"][:4] == ["batch", "sheet", "test_id", "booklet"]
    assert client.get(f"/paper/instruments/{pw.instrument.pk}/template.xlsx").status_code == 200
    assert client.get(f"/paper/instruments/{pw.instrument.pk}/template.pdf").status_code == 404


def test_list_pages_have_a_fixed_number_of_queries(client: Client, pw: PaperWorld,
                                                   django_assert_max_num_queries: Any) -> None:
    from naeq.papercapture import services

    admin = pw.user("national_admin@A")
    batch = services.batch_import(actor=admin, cycle=pw.cycle, instrument=pw.instrument, name="a.csv",
                                  data=scan_csv())
    services.batch_import(actor=admin, cycle=pw.cycle, instrument=pw.instrument, name="b.csv",
                          data=scan_csv(["B7,1,A1B01,1,,,,,"]))
    client.force_login(admin)
    # session + user, cycle, instruments + booklets, batches, keyed cards
    with django_assert_max_num_queries(9):
        assert client.get("/paper/").status_code == 200
    with django_assert_max_num_queries(9):
        assert client.get(f"/paper/batches/{batch.pk}/").status_code == 200
    with django_assert_max_num_queries(8):
        assert client.get(f"/paper/instruments/{pw.instrument.pk}/completion/").status_code == 200


def test_scoring_hub_links_paper_capture_for_staff_only(client: Client, pw: PaperWorld) -> None:
    client.force_login(pw.user("city_viewer@A"))
    assert "/paper/" in client.get("/scoring/").content.decode()
    client.force_login(pw.user("rater@A"))
    assert "/paper/" not in client.get("/scoring/").content.decode()
