"""Booklet and answer-card PDFs, read back with poppler's pdftotext and (the cards' barcodes) decoded with zbarimg
as the sampling tests do; printing access and the audit of every download."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from naeq.core.errors import NotFound, PermissionDenied
from naeq.core.models import AuditEvent
from naeq.papercapture import services
from naeq.papercapture.importer import template_csv, template_xlsx
from tests.papercapture.conftest import HEADER, PaperWorld

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) not installed")


def _text(tmp_path: Path, pdf: bytes, name: str = "x.pdf") -> list[str]:
    path = tmp_path / name
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True)
    return out.stdout.split("\f")[:-1] if out.stdout.endswith("\f") else out.stdout.split("\f")


def test_booklet_prints_its_items_in_order_with_code_and_secret_mark_on_every_page(pw: PaperWorld,
                                                                                  tmp_path: Path) -> None:
    pdf, name = services.booklet_print(actor=pw.user("national_admin@A"), instrument_id=pw.instrument.pk, number=2)
    assert name == "psci-v1-B2.pdf"
    pages = _text(tmp_path, pdf)
    text = "\n".join(pages)
    for page in pages:
        assert "psci-v1-B2" in page and "机密★启用前" in page
    # Booklet 2 = blocks B2, B3: items 4–7 in order, numbered by their card positions; nothing of block B1.
    at = [text.index(s) for s in ("月亮本身会发光吗？", "请写出你的实验设计。", "下列哪个是导体？", "一周有几天？")]
    assert at == sorted(at)
    assert "植物通过什么吸收水分" not in text and "4. 月亮本身会发光吗？" in text
    assert "（请在答题卡第5题的书写框内作答）" in text
    event = AuditEvent.objects.get(action="papercapture.booklet_print")
    assert event.after["booklet"] == "psci-v1-B2" and event.after["county"] is None


def test_booklet_printing_is_national_or_the_county_for_its_own_printing(pw: PaperWorld) -> None:
    own = pw.world.regions["A1a"].code
    pdf, _name = services.booklet_print(actor=pw.user("county_liaison@A"), instrument_id=pw.instrument.pk,
                                        number=1, county_code=own)
    assert pdf.startswith(b"%PDF")
    assert AuditEvent.objects.get(action="papercapture.booklet_print").after["county"] == own
    refused = [("county_liaison@A", pw.world.regions["A1b"].code), ("county_liaison@A", None),
               ("province_coordinator@A", own), ("school_head@A", own), ("student@A", own), ("rater@A", own)]
    for persona, county in refused:
        with pytest.raises(NotFound):
            services.booklet_print(actor=pw.user(persona), instrument_id=pw.instrument.pk, number=1,
                                   county_code=county)
    assert AuditEvent.objects.filter(action="papercapture.booklet_print").count() == 1


@pytest.mark.skipif(shutil.which("zbarimg") is None or shutil.which("pdftoppm") is None,
                    reason="zbarimg (zbar-tools) not installed")
def test_answer_cards_carry_test_id_as_text_and_barcode(pw: PaperWorld, tmp_path: Path) -> None:
    school = pw.world.schools["A1a-1"]
    pdf, name = services.cards_print(actor=pw.user("county_info_officer@A"), instrument_id=pw.instrument.pk,
                                     school_code=school.code)
    assert name == f"psci-{school.code}-cards.pdf"
    pages = _text(tmp_path, pdf, "cards.pdf")
    assert len(pages) == 6  # one card per test taker assigned the instrument, in test ID order
    for n, page in enumerate(pages, start=1):
        assert f"A000{n}" in page and "题本号" in page and school.name in page and "psci-v1-L1" in page
    assert "多选" in pages[0]
    subprocess.run(["pdftoppm", "-r", "300", "-png", "-f", "1", "-l", "2", str(tmp_path / "cards.pdf"),
                    str(tmp_path / "p")], check=True)
    decoded = []
    for png in sorted(tmp_path.glob("p*.png")):
        decoded += subprocess.run(["zbarimg", "-q", "--raw", str(png)], capture_output=True, text=True).stdout.split()
    assert decoded == ["A0001", "A0002"]
    assert AuditEvent.objects.get(action="papercapture.cards_print").after["cards"] == 6


def test_card_printing_access(pw: PaperWorld) -> None:
    inside, other = pw.world.schools["A1a-1"].code, pw.world.schools["B1a-1"].code
    with pytest.raises(PermissionDenied):
        services.cards_print(actor=pw.user("city_viewer@A"), instrument_id=pw.instrument.pk, school_code=inside)
    with pytest.raises(PermissionDenied):
        services.cards_print(actor=pw.user("school_head@A"), instrument_id=pw.instrument.pk, school_code=inside)
    for persona in ("county_info_officer@A", "province_coordinator@A", "student@A"):
        with pytest.raises(NotFound):
            services.cards_print(actor=pw.user(persona), instrument_id=pw.instrument.pk, school_code=other)


def test_layout_and_templates_name_every_bubble_row(pw: PaperWorld) -> None:
    layout = services.layout_for(pw.instrument)
    data = json.loads(json.dumps(layout.as_dict()))
    assert data["columns"] == HEADER.strip().split(",")
    assert data["booklet_bubbles"] == [1, 2]
    assert [(f["position"], f["item"], f["kind"]) for f in data["fields"]] == [
        (1, "P01", "bubbles"), (2, "P02", "bubbles"), (3, "P03", "bubbles"), (4, "P04", "bubbles"),
        (5, "P05", "box"), (6, "P06", "bubbles"), (7, "P07", "box")]
    assert data["fields"][5]["options"] == ["A", "B", "C"]
    assert template_csv(layout).decode("utf-8-sig") == HEADER
    from io import BytesIO

    from openpyxl import load_workbook

    wb = load_workbook(BytesIO(template_xlsx(layout)))
    assert [c.value for c in wb["scan"][1]] == HEADER.strip().split(",")
    assert wb["说明"]["B7"].value == "第2题的涂点：A/B/C/D 之一；多涂写在一起如“AB”，未涂留空"
