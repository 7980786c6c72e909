"""Group commit for the answer-save hot path (PostgreSQL, asyncio).

Under load many test takers save at once. Writing each batch as its own statement and commit makes the database
parse, lock, log and flush once per request; here the saves that arrive while a statement is running wait for
it and then go together as ONE statement: one round trip, one commit, one WAL flush for the whole group. Each
waiting request is answered only after that commit (the acknowledgement rule of :mod:`naeq.delivery.hotpath`
is unchanged), and each request keeps its own verdict: a refused or malformed batch in a group changes nothing
of its own and nothing of the others.

Why the durability rules still hold:

* **Higher sequence wins.** The same ``INSERT … ON CONFLICT (attempt_id, item) DO UPDATE … WHERE seq <
  excluded.seq`` as the single save; a group never holds two batches of one attempt (the second waits for the next
  group), so no row is written twice in one statement.
* **Submit wins any race.** The statement reads every attempt of the group ``FOR SHARE`` (in attempt order)
  before it writes; submit's ``FOR UPDATE`` waits for the group's commit, and a group that comes after a submit
  reads the attempt as submitted and refuses that batch.
* **Acknowledged after commit.** A request's future is resolved only when the statement has returned in
  autocommit mode, i.e. committed; if the statement or the connection fails, every request of the group gets
  503 and the client retries (the write is idempotent by its sequence numbers).

The module is pure asyncio + psycopg: no Django request, ORM or thread. :class:`GroupSaver` is created once per
server process (:mod:`naeq.web.hotapi`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from naeq.delivery.hotpath import Refused, bad
from naeq.delivery.sessions import GRACE

log = logging.getLogger(__name__)
IDLE = psycopg.pq.TransactionStatus.IDLE

#: The most requests one statement carries (a group of more waits for the next statement).
MAX_GROUP = 256

#: ONE statement for a group of save requests. ``reqs`` lists the requests (number ``r``, attempt), ``batch`` all
#: their answers; ``chk`` reads each attempt and its session under ``FOR SHARE``, in attempt order; ``known`` keeps
#: the answers whose item belongs to the attempt's instrument version; a request is ``good`` when its attempt is in
#: progress, its session open and inside its window, and every one of its items is known; only good requests'
#: answers are written, in (attempt, item) order so that concurrent statements lock answer rows in the same order.
#: The result has one row per request: the verdict's ingredients.
GROUP_SAVE_SQL = """
WITH reqs AS (
    SELECT * FROM json_to_recordset(%(reqs)s::json) AS q (r int, attempt bigint)
), batch AS (
    SELECT * FROM json_to_recordset(%(batch)s::json) AS b (r int, item varchar, value text, seq bigint)
), chk AS (
    SELECT a.id, a.instrument_id, a.status AS attempt_status, s.status AS session_status,
           (s.kind = 'practice' OR (s.starts_at <= %(late)s AND (s.ends_at IS NULL OR s.ends_at >= %(early)s)))
               AS in_window
    FROM delivery_attempt a JOIN delivery_testsession s ON s.id = a.session_id
    WHERE a.id IN (SELECT attempt FROM reqs)
    ORDER BY a.id
    FOR SHARE OF a
), known AS (
    SELECT b.r, q.attempt, b.item, b.value, b.seq
    FROM batch b JOIN reqs q ON q.r = b.r JOIN chk ON chk.id = q.attempt
    JOIN delivery_item i ON i.instrument_id = chk.instrument_id AND i.code = b.item
), counts AS (
    SELECT q.r, q.attempt,
           (SELECT count(*) FROM batch b WHERE b.r = q.r) AS n,
           (SELECT count(*) FROM known k WHERE k.r = q.r) AS n_known
    FROM reqs q
), good AS (
    SELECT c.r FROM counts c JOIN chk ON chk.id = c.attempt
    WHERE chk.attempt_status = 'in_progress' AND chk.session_status = 'open' AND chk.in_window
      AND c.n = c.n_known
), ins AS (
    INSERT INTO delivery_answer (attempt_id, item, value, seq, saved_at)
    SELECT k.attempt, k.item, k.value, k.seq, %(now)s FROM known k WHERE k.r IN (SELECT r FROM good)
    ORDER BY k.attempt, k.item
    ON CONFLICT (attempt_id, item) DO UPDATE SET value = excluded.value, seq = excluded.seq,
        saved_at = excluded.saved_at
    WHERE delivery_answer.seq < excluded.seq
    RETURNING 1
)
SELECT c.r, chk.attempt_status, chk.session_status, chk.in_window, c.n, c.n_known
FROM counts c LEFT JOIN chk ON chk.id = c.attempt
"""

UNKNOWN_ITEMS_SQL = ("SELECT i.code FROM delivery_item i JOIN delivery_attempt a ON a.instrument_id = i.instrument_id "
                     "WHERE a.id = %s")


@dataclass
class _Request:
    attempt_id: int
    rows: Sequence[tuple[str, str, int]]
    done: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


def verdict(row: Sequence[Any] | None) -> Refused | None:
    """The refusal a result row of :data:`GROUP_SAVE_SQL` means, or None (written). Same words and statuses as
    the single save: 404 no such attempt; 409 submitted / closed; 400 an unknown item (named by the caller)."""
    if row is None or row[1] is None:
        return Refused("not_found", 404)
    _r, attempt_status, session_status, in_window, n, n_known = row
    if attempt_status == "submitted":
        return Refused("submitted", 409)
    if session_status != "open" or not in_window:
        return Refused("closed", 409)
    if n != n_known:
        return bad("unknown item")
    return None


class GroupSaver:
    """Collects concurrent saves of one process into group statements on up to ``connections`` connections.

    ``conninfo`` is a psycopg connection string or keyword dict (the server's database settings). Connections are
    opened lazily, kept, and replaced after a failure.
    """

    def __init__(self, conninfo: dict[str, Any], *, connections: int = 2, max_group: int = MAX_GROUP) -> None:
        self.conninfo = conninfo
        self.max_group = max_group
        self._pending: list[_Request] = []
        self._idle: list[psycopg.AsyncConnection[Any] | None] = [None] * connections
        #: Statements run and requests carried, for the benchmark's report.
        self.statements = 0
        self.requests = 0

    async def save(self, attempt_id: int, rows: Sequence[tuple[str, str, int]]) -> None:
        """Write one request's cleaned batch (``hotpath.clean_batch``); return after commit, or raise Refused."""
        req = _Request(attempt_id, rows)
        self._pending.append(req)
        if self._idle:
            self._start()
        await req.done  # raises the request's Refused

    def _start(self) -> None:
        conn = self._idle.pop()
        group: list[_Request] = []
        rest: list[_Request] = []
        seen: set[int] = set()
        for req in self._pending:
            if len(group) < self.max_group and req.attempt_id not in seen:
                seen.add(req.attempt_id)
                group.append(req)
            else:
                rest.append(req)
        self._pending = rest
        asyncio.get_running_loop().create_task(self._run(conn, group))

    async def _run(self, conn: psycopg.AsyncConnection[Any] | None, group: list[_Request]) -> None:
        try:
            conn = await self._write(conn, group)
        except Exception:
            log.exception("group save of %d requests failed", len(group))
            if conn is not None and not conn.closed:
                await conn.close()  # its state is unknown: the next group opens a new one
            conn = None
        finally:
            for req in group:  # whatever happened, no request is left waiting: unanswered ones retry
                if not req.done.done():
                    req.done.set_exception(Refused("unavailable", 503))
            self._idle.append(conn)
            if self._pending:
                self._start()

    async def _write(self, conn: psycopg.AsyncConnection[Any] | None,
                     group: list[_Request]) -> psycopg.AsyncConnection[Any] | None:
        now = dt.datetime.now(dt.UTC)
        reqs = json.dumps([{"r": r, "attempt": req.attempt_id} for r, req in enumerate(group)])
        batch = json.dumps([{"r": r, "item": item, "value": text, "seq": seq}
                            for r, req in enumerate(group) for item, text, seq in req.rows],
                           ensure_ascii=False, separators=(",", ":"))
        params = {"reqs": reqs, "batch": batch, "late": now + GRACE, "early": now - GRACE, "now": now}
        try:
            if conn is None or conn.closed:
                conn = await psycopg.AsyncConnection.connect(**self.conninfo, autocommit=True)
            cur = await conn.execute(GROUP_SAVE_SQL, params, prepare=True)
            rows = {row[0]: row for row in await cur.fetchall()}
        except psycopg.Error as exc:
            log.warning("group save of %d requests failed: %s", len(group), exc)
            for req in group:
                if not req.done.done():
                    req.done.set_exception(Refused("unavailable", 503))
            if conn is not None and not conn.closed and conn.info.transaction_status != IDLE:
                await conn.close()
            return conn if conn is not None and not conn.closed and not conn.broken else None
        self.statements += 1
        self.requests += len(group)
        for r, req in enumerate(group):
            refused = verdict(rows.get(r))
            if refused is not None and refused.status == 400:
                refused = bad(f"unknown item {await self._first_unknown(conn, req)}")
            if refused is None:
                req.done.set_result(None)
            else:
                req.done.set_exception(refused)
        return conn

    async def _first_unknown(self, conn: psycopg.AsyncConnection[Any], req: _Request) -> str:
        """The first item of the batch the attempt's instrument does not have (for the 400's message)."""
        try:
            cur = await conn.execute(UNKNOWN_ITEMS_SQL, [req.attempt_id])
            codes = {row[0] for row in await cur.fetchall()}
        except psycopg.Error:
            return "?"
        return next((item for item, _v, _s in req.rows if item not in codes), "?")

    async def close(self) -> None:
        for conn in self._idle:
            if conn is not None and not conn.closed:
                await conn.close()
