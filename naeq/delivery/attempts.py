"""Starting an attempt and delivering its content to the test taker's browser.

An attempt's *pages* are the screens of its booklet: for a test, the booklet's blocks in order and, within a
block, the item's ``screen`` (then ``seq``); for a questionnaire, its screens. A page is named ``"<block>:<screen>"``.
``Attempt.page_order`` stores the page names in the order this attempt shows them: the booklet order, or a
permutation drawn from a generator seeded by the attempt id when the instrument asks for shuffled pages (so a
reload, or a resume on another computer, shows the same order).

The content handed to the browser never contains an item's ``key`` (the scoring key) nor its indicator
hierarchy; every delivery is an audit event (``delivery.content``).
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from naeq.core.audit import audit_record
from naeq.core.errors import InvalidInput, NotFound
from naeq.delivery.models import (
    Attempt,
    AttemptStatus,
    Booklet,
    Instrument,
    InstrumentKind,
    InstrumentStatus,
    Item,
    SessionKind,
    Stimulus,
    TestSession,
    TestTaker,
)

#: Item fields the browser receives. ``key`` and the indicator hierarchy are deliberately absent.
CLIENT_ITEM_FIELDS = ("code", "type", "stem", "options", "rows", "constraints", "show_if", "skip", "media",
                      "required", "max_score")


def taker_actor(taker: TestTaker) -> Any:
    """The audit actor for a test taker (who is not a platform user): a label, no user row."""
    return SimpleNamespace(pk=None, username=f"taker:{taker.code}")


def page_name(block: str, screen: int) -> str:
    return f"{block}:{screen}"


def booklet_pages(instrument: Instrument, booklet: Booklet | None,
                  items: Iterable[Item] | None = None) -> list[tuple[str, list[Item]]]:
    """The pages of ``booklet`` in booklet order: ``[(page name, [items in order]), ...]``.

    Tests: the booklet's blocks in order, within a block by screen then seq. Questionnaires: by screen then seq
    (all blocks; a questionnaire's one booklet has its one block). Items of blocks not in the booklet are not
    administered."""
    rows = list(items) if items is not None else list(instrument.items.all())
    if instrument.kind == InstrumentKind.TEST:
        blocks = list(booklet.blocks) if booklet is not None else list(dict.fromkeys(i.block for i in rows))
        rank = {b: n for n, b in enumerate(blocks)}
        chosen = sorted((i for i in rows if i.block in rank), key=lambda i: (rank[i.block], i.screen, i.seq))
        keyed = [(page_name(i.block, i.screen), i) for i in chosen]
    else:
        chosen = sorted(rows, key=lambda i: (i.screen, i.seq))
        keyed = [(page_name("Q", i.screen), i) for i in chosen]
    pages: dict[str, list[Item]] = {}
    for name, item in keyed:
        pages.setdefault(name, []).append(item)
    return list(pages.items())


def shuffled(names: list[str], seed: int) -> list[str]:
    """A permutation of ``names`` drawn from a generator seeded by ``seed`` (the attempt id): the same attempt
    always gets the same order."""
    out = list(names)
    random.Random(f"naeq.delivery.page-order:{seed}").shuffle(out)  # noqa: S311 -- reproducible, not secret
    return out


def _published(session: TestSession, code: str) -> Instrument:
    if code not in (session.instruments or []):
        raise NotFound(_("本场次没有该监测工具"))
    inst = Instrument.objects.filter(cycle_id=session.cycle_id, code=code,
                                     status=InstrumentStatus.PUBLISHED).first()
    if inst is None:
        raise NotFound(_("该监测工具尚未发布"))
    return inst


def attempt_start(*, taker: TestTaker, session: TestSession, instrument_code: str) -> Attempt:
    """Start (or return) ``taker``'s attempt at ``instrument_code`` in ``session``.

    The attempt takes the instrument's published version in the session's cycle and the taker's booklet for it
    (``taker.booklets[code]``, default 1; the booklet must exist). A formal session allows one attempt per
    instrument: an attempt in progress is returned, a submitted one refused. A practice session starts a new
    attempt (number + 1) once the last one is submitted."""
    if taker.cycle_id != session.cycle_id:
        raise NotFound(_("本场次没有该监测工具"))
    inst = _published(session, instrument_code)
    number = int(taker.booklets.get(instrument_code) or 1) if isinstance(taker.booklets, dict) else 1
    booklet = Booklet.objects.filter(instrument=inst, number=number).first()
    if booklet is None:
        raise InvalidInput(_("题本不存在：%(code)s 第 %(number)s 号题本") % {"code": instrument_code,
                                                                          "number": number})
    with transaction.atomic():
        # Lock the taker row so that two tabs starting at once make one attempt.
        TestTaker.objects.select_for_update().filter(pk=taker.pk).first()
        mine = Attempt.objects.filter(session=session, test_taker=taker, instrument__code=instrument_code)
        current = mine.filter(status=AttemptStatus.IN_PROGRESS).first()
        if current is not None:
            return current
        if session.kind == SessionKind.FORMAL and mine.exists():
            raise InvalidInput(_("正式测试只能作答一次"), code="already_submitted")
        last = mine.aggregate(n=Max("number"))["n"] or 0
        try:
            with transaction.atomic():
                attempt = Attempt.objects.create(session=session, test_taker=taker, instrument=inst,
                                                 booklet=number, number=last + 1)
        except IntegrityError:  # a concurrent start won: use its attempt
            found = mine.filter(status=AttemptStatus.IN_PROGRESS).first()
            if found is None:
                raise
            return found
        names = [name for name, _items in booklet_pages(inst, booklet)]
        attempt.page_order = shuffled(names, attempt.pk) if inst.shuffle_pages else names
        attempt.save(update_fields=["page_order"])
        audit_record(actor=taker_actor(taker), action="delivery.attempt_start", object_type="delivery.Attempt",
                     object_id=attempt.pk,
                     after={"session": session.code, "taker": taker.code, "instrument": inst.code,
                            "version": inst.version, "booklet": number, "number": attempt.number,
                            "page_order": attempt.page_order})
    return attempt


def _item_payload(item: Item) -> dict[str, Any]:
    return {name: getattr(item, name) for name in CLIENT_ITEM_FIELDS}


def _stimulus_payload(stim: Stimulus) -> dict[str, Any]:
    return {"code": stim.code, "title": stim.title, "body": stim.body, "media": stim.media}


def attempt_content(*, attempt: Attempt) -> dict[str, Any]:
    """Pages and items for the browser, in this attempt's page order; never any key. Audited per call.

    ``{"attempt": id, "instrument": {...}, "pages": [{"name", "block", "screen", "stimuli": [...],
    "items": [...]}], "started_at": iso, "time_limit_seconds": n | None, "status": ...}``. A stimulus is listed
    once per page, above the first of its items on that page (``items[i]["stimulus"]`` names it)."""
    inst = attempt.instrument
    booklet = Booklet.objects.filter(instrument=inst, number=attempt.booklet or 1).first()
    items = list(Item.objects.filter(instrument=inst).select_related("stimulus").order_by("seq"))
    by_name = dict(booklet_pages(inst, booklet, items))
    order = [n for n in (attempt.page_order or []) if n in by_name] or list(by_name)
    pages = []
    for name in order:
        block, _sep, screen = name.rpartition(":")
        stimuli: list[dict[str, Any]] = []
        seen: set[int] = set()
        payload_items = []
        for item in by_name[name]:
            data = _item_payload(item)
            data["stimulus"] = item.stimulus.code if item.stimulus else None
            if item.stimulus is not None and item.stimulus_id not in seen:
                seen.add(item.stimulus.pk)
                stimuli.append(_stimulus_payload(item.stimulus))
            payload_items.append(data)
        pages.append({"name": name, "block": block, "screen": int(screen), "stimuli": stimuli,
                      "items": payload_items})
    content = {
        "attempt": attempt.pk,
        "status": attempt.status,
        "instrument": {"code": inst.code, "name": inst.name, "kind": inst.kind, "version": inst.version},
        "booklet": attempt.booklet,
        "started_at": attempt.started_at.isoformat(),
        "time_limit_seconds": inst.time_limit_minutes * 60 if inst.time_limit_minutes else None,
        "pages": pages,
        # The booklet's own page order: what skip rules and conditional display are evaluated in.
        "booklet_order": list(by_name),
    }
    taker = attempt.test_taker
    audit_record(actor=taker_actor(taker), action="delivery.content", object_type="delivery.Attempt",
                 object_id=attempt.pk,
                 after={"taker": taker.code, "session": attempt.session.code, "instrument": inst.code,
                        "version": inst.version, "booklet": attempt.booklet, "pages": len(pages)})
    return content
