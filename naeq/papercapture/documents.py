"""Printed paper documents: booklets (题本) and answer cards (答题卡).

HTML + CSS rendered to PDF by WeasyPrint with the CJK font of :mod:`naeq.sampling.documents`, whose Code 128
barcode drawing is reused for the test ID on every card.

* A **booklet** prints the items of one booklet of an instrument in booklet order (its blocks in order, within a
  block by screen and sequence), each shared stimulus once above its first item, with the booklet's code and the
  secret marking on every page. Item content is secret: callers check access and audit (see the services).
* An **answer card** is one A4 page per test taker: registration marks in the four corners, the test ID as text and
  barcode, the booklet-number bubbles (the student fills the number of the booklet received), a bubble row per
  bubble item and a writing box per writing-box item, positioned by the card layout
  (:mod:`naeq.papercapture.layout`), whose version is printed on the card.

Both renderers are pure functions of their arguments: no database access.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.template.loader import render_to_string

from naeq.papercapture.layout import LAYOUT_VERSION, CardLayout
from naeq.sampling.documents import CJK_FONT_FAMILY, CJK_FONT_FILE, code128_svg

__all__ = ["BookletItem", "CardHolder", "answer_cards_pdf", "booklet_code", "booklet_pdf"]

SECRET_MARK = "机密★启用前"  # noqa: S105 -- the secrecy marking printed on booklets, not a password


@dataclass(frozen=True)
class BookletItem:
    position: int  # the item's number on the answer card
    code: str
    stem: str
    options: Sequence[tuple[str, str]]  # (value, label)
    stimulus_title: str = ""
    stimulus_body: str = ""  # printed once, above the first item of its stimulus
    box: bool = False  # answered in a writing box on the card
    stimulus_images: Sequence[tuple[str, str]] = ()  # (data URI, alt text) of the stimulus's pictures
    images: Sequence[tuple[str, str]] = ()  # the item's own pictures


@dataclass(frozen=True)
class CardHolder:
    """One card: the test ID and where it is printed for (no name: minors' data is minimised)."""

    test_id: str
    grade: int | None


def booklet_code(instrument_code: str, version: int, number: int) -> str:
    return f"{instrument_code}-v{version}-B{number}"


def _font_css() -> str:
    if CJK_FONT_FILE.exists():
        return (f'@font-face {{ font-family: "naeq-cjk"; src: url("{CJK_FONT_FILE.as_uri()}"); }}\n'
                f'body {{ font-family: "naeq-cjk", "{CJK_FONT_FAMILY}", sans-serif; }}')
    return f'body {{ font-family: "{CJK_FONT_FAMILY}", sans-serif; }}'


def _render(template: str, context: dict[str, Any]) -> bytes:
    from weasyprint import HTML  # late: loading pango costs time

    html = render_to_string(template, {**context, "font_css": _font_css()})
    pdf = HTML(string=html, base_url=str(Path(__file__).parent)).write_pdf()
    assert pdf is not None  # write_pdf() without a target returns the bytes
    return bytes(pdf)


def _data_uri(svg: str) -> str:
    return image_data_uri(svg.encode(), "image/svg+xml")


def image_data_uri(data: bytes, content_type: str) -> str:
    import base64

    return f"data:{content_type};base64," + base64.b64encode(data).decode("ascii")


def booklet_pdf(*, title: str, instrument_code: str, version: int, number: int,
                blocks: Sequence[tuple[str, Sequence[BookletItem]]], printed_for: str) -> bytes:
    """The booklet: ``blocks`` are (block code, items in order)."""
    code = booklet_code(instrument_code, version, number)
    return _render("papercapture/booklet.html", {
        "title": title, "code": code, "number": number, "blocks": blocks, "secret": SECRET_MARK,
        "printed_for": printed_for})


def answer_cards_pdf(*, title: str, school_name: str, layout: CardLayout, holders: Sequence[CardHolder]) -> bytes:
    """One answer card per holder (a blank card with an empty test ID when there are none, for spares)."""
    cards = [{"holder": h, "barcode": _data_uri(code128_svg(h.test_id, height=40))} for h in holders] or [
        {"holder": CardHolder(test_id="", grade=None), "barcode": ""}]
    bubbles = layout.bubble_fields
    half = (len(bubbles) + 1) // 2
    return _render("papercapture/cards.html", {
        "title": title, "school_name": school_name, "layout": layout, "cards": cards,
        "columns": [bubbles[:half], bubbles[half:]], "boxes": [f for f in layout.fields if f.kind == "box"],
        "layout_code": f"{layout.instrument}-v{layout.version}-L{LAYOUT_VERSION}"})
