"""Recorded singing and speaking tasks into marking (issue 9 item 4): the responses and the audio a rater hears.

A recorded task is an ordinary rater-scored ``open`` item whose ``constraints["record"]`` is ``speaking`` or
``singing`` (:mod:`naeq.performance.itemsettings`). Its answer is not an :class:`~naeq.delivery.models.Answer`
but a :class:`~naeq.performance.models.Recording`, uploaded by the test client and verified by SHA-256.
:func:`recordings_collect` turns the *accepted take* of each test taker into a :class:`MarkResponse` (source
``online``), which then goes through the same assignment (random, double-scored share, check papers),
agreement, drift and arbitration as a written answer: nothing downstream knows it is audio.

**The accepted take** is the latest complete take that the re-record rule allowed: take 1, or take n > 1 only
with the proctor's :class:`~naeq.performance.models.RerecordPermit` for it (the upload already refuses others;
the check is repeated here so a row written another way cannot slip in). Collection is idempotent: a test
taker's response to an item is created once; if a permitted re-record completes after collection and no rater
has scored the response yet, the response is moved to the new take (audited); once scored it stays (counted as
``locked``). Takes still uploading are counted as ``pending`` and collected by a later run.

**Anonymity.** The rater's page and the audio URL carry only the response code; the audio is served by
:func:`recording_for_rater` under ``<code>.webm`` — never the attempt id, item file name, test ID, school or
county that the storage path or the Recording row would reveal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from naeq.core.audit import audit_record
from naeq.core.errors import NotFound
from naeq.cycles.models import Cycle
from naeq.delivery.models import AttemptStatus, Item, SessionKind
from naeq.marking import access
from naeq.marking.models import Assignment, AssignmentStatus, MarkResponse, ResponseStatus, Source
from naeq.marking.services import new_response_code, rater_scored_items
from naeq.performance.itemsettings import record_kind
from naeq.performance.models import Recording, RecordingStatus, RerecordPermit
from naeq.performance.storage import RECORDINGS


@dataclass(frozen=True)
class RecordingsCollected:
    created: int
    existing: int
    moved: int
    locked: int
    pending: int


def recorded_items(cycle: Cycle) -> dict[tuple[str, str], Item]:
    """The rater-scored items of the cycle that are answered by a recording."""
    return {k: v for k, v in rater_scored_items(cycle).items() if record_kind(v) is not None}


def accepted_takes(recordings: list[Recording], permitted: set[tuple[int, str, int]]) -> dict[tuple[int, str],
                                                                                              Recording]:
    """Per (attempt, item): the latest complete take allowed by the re-record rule (pure over the rows)."""
    out: dict[tuple[int, str], Recording] = {}
    for rec in sorted(recordings, key=lambda r: (r.attempt_id, r.item, r.take)):
        if rec.status != RecordingStatus.COMPLETE:
            continue
        if rec.take > 1 and (rec.attempt_id, rec.item, rec.take) not in permitted:
            continue
        out[(rec.attempt_id, rec.item)] = rec
    return out


@transaction.atomic
def recordings_collect(*, actor: Any, cycle: Cycle) -> RecordingsCollected:
    """Create the MarkResponses of the accepted takes of submitted formal attempts (see the module docstring)."""
    access.require_organiser(actor=actor)
    items = recorded_items(cycle)
    by_instrument: dict[int, dict[str, Item]] = {}
    for item in items.values():
        by_instrument.setdefault(item.instrument_id, {})[item.code] = item
    recs = list(Recording.objects.filter(attempt__instrument_id__in=list(by_instrument),
                                         attempt__status=AttemptStatus.SUBMITTED,
                                         attempt__session__kind=SessionKind.FORMAL,
                                         item__in=sorted({i.code for i in items.values()}))
                .select_related("attempt").order_by("attempt_id", "item", "take"))
    permitted = set(RerecordPermit.objects.filter(attempt_id__in={r.attempt_id for r in recs})
                    .values_list("attempt_id", "item", "take"))
    accepted = accepted_takes(recs, permitted)
    complete_keys = set(accepted)
    pending = len({(r.attempt_id, r.item) for r in recs if r.status == RecordingStatus.UPLOADING}
                  - complete_keys)
    existing_rows = {(r.instrument_code, r.item_code, r.test_taker_id): r for r in MarkResponse.objects
                     .select_for_update().filter(cycle=cycle, test_taker__isnull=False,
                                                 item_code__in=sorted({i.code for i in items.values()}))}
    scored = set(Assignment.objects.filter(response__in=[r.pk for r in existing_rows.values()],
                                           status=AssignmentStatus.SCORED).values_list("response_id", flat=True))
    counts = {"created": 0, "existing": 0, "moved": 0, "locked": 0, "pending": pending}
    batch: list[MarkResponse] = []
    for (_attempt_id, code), rec in sorted(accepted.items()):
        found = by_instrument[rec.attempt.instrument_id].get(code)
        if found is None:
            continue
        item = found
        key = (item.instrument.code, code, rec.attempt.test_taker_id)
        have = existing_rows.get(key)
        if have is None:
            batch.append(MarkResponse(cycle=cycle, code=new_response_code(), instrument_code=item.instrument.code,
                                      item_code=code, max_score=round(item.max_score), source=Source.ONLINE,
                                      test_taker_id=rec.attempt.test_taker_id, attempt_id=rec.attempt_id,
                                      recording=rec))
            counts["created"] += 1
        elif have.recording_id == rec.pk:
            counts["existing"] += 1
        elif have.pk in scored or have.status != ResponseStatus.OPEN or have.recording_id is None:
            counts["locked"] += 1
        else:
            before = have.recording_id
            have.recording = rec
            have.save(update_fields=["recording"])
            audit_record(actor=actor, action="marking.recording_moved", object_type="marking.MarkResponse",
                         object_id=have.pk, before={"recording": before}, after={"recording": rec.pk,
                                                                                 "take": rec.take})
            counts["moved"] += 1
    MarkResponse.objects.bulk_create(batch, batch_size=1000)
    audit_record(actor=actor, action="marking.recordings_collect", object_type="cycles.Cycle", object_id=cycle.pk,
                 after=counts)
    return RecordingsCollected(**counts)


def recording_for_rater(*, actor: Any, code: str) -> tuple[MarkResponse, bytes]:
    """The audio of response ``code`` for a rater who has it in their live queue — or, for an arbiter, while
    the response waits for arbitration. Anyone else, an unknown code, a response without a recording or a file
    missing from the store: the same :class:`NotFound`. Every hearing is audited (``marking.audio``)."""
    r = MarkResponse.objects.select_related("recording").filter(code=code, recording__isnull=False).first()
    allowed = r is not None and (
        access.assignments_of(actor=actor).filter(response=r, status=AssignmentStatus.PENDING).exists()
        or (r.status == ResponseStatus.ARBITRATION and access.is_arbiter(actor)))
    if r is None or not allowed or r.recording is None:
        raise NotFound(_("没有找到该答卷。"))
    rec = r.recording
    data = RECORDINGS.read(rec.attempt_id, rec.item, rec.take)
    if data is None:
        raise NotFound(_("没有找到该答卷。"))
    audit_record(actor=actor, action="marking.audio", object_type="marking.MarkResponse", object_id=r.pk,
                 after={"code": r.code, "bytes": len(data)})
    return r, data
