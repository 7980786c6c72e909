"""Who may call the performance-task APIs: only the signed-in test taker of an open session, for their own
attempt, presenting that attempt's token (the header the answer API uses, so a cross-site form cannot make the
call). Everything else — not signed in, another taker's attempt, a forged token, a closed session, a missing
attempt — is the same :class:`NotFound`.

Staff reach an attempt only through its session (:func:`room_attempt`): the session through
:func:`naeq.delivery.access.session_access`, then the attempt among that session's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from naeq.core.errors import NotFound
from naeq.delivery.access import session_access
from naeq.delivery.models import Attempt, AttemptStatus
from naeq.delivery.sessions import session_accepts
from naeq.delivery.signin import current_taker
from naeq.delivery.tokens import attempt_from_token


def taker_attempt(session_data: Mapping[str, Any], token: str, attempt_id: int, *,
                  in_progress: bool = True) -> Attempt:
    """The attempt, if the caller may work on it; ``in_progress=False`` also admits a submitted attempt (an
    upload of a recording made before submission may finish after it)."""
    missing = NotFound(_("未找到该作答记录。"))
    if not token or attempt_from_token(token) != attempt_id:
        raise missing
    signed_in = current_taker(session_data)
    if signed_in is None:
        raise missing
    taker, session = signed_in
    attempt = (Attempt.objects.select_related("instrument", "session", "test_taker")
               .filter(pk=attempt_id, test_taker=taker, session=session).first())
    if attempt is None or not session_accepts(attempt.session):
        raise missing
    if in_progress and attempt.status != AttemptStatus.IN_PROGRESS:
        raise missing
    return attempt


def room_attempt(*, actor: Any, session_id: int, attempt_id: int) -> Attempt:
    """An attempt of a session the actor may read (whether they may *run* it is the service's question). A
    session out of reach, a missing attempt and another session's attempt are the same :class:`NotFound`."""
    session = session_access(actor=actor, session_id=session_id)
    attempt = (Attempt.objects.select_related("instrument", "session", "test_taker")
               .filter(pk=attempt_id, session=session).first())
    if attempt is None:
        raise NotFound(_("未找到该作答记录。"))
    return attempt
