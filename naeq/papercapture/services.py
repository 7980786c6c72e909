"""Writes of paper capture: scan import, the review queue, release to scoring, double keying.

Every service is atomic, takes the acting user keyword-only, checks access through :mod:`naeq.papercapture.access`
and writes an audit event (with before/after where something changes) in the same transaction.

The review queue is recomputed from a card's state after every change (:func:`_refresh`): the card's test taker,
booklet, resolved values and whether it is discarded. An open entry whose problem has gone (the duplicate sheet was
discarded, the booklet was corrected so the item is now in it) is withdrawn; a new problem (after a test ID fix the
booklet differs from the one assigned) opens a new entry; a resolved entry settles its problem for good.

Scoring (:func:`batch_release`) happens only when the batch's queue is empty, with delivery's objective scoring
rules (:func:`naeq.delivery.scoring.score_items`) on the items of the card's booklet in booklet order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from naeq.core.audit import audit_record
from naeq.core.errors import InvalidInput, PermissionDenied, Problem
from naeq.cycles.models import Cycle
from naeq.delivery.attempts import booklet_pages
from naeq.delivery.models import MISSING_OMITTED, MISSING_OUT_OF_RANGE, Booklet, Instrument, Item, TestTaker
from naeq.delivery.scoring import score_items
from naeq.papercapture import access
from naeq.papercapture.importer import read_scan_file
from naeq.papercapture.layout import SINGLE_MARK_TYPES, CardField, CardLayout, card_layout, split_marks
from naeq.papercapture.models import (
    CARD_KINDS,
    BatchStatus,
    EntryKind,
    KeyedCard,
    KeyedStatus,
    KeyingPass,
    PaperResponse,
    Resolution,
    ReviewEntry,
    ScanBatch,
    ScanCard,
)

OMITTED, OUT_OF_RANGE = str(MISSING_OMITTED), str(MISSING_OUT_OF_RANGE)
_OUT = object()  # an answer no rule accepts: delivery codes it 97 and scores it 0

#: Which resolutions each kind of problem allows.
ALLOWED: dict[str, tuple[str, ...]] = {
    EntryKind.UNKNOWN_TEST_ID: (Resolution.FIX_TEST_ID, Resolution.DISCARD),
    EntryKind.DUPLICATE_TEST_ID: (Resolution.ACCEPT, Resolution.FIX_TEST_ID, Resolution.DISCARD),
    EntryKind.BOOKLET_MISMATCH: (Resolution.ACCEPT, Resolution.USE_ASSIGNED, Resolution.CORRECT),
    EntryKind.BOOKLET_UNREADABLE: (Resolution.CORRECT, Resolution.USE_ASSIGNED, Resolution.DISCARD),
    EntryKind.MULTIPLE_MARKS: (Resolution.CONFIRM_MISSING, Resolution.CORRECT),
    EntryKind.BLANK: (Resolution.CONFIRM_MISSING, Resolution.CORRECT),
    EntryKind.NOT_IN_BOOKLET: (Resolution.ACCEPT,),
}


# ------------------------------------------------------------------------------------------------ layout


def layout_for(instrument: Instrument) -> CardLayout:
    items = instrument.items.values("code", "seq", "type", "options", "block")
    numbers = instrument.booklets.values_list("number", flat=True)
    return card_layout(instrument_code=instrument.code, version=instrument.version, items=list(items),
                       booklet_numbers=list(numbers))


def _blocks(instrument: Instrument) -> dict[int, set[str]]:
    return {b.number: set(b.blocks) for b in instrument.booklets.all()}


def _assigned(taker: TestTaker, instrument: Instrument) -> int | None:
    value = (taker.booklets or {}).get(instrument.code)
    return int(value) if isinstance(value, int) or (isinstance(value, str) and value.isdigit()) else None


def _takers(actor: Any, cycle: Cycle, instrument: Instrument) -> Any:
    """The test takers a card of this instrument may belong to: in the cycle, assigned the instrument, inside the
    actor's jurisdiction."""
    return access.takers_in(actor, TestTaker.objects.filter(cycle=cycle, booklets__has_key=instrument.code))


def canonical(raw: str, f: CardField) -> str:
    """A read or keyed mark written the same way every time: bubbles in option order ("CA" → "AC")."""
    picks = split_marks(raw, f.options)
    if raw.strip() in {OMITTED, OUT_OF_RANGE}:
        return raw.strip()
    if any(p not in f.options for p in picks) or len(set(picks)) != len(picks):
        return "".join(str(raw).split())
    ordered = [o for o in f.options if o in picks]
    sep = "" if all(len(o) == 1 for o in f.options) else "|"
    return sep.join(ordered)


def _upper(value: str, f: CardField) -> str:
    """Typed marks in the options' case ("c" → "C" when the options are upper-case letters)."""
    return value.upper() if all(o == o.upper() for o in f.options) else value


def _mark_problem(value: str, f: CardField) -> tuple[str, str] | None:
    """The problem of a mark on an item of the booklet: (kind, detail) or None."""
    if value in {OMITTED, OUT_OF_RANGE}:
        return None
    picks = split_marks(value, f.options)
    if not picks:
        return EntryKind.BLANK, _("第%(p)s题未涂。") % {"p": f.position}
    bad = [p for p in picks if p not in f.options]
    if bad:
        return EntryKind.MULTIPLE_MARKS, _("第%(p)s题的涂点“%(v)s”不是选项（%(opts)s）。") % {
            "p": f.position, "v": "".join(bad), "opts": "/".join(f.options)}
    if len(set(picks)) != len(picks):
        return EntryKind.MULTIPLE_MARKS, _("第%(p)s题的涂点重复。") % {"p": f.position}
    if f.type in SINGLE_MARK_TYPES and len(picks) > 1:
        return EntryKind.MULTIPLE_MARKS, _("第%(p)s题是单选题，识别到多个涂点“%(v)s”。") % {
            "p": f.position, "v": value}
    return None


# ------------------------------------------------------------------------------------------------ review queue


class _Context:
    """What checking the cards of one batch needs, fetched once."""

    def __init__(self, batch: ScanBatch) -> None:
        self.batch = batch
        self.instrument = batch.instrument
        self.layout = layout_for(self.instrument)
        self.blocks = _blocks(self.instrument)

    def prime(self, cards: list[ScanCard]) -> None:
        """Fetch, in two queries, what the duplicate check of ``cards`` needs: every live sheet of the instrument
        with one of their test takers, and which of them have released responses."""
        ids = {c.test_taker_id for c in cards if c.test_taker_id is not None}
        self.sheets: dict[int, list[tuple[int, int, int, str, int]]] = {}
        for t, b, row, pk, sb, sheet in (ScanCard.objects.filter(test_taker_id__in=ids, discarded=False,
                                                                 batch__instrument=self.instrument)
                                         .order_by("batch_id", "row")
                                         .values_list("test_taker_id", "batch_id", "row", "pk", "scanner_batch",
                                                      "sheet")):
            self.sheets.setdefault(t, []).append((b, row, pk, sb, sheet))
        self.released = set(PaperResponse.objects.filter(test_taker_id__in=ids, instrument=self.instrument)
                            .values_list("test_taker_id", flat=True).distinct())

    def duplicates(self, card: ScanCard) -> str | None:
        """Why ``card``'s test taker already has a card: another live sheet of this batch, of an earlier batch,
        or scored paper responses (from :meth:`prime`)."""
        assert card.test_taker_id is not None
        others = [o for o in self.sheets.get(card.test_taker_id, []) if o[2] != card.pk]
        same = [o for o in others if o[0] == card.batch_id]
        if same:
            return _("本文件第%(row)s行（%(b)s/%(s)s）也是该测试编号。") % {
                "row": same[0][1], "b": same[0][3], "s": same[0][4]}
        if others:
            return _("该测试编号已在扫描批次#%(id)s第%(row)s行导入。") % {"id": others[0][0], "row": others[0][1]}
        if card.test_taker_id in self.released:
            return _("该测试对象的本工具作答已评分发布。")
        return None

    def problems(self, card: ScanCard) -> list[tuple[str, str, str, str]]:
        """(kind, item, scanned value, detail) of every problem of the card in its current state."""
        if card.discarded:
            return []
        out: list[tuple[str, str, str, str]] = []
        taker = card.test_taker
        if taker is None:
            out.append((EntryKind.UNKNOWN_TEST_ID, "", card.test_id_read,
                        _("测试编号“%(v)s”不是本批次范围内分配了%(inst)s的测试对象。") % {
                            "v": card.test_id_read or _("（未识别）"), "inst": self.instrument.code}))
        else:
            why = self.duplicates(card)
            if why:
                out.append((EntryKind.DUPLICATE_TEST_ID, "", card.test_id_read, why))
        if card.booklet is None:
            out.append((EntryKind.BOOKLET_UNREADABLE, "", card.booklet_read,
                        _("题本号涂点“%(v)s”无法识别（可用题本号：%(nums)s）。") % {
                            "v": card.booklet_read or _("（未涂）"),
                            "nums": "、".join(str(n) for n in self.layout.booklets)}))
            return out
        if taker is not None:
            assigned = _assigned(taker, self.instrument)
            if assigned is not None and assigned != card.booklet:
                out.append((EntryKind.BOOKLET_MISMATCH, "", card.booklet_read,
                            _("答题卡上的题本号为%(read)s，分配给该学生的是%(assigned)s。") % {
                                "read": card.booklet, "assigned": assigned}))
        blocks = self.blocks.get(card.booklet, set())
        for f in self.layout.bubble_fields:
            value = str(card.values.get(f.item, card.marks.get(f.item, "")))
            if f.block in blocks:
                found = _mark_problem(value, f)
                if found:
                    out.append((found[0], f.item, card.marks.get(f.item, ""), found[1]))
            elif split_marks(value, f.options) and value not in {OMITTED, OUT_OF_RANGE}:
                out.append((EntryKind.NOT_IN_BOOKLET, f.item, value,
                            _("第%(p)s题不在第%(b)s册中，却有涂点“%(v)s”（不计分）。") % {
                                "p": f.position, "b": card.booklet, "v": value}))
        return out


def _refresh(ctx: _Context, cards: Iterable[ScanCard]) -> None:
    """Recompute the open entries of ``cards`` (see the module docstring): a fixed number of queries whatever the
    number of cards (``cards`` should prefetch their entries and select their test takers)."""
    cards = list(cards)
    ctx.prime(cards)
    withdrawn: list[int] = []
    new: list[ReviewEntry] = []
    for card in cards:
        existing = {(e.kind, e.item): e for e in card.entries.all()}
        wanted = {(k, i): (s, d) for k, i, s, d in ctx.problems(card)}
        withdrawn += [e.pk for key, e in existing.items() if e.is_open and key not in wanted]
        new += [ReviewEntry(card=card, batch_id=card.batch_id, kind=k, item=i, scanned=s[:40], detail=d[:300])
                for (k, i), (s, d) in wanted.items() if (k, i) not in existing]
    if withdrawn:
        ReviewEntry.objects.filter(pk__in=withdrawn).delete()
    ReviewEntry.objects.bulk_create(new, batch_size=2000)


def _set_status(batch: ScanBatch) -> None:
    if batch.status == BatchStatus.RELEASED:
        return
    status = BatchStatus.REVIEW if batch.entries.filter(resolved_at__isnull=True).exists() else BatchStatus.READY
    if status != batch.status:
        batch.status = status
        batch.save(update_fields=["status"])


def _parse_booklet(raw: str, numbers: Iterable[int]) -> int | None:
    text = "".join(raw.split())
    return int(text) if text.isdigit() and int(text) in set(numbers) else None


@transaction.atomic
def batch_import(*, actor: Any, cycle: Cycle, instrument: Instrument, name: str, data: bytes) -> ScanBatch:
    """Import one scan file: every sheet becomes a card, every problem a review entry. A structurally broken file
    is refused whole (:mod:`naeq.papercapture.importer`)."""
    j = access.importer(actor)
    return _import(actor, j.path, _takers(actor, cycle, instrument), cycle, instrument, name, data)


@transaction.atomic
def batch_import_system(*, cycle: Cycle, instrument: Instrument, name: str, data: bytes, path: str) -> ScanBatch:
    """The same import written as the system (the demo): test takers under ``path``, the batch held at ``path``."""
    takers = TestTaker.objects.filter(cycle=cycle, booklets__has_key=instrument.code, path__startswith=path)
    return _import(None, path, takers, cycle, instrument, name, data)


def _import(actor: Any, path: str, candidates: Any, cycle: Cycle, instrument: Instrument, name: str,
            data: bytes) -> ScanBatch:
    if instrument.cycle_id != cycle.pk:
        raise InvalidInput(_("%(inst)s不是%(year)s年监测周期的工具。") % {"inst": instrument.code, "year": cycle.year},
                           code="scan_instrument")
    layout = layout_for(instrument)
    if not layout.bubble_fields:
        raise InvalidInput(_("%(inst)s的答题卡没有涂点题，没有可导入的扫描结果。") % {"inst": instrument.code},
                           code="scan_instrument")
    rows = read_scan_file(name, data, layout)
    digest = hashlib.sha256(data).hexdigest()
    earlier = ScanBatch.objects.filter(instrument=instrument, sha256=digest).first()
    if earlier is not None:
        raise InvalidInput(_("%(name)s已于%(at)s导入（扫描批次#%(id)s），未重复导入。") % {
            "name": name, "at": timezone.localtime(earlier.uploaded_at).strftime("%Y-%m-%d %H:%M"),
            "id": earlier.pk}, code="scan_duplicate_file", problems=[Problem(reason=_("文件重复"), file=name)])
    takers = {t.code: t for t in candidates.filter(code__in={r.test_id for r in rows})}
    labels = list(dict.fromkeys(r.batch for r in rows))
    batch = ScanBatch(cycle=cycle, instrument=instrument, path=path, label="、".join(labels)[:200],
                      source=name[:200], sha256=digest, sheets=len(rows),
                      uploaded_by=actor if getattr(actor, "pk", None) else None)
    batch.full_clean()
    batch.save()
    cards = []
    for r in rows:
        taker = takers.get(r.test_id)
        cards.append(ScanCard(batch=batch, row=r.row, scanner_batch=r.batch[:40], sheet=r.sheet,
                              test_id_read=r.test_id[:40], booklet_read=r.booklet[:20], test_taker=taker,
                              path=taker.path if taker else "",
                              booklet=_parse_booklet(r.booklet, layout.booklets), marks=r.marks, values={}))
    ScanCard.objects.bulk_create(cards)
    ctx = _Context(batch)
    _refresh(ctx, ScanCard.objects.filter(batch=batch).select_related("test_taker").prefetch_related("entries"))
    _set_status(batch)
    counts = dict.fromkeys(EntryKind.values, 0)
    for kind in batch.entries.values_list("kind", flat=True):
        counts[kind] += 1
    audit_record(actor=actor, action="papercapture.import", object_type="papercapture.ScanBatch",
                 object_id=batch.pk, after={"instrument": instrument.code, "version": instrument.version,
                                            "file": name, "sha256": digest, "sheets": len(rows),
                                            "entries": counts, "status": batch.status})
    return batch


def _card_state(card: ScanCard) -> dict[str, Any]:
    return {"test_id": card.test_taker.code if card.test_taker else None, "booklet": card.booklet,
            "values": dict(card.values), "discarded": card.discarded}


def _fix_test_id(actor: Any, ctx: _Context, card: ScanCard, value: str) -> None:
    code = value.strip()
    # Within the actor's jurisdiction and the batch's: a province's batch holds only that province's test takers.
    taker = (_takers(actor, ctx.batch.cycle, ctx.instrument).filter(code=code, path__startswith=ctx.batch.path)
             .first())
    if taker is None:
        raise InvalidInput(_("测试编号“%(v)s”不是本批次范围内分配了%(inst)s的测试对象。") % {
            "v": code, "inst": ctx.instrument.code}, code="entry_value",
            problems=[Problem(reason=_("未知测试编号"), field=_("测试编号"), value=code)])
    card.test_taker, card.path = taker, taker.path


def _correct_mark(ctx: _Context, item: str, value: str) -> str:
    f = ctx.layout.field(item)
    assert f is not None  # entries name items of the layout
    mark = canonical(_upper(value, f), f)
    problem = _mark_problem(mark, f) if mark not in {OMITTED, OUT_OF_RANGE} else None
    if problem is not None or not mark:
        raise InvalidInput(_("第%(p)s题更正值“%(v)s”无效：应为%(opts)s之一%(multi)s。") % {
            "p": f.position, "v": value, "opts": "/".join(f.options),
            "multi": _("（可多选）") if f.multiple else ""}, code="entry_value",
            problems=[Problem(reason=_("更正值无效"), field=item, value=value)])
    return mark


@transaction.atomic
def entry_resolve(*, actor: Any, entry_id: int, resolution: str, value: str = "") -> ReviewEntry:
    """Resolve one open entry of the review queue (audited with the card's state before and after)."""
    entry = access.entry_get(actor=actor, entry_id=entry_id)
    batch = access.batch_get(actor=actor, batch_id=entry.batch_id, write=True, lock=True)
    if batch.status == BatchStatus.RELEASED:
        raise InvalidInput(_("该批次已评分发布，不能再修改。"), code="batch_released")
    if not entry.is_open:
        raise InvalidInput(_("该问题已处理。"), code="entry_resolved")
    if resolution not in ALLOWED[entry.kind]:
        raise InvalidInput(_("“%(kind)s”不能以“%(r)s”处理。") % {
            "kind": entry.get_kind_display(), "r": dict(Resolution.choices).get(resolution, resolution)},
            code="entry_resolution")
    if entry.kind not in CARD_KINDS and batch.entries.filter(
            card_id=entry.card_id, kind__in=CARD_KINDS, resolved_at__isnull=True).exists():
        raise InvalidInput(_("请先处理该答题卡的测试编号和题本号问题。"), code="entry_order")
    ctx = _Context(batch)
    card = ScanCard.objects.select_related("test_taker").get(pk=entry.card_id)
    before = {"entry": {"kind": entry.kind, "item": entry.item, "scanned": entry.scanned}, **_card_state(card)}
    old_taker = card.test_taker_id
    stored = value.strip()
    if resolution == Resolution.DISCARD:
        card.discarded = True
    elif resolution == Resolution.FIX_TEST_ID:
        _fix_test_id(actor, ctx, card, value)
        stored = card.test_taker.code if card.test_taker else stored
    elif resolution == Resolution.ACCEPT and entry.kind == EntryKind.DUPLICATE_TEST_ID:
        same = ScanCard.objects.filter(batch=batch, test_taker_id=card.test_taker_id, discarded=False).exclude(
            pk=card.pk).order_by("row").first()
        if same is not None:
            raise InvalidInput(_("本文件第%(row)s行也是该测试编号：请先作废或更正其中一张。") % {"row": same.row},
                               code="entry_duplicate")
    elif resolution == Resolution.USE_ASSIGNED:
        assigned = _assigned(card.test_taker, ctx.instrument) if card.test_taker else None
        if assigned is None:
            raise InvalidInput(_("尚不知道该答题卡的测试对象，无法采用分配的题本号。"), code="entry_value")
        card.booklet, stored = assigned, str(assigned)
    elif resolution == Resolution.CORRECT and entry.kind in CARD_KINDS:
        number = _parse_booklet(value, ctx.layout.booklets)
        if number is None:
            raise InvalidInput(_("题本号“%(v)s”无效：%(inst)s的题本号为%(nums)s。") % {
                "v": value, "inst": ctx.instrument.code, "nums": "、".join(str(n) for n in ctx.layout.booklets)},
                code="entry_value", problems=[Problem(reason=_("题本号无效"), field=_("题本号"), value=value)])
        card.booklet, stored = number, str(number)
    elif resolution == Resolution.CORRECT:
        stored = _correct_mark(ctx, entry.item, value)
        card.values = {**card.values, entry.item: stored}
    elif resolution == Resolution.CONFIRM_MISSING:
        stored = OUT_OF_RANGE if entry.kind == EntryKind.MULTIPLE_MARKS else OMITTED
        card.values = {**card.values, entry.item: stored}
    elif resolution == Resolution.ACCEPT:
        stored = entry.scanned
    card.full_clean()
    card.save()
    entry.resolution, entry.value = resolution, stored[:40]
    entry.resolved_by = actor if getattr(actor, "pk", None) else None
    entry.resolved_at = timezone.now()
    entry.full_clean()
    entry.save()
    # The card itself and every sheet of this batch that shares its test taker, before or after.
    takers = {t for t in (old_taker, card.test_taker_id) if t is not None}
    related = ScanCard.objects.filter(Q(pk=card.pk) | Q(batch=batch, test_taker_id__in=takers))
    _refresh(ctx, related.select_related("test_taker").prefetch_related("entries"))
    _set_status(batch)
    audit_record(actor=actor, action="papercapture.resolve", object_type="papercapture.ReviewEntry",
                 object_id=entry.pk, before=before,
                 after={"resolution": resolution, "value": stored, **_card_state(card)})
    return entry


@transaction.atomic
def entries_confirm_missing(*, actor: Any, batch_id: int) -> int:
    """Confirm every open blank as 99 and every open multiple mark as 97 in one step (one audit event listing
    them). Entries of cards whose test ID or booklet is still open are left for later."""
    batch = access.batch_get(actor=actor, batch_id=batch_id, write=True, lock=True)
    if batch.status == BatchStatus.RELEASED:
        raise InvalidInput(_("该批次已评分发布，不能再修改。"), code="batch_released")
    blocked = set(batch.entries.filter(kind__in=CARD_KINDS, resolved_at__isnull=True).values_list("card_id",
                                                                                                 flat=True))
    entries = list(batch.entries.filter(kind__in=[EntryKind.BLANK, EntryKind.MULTIPLE_MARKS],
                                        resolved_at__isnull=True).exclude(card_id__in=blocked)
                   .select_related("card"))
    now = timezone.now()
    done = []
    for entry in entries:
        code = OUT_OF_RANGE if entry.kind == EntryKind.MULTIPLE_MARKS else OMITTED
        card = entry.card
        card.values = {**card.values, entry.item: code}
        card.save(update_fields=["values"])
        entry.resolution, entry.value, entry.resolved_at = Resolution.CONFIRM_MISSING, code, now
        entry.resolved_by = actor if getattr(actor, "pk", None) else None
        done.append({"entry": entry.pk, "sheet": f"{card.scanner_batch}/{card.sheet}", "item": entry.item,
                     "scanned": entry.scanned, "code": code})
    ReviewEntry.objects.bulk_update(entries, ["resolution", "value", "resolved_at", "resolved_by"])
    _set_status(batch)
    audit_record(actor=actor, action="papercapture.confirm_missing", object_type="papercapture.ScanBatch",
                 object_id=batch.pk, after={"confirmed": done})
    return len(done)


# ------------------------------------------------------------------------------------------------ scoring


def _item_dicts(instrument: Instrument, booklet: int) -> list[dict[str, Any]]:
    book = Booklet.objects.filter(instrument=instrument, number=booklet).first()
    ordered: list[Item] = [i for _n, page in booklet_pages(instrument, book) for i in page]
    return [{"code": i.code, "type": i.type, "block": i.block, "screen": i.screen, "key": i.key,
             "max_score": i.max_score, "options": i.options, "rows": i.rows, "constraints": i.constraints,
             "show_if": i.show_if, "skip": i.skip} for i in ordered]


def score_card(layout: CardLayout, items: list[dict[str, Any]], marks: Mapping[str, str]) -> list[tuple[str, str,
                                                                                                        float | None]]:
    """(item, code, score) of one card: ``items`` of its booklet in order, ``marks`` the final mark per bubble item
    ("A", "AC", "97", "99"). Writing-box items get code "" and no score (not read by the scanner; constructed
    responses are scored by raters)."""
    answers: dict[str, Any] = {}
    for f in layout.bubble_fields:
        raw = str(marks.get(f.item, ""))
        if raw == OUT_OF_RANGE:
            answers[f.item] = _OUT
        elif raw == OMITTED:
            answers[f.item] = None
        else:
            picks = split_marks(raw, f.options)
            if all(p in f.options for p in picks):
                picks = [o for o in f.options if o in picks]  # the code lists picks in option order
            answers[f.item] = picks if f.multiple else (picks[0] if len(picks) == 1 else (_OUT if picks else None))
    boxes = {f.item for f in layout.fields if f.kind == "box"}
    out: list[tuple[str, str, float | None]] = []
    for s in score_items(items, answers):
        if s.item in boxes:
            out.append((s.item, "", None))
        else:
            out.append((s.item, s.code, s.score))
    return out


def _responses(*, cycle_id: int, instrument: Instrument, taker: TestTaker, booklet: int,
               scored: list[tuple[str, str, float | None]], batch: ScanBatch | None = None,
               keyed: KeyedCard | None = None) -> list[PaperResponse]:
    return [PaperResponse(cycle_id=cycle_id, test_taker=taker, instrument=instrument, path=taker.path,
                          booklet=booklet, item=item, code=code[:200], score=score,
                          source=PaperResponse.Source.SCAN if batch else PaperResponse.Source.KEYED, batch=batch,
                          keyed=keyed) for item, code, score in scored]


@transaction.atomic
def batch_release(*, actor: Any, batch_id: int) -> ScanBatch:
    """Score a batch whose review queue is empty and release it to scaling. Refused while any entry is open."""
    batch = access.batch_get(actor=actor, batch_id=batch_id, write=True, lock=True)
    if batch.status == BatchStatus.RELEASED:
        raise InvalidInput(_("该批次已评分发布。"), code="batch_released")
    open_n = batch.entries.filter(resolved_at__isnull=True).count()
    if open_n:
        raise InvalidInput(_("复核队列中还有%(n)s个问题未处理，处理完之前不评分。") % {"n": open_n},
                           code="batch_queue_open")
    instrument = batch.instrument
    layout = layout_for(instrument)
    items_by_booklet: dict[int, list[dict[str, Any]]] = {}
    cards = list(batch.cards.filter(discarded=False).select_related("test_taker"))
    rows: list[PaperResponse] = []
    for card in cards:
        if card.test_taker is None or card.booklet is None:  # cannot happen with an empty queue
            raise InvalidInput(_("第%(row)s行的测试编号或题本号未确定。") % {"row": card.row}, code="batch_queue_open")
        if card.booklet not in items_by_booklet:
            items_by_booklet[card.booklet] = _item_dicts(instrument, card.booklet)
        scored = score_card(layout, items_by_booklet[card.booklet], {**card.marks, **card.values})
        rows += _responses(cycle_id=batch.cycle_id, instrument=instrument, taker=card.test_taker,
                           booklet=card.booklet, scored=scored, batch=batch)
    # An accepted duplicate replaces the test taker's earlier released responses (counted in the audit).
    earlier = PaperResponse.objects.filter(instrument=instrument, test_taker_id__in={c.test_taker_id for c in cards})
    replaced_takers = earlier.values("test_taker_id").distinct().count()
    earlier.delete()
    PaperResponse.objects.bulk_create(rows, batch_size=5000)
    scored_n, responses = len(cards), len(rows)
    batch.status, batch.released_at = BatchStatus.RELEASED, timezone.now()
    batch.released_by = actor if getattr(actor, "pk", None) else None
    batch.save(update_fields=["status", "released_at", "released_by"])
    audit_record(actor=actor, action="papercapture.release", object_type="papercapture.ScanBatch",
                 object_id=batch.pk, before={"status": BatchStatus.READY},
                 after={"status": batch.status, "cards": scored_n, "responses": responses,
                        "replaced_test_takers": replaced_takers})
    return batch


# ------------------------------------------------------------------------------------------------ double keying


def _clean_keyed(layout: CardLayout, fields: Mapping[str, Any]) -> dict[str, str]:
    """Validated keyed fields: ``booklet`` and every bubble item's mark, canonical; every fault named."""
    problems = []
    out: dict[str, str] = {}
    booklet = str(fields.get("booklet") or "").strip()
    if _parse_booklet(booklet, layout.booklets) is None:
        problems.append(Problem(reason=_("题本号应为%(nums)s之一。") % {
            "nums": "、".join(str(n) for n in layout.booklets)}, field=_("题本号"), value=booklet))
    out["booklet"] = booklet
    for f in layout.bubble_fields:
        raw = _upper(str(fields.get(f.item) or "").strip(), f)
        mark = canonical(raw, f)
        picks = split_marks(mark, f.options)
        if any(p not in f.options for p in picks) or len(set(picks)) != len(picks):
            problems.append(Problem(reason=_("第%(p)s题只能填%(opts)s（多涂照录，如“AB”；未涂留空）。") % {
                "p": f.position, "opts": "/".join(f.options)}, field=f.item, value=raw))
        out[f.item] = mark
    if problems:
        raise InvalidInput(_("录入内容有误，未保存。"), code="keyed_invalid", problems=problems)
    return out


def _diff(a: Mapping[str, str], b: Mapping[str, str]) -> list[str]:
    return [k for k in a if a.get(k) != b.get(k)]


def _release_keyed(card: KeyedCard, layout: CardLayout, final: dict[str, str]) -> None:
    booklet = int(final["booklet"])
    marks = {k: v for k, v in final.items() if k != "booklet"}
    scored = score_card(layout, _item_dicts(card.instrument, booklet), marks)
    PaperResponse.objects.filter(instrument=card.instrument, test_taker=card.test_taker).delete()
    PaperResponse.objects.bulk_create(_responses(cycle_id=card.cycle_id, instrument=card.instrument,
                                                 taker=card.test_taker, booklet=booklet, scored=scored, keyed=card))
    card.final, card.status, card.released_at = final, KeyedStatus.RELEASED, timezone.now()


@transaction.atomic
def card_key(*, actor: Any, instrument: Instrument, test_id: str, fields: Mapping[str, Any]) -> KeyedCard:
    """Key one card by hand. The first pass opens the card; the second (by a different operator) is compared field
    by field: equal passes are released to scoring at once, differing ones wait for reconciliation."""
    access.keyer(actor)
    layout = layout_for(instrument)
    taker = _takers(actor, instrument.cycle, instrument).filter(code=test_id.strip()).first()
    if taker is None:
        raise InvalidInput(_("测试编号“%(v)s”不是您管辖范围内分配了%(inst)s的测试对象。") % {
            "v": test_id, "inst": instrument.code}, code="keyed_taker",
            problems=[Problem(reason=_("未知测试编号"), field=_("测试编号"), value=test_id)])
    clean = _clean_keyed(layout, fields)
    card = KeyedCard.objects.select_for_update().filter(instrument=instrument, test_taker=taker).first()
    if card is None:
        if PaperResponse.objects.filter(instrument=instrument, test_taker=taker, source="scan").exists():
            raise InvalidInput(_("该测试对象的答题卡已通过扫描导入并评分，不再录入。"), code="keyed_scanned")
        card = KeyedCard.objects.create(cycle=instrument.cycle, instrument=instrument, test_taker=taker,
                                        path=taker.path)
        KeyingPass.objects.create(card=card, number=1, operator=actor, fields=clean)
        audit_record(actor=actor, action="papercapture.key", object_type="papercapture.KeyedCard",
                     object_id=card.pk, after={"pass": 1, "test_id": taker.code, "fields": clean})
        return card
    if card.status != KeyedStatus.FIRST:
        raise InvalidInput(_("该答题卡已录入两遍。"), code="keyed_done")
    first = card.passes.get(number=1)
    if first.operator_id == actor.pk:
        raise PermissionDenied(_("同一人不能录入同一张答题卡的两遍，请由另一名录入员录入第二遍。"))
    KeyingPass.objects.create(card=card, number=2, operator=actor, fields=clean)
    differ = _diff(first.fields, clean)
    if differ:
        card.status = KeyedStatus.MISMATCH
    else:
        _release_keyed(card, layout, clean)
    card.save()
    audit_record(actor=actor, action="papercapture.key", object_type="papercapture.KeyedCard", object_id=card.pk,
                 after={"pass": 2, "test_id": taker.code, "fields": clean, "differ": differ,
                        "status": card.status})
    return card


def keyed_differences(card: KeyedCard) -> list[tuple[str, str, str]]:
    """(field, first pass value, second pass value) of every field the two passes key differently."""
    passes = {p.number: p.fields for p in card.passes.all()}
    if len(passes) < 2:
        return []
    return [(k, passes[1].get(k, ""), passes[2].get(k, "")) for k in _diff(passes[1], passes[2])]


@transaction.atomic
def card_reconcile(*, actor: Any, keyed_id: int, choices: Mapping[str, str]) -> KeyedCard:
    """A third person picks the right value of every differing field; the card is then released to scoring."""
    card = access.keyed_get(actor=actor, keyed_id=keyed_id)
    access.reconciler(actor=actor, card=card)
    card = KeyedCard.objects.select_for_update().select_related("test_taker", "instrument").get(pk=card.pk)
    if card.status != KeyedStatus.MISMATCH:
        raise InvalidInput(_("该答题卡没有待核对的差异。"), code="keyed_not_mismatch")
    layout = layout_for(card.instrument)
    first = card.passes.get(number=1).fields
    differ = keyed_differences(card)
    missing = [k for k, _a, _b in differ if not str(choices.get(k, "")).strip() and k == "booklet"]
    if missing or any(k not in choices for k, _a, _b in differ):
        raise InvalidInput(_("请为每个不一致的字段选定正确值。"), code="keyed_choice",
                           problems=[Problem(reason=_("未选定"), field=k) for k, _a, _b in differ
                                     if k not in choices or k in missing])
    final = _clean_keyed(layout, {**first, **{k: choices[k] for k, _a, _b in differ}})
    _release_keyed(card, layout, final)
    card.reconciled_by = actor
    card.save()
    audit_record(actor=actor, action="papercapture.reconcile", object_type="papercapture.KeyedCard",
                 object_id=card.pk, before={"differ": [{"field": k, "first": a, "second": b} for k, a, b in differ]},
                 after={"final": final, "status": card.status})
    return card


# ------------------------------------------------------------------------------------------------ printing


@transaction.atomic
def booklet_print(*, actor: Any, instrument_id: int, number: int, county_code: str | None = None
                  ) -> tuple[bytes, str]:
    """The PDF of one booklet (secret item content). National staff, or a county officer for their own county's
    printing; every download is audited."""
    from naeq.delivery.media import media_content_type, media_kind, media_read
    from naeq.papercapture.documents import BookletItem, booklet_code, booklet_pdf, image_data_uri

    def pictures(media: Any) -> list[tuple[str, str]]:
        out = []
        for m in media or []:
            name = str(m.get("file", "")) if isinstance(m, dict) else ""
            if not name or media_kind(name) != "image":
                continue  # recordings cannot be printed
            data = media_read(instrument, name)
            if data is not None:
                out.append((image_data_uri(data, media_content_type(name)), str(m.get("alt", ""))))
        return out

    instrument = access.instrument_get(actor=actor, instrument_id=instrument_id)
    county = access.booklet_printer(actor=actor, county_code=county_code)
    book = instrument.booklets.filter(number=number).first()
    if book is None:
        raise InvalidInput(_("%(inst)s没有第%(n)s册。") % {"inst": instrument.code, "n": number},
                           code="booklet_missing")
    layout = layout_for(instrument)
    positions = {f.item: f for f in layout.fields}
    stimuli_seen: set[int] = set()
    blocks: dict[str, list[BookletItem]] = {}
    for _name, page in booklet_pages(instrument, book, instrument.items.select_related("stimulus")):
        for item in page:
            stim = item.stimulus
            first = stim is not None and stim.pk not in stimuli_seen
            if stim is not None:
                stimuli_seen.add(stim.pk)
            f = positions[item.code]
            opts = [(str(o.get("value")), str(o.get("label", ""))) for o in item.options or [] if isinstance(o, dict)]
            blocks.setdefault(item.block, []).append(BookletItem(
                position=f.position, code=item.code, stem=item.stem, options=opts,
                stimulus_title=stim.title if first and stim else "", stimulus_body=stim.body if first and stim else "",
                box=f.kind == "box", stimulus_images=pictures(stim.media) if first and stim else [],
                images=pictures(item.media)))
    printed_for = county.name if county is not None else _("国家监测中心")
    pdf = booklet_pdf(title=instrument.name, instrument_code=instrument.code, version=instrument.version,
                      number=number, blocks=list(blocks.items()), printed_for=printed_for)
    code = booklet_code(instrument.code, instrument.version, number)
    audit_record(actor=actor, action="papercapture.booklet_print", object_type="delivery.Instrument",
                 object_id=instrument.pk, after={"booklet": code, "county": county.code if county else None,
                                                 "bytes": len(pdf)})
    return pdf, f"{code}.pdf"


@transaction.atomic
def cards_print(*, actor: Any, instrument_id: int, school_code: str) -> tuple[bytes, str]:
    """The answer cards of one school for an instrument: one per test taker assigned it, in test ID order."""
    from naeq.papercapture.documents import CardHolder, answer_cards_pdf

    instrument = access.instrument_get(actor=actor, instrument_id=instrument_id)
    school = access.card_printer(actor=actor, code=school_code)
    takers = _takers(actor, instrument.cycle, instrument)
    rows = list(takers.filter(school=school).order_by("code").values_list("code", "grade"))
    layout = layout_for(instrument)
    pdf = answer_cards_pdf(title=_("%(name)s 答题卡") % {"name": instrument.name}, school_name=school.name,
                           layout=layout, holders=[CardHolder(test_id=c, grade=g) for c, g in rows])
    audit_record(actor=actor, action="papercapture.cards_print", object_type="registry.School",
                 object_id=school.pk, after={"instrument": instrument.code, "version": instrument.version,
                                             "cards": len(rows)})
    return pdf, f"{instrument.code}-{school.code}-cards.pdf"
