"""Reads of paper capture, already scoped by the actor's jurisdiction (:mod:`naeq.papercapture.access`), and the
one read the scaling layer uses, :func:`scores_for_scaling`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from naeq.accounts.roles import Role
from naeq.core.errors import NotFound
from naeq.cycles.models import Cycle
from naeq.delivery.models import Instrument, InstrumentStatus, TestTaker
from naeq.papercapture import access
from naeq.papercapture.models import KeyedCard, KeyedStatus, PaperResponse, ReviewEntry, ScanBatch, ScanCard
from naeq.registry.models import Region, School


def instrument_list(*, cycle: Cycle) -> QuerySet[Instrument]:
    """The published instruments of the cycle (the ones printed and captured)."""
    return (Instrument.objects.filter(cycle=cycle, status=InstrumentStatus.PUBLISHED)
            .prefetch_related("booklets").order_by("code"))


def own_county_code(*, actor: Any) -> str:
    """The code of the county a county account stands over ("" for others)."""
    j = access.staff(actor)
    if j.level != "county":
        return ""
    return Region.objects.filter(path=j.path, level="county").values_list("code", flat=True).first() or ""


def batch_list(*, actor: Any, cycle: Cycle) -> QuerySet[ScanBatch]:
    return (access.batches_visible(actor=actor).filter(cycle=cycle).select_related("instrument", "uploaded_by")
            .annotate(open_entries=Count("entries", filter=Q(entries__resolved_at__isnull=True)))
            .order_by("-uploaded_at", "-id"))


@dataclass(frozen=True)
class Queue:
    batch: ScanBatch
    open: list[ReviewEntry]
    resolved: list[ReviewEntry]
    counts: dict[str, int]


def batch_queue(*, actor: Any, batch_id: int, limit: int = 200) -> Queue:
    """A batch's review queue: open entries first (card-level before item-level), the latest resolved below."""
    batch = access.batch_get(actor=actor, batch_id=batch_id)
    entries = ReviewEntry.objects.filter(batch=batch).select_related("card", "resolved_by")
    open_ = list(entries.filter(resolved_at__isnull=True).order_by("card__row", "id")[:limit])
    resolved = list(entries.filter(resolved_at__isnull=False).order_by("-resolved_at", "-id")[:limit])
    counts = dict(entries.filter(resolved_at__isnull=True).values_list("kind").annotate(n=Count("id"))
                  .values_list("kind", "n"))
    return Queue(batch=batch, open=open_, resolved=resolved, counts=counts)


def open_entries(*, actor: Any, batch_id: int | None = None) -> QuerySet[ReviewEntry]:
    qs = ReviewEntry.objects.filter(batch__in=access.batches_visible(actor=actor), resolved_at__isnull=True)
    if batch_id is not None:
        qs = qs.filter(batch_id=batch_id)
    return qs.select_related("card", "batch__instrument").order_by("batch_id", "card__row", "id")


def keyed_list(*, actor: Any, cycle: Cycle, status: str = "") -> QuerySet[KeyedCard]:
    j = access.staff(actor)
    qs = KeyedCard.objects.filter(cycle=cycle).select_related("test_taker", "instrument")
    if j.role not in access.RECONCILERS | {Role.NATIONAL_ANALYST}:
        return qs.none()
    if not j.is_national:
        qs = qs.filter(path__startswith=j.path)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("status", "test_taker__code")


@dataclass(frozen=True)
class CompletionRow:
    code: str
    name: str
    expected: int
    imported: int
    released: int
    link: bool  # a county row links to its schools


@dataclass(frozen=True)
class Completion:
    instrument: Instrument
    unit: str  # "county" or "school"
    region: Region | None
    rows: list[CompletionRow]

    @property
    def total(self) -> tuple[int, int, int]:
        return (sum(r.expected for r in self.rows), sum(r.imported for r in self.rows),
                sum(r.released for r in self.rows))


def completion(*, actor: Any, instrument: Instrument, county_code: str = "") -> Completion:
    """Cards expected (test takers assigned the instrument) vs imported (a live scanned sheet or a keyed card) vs
    released (scored paper responses), per county — or per school for a county (and for county and school
    accounts). Three queries whatever the size."""
    j = access.staff(actor)
    takers = access.takers_in(actor, TestTaker.objects.filter(cycle=instrument.cycle_id,
                                                              booklets__has_key=instrument.code))
    region = None
    if county_code:
        region = Region.objects.filter(code=county_code, level="county").first()
        if region is None or j.school_id is not None or not (j.is_national or region.path.startswith(j.path)):
            raise NotFound(_("没有找到该县（区）。"))
        takers = takers.filter(county=region)
    unit = "school" if region is not None or j.level in {"county", "school"} else "county"
    group = "school_id" if unit == "school" else "county_id"
    scanned = ScanCard.objects.filter(test_taker_id=OuterRef("pk"), discarded=False, batch__instrument=instrument)
    keyed = KeyedCard.objects.filter(test_taker_id=OuterRef("pk"), instrument=instrument)
    released = PaperResponse.objects.filter(test_taker_id=OuterRef("pk"), instrument=instrument)
    counts = (takers.annotate(s=Exists(scanned), k=Exists(keyed), r=Exists(released)).values(group)
              .annotate(expected=Count("id"), imported=Count("id", filter=Q(s=True) | Q(k=True)),
                        done=Count("id", filter=Q(r=True))).order_by(group))
    data = {row[group]: row for row in counts}
    model: Any = School if unit == "school" else Region
    names = {pk: (code, name) for pk, code, name in
             model.objects.filter(pk__in=[k for k in data if k is not None]).values_list("pk", "code", "name")}
    rows = [CompletionRow(code=names[k][0], name=names[k][1], expected=v["expected"], imported=v["imported"],
                          released=v["done"], link=unit == "county")
            for k, v in data.items() if k in names]
    rows.sort(key=lambda r: r.code)
    return Completion(instrument=instrument, unit=unit, region=region, rows=rows)


def scores_for_scaling(*, cycle: Cycle | int, instrument_code: str | None = None) -> Iterator[dict[str, Any]]:
    """Released, scored paper responses for the scaling layer, one dict per response::

        {"test_taker_id", "test_id", "instrument", "booklet", "item", "code", "score"}

    ``score`` is None for items not scored objectively (writing boxes: constructed responses are scored by raters in
    naeq.marking). ``cycle`` is a :class:`Cycle` or its year. Streams in chunks; ordered by instrument, test taker
    and item."""
    qs = PaperResponse.objects.all()
    qs = qs.filter(cycle__year=cycle) if isinstance(cycle, int) else qs.filter(cycle=cycle)
    if instrument_code is not None:
        qs = qs.filter(instrument__code=instrument_code)
    rows = qs.order_by("instrument__code", "test_taker_id", "item").values_list(
        "test_taker_id", "test_taker__code", "instrument__code", "booklet", "item", "code", "score")
    for taker_id, test_id, inst, booklet, item, code, score in rows.iterator(chunk_size=5000):
        yield {"test_taker_id": taker_id, "test_id": test_id, "instrument": inst, "booklet": booklet,
               "item": item, "code": code, "score": score}


def released_keyed_count(*, cycle: Cycle) -> int:
    return KeyedCard.objects.filter(cycle=cycle, status=KeyedStatus.RELEASED).count()


def answer_codes(*, cycle: Cycle, instrument_code: str, items: list[str]) -> Iterator[tuple[int, str, str]]:
    """``(test_taker_id, item, code)`` of the released paper responses of ``items`` (codes as delivery codes them:
    the option's value, "99" blank, "97" multiple marks), for the data-quality screen; a values_list iterator."""
    return (PaperResponse.objects.filter(cycle=cycle, instrument__code=instrument_code, item__in=items)
            .order_by("test_taker_id", "item").values_list("test_taker_id", "item", "code")
            .iterator(chunk_size=20_000))
