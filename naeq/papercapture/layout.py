"""The answer-card layout of an instrument, in machine form (docs/papercapture.md, "The card layout").

One card layout per instrument version: the card carries every item of the instrument (of all its booklets) in item
order, so the same card serves every booklet (题卡分离: the student fills the booklet number on the card). Each item
has a position (its number on the card, 1-based) and is either

* a **bubble row** (single choice, multiple choice, true/false and Likert items with options): one bubble per option,
  labelled by the option's value ("A", "B", ...); the scan file has one column per bubble row, named by the item's
  code, holding the bubbles read; or
* a **writing box** (numeric entry, text, constructed response): written by hand, not read by the scanner and not in
  the scan file; constructed responses are scored by raters (naeq.marking).

The booklet-number field is a row of bubbles, one per booklet number of the instrument.

This module is pure (items and booklets as given, no queries): the importer, the documents and the keying page all
read the same layout.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

BUBBLE_TYPES = frozenset({"single", "multiple", "true_false", "likert"})
SINGLE_MARK_TYPES = frozenset({"single", "true_false", "likert"})
FIXED_COLUMNS = ("batch", "sheet", "test_id", "booklet")
LAYOUT_VERSION = 1


@dataclass(frozen=True)
class CardField:
    position: int  # number printed on the card
    item: str  # item code = the scan file's column
    kind: str  # "bubbles" or "box"
    type: str  # the item's type
    options: tuple[str, ...]  # bubble labels (option values), empty for a box
    block: str

    @property
    def multiple(self) -> bool:
        return self.type == "multiple"

    def as_dict(self) -> dict[str, Any]:
        return {"position": self.position, "item": self.item, "kind": self.kind, "type": self.type,
                "options": list(self.options), "block": self.block,
                "column": self.item if self.kind == "bubbles" else None}


@dataclass(frozen=True)
class CardLayout:
    instrument: str
    version: int
    booklets: tuple[int, ...]
    fields: tuple[CardField, ...]

    @property
    def bubble_fields(self) -> list[CardField]:
        return [f for f in self.fields if f.kind == "bubbles"]

    def field(self, item: str) -> CardField | None:
        return next((f for f in self.fields if f.item == item), None)

    @property
    def columns(self) -> list[str]:
        """The scan file's columns, in order."""
        return [*FIXED_COLUMNS, *(f.item for f in self.bubble_fields)]

    def as_dict(self) -> dict[str, Any]:
        return {"layout_version": LAYOUT_VERSION, "instrument": self.instrument, "version": self.version,
                "booklet_bubbles": list(self.booklets), "columns": self.columns,
                "fields": [f.as_dict() for f in self.fields]}


def _option_values(options: Sequence[Any]) -> tuple[str, ...]:
    return tuple(str(o.get("value")) if isinstance(o, Mapping) else str(o) for o in options or [])


def card_layout(*, instrument_code: str, version: int, items: Iterable[Mapping[str, Any]],
                booklet_numbers: Iterable[int]) -> CardLayout:
    """The layout of the card for ``items`` (dicts with code, seq, type, options, block) of one instrument."""
    fields = []
    for n, item in enumerate(sorted(items, key=lambda i: int(i["seq"])), start=1):
        opts = _option_values(item.get("options") or [])
        bubbles = item["type"] in BUBBLE_TYPES and bool(opts)
        fields.append(CardField(position=n, item=str(item["code"]), kind="bubbles" if bubbles else "box",
                                type=str(item["type"]), options=opts if bubbles else (),
                                block=str(item.get("block") or "")))
    return CardLayout(instrument=instrument_code, version=version, booklets=tuple(sorted(booklet_numbers)),
                      fields=tuple(fields))


def split_marks(raw: str, options: Sequence[str]) -> list[str]:
    """The bubbles in a read mark: "AB" → ["A", "B"]; "A|C" or "A,C" when option values are longer than one
    character. Whitespace is ignored."""
    text = "".join(str(raw).split())
    if not text:
        return []
    if "|" in text or "," in text:
        return [p for p in text.replace(",", "|").split("|") if p]
    if all(len(o) == 1 for o in options):
        return list(text)
    return [text]
