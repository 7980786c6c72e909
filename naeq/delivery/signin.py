"""Test takers sign in with their test ID and the session's key; no personal passwords for children.

:func:`taker_sign_in` accepts the ID and key of an open session that accepts sign-ins now
(:func:`naeq.delivery.sessions.session_accepts`) at the taker's school (or, for a county manager, county), for
the taker's respondent kind and grade. Whatever is wrong — unknown ID, wrong key, another school's key, a closed
session or one outside its window — the answer is one generic message, so the form cannot be used to find out
which IDs exist or which part was wrong.

Failed attempts are counted in the cache (Redis in production, like django-axes counts staff logins) per test ID
and per client address; after :data:`FAILURE_LIMIT` failures of one ID, or :data:`IP_FAILURE_LIMIT` from one
address, within :data:`FAILURE_WINDOW` seconds, sign-in is refused for that ID or address until the window has
passed, even with the right key. The address limit is much higher because a school's computer room reaches the
server through one NAT address: thirty children mistyping must not lock each other out, while a script trying
IDs from one address is stopped. Both are settings (``NAEQ_SIGNIN_ID_FAILURES``, ``NAEQ_SIGNIN_IP_FAILURES``).
Staff logins keep django-axes; test takers have no user rows, so axes does not fit them.

The signed-in state lives in the Django session: ``request.session["naeq_taker"] = {"taker_id": …,
"session_id": …}`` (see :func:`session_data`). :func:`current_taker` reads it back, and returns None once the
session is no longer open and accepting.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q
from django.utils.translation import gettext as _

from naeq.core.audit import audit_record
from naeq.core.errors import InvalidInput
from naeq.delivery.models import Respondent, SessionStatus, TestSession, TestTaker
from naeq.delivery.sessions import session_accepts

SESSION_KEY = "naeq_taker"
FAILURE_LIMIT = 10
IP_FAILURE_LIMIT = 300
FAILURE_WINDOW = 15 * 60


class SignInRefused(InvalidInput):
    code = "sign_in_refused"
    status = 400


def _normal(text: str) -> str:
    return "".join((text or "").split()).upper()


def _counter_keys(code: str, ip: str) -> list[str]:
    keys = [f"naeq:signin:id:{code[:32]}"]
    if ip:
        keys.append(f"naeq:signin:ip:{ip[:64]}")
    return keys


def _limits() -> tuple[int, int]:
    return (int(getattr(settings, "NAEQ_SIGNIN_ID_FAILURES", FAILURE_LIMIT)),
            int(getattr(settings, "NAEQ_SIGNIN_IP_FAILURES", IP_FAILURE_LIMIT)))


def _locked_out(keys: list[str]) -> bool:
    limits = _limits()
    return any(int(cache.get(k) or 0) >= limit for k, limit in zip(keys, limits, strict=False))


def _fail(keys: list[str]) -> None:
    for k in keys:
        if cache.add(k, 1, FAILURE_WINDOW):
            continue
        try:
            cache.incr(k)
        except ValueError:  # expired between add and incr
            cache.add(k, 1, FAILURE_WINDOW)


def _generic() -> SignInRefused:
    return SignInRefused(_("测试编号或登录码不正确，或本场测试尚未开始。请核对后重试，或向监测人员求助。"))


def _candidate_sessions(taker: TestTaker, key: str) -> Any:
    qs = TestSession.objects.filter(cycle_id=taker.cycle_id, key=key, status=SessionStatus.OPEN,
                                    respondent=taker.kind)
    if taker.kind == Respondent.COUNTY_MANAGER:
        return qs.filter(county_id=taker.county_id, school__isnull=True)
    if taker.school_id is None:
        return qs.none()
    qs = qs.filter(school_id=taker.school_id)
    if taker.kind in (Respondent.STUDENT, Respondent.TEACHER):
        qs = qs.filter(Q(grade=taker.grade) | Q(grade__isnull=True))
    return qs


def taker_sign_in(*, code: str, key: str, ip: str = "", now: dt.datetime | None = None,
                  ) -> tuple[TestTaker, TestSession]:
    """The test taker and the session they signed in to; :class:`SignInRefused` (one message) otherwise."""
    code, key = _normal(code), _normal(key)
    keys = _counter_keys(code, ip)
    if _locked_out(keys):
        raise SignInRefused(_("尝试次数过多，请15分钟后再试，或向监测人员求助。"), code="sign_in_rate_limited")
    if code and key:
        for taker in TestTaker.objects.filter(code=code).select_related("cycle").order_by("-cycle__year"):
            for session in _candidate_sessions(taker, key).order_by("starts_at"):
                if session_accepts(session, now):
                    cache.delete(keys[0])
                    audit_record(actor=_actor(taker), action="delivery.sign_in",
                                 object_type="delivery.TestSession", object_id=session.pk,
                                 after={"taker_id": taker.pk, "taker": taker.code})
                    return taker, session
    _fail(keys)
    raise _generic()


def _actor(taker: TestTaker) -> Any:
    from naeq.delivery.attempts import taker_actor

    return taker_actor(taker)


def session_data(taker: TestTaker, session: TestSession) -> dict[str, int]:
    """What the sign-in view stores under ``request.session[SESSION_KEY]``."""
    return {"taker_id": taker.pk, "session_id": session.pk}


def current_taker(session_data: Mapping[str, Any], now: dt.datetime | None = None,
                  ) -> tuple[TestTaker, TestSession] | None:
    """The signed-in test taker and session from the Django session's data, or None (not signed in, or the
    session no longer accepts)."""
    raw = session_data.get(SESSION_KEY) if hasattr(session_data, "get") else None
    if not isinstance(raw, Mapping):
        return None
    taker_id, session_id = raw.get("taker_id"), raw.get("session_id")
    if not isinstance(taker_id, int) or not isinstance(session_id, int):
        return None
    taker = TestTaker.objects.select_related("cycle").filter(pk=taker_id).first()
    session = TestSession.objects.filter(pk=session_id).first()
    if taker is None or session is None or taker.cycle_id != session.cycle_id:
        return None
    if not session_accepts(session, now):
        return None
    return taker, session
