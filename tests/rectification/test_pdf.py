"""The problem letter as PDF (naeq.rectification.pdf): read back with pdftotext, the letter page and the annex carry
every problem with its indicator, evidence numbers and rule; the download is audited and has the letter page's
access (the province's own people and national staff; everyone else 404)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.test import Client

from naeq.core.models import AuditEvent
from naeq.rectification import services
from naeq.rectification.letters import rule_label
from tests.rectification.conftest import Rect

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) missing")


def _text(pdf: bytes, tmp_path: Path) -> tuple[str, int]:
    path = tmp_path / "letter.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True).stdout.decode()
    return out, out.count("\f")


def _flat(s: str) -> str:
    return re.sub(r"\s+", "", s)


def test_letter_pdf_reads_back(client: Client, rect: Rect, tmp_path: Path) -> None:
    a = rect.world.regions["A"]
    letter = services.letter_draft(actor=rect.admin, cycle=rect.cycle, province=a)
    letter = services.letter_issue(actor=rect.admin, letter_id=letter.pk)
    client.force_login(rect.user("province_coordinator@A"))
    r = client.get(f"/rectification/letters/{letter.pk}/pdf/")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    assert r["Cache-Control"] == "no-store, private" and "attachment" in r["Content-Disposition"]
    text, pages = _text(r.content, tmp_path)
    flat = _flat(text)
    assert pages >= 2  # the letter, then the annex from a new page
    letter_page, annex = text.split("\f", 1)
    assert _flat(letter.number) in _flat(letter_page) and "甲省人民政府办公厅" in _flat(letter_page)
    problems = list(letter.problems.order_by("seq"))
    assert len(problems) == 5
    for p in problems:
        assert _flat(p.text) in _flat(letter_page), p.text  # the letter lists every problem
        assert _flat(p.text) in _flat(annex)
        assert _flat(f"{p.seq}.{p.indicator}") in _flat(annex)
        assert _flat(rule_label(p.rule)) in flat and p.rule in flat
    # evidence numbers: the province's mean problem with its estimates, difference, SE and p
    mean = problems[0]
    assert mean.rule == "mean_below_nation"
    assert "估计值480.0，标准误3.0，学生数3000" in flat and "估计值500.0，标准误0.8" in flat
    assert "差异：估计值-20.0，标准误3.1，p<0.001" in flat  # the run's own contrast, with its p
    # the share's z test is computed by the rule: its difference, SE and p are printed as the test
    share = problems[1]
    assert share.rule == "share_below_nation"
    assert f"检验：差异-0.080，标准误{share.evidence['se']:.3f}，p<0.001" in flat
    assert f"#{rect.run.pk}，输入摘要{rect.run.inputs_hash[:12]}" in flat
    # the county's 校际差异率 problem with its threshold
    assert "估计值0.220，标准误0.030" in flat and "关注线0.150" in flat
    event = AuditEvent.objects.get(action="rectification.letter_download")
    assert event.object_id == str(letter.pk) or int(event.object_id) == letter.pk


@pytest.mark.parametrize(("user", "status"), [
    ("national_admin@A", 200), ("national_analyst@A", 200), ("province_coordinator@A", 200),
    ("county_liaison@A", 200), ("province_coordinator@B", 404), ("county_liaison@B", 404),
    ("school_head@A", 404), ("city_viewer@A", 404),
])
def test_letter_pdf_access(client: Client, rect: Rect, user: str, status: int) -> None:
    a = rect.world.regions["A"]
    letter = services.letter_draft(actor=rect.admin, cycle=rect.cycle, province=a)
    services.letter_issue(actor=rect.admin, letter_id=letter.pk)
    client.force_login(rect.user(user))
    r = client.get(f"/rectification/letters/{letter.pk}/pdf/")
    assert r.status_code == status
    audited = AuditEvent.objects.filter(action="rectification.letter_download").count()
    assert audited == (1 if status == 200 else 0)


def test_draft_pdf_is_national_and_marked(client: Client, rect: Rect, tmp_path: Path) -> None:
    letter = services.letter_draft(actor=rect.admin, cycle=rect.cycle, province=rect.world.regions["A"])
    client.force_login(rect.user("province_coordinator@A"))
    assert client.get(f"/rectification/letters/{letter.pk}/pdf/").status_code == 404  # drafts stay national
    client.force_login(rect.admin)
    r = client.get(f"/rectification/letters/{letter.pk}/pdf/")
    text, _pages = _text(r.content, tmp_path)
    assert "草稿，未发出" in _flat(text)
    assert client.get("/rectification/letters/999999/pdf/").status_code == 404

