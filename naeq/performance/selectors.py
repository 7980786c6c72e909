"""Reads of performance tasks: what the test client needs after a reload (plays so far, the headset check, the
recordings the server holds) and the headset status of a session's test takers for the proctor."""

from __future__ import annotations

from typing import Any

from naeq.delivery.models import Attempt, TestSession
from naeq.performance.models import HeadsetCheck, PlayCount, Recording, RecordingStatus


def recording_payload(rec: Recording) -> dict[str, Any]:
    return {"id": rec.pk, "item": rec.item, "take": rec.take, "status": rec.status, "size": rec.size,
            "received": rec.received, "sha256": rec.sha256}


def attempt_state(attempt: Attempt) -> dict[str, Any]:
    plays = {f"{p.owner_kind}:{p.owner}:{p.media}": p.plays for p in PlayCount.objects.filter(attempt=attempt)}
    check = HeadsetCheck.objects.filter(attempt=attempt).first()
    recs = [recording_payload(r) for r in Recording.objects.filter(attempt=attempt).order_by("item", "take")]
    return {"plays": plays, "headset": None if check is None else {"heard": check.heard, "tries": check.tries},
            "recordings": recs}


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
