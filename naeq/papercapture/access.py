"""The only place that decides who may print, import, review, key and read paper capture.

* **Booklets** carry item content, which is secret: national staff print them; a county's liaison or information
  officer prints them for their own county's printing (the county is named and audited). Nobody else.
* **Answer cards** of a school (test IDs, no names): national staff, the province coordinator for the province,
  the county liaison and information officer for their county. City viewers and school staff read completion only.
* **Scan import, review queue, release to scoring**: the national administrator and province coordinators, each
  over the batches they imported within their jurisdiction (a batch holds only test takers inside it); the national
  analyst reads the queues.
* **Double keying**: county information officers, province coordinators and the national administrator key cards of
  test takers inside their jurisdiction; the two passes must be by two different operators. A third person (any of
  those, or the county liaison as supervisor) reconciles; someone who keyed a pass may not reconcile it.
* **Completion**: every staff role, over its own jurisdiction.

Missing and out-of-jurisdiction objects raise the same :class:`NotFound`; a reader trying to write gets
:class:`PermissionDenied`.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from naeq.accounts.jurisdiction import Jurisdiction, jurisdiction_of
from naeq.accounts.roles import Role
from naeq.core.errors import NotFound, PermissionDenied
from naeq.delivery.models import Instrument, TestTaker
from naeq.papercapture.models import KeyedCard, ReviewEntry, ScanBatch
from naeq.registry.models import Region, School

NATIONAL = frozenset({Role.NATIONAL_ADMIN, Role.NATIONAL_ANALYST})
COUNTY_PRINTERS = frozenset({Role.COUNTY_LIAISON, Role.COUNTY_INFO_OFFICER})
CARD_PRINTERS = frozenset({*NATIONAL, Role.PROVINCE_COORDINATOR, *COUNTY_PRINTERS})
IMPORTERS = frozenset({Role.NATIONAL_ADMIN, Role.PROVINCE_COORDINATOR})
QUEUE_READERS = frozenset({*IMPORTERS, Role.NATIONAL_ANALYST})
KEYERS = frozenset({Role.NATIONAL_ADMIN, Role.PROVINCE_COORDINATOR, Role.COUNTY_INFO_OFFICER})
RECONCILERS = frozenset({*KEYERS, Role.COUNTY_LIAISON})


def _missing() -> NotFound:
    return NotFound(_("没有找到该页面。"))


def staff(actor: Any) -> Jurisdiction:
    j = jurisdiction_of(actor)
    if not j.is_staff_role:
        raise _missing()
    return j


def _covers(j: Jurisdiction, path: str) -> bool:
    return j.is_national or j.covers_path(path)


def instrument_get(*, actor: Any, instrument_id: int) -> Instrument:
    """An instrument of the item bank (its codes and layout, not its content) for any staff account."""
    staff(actor)
    inst = Instrument.objects.select_related("cycle").filter(pk=instrument_id).first()
    if inst is None:
        raise _missing()
    return inst


def booklet_printer(*, actor: Any, county_code: str | None) -> Region | None:
    """Whether the actor may print booklets (secret content): national staff (county optional), or a county officer
    naming their own county. Returns the county printed for (None for national printing)."""
    j = staff(actor)
    county = Region.objects.filter(code=county_code, level="county").first() if county_code else None
    if j.role in NATIONAL:
        if county_code and county is None:
            raise _missing()
        return county
    if j.role not in COUNTY_PRINTERS:
        raise _missing()
    if county is None:
        raise _missing()
    if county.path != j.path:
        raise _missing()
    return county


def school_visible(*, actor: Any, code: str) -> School:
    j = staff(actor)
    school = School.objects.select_related("county").filter(code=code).first()
    if school is None:
        raise NotFound(_("没有找到该学校。"))
    if j.school_id is not None and j.school_id != school.pk:
        raise NotFound(_("没有找到该学校。"))
    if j.school_id is None and not _covers(j, school.path):
        raise NotFound(_("没有找到该学校。"))
    return school


def card_printer(*, actor: Any, code: str) -> School:
    school = school_visible(actor=actor, code=code)
    if jurisdiction_of(actor).role not in CARD_PRINTERS:
        raise PermissionDenied(_("您的账户不能打印答题卡。"))
    return school


def importer(actor: Any) -> Jurisdiction:
    """Someone who may import scan files (the upload page itself)."""
    j = staff(actor)
    if j.role not in QUEUE_READERS:
        raise _missing()
    if j.role not in IMPORTERS:
        raise PermissionDenied(_("您的账户只能查看复核队列。"))
    return j


def batches_visible(*, actor: Any) -> QuerySet[ScanBatch]:
    j = jurisdiction_of(actor)
    if not j.is_staff_role or j.role not in QUEUE_READERS:
        return ScanBatch.objects.none()
    if j.is_national:
        return ScanBatch.objects.all()
    return ScanBatch.objects.filter(path__startswith=j.path)


def batch_get(*, actor: Any, batch_id: int, write: bool = False, lock: bool = False) -> ScanBatch:
    qs = batches_visible(actor=actor).select_related("instrument", "cycle")
    if lock:
        qs = qs.select_for_update(of=("self",))
    batch = qs.filter(pk=batch_id).first()
    if batch is None:
        raise NotFound(_("没有找到该扫描批次。"))
    if write and jurisdiction_of(actor).role not in IMPORTERS:
        raise PermissionDenied(_("您的账户只能查看复核队列。"))
    return batch


def entry_get(*, actor: Any, entry_id: int) -> ReviewEntry:
    entry = ReviewEntry.objects.select_related("card", "batch").filter(pk=entry_id).first()
    if entry is None:
        raise NotFound(_("没有找到该复核问题。"))
    batch_get(actor=actor, batch_id=entry.batch_id, write=True)
    return entry


def takers_in(actor: Any, qs: QuerySet[TestTaker]) -> QuerySet[TestTaker]:
    """``qs`` narrowed to the test takers inside the actor's jurisdiction."""
    j = jurisdiction_of(actor)
    if not j.is_staff_role:
        return qs.none()
    if j.school_id is not None:
        return qs.filter(school_id=j.school_id)
    if j.is_national:
        return qs
    return qs.filter(path__startswith=j.path)


def keyer(actor: Any) -> Jurisdiction:
    j = staff(actor)
    if j.role not in RECONCILERS | {Role.NATIONAL_ANALYST}:
        raise _missing()
    if j.role not in KEYERS:
        raise PermissionDenied(_("您的账户不能录入答题卡。"))
    return j


def keyed_get(*, actor: Any, keyed_id: int) -> KeyedCard:
    j = staff(actor)
    card = KeyedCard.objects.select_related("test_taker", "instrument").filter(pk=keyed_id).first()
    if card is None:
        raise NotFound(_("没有找到该录入记录。"))
    if j.role not in RECONCILERS | {Role.NATIONAL_ANALYST}:
        raise NotFound(_("没有找到该录入记录。"))
    if not _covers(j, card.path):
        raise NotFound(_("没有找到该录入记录。"))
    return card


def reconciler(*, actor: Any, card: KeyedCard) -> None:
    """The actor may pick the right values of ``card``'s differing fields: a reconciling role, and not one of the
    two operators who keyed it."""
    if jurisdiction_of(actor).role not in RECONCILERS:
        raise PermissionDenied(_("您的账户不能核对录入结果。"))
    if card.passes.filter(operator_id=getattr(actor, "pk", None)).exists():
        raise PermissionDenied(_("录入过该答题卡的人员不能核对它，请由第三人核对。"))
