"""Printed documents of the student sample: credential slips (测试信息条) and the notice board (公示栏).

HTML + CSS rendered to PDF by WeasyPrint, with the Noto Sans CJK font (Debian's fonts-noto-cjk) so Chinese renders
on machines without internet. The barcode of each test ID is Code 128 (code set B), drawn here as SVG.

Both renderers are pure functions of their arguments: no database access, so the sampling services (and the CLI) decide
which test takers are printed, and access is checked there.

The seeds on the notice board (2024-nanchang-city-plan.txt, 二(二)(6)): "于测试前一天在校内醒目位置设置《2024 年国家
义务教育质量监测公示栏》，公示期为 5 天，公示内容包括测试时间、测试学生名单（预留位置）、举报电话及测试生守则".
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from django.template.loader import render_to_string

__all__ = [
    "SlipRow",
    "code128_modules",
    "code128_svg",
    "credential_slips_pdf",
    "notice_board_pdf",
]

#: Debian's fonts-noto-cjk; WeasyPrint also finds it through fontconfig by family name when this path is absent.
CJK_FONT_FILE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
CJK_FONT_FAMILY = "Noto Sans CJK SC"
SLIPS_PER_PAGE = 8  # 2 columns × 4 rows on A4


@dataclass(frozen=True)
class SlipRow:
    """One test taker on a credential slip or the notice board."""

    test_id: str
    name: str
    sex: str  # printed as given (男 / 女)
    school_name: str
    county_name: str
    grade: int
    class_no: int
    booklets: dict[str, int] = field(default_factory=dict)  # subject name -> booklet number
    sessions: list[str] = field(default_factory=list)  # printed schedule lines


# ---------------------------------------------------------------------------------------------------- Code 128

# Code 128 symbol widths (bar, space, bar, space, bar, space in modules) for values 0..105 (ISO/IEC 15417, table 1);
# 103..105 are START A/B/C. Every symbol is 11 modules wide with an even number of bar modules (checked in tests).
_CODE128_TABLE = (
    "212222 222122 222221 121223 121322 131222 122213 122312 132212 221213 221312 231212 112232 122132 122231 "
    "113222 123122 123221 223211 221132 221231 213212 223112 312131 311222 321122 321221 312212 322112 322211 "
    "212123 212321 232121 111323 131123 131321 112313 132113 132311 211313 231113 231311 112133 112331 132131 "
    "113123 113321 133121 313121 211331 231131 213113 213311 213131 311123 311321 331121 312113 312311 332111 "
    "314111 221411 431111 111224 111422 121124 121421 141122 141221 112214 112412 122114 122411 142112 142211 "
    "241211 221114 413111 241112 134111 111242 121142 121241 114212 124112 124211 411212 421112 421211 212141 "
    "214121 412121 111143 111341 131141 114113 114311 411113 411311 113141 114131 311141 411131 211412 211214 "
    "211232"
)
_CODE128 = tuple(_CODE128_TABLE.split())
_STOP = "2331112"
_START_B = 104
QUIET_ZONE = 10  # modules of white on each side


def code128_modules(text: str) -> list[int]:
    """The widths (bar, space, bar, …) of ``text`` in Code 128 code set B, with its check symbol and stop.

    Code set B holds printable ASCII (32..126); the check symbol is ``(104 + Σ i·value_i) mod 103``.
    """
    if not text or any(not 32 <= ord(c) <= 126 for c in text):
        raise ValueError(f"Code 128 B encodes printable ASCII only, got {text!r}")
    values = [ord(c) - 32 for c in text]
    check = (_START_B + sum(i * v for i, v in enumerate(values, start=1))) % 103
    widths: list[int] = []
    for v in (_START_B, *values, check):
        widths.extend(int(w) for w in _CODE128[v])
    widths.extend(int(w) for w in _STOP)
    return widths


def code128_svg(text: str, *, module: float = 1.0, height: float = 36.0) -> str:
    """An SVG drawing of the Code 128 barcode of ``text`` (black bars on white, with quiet zones)."""
    widths = code128_modules(text)
    total = sum(widths) + 2 * QUIET_ZONE
    x = QUIET_ZONE
    rects = []
    for i, w in enumerate(widths):
        if i % 2 == 0:  # bars are the even elements
            rects.append(f'<rect x="{x * module:g}" y="0" width="{w * module:g}" height="{height:g}"/>')
        x += w
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{total * module:g}" height="{height:g}" '
            f'viewBox="0 0 {total * module:g} {height:g}" shape-rendering="crispEdges">'
            f'<rect width="100%" height="100%" fill="#fff"/><g fill="#000">{"".join(rects)}</g></svg>')


def _svg_data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")


# ---------------------------------------------------------------------------------------------------- PDF


def _font_face_css() -> str:
    if CJK_FONT_FILE.exists():
        return (f'@font-face {{ font-family: "naeq-cjk"; src: url("{CJK_FONT_FILE.as_uri()}"); }}\n'
                f'body {{ font-family: "naeq-cjk", "{CJK_FONT_FAMILY}", sans-serif; }}')
    return f'body {{ font-family: "{CJK_FONT_FAMILY}", sans-serif; }}'


def _render_pdf(template: str, context: dict[str, object]) -> bytes:
    from weasyprint import HTML  # imported late: loading pango costs time, pages that do not print skip it

    html = render_to_string(template, {**context, "font_css": _font_face_css()})
    pdf = HTML(string=html, base_url=str(Path(__file__).parent)).write_pdf()
    assert pdf is not None  # write_pdf() without a target returns the bytes
    return bytes(pdf)


def credential_slips_pdf(rows: Sequence[SlipRow], *, title: str) -> bytes:
    """Credential slips (测试信息条 / 准考证), eight per A4 page with dashed cut lines.

    Each slip shows the test ID large and as a Code 128 barcode, the name, sex, school and county, grade and class,
    the booklet of every subject and the session times.
    """
    slips = [{"row": r, "barcode": _svg_data_uri(code128_svg(r.test_id)),
              "booklets": sorted(r.booklets.items())} for r in rows]
    pages = [slips[i:i + SLIPS_PER_PAGE] for i in range(0, len(slips), SLIPS_PER_PAGE)] or [[]]
    return _render_pdf("sampling/credential_slips.html", {"title": title, "pages": pages})


def notice_board_pdf(*, school_name: str, title: str, test_time_lines: Sequence[str],
                     rows: Sequence[SlipRow | tuple[str, str]], hotline: str, rules: Sequence[str]) -> bytes:
    """The notice board (公示栏): test time, the test takers by test ID and name, the hotline and the rules.

    ``rows`` are :class:`SlipRow` or ``(test_id, name)`` pairs, printed in test ID order. With no rows the list
    keeps an empty, ruled space to be filled in after check-in (the plan's "测试学生名单（预留位置）").
    """
    people = sorted((r.test_id, r.name) if isinstance(r, SlipRow) else (str(r[0]), str(r[1])) for r in rows)
    return _render_pdf("sampling/notice_board.html", {
        "school_name": school_name, "title": title, "test_time_lines": list(test_time_lines),
        "people": people, "blank_rows": range(0 if people else 30), "hotline": hotline, "rules": list(rules),
    })
