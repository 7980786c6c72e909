"""Reads of performance tasks: what the test client needs after a reload (plays so far, the headset check, the
recordings the server holds) and the headset status of a session's test takers for the proctor."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from naeq.delivery.models import Attempt, TestSession
from naeq.performance.models import HeadsetCheck, PlayCount, Recording, RecordingStatus, RerecordPermit


def recording_payload(rec: Recording) -> dict[str, Any]:
    return {"id": rec.pk, "item": rec.item, "take": rec.take, "status": rec.status, "size": rec.size,
            "received": rec.received, "sha256": rec.sha256}


def attempt_state(attempt: Attempt) -> dict[str, Any]:
    """What the test client needs after a reload. ``rerecord`` names the items the proctor allowed to record
    once more whose permitted take is not complete yet, with the words the client shows."""
    plays = {f"{p.owner_kind}:{p.owner}:{p.media}": p.plays for p in PlayCount.objects.filter(attempt=attempt)}
    check = HeadsetCheck.objects.filter(attempt=attempt).first()
    rows = list(Recording.objects.filter(attempt=attempt).order_by("item", "take"))
    done = {(r.item, r.take) for r in rows if r.status == RecordingStatus.COMPLETE}
    rerecord = {p.item: {"take": p.take, "message": _("监考老师已允许重录（第 %(take)s 次录音），请再录一次。")
                         % {"take": p.take}}
                for p in RerecordPermit.objects.filter(attempt=attempt).order_by("item", "take")
                if (p.item, p.take) not in done}
    return {"plays": plays, "headset": None if check is None else {"heard": check.heard, "tries": check.tries},
            "recordings": [recording_payload(r) for r in rows], "rerecord": rerecord}


def session_headsets(session: TestSession) -> list[dict[str, Any]]:
    """One row per attempt of ``session``: the test taker's code, the headset check (``heard`` None: not yet
    done) and the number of items with a complete recording. The caller has already decided that the actor may
    see the session (the proctor views' funnel, :func:`naeq.delivery.access.session_access`)."""
    attempts = list(Attempt.objects.filter(session=session).select_related("test_taker", "instrument")
                    .order_by("test_taker__code", "instrument__code", "number"))
    checks = {c.attempt_id: c for c in HeadsetCheck.objects.filter(attempt__in=attempts)}
    recorded: dict[int, set[str]] = {}
    for attempt_id, item in (Recording.objects.filter(attempt__in=attempts, status=RecordingStatus.COMPLETE)
                             .values_list("attempt_id", "item")):
        recorded.setdefault(attempt_id, set()).add(item)
    return [{"taker": a.test_taker.code, "attempt": a.pk, "instrument": a.instrument.code, "number": a.number,
             "heard": checks[a.pk].heard if a.pk in checks else None,
             "tries": checks[a.pk].tries if a.pk in checks else 0,
             "checked_at": checks[a.pk].checked_at if a.pk in checks else None,
             "recorded": len(recorded.get(a.pk, ()))} for a in attempts]
