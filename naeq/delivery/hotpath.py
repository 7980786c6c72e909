"""The answer-save hot path: raw SQL, no ORM instances, acknowledgement only after commit.

Why the durability rules hold (see docs/online-client.md):

* **Higher sequence wins.** Every answer carries the client's per-item sequence number. One multi-row
  ``INSERT … ON CONFLICT (attempt_id, item) DO UPDATE … WHERE delivery_answer.seq < excluded.seq`` writes a
  batch: a stale, repeated or reordered write (lower or equal ``seq``) changes nothing, whatever order batches
  arrive in.
* **Acknowledged after commit.** :func:`save_batch` returns only after its transaction committed; the view
  builds the response from that return value. An ack names ``(item, seq)``: the server now durably holds that
  item at a sequence number ≥ ``seq``.
* **Submit wins any race with a late save.** A save first reads its attempt (and session) under ``FOR SHARE``
  on PostgreSQL; submit locks the attempt ``FOR UPDATE`` and flips its status. A save that got its share lock
  first commits before the submit can proceed (its answers are in the submitted attempt); a save that comes
  after waits for the submit to commit, then reads ``submitted`` and is refused. On SQLite every write
  transaction is ``BEGIN IMMEDIATE`` (settings), which serialises writers outright.

On PostgreSQL a save is one autocommit statement (check, item-code check and upsert together: one round trip,
one commit); on SQLite, and inside an outer transaction, it is a check and an upsert in one transaction.

Unknown item codes are refused (400) and the batch changes nothing. ``delivery_attempt.last_saved_at`` is set at
submission only: a save writes nothing but its answers (progress is counted from ``delivery_answer``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import psycopg
from django.db import connection, transaction
from django.utils import timezone

from naeq.delivery.sessions import GRACE  # the one window rule, shared with session_accepts

#: Batch limits of the protocol.
MAX_ANSWERS = 200
MAX_BODY_BYTES = 64 * 1024
MAX_VALUE_BYTES = 8 * 1024
MAX_ITEM_CODE = 40
MAX_SEQ = 2**53


class Refused(Exception):
    """The save or submit is refused: ``reason`` is the protocol's error word, ``status`` the HTTP status."""

    def __init__(self, reason: str, status: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def bad(reason: str) -> Refused:
    return Refused(reason, 400)


# ------------------------------------------------------------------------------------------------ validation


def parse_body(raw: bytes) -> list[dict[str, Any]]:
    """The ``answers`` list of a request body, or :class:`Refused` (400) saying what is wrong."""
    if len(raw) > MAX_BODY_BYTES:
        raise bad(f"body larger than {MAX_BODY_BYTES} bytes")
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise bad("body is not JSON") from None
    if not isinstance(body, dict):
        raise bad("body must be a JSON object")
    answers = body.get("answers", [])
    if not isinstance(answers, list):
        raise bad("answers must be a list")
    return answers


def clean_batch(answers: Sequence[Any]) -> list[tuple[str, str, int]]:
    """``[(item, value as JSON text, seq)]``, one per item (the highest seq of duplicates), or 400."""
    if len(answers) > MAX_ANSWERS:
        raise bad(f"more than {MAX_ANSWERS} answers in one batch")
    best: dict[str, tuple[str, int]] = {}
    for n, ans in enumerate(answers):
        if not isinstance(ans, dict):
            raise bad(f"answers[{n}] must be an object")
        item, seq = ans.get("item"), ans.get("seq")
        if not isinstance(item, str) or not item or len(item) > MAX_ITEM_CODE:
            raise bad(f"answers[{n}].item must be a code of 1 to {MAX_ITEM_CODE} characters")
        if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq < MAX_SEQ:
            raise bad(f"answers[{n}].seq must be an integer from 0 to 2^53-1")
        if "value" not in ans:
            raise bad(f"answers[{n}].value is missing")
        try:
            text = json.dumps(ans["value"], ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        except ValueError:
            raise bad(f"answers[{n}].value is not valid JSON") from None
        if len(text.encode()) > MAX_VALUE_BYTES:
            raise bad(f"answers[{n}].value larger than {MAX_VALUE_BYTES} bytes")
        if item not in best or best[item][1] < seq:
            best[item] = (text, seq)
    # Sorted by item code: concurrent batches of one attempt then lock answer rows in the same order (no deadlock).
    return [(item, best[item][0], best[item][1]) for item in sorted(best)]


# ------------------------------------------------------------------------------------------------ item codes

def _unknown_items(cur: Any, attempt_id: int, items: Sequence[str]) -> list[str]:
    """The batch's item codes that are not items of the attempt's instrument version. One indexed query, no
    process cache: a cache keyed by ids would go stale wherever ids are reused (a restored database, tests)."""
    cur.execute("SELECT i.code FROM delivery_item i JOIN delivery_attempt a ON a.instrument_id = i.instrument_id "
                "WHERE a.id = %s", [attempt_id])
    codes = {row[0] for row in cur.fetchall()}
    return [item for item in items if item not in codes]


# ------------------------------------------------------------------------------------------------ SQL


def _ts(value: dt.datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def _check(cur: Any, attempt_id: int, now: dt.datetime, *, lock: str) -> tuple[str, Any]:
    """Read the attempt's state under ``lock``: (attempt status, submitted_at), or Refused.

    The window rule is the sessions helper's ``session_accepts``: status open and, for a formal session,
    starts_at − 30 min ≤ now ≤ ends_at + 30 min (no end: open-ended)."""
    suffix = f" FOR {lock} OF a" if connection.vendor == "postgresql" else ""
    cur.execute(
        "SELECT a.status, a.submitted_at, s.status, "
        "(s.kind = 'practice' OR (s.starts_at <= %s AND (s.ends_at IS NULL OR s.ends_at >= %s))) "
        "FROM delivery_attempt a JOIN delivery_testsession s ON s.id = a.session_id WHERE a.id = %s" + suffix,
        [_ts(now + GRACE), _ts(now - GRACE), attempt_id])
    row = cur.fetchone()
    if row is None:
        raise Refused("not_found", 404)
    status, submitted_at, session_status, in_window = row
    if status == "submitted":
        return status, submitted_at
    if session_status != "open" or not in_window:
        raise Refused("closed", 409)
    return status, submitted_at


def _upsert(cur: Any, attempt_id: int, rows: Sequence[tuple[str, str, int]], now: dt.datetime) -> None:
    if not rows:
        return
    unknown = _unknown_items(cur, attempt_id, [item for item, _v, _s in rows])
    if unknown:
        raise bad(f"unknown item {unknown[0]}")
    ts = _ts(now)
    params: list[Any] = []
    for item, text, seq in rows:
        params += [attempt_id, item, text, seq, ts]
    placeholders = ", ".join(["(%s, %s, %s, %s, %s)"] * len(rows))  # only placeholders, never data
    cur.execute(
        "INSERT INTO delivery_answer (attempt_id, item, value, seq, saved_at) VALUES "  # noqa: S608
        + placeholders
        + " ON CONFLICT (attempt_id, item) DO UPDATE SET value = excluded.value, seq = excluded.seq, "
          "saved_at = excluded.saved_at WHERE delivery_answer.seq < excluded.seq",
        params)


def save_batch(attempt_id: int, answers: Sequence[Any], *, now: dt.datetime | None = None) -> list[list[Any]]:
    """Write a batch; return ``[[item, seq], ...]`` acknowledged — only after the write committed.

    Refused: 400 malformed, 404 no such attempt, 409 ``submitted`` or ``closed``."""
    rows = clean_batch(answers)
    now = now or timezone.now()
    if rows and connection.vendor == "postgresql":
        _save_one_statement(attempt_id, rows, now)
    else:
        _save_in_transaction(attempt_id, rows, now)
    return [[item, seq] for item, _text, seq in rows]


def _save_in_transaction(attempt_id: int, rows: Sequence[tuple[str, str, int]], now: dt.datetime) -> None:
    """The check, then the upsert, in one transaction (SQLite, where it is ``BEGIN IMMEDIATE``; and an empty batch,
    which only checks)."""
    with transaction.atomic(), connection.cursor() as cur:
        status, _at = _check(cur, attempt_id, now, lock="SHARE")
        if status == "submitted":
            raise Refused("submitted", 409)
        _upsert(cur, attempt_id, rows, now)


#: The PostgreSQL save as ONE autocommit statement: one round trip, one commit. ``chk`` reads the attempt and its
#: session under ``FOR SHARE`` (held until the statement commits, so a submit's ``FOR UPDATE`` waits for it, and
#: a save arriving during a submit waits and then re-reads the row as submitted); ``known`` keeps the batch's rows
#: whose item belongs to the attempt's instrument version; the insert happens only when the attempt is in
#: progress, its session open and inside its window, and every item is known (a bad batch changes nothing). Rows
#: go in item order, so concurrent batches of one attempt lock answer rows in the same order.
#:
#: The batch arrives as one JSON array (``json_to_recordset``), so the statement's text is the same for every batch
#: size, and it runs as a server-side prepared statement: PostgreSQL parses and plans it once per connection, not
#: once per save (planning this statement costs more than executing it).
SAVE_SQL = """
WITH chk AS (
    SELECT a.id, a.instrument_id, a.status AS attempt_status, s.status AS session_status,
           (s.kind = 'practice' OR (s.starts_at <= %s AND (s.ends_at IS NULL OR s.ends_at >= %s))) AS in_window
    FROM delivery_attempt a JOIN delivery_testsession s ON s.id = a.session_id
    WHERE a.id = %s
    FOR SHARE OF a
), batch AS (
    SELECT * FROM json_to_recordset(%s::json) AS b (item varchar, value text, seq bigint)
), known AS (
    SELECT b.item, b.value, b.seq FROM batch b
    JOIN delivery_item i ON i.code = b.item AND i.instrument_id = (SELECT instrument_id FROM chk)
), ins AS (
    INSERT INTO delivery_answer (attempt_id, item, value, seq, saved_at)
    SELECT chk.id, known.item, known.value, known.seq, %s FROM known CROSS JOIN chk
    WHERE chk.attempt_status = 'in_progress' AND chk.session_status = 'open' AND chk.in_window
      AND (SELECT count(*) FROM known) = %s
    ORDER BY known.item
    ON CONFLICT (attempt_id, item) DO UPDATE SET value = excluded.value, seq = excluded.seq,
        saved_at = excluded.saved_at
    WHERE delivery_answer.seq < excluded.seq
    RETURNING 1
)
SELECT chk.attempt_status, chk.session_status, chk.in_window, (SELECT count(*) FROM known),
       (SELECT count(*) FROM ins)
FROM chk
"""


def _save_one_statement(attempt_id: int, rows: Sequence[tuple[str, str, int]], now: dt.datetime) -> None:
    # The batch travels as one JSON parameter (each value is the answer's JSON text as a string): one cheap
    # json.dumps here instead of dumping three arrays element by element.
    batch = json.dumps([{"item": item, "value": text, "seq": seq} for item, text, seq in rows],
                       ensure_ascii=False, separators=(",", ":"))
    params: list[Any] = [now + GRACE, now - GRACE, attempt_id, batch, now, len(rows)]
    connection.ensure_connection()
    # A server-binding cursor on Django's own connection (Django's cursors bind on the client side, which cannot
    # prepare): same connection, same autocommit state, so the statement has committed when execute returns.
    # wrap_database_errors: a failure surfaces as Django's DatabaseError and marks the connection, so a connection
    # broken by a database restart is closed at the end of the request instead of being reused.
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cur:
        cur.execute(SAVE_SQL, params, prepare=True)
        row = cur.fetchone()
    if row is None:
        raise Refused("not_found", 404)
    attempt_status, session_status, in_window, known, _inserted = row
    if attempt_status == "submitted":
        raise Refused("submitted", 409)
    if session_status != "open" or not in_window:
        raise Refused("closed", 409)
    if known != len(rows):
        with connection.cursor() as dcur:
            unknown = _unknown_items(dcur, attempt_id, [item for item, _v, _s in rows])
        raise bad(f"unknown item {unknown[0] if unknown else '?'}")


def submit(attempt_id: int, answers: Sequence[Any], *, now: dt.datetime | None = None) -> tuple[dt.datetime, bool]:
    """Apply the ride-along answers and submit, atomically. Returns ``(submitted_at, first)``; a repeat returns
    the first submission's time with ``first`` False (its answers are ignored: the attempt is closed)."""
    rows = clean_batch(answers)
    now = now or timezone.now()
    with transaction.atomic(), connection.cursor() as cur:
        status, submitted_at = _check(cur, attempt_id, now, lock="UPDATE")
        if status == "submitted":
            return _as_datetime(submitted_at), False
        _upsert(cur, attempt_id, rows, now)
        cur.execute("UPDATE delivery_attempt SET status = 'submitted', submitted_at = %s, last_saved_at = %s "
                    "WHERE id = %s AND status = 'in_progress'", [_ts(now), _ts(now), attempt_id])
        if cur.rowcount != 1:  # cannot happen under the lock; be explicit rather than silently succeed
            raise Refused("submitted", 409)
    return now, True


def _as_datetime(value: Any) -> dt.datetime:
    # SQLite hands back text.
    out = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    if timezone.is_naive(out):
        out = out.replace(tzinfo=dt.UTC)
    return out


def server_copy(attempt_id: int) -> dict[str, Any]:
    """The server's answers of an attempt: ``{"status": ..., "answers": {item: {"value", "seq"}}}``."""
    with connection.cursor() as cur:
        cur.execute("SELECT status FROM delivery_attempt WHERE id = %s", [attempt_id])
        row = cur.fetchone()
        if row is None:
            raise Refused("not_found", 404)
        cur.execute("SELECT item, value, seq FROM delivery_answer WHERE attempt_id = %s", [attempt_id])
        answers = {item: {"value": json.loads(value), "seq": seq} for item, value, seq in cur.fetchall()}
    return {"status": row[0], "answers": answers}

