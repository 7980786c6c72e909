"""Credential slips and the notice board as PDF (naeq.sampling.documents).

The PDFs are checked by parsing them back with poppler's pdftotext/pdfinfo (Debian poppler-utils, installed by
./run), and the barcodes by decoding a rendered page with zbarimg when it is installed.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from naeq.engines.booklets import make_test_ids
from naeq.sampling.documents import (
    _CODE128,
    SlipRow,
    code128_modules,
    code128_svg,
    credential_slips_pdf,
    notice_board_pdf,
)

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) not installed")

# The 2024 plan (seeds/2024-nanchang-city-plan.txt 二(二)(6)): "公示内容包括测试时间、测试学生名单（预留位置）、
# 举报电话及测试生守则"; the hotline below is a made-up number, not the national one.
HOTLINE = "010-12345678"
RULES = ["按时到达测试教室，凭测试信息条入场。", "独立作答，不得交头接耳。"]


def _rows(n: int) -> list[SlipRow]:
    ids = make_test_ids(np.array(["3601020001"] * n), np.full(n, 4), np.arange(1, n + 1))
    return [SlipRow(test_id=str(t), name=f"测试生{i:02d}", sex="女" if i % 2 else "男", school_name="样例县实验小学",
                    county_name="样例县", grade=4, class_no=1 + i % 3, booklets={"数学": 1 + i % 4, "心理健康": 1},
                    sessions=["5月23日 08:30–09:30 数学测试"]) for i, t in enumerate(ids, start=1)]


def _text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def _pages(pdf: bytes, tmp_path: Path) -> int:
    path = tmp_path / "info.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    return int(next(line.split()[-1] for line in out.splitlines() if line.startswith("Pages:")))


def test_credential_slips_hold_every_test_id_name_and_booklet_eight_per_page(tmp_path: Path) -> None:
    rows = _rows(19)
    pdf = credential_slips_pdf(rows, title="2024年国家义务教育质量监测 测试信息条")
    assert pdf.startswith(b"%PDF-")
    text = _text(pdf, tmp_path)
    for r in rows:
        assert r.test_id in text
        assert r.name in text
    assert "测试信息条" in text and "样例县实验小学" in text and "第4册" in text and "08:30–09:30" in text
    assert _pages(pdf, tmp_path) == 3  # 19 slips at 8 per A4 page


def test_notice_board_holds_time_list_hotline_and_rules(tmp_path: Path) -> None:
    rows = _rows(30)
    pdf = notice_board_pdf(school_name="样例县实验小学", title="2024年国家义务教育质量监测公示栏",
                           test_time_lines=["2024年5月23日 08:30–11:30"], rows=rows[::-1], hotline=HOTLINE,
                           rules=RULES)
    text = _text(pdf, tmp_path)
    for needle in ("公示栏", "测试时间", "测试学生名单", "举报电话", HOTLINE, "测试生守则", RULES[1],
                   "2024年5月23日"):
        assert needle in text
    positions = [text.index(r.test_id) for r in rows]
    assert all(text.find(r.name) >= 0 for r in rows)
    assert positions[0] < positions[-1]  # printed in test ID order though given reversed


def test_notice_board_without_names_keeps_a_blank_list(tmp_path: Path) -> None:
    pdf = notice_board_pdf(school_name="样例县实验小学", title="公示栏", test_time_lines=["5月23日"], rows=[],
                           hotline=HOTLINE, rules=RULES)
    text = _text(pdf, tmp_path)
    assert "测试学生名单" in text and HOTLINE in text and "3601020001" not in text


def test_code128_table_is_well_formed() -> None:
    assert len(_CODE128) == 106 and len(set(_CODE128)) == 106
    assert all(sum(map(int, s)) == 11 for s in _CODE128)
    assert all((int(s[0]) + int(s[2]) + int(s[4])) % 2 == 0 for s in _CODE128)  # even bar modules


def test_code128_modules_start_check_and_stop() -> None:
    widths = code128_modules("AB")
    # START B, 'A' (33), 'B' (34), check (104 + 33 + 2·34) mod 103 = 102, STOP
    assert widths[:6] == [2, 1, 1, 2, 1, 4]
    assert widths[6:12] == [int(w) for w in _CODE128[33]]
    assert widths[18:24] == [int(w) for w in _CODE128[102]]
    assert widths[-7:] == [2, 3, 3, 1, 1, 1, 2]
    with pytest.raises(ValueError, match="printable ASCII"):
        code128_modules("测试")
    svg = code128_svg("AB")
    assert svg.startswith("<svg") and svg.count("<rect") == 1 + (len(widths) + 1) // 2


@pytest.mark.skipif(shutil.which("zbarimg") is None or shutil.which("pdftoppm") is None,
                    reason="zbarimg (zbar-tools) not installed")
def test_barcodes_decode_back_to_the_test_ids(tmp_path: Path) -> None:
    rows = _rows(8)
    star = SlipRow(test_id="3601020001439*", name="测试生", sex="男", school_name="样例县实验小学",
                   county_name="样例县", grade=4, class_no=1)
    assert star.test_id[-1] == "*"  # a valid ID whose check character is the 37th symbol
    rows[-1] = star
    (tmp_path / "s.pdf").write_bytes(credential_slips_pdf(rows, title="测试信息条"))
    subprocess.run(["pdftoppm", "-r", "300", "-png", "-f", "1", "-l", "1", str(tmp_path / "s.pdf"),
                    str(tmp_path / "p")], check=True)
    png = next(tmp_path.glob("p*.png"))
    out = subprocess.run(["zbarimg", "-q", "--raw", str(png)], capture_output=True, text=True).stdout
    assert sorted(out.split()) == sorted(r.test_id for r in rows)
