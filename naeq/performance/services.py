"""The writes of performance tasks: a play starting, the headset check, the chunked upload of a recording, a
proctor's re-record permission and the singing/oral room's calls of the next group. Every write is audited
through :func:`naeq.core.audit.audit_record`, except the chunks themselves (the recording's ``received`` column
is their record; one chained audit append per 64 KiB would serialise every room): a recording is audited when it
starts and when it completes or fails its check.

**Play limit.** The client asks ``play_start`` before it plays; the count is taken under a row lock, so two tabs
cannot both get the last play. A refused play is audited too (``performance.play_refused``).

**Upload.** ``recording_init`` declares the take (size, SHA-256, type, duration) and returns the bytes already
received; ``recording_chunk`` appends the chunk that starts at ``received`` (an earlier offset is a repeat whose
known part is skipped; a later one is refused with the offset the server holds); ``recording_complete``
recomputes the SHA-256 over the stored bytes and completes the take only when it equals the declared one —
otherwise the stored bytes are dropped and the client sends them again. The first complete take of an item is
final: a further take needs a :class:`RerecordPermit` from the proctor (:func:`allow_rerecord`).
"""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from naeq.core.audit import audit_record
from naeq.core.errors import ApplicationError, InvalidInput, NotFound, PermissionDenied
from naeq.delivery.access import may_run, require_session_runner, session_access
from naeq.delivery.attempts import taker_actor
from naeq.delivery.models import Attempt, AttemptStatus, Item, Stimulus, TestSession
from naeq.delivery.selectors import in_clock
from naeq.delivery.sessions import session_accepts
from naeq.performance.access import room_attempt
from naeq.performance.itemsettings import item_play_limit, media_play_limit, record_kind
from naeq.performance.models import (
    HeadsetCheck,
    MediaOwner,
    PlayCount,
    Recording,
    RecordingStatus,
    RerecordPermit,
    RoomCall,
)
from naeq.performance.selectors import MAX_GROUP, MIN_GROUP, room_taker_codes
from naeq.performance.storage import RECORDINGS, WEBM_MAGIC

MAX_RECORDING_BYTES = 20 * 1024 * 1024
MAX_CHUNK_BYTES = 512 * 1024
ACCEPTED_MIME = re.compile(r"^audio/(webm|ogg)(;\s*codecs=\"?opus\"?)?$")
_SHA = re.compile(r"^[0-9a-f]{64}$")


class Conflict(ApplicationError):
    """A request that is well formed but cannot be done now (the play limit reached, a wrong offset)."""

    code = "conflict"
    status = 409


# ------------------------------------------------------------------------------------------------ listening


def _audio_limit(attempt: Attempt, owner_kind: str, owner: str, media: str) -> int | None:
    """The play limit of audio ``media`` of the item or stimulus ``owner``; NotFound when the attempt's
    instrument has no such audio."""
    inst_id = attempt.instrument_id
    if owner_kind == MediaOwner.ITEM:
        item = Item.objects.filter(instrument_id=inst_id, code=owner).first()
        if item is None:
            raise NotFound(_("没有这段音频。"))
        entries, fallback = item.media or [], item_play_limit(item)
    elif owner_kind == MediaOwner.STIMULUS:
        stim = Stimulus.objects.filter(instrument_id=inst_id, code=owner).first()
        if stim is None:
            raise NotFound(_("没有这段音频。"))
        limits = [v for v in (item_play_limit(i) for i in Item.objects.filter(stimulus=stim)) if v is not None]
        entries, fallback = stim.media or [], (min(limits) if limits else None)
    else:
        raise NotFound(_("没有这段音频。"))
    for entry in entries:
        if isinstance(entry, dict) and entry.get("kind") == "audio" and entry.get("file") == media:
            return media_play_limit(entry, fallback)
    raise NotFound(_("没有这段音频。"))


def play_start(*, attempt: Attempt, owner_kind: str, owner: str, media: str) -> dict[str, Any]:
    """Count one play of an audio that is starting now. Returns ``{"plays", "limit", "remaining"}``; raises
    :class:`Conflict` (code ``play_limit``) when the limit is reached, after auditing the refusal."""
    limit = _audio_limit(attempt, owner_kind, owner, media)
    actor = taker_actor(attempt.test_taker)
    where: dict[str, Any] = {"attempt": attempt, "owner_kind": owner_kind, "owner": owner, "media": media}
    with transaction.atomic():
        PlayCount.objects.get_or_create(**where)
        row = PlayCount.objects.select_for_update().get(**where)
        refused = limit is not None and row.plays >= limit
        if not refused:
            now = timezone.now()
            if row.plays == 0:
                row.first_at = now
            row.plays += 1
            row.last_at = now
            row.save(update_fields=["plays", "first_at", "last_at"])
        audit_record(actor=actor, action="performance.play_refused" if refused else "performance.play",
                     object_type="delivery.Attempt", object_id=attempt.pk,
                     after={"owner_kind": owner_kind, "owner": owner, "media": media, "plays": row.plays,
                            "limit": limit})
    if refused:
        raise Conflict(_("这段音频最多只能播放 %(n)s 次，你已经播放了 %(n)s 次。") % {"n": limit}, code="play_limit",
                       details={"plays": row.plays, "limit": limit})
    return {"plays": row.plays, "limit": limit, "remaining": None if limit is None else limit - row.plays}


def headset_record(*, attempt: Attempt, heard: bool) -> HeadsetCheck:
    with transaction.atomic():
        check = HeadsetCheck.objects.select_for_update().filter(attempt=attempt).first()
        if check is None:
            check = HeadsetCheck.objects.create(attempt=attempt, heard=heard)
        else:
            check.heard, check.tries, check.checked_at = heard, check.tries + 1, timezone.now()
            check.save(update_fields=["heard", "tries", "checked_at"])
        audit_record(actor=taker_actor(attempt.test_taker), action="performance.headset",
                     object_type="delivery.Attempt", object_id=attempt.pk,
                     after={"heard": heard, "tries": check.tries})
    return check


# ------------------------------------------------------------------------------------------------ recording


def _recorded_item(attempt: Attempt, code: str) -> Item:
    item = Item.objects.filter(instrument_id=attempt.instrument_id, code=code).first()
    if item is None or record_kind(item) is None:
        raise NotFound(_("没有这道录音题。"))
    return item


def recording_init(*, attempt: Attempt, item: str, size: Any, sha256: Any, mime: Any,
                   duration_ms: Any = 0) -> Recording:
    """Declare (or find again) the take the browser holds; see the module docstring."""
    _recorded_item(attempt, item)
    if isinstance(size, bool) or not isinstance(size, int) or not 0 < size <= MAX_RECORDING_BYTES:
        raise InvalidInput(_("录音大小不合法（须在1字节到20 MB之间）。"), code="bad_size")
    if not isinstance(sha256, str) or not _SHA.fullmatch(sha256):
        raise InvalidInput(_("录音的校验值（SHA-256）不合法。"), code="bad_sha256")
    if not isinstance(mime, str) or not ACCEPTED_MIME.fullmatch(mime.strip()):
        raise InvalidInput(_("录音格式不受支持：只接受 Opus 编码的 WebM 或 Ogg 音频。"), code="bad_mime")
    if isinstance(duration_ms, bool) or not isinstance(duration_ms, int) or not 0 <= duration_ms <= 3_600_000:
        raise InvalidInput(_("录音时长不合法。"), code="bad_duration")
    actor = taker_actor(attempt.test_taker)
    with transaction.atomic():
        takes = list(Recording.objects.select_for_update().filter(attempt=attempt, item=item).order_by("take"))
        for rec in takes:
            if rec.sha256 == sha256 and rec.size == size:
                return rec  # the same take again (a reload, a lost answer): resume or report it complete
        complete = [r for r in takes if r.status == RecordingStatus.COMPLETE]
        pending = [r for r in takes if r.status == RecordingStatus.UPLOADING]
        for rec in pending:  # a newer take of the browser replaces an unfinished one
            RECORDINGS.discard(attempt.pk, item, rec.take)
            rec.delete()
        take = (complete[-1].take + 1) if complete else 1
        if take > 1 and not RerecordPermit.objects.filter(attempt=attempt, item=item, take=take).exists():
            raise Conflict(_("这道题已经完成录音。需要重录时，请举手请监考老师同意。"), code="rerecord_not_allowed")
        rec = Recording.objects.create(attempt=attempt, item=item, take=take, size=size, sha256=sha256,
                                       mime=mime.strip(), duration_ms=duration_ms)
        audit_record(actor=actor, action="performance.recording_start", object_type="performance.Recording",
                     object_id=rec.pk, after={"attempt": attempt.pk, "item": item, "take": take, "size": size,
                                              "sha256": sha256, "mime": rec.mime})
    return rec


def _locked(attempt: Attempt, recording_id: int) -> Recording:
    rec = Recording.objects.select_for_update().filter(pk=recording_id, attempt=attempt).first()
    if rec is None:
        raise NotFound(_("未找到该录音。"))
    return rec


def recording_get(*, attempt: Attempt, recording_id: int) -> Recording:
    rec = Recording.objects.filter(pk=recording_id, attempt=attempt).first()
    if rec is None:
        raise NotFound(_("未找到该录音。"))
    return rec


def recording_chunk(*, attempt: Attempt, recording_id: int, offset: int, data: bytes) -> Recording:
    """Append the chunk at ``offset``; returns the recording with its new ``received``."""
    if len(data) > MAX_CHUNK_BYTES:
        raise InvalidInput(_("每段不能超过512 KB。"), code="chunk_too_large")
    with transaction.atomic():
        rec = _locked(attempt, recording_id)
        if rec.status == RecordingStatus.COMPLETE:
            return rec
        if offset > rec.received:
            raise Conflict(_("上传位置不对：服务器已收到 %(n)s 字节。") % {"n": rec.received}, code="offset",
                           details={"received": rec.received})
        tail = data[rec.received - offset:]
        if not tail:
            return rec
        if rec.received + len(tail) > rec.size:
            raise InvalidInput(_("上传的内容超过了声明的大小。"), code="too_long")
        rec.received = RECORDINGS.append(attempt.pk, rec.item, rec.take, rec.received, tail)
        rec.save(update_fields=["received"])
    return rec


def recording_complete(*, attempt: Attempt, recording_id: int) -> Recording:
    """Check the stored bytes against the declared size and SHA-256 and complete the take; a mismatch drops the
    stored bytes (``received`` back to 0), is audited, and raises :class:`Conflict` (code ``checksum``)."""
    failure: Conflict | None = None
    with transaction.atomic():
        rec = _locked(attempt, recording_id)
        if rec.status == RecordingStatus.COMPLETE:
            return rec
        if rec.received != rec.size:
            raise Conflict(_("录音尚未上传完：服务器已收到 %(n)s 字节。") % {"n": rec.received}, code="incomplete",
                           details={"received": rec.received})
        digest, head = RECORDINGS.digest(attempt.pk, rec.item, rec.take, rec.size)
        actor = taker_actor(attempt.test_taker)
        if digest != rec.sha256 or ("webm" in rec.mime and not head.startswith(WEBM_MAGIC)):
            RECORDINGS.discard(attempt.pk, rec.item, rec.take)
            rec.received = 0
            rec.save(update_fields=["received"])
            audit_record(actor=actor, action="performance.recording_mismatch", object_type="performance.Recording",
                         object_id=rec.pk, after={"declared": rec.sha256, "computed": digest,
                                                  "webm": head.startswith(WEBM_MAGIC)})
            failure = Conflict(_("录音校验失败（SHA-256 不一致），将重新上传。"), code="checksum",
                               details={"received": 0})
        else:
            RECORDINGS.finish(attempt.pk, rec.item, rec.take, rec.size)
            rec.status, rec.completed_at = RecordingStatus.COMPLETE, timezone.now()
            rec.save(update_fields=["status", "completed_at"])
            audit_record(actor=actor, action="performance.recording_complete", object_type="performance.Recording",
                         object_id=rec.pk, after={"attempt": attempt.pk, "item": rec.item, "take": rec.take,
                                                  "size": rec.size, "sha256": rec.sha256,
                                                  "duration_ms": rec.duration_ms})
    if failure is not None:
        raise failure
    return rec


def allow_rerecord(*, actor: Any, attempt: Attempt, item: str, reason: str) -> RerecordPermit:
    """The proctor allows one further take of ``item`` (after its complete take), noting why — from the room
    screen (演唱与口语测试室, :func:`room_allow_rerecord`). **Once per item**: a second request for the same item
    of the same attempt is refused (``already_allowed``), whether or not the permitted take was recorded. Only
    someone who runs the attempt's session (the school's chief proctor, head or information officer; see
    :func:`naeq.delivery.access.may_run`) may: a session the actor cannot see is :class:`NotFound`, one they only
    read :class:`PermissionDenied`; the session must still accept work and the attempt must not be submitted
    (the student records on the take page)."""
    session = session_access(actor=actor, session_id=attempt.session_id)
    if not may_run(actor=actor, session=session):
        raise PermissionDenied(_("只有本场次学校的主监测员、校长或学校信息员可以允许重录。"))
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("请写明允许重录的理由。"), code="reason_required")
    if len(reason) > 300:
        raise InvalidInput(_("理由不能超过300字。"), code="reason_too_long")
    _recorded_item(attempt, item)
    if not session_accepts(session):
        raise InvalidInput(_("场次已不在作答时间内，不能再重录。"), code="session_closed")
    if attempt.status != AttemptStatus.IN_PROGRESS:
        raise InvalidInput(_("学生已经交卷，不能再重录。"), code="attempt_submitted")
    with transaction.atomic():
        Attempt.objects.select_for_update().filter(pk=attempt.pk).first()  # two proctors at once: one permit
        earlier = RerecordPermit.objects.filter(attempt=attempt, item=item).order_by("take").first()
        if earlier is not None:
            raise InvalidInput(
                _("每道题只能重录一次：%(item)s 已于 %(at)s 获准重录（理由：%(reason)s），不能再次重录。")
                % {"item": item, "at": (in_clock(session, earlier.allowed_at) or earlier.allowed_at).strftime("%H:%M"),
                   "reason": earlier.reason}, code="already_allowed")
        last = (Recording.objects.filter(attempt=attempt, item=item, status=RecordingStatus.COMPLETE)
                .order_by("-take").first())
        if last is None:
            raise InvalidInput(_("这道题还没有完成的录音，不需要重录许可。"), code="nothing_to_rerecord")
        permit = RerecordPermit.objects.create(attempt=attempt, item=item, take=last.take + 1, reason=reason,
                                               allowed_by=actor)
        audit_record(actor=actor, action="performance.rerecord_allowed", object_type="delivery.Attempt",
                     object_id=attempt.pk, after={"item": item, "take": permit.take, "reason": reason,
                                                  "taker": attempt.test_taker.code})
    return permit


def room_allow_rerecord(*, actor: Any, session_id: int, attempt_id: int, item: str, reason: str) -> RerecordPermit:
    """The room screen's 再录一次: :func:`allow_rerecord` for an attempt of the session (another session's
    attempt, or a missing one, is :class:`NotFound`)."""
    attempt = room_attempt(actor=actor, session_id=session_id, attempt_id=attempt_id)
    return allow_rerecord(actor=actor, attempt=attempt, item=item, reason=reason)


# ------------------------------------------------------------------------------------------------ the room


def room_call_next(*, actor: Any, session_id: int, group_size: Any) -> RoomCall:
    """叫下一组: the next ``group_size`` test takers of the session's recorded tasks who have not been called,
    in test-ID order, become group n + 1 (recorded with the time and who called; audited
    ``performance.room_call``). For those who run the session; ``group_size`` 1–30."""
    session = require_session_runner(actor=actor, session_id=session_id)
    if isinstance(group_size, str) and group_size.strip().isdigit():
        group_size = int(group_size.strip())
    if isinstance(group_size, bool) or not isinstance(group_size, int) or not MIN_GROUP <= group_size <= MAX_GROUP:
        raise InvalidInput(_("每组人数应为%(lo)s到%(hi)s之间的整数。") % {"lo": MIN_GROUP, "hi": MAX_GROUP},
                           code="bad_group_size")
    with transaction.atomic():
        TestSession.objects.select_for_update().filter(pk=session.pk).first()  # one call at a time
        calls = list(RoomCall.objects.filter(session=session).order_by("group"))
        called = {code for c in calls for code in c.takers}
        waiting = [code for code in room_taker_codes(session) if code not in called]
        if not waiting:
            raise InvalidInput(_("所有学生都已叫过，没有下一组了。"), code="all_called")
        call = RoomCall(session=session, group=len(calls) + 1, group_size=group_size,
                        takers=waiting[:group_size], called_by=actor)
        call.full_clean()
        call.save()
        audit_record(actor=actor, action="performance.room_call", object_type="delivery.TestSession",
                     object_id=session.pk, after={"group": call.group, "group_size": group_size,
                                                  "takers": call.takers})
    return call
