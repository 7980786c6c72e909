"""Attempt tokens: what a signed-in test taker's browser sends with every save and submit.

A token is ``{attempt id}.{expiry, unix seconds}.{HMAC-SHA256, hex, 32 chars}`` keyed by a key derived from
``SECRET_KEY``. Checking one is a few microseconds and no database read, which keeps the answer-save endpoint
free of session and ORM work; whether the attempt may still be written (in progress, session open) is checked
by the save's own SQL in the same transaction as the write.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from functools import lru_cache

from django.conf import settings

#: How long a token lives: a school day, so a test taker resumes after an offline hour or a reload.
TOKEN_LIFETIME_SECONDS = 12 * 3600


@lru_cache(maxsize=4)
def _key(secret: str) -> bytes:
    return hashlib.sha256(b"naeq.delivery.attempt-token:" + secret.encode()).digest()


def _mac(attempt_id: int, expiry: int) -> str:
    msg = f"{attempt_id}.{expiry}".encode()
    return hmac.new(_key(settings.SECRET_KEY), msg, hashlib.sha256).hexdigest()[:32]


def attempt_token(attempt_id: int, *, lifetime: int = TOKEN_LIFETIME_SECONDS, now: float | None = None) -> str:
    """A token that lets its bearer save answers to, and submit, attempt ``attempt_id`` until it expires."""
    expiry = int((time.time() if now is None else now) + lifetime)
    return f"{attempt_id}.{expiry}.{_mac(attempt_id, expiry)}"


def attempt_from_token(token: str, *, now: float | None = None) -> int | None:
    """The attempt id a valid, unexpired token names, else None (malformed, forged or expired alike)."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    attempt_id, expiry = int(parts[0]), int(parts[1])
    if expiry < (time.time() if now is None else now):
        return None
    if not hmac.compare_digest(parts[2], _mac(attempt_id, expiry)):
        return None
    return attempt_id
