"""The served hot path: ``naeq.web.hotapi`` in front of Django, saving by group commit (``naeq.delivery.groupsave``).

DESIGN.md, "The online testing hot path": "the server writes them with one upsert that keeps the higher sequence
number (a stale or repeated write can never overwrite a newer one) and acknowledges only after commit … Submit is
idempotent and wins any race with a late autosave". Here many requests share one statement; each must still get
its own verdict, and nothing a refused request carried may be written.

The ASGI application is called directly (no socket), on a real PostgreSQL database: the group saver opens its own
connections, so these tests commit their data (``transaction=True``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
from collections.abc import Iterable
from typing import Any

import pytest
from django.db import connection, connections
from django.utils import timezone

from naeq.delivery import hotpath
from naeq.delivery.attempts import attempt_start
from naeq.delivery.groupsave import GroupSaver
from naeq.delivery.models import Answer, Attempt, AttemptStatus, SessionStatus
from naeq.delivery.tokens import attempt_token
from naeq.web.hotapi import HotPath, conninfo
from tests.delivery.factories import make_instrument, make_session, make_taker

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the group-commit hot path runs on PostgreSQL (on SQLite every request goes to Django)")


class FakeDjango:
    """Stands in for Django behind the hot path: records what it was handed."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.paths.append(scope["path"])
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b"django"})


async def call(app: Any, method: str, path: str, body: bytes = b"",
               headers: Iterable[tuple[str, str]] = ()) -> tuple[int, dict[str, str], bytes]:
    incoming = [{"type": "http.request", "body": body[:7], "more_body": True},
                {"type": "http.request", "body": body[7:], "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path,
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers]}
    await app(scope, receive, send)
    head = {k.decode(): v.decode() for k, v in sent[0]["headers"]}
    return sent[0]["status"], head, b"".join(m.get("body", b"") for m in sent[1:])


def save(app: Any, attempt_id: int, answers: Any, *, token: str | None = None,
         raw: bytes | None = None) -> Any:
    body = raw if raw is not None else json.dumps({"answers": answers}).encode()
    return call(app, "POST", f"/t/api/attempts/{attempt_id}/answers", body,
                [("X-Attempt-Token", attempt_token(attempt_id) if token is None else token)])


@pytest.fixture
def attempts(cycle: Any) -> list[Attempt]:
    from tests.personas import build_world

    world = build_world()
    school = world.schools["A1a-1"]
    make_instrument(cycle, "math")
    session = make_session(cycle, school, instruments=["math"])
    return [attempt_start(taker=make_taker(cycle, school, f"S07{n:02d}"), session=session, instrument_code="math")
            for n in range(8)]


def stored(attempt: Attempt) -> dict[str, tuple[Any, int]]:
    return {a.item: (json.loads(a.value), a.seq) for a in Answer.objects.filter(attempt=attempt)}


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def gather_with(app: HotPath, calls: list[Any]) -> list[Any]:
    try:
        return await asyncio.gather(*calls)
    finally:
        if app.saver is not None:
            await app.saver.close()


def test_concurrent_saves_share_statements_and_each_is_acknowledged(attempts: list[Attempt]) -> None:
    app = HotPath(FakeDjango(), connections_per_process=1)

    async def go() -> list[Any]:
        return await gather_with(app, [save(app, a.pk, [{"item": "M01", "value": f"v{a.pk}", "seq": 3},
                                                        {"item": "M02", "value": ["A"], "seq": 4}])
                                       for a in attempts])

    results = run(go())
    for (status, head, body), _a in zip(results, attempts, strict=True):
        assert status == 200
        assert json.loads(body) == {"ok": True, "acked": [["M01", 3], ["M02", 4]]}
        assert head["cache-control"] == "no-store"
    for a in attempts:
        assert stored(a) == {"M01": (f"v{a.pk}", 3), "M02": (["A"], 4)}
    assert app.saver is not None
    # One connection: the first request runs alone, the seven that queued behind it share the next statement.
    assert app.saver.requests == len(attempts)
    assert app.saver.statements == 2


def test_each_request_of_a_group_gets_its_own_verdict_and_refusals_write_nothing(
        attempts: list[Attempt]) -> None:
    good, submitted, unknown, closed, late = attempts[:5]
    hotpath.submit(submitted.pk, [])
    session = closed.session
    shut = make_session(session.cycle, session.school, instruments=["math"], status=SessionStatus.CLOSED)
    Attempt.objects.filter(pk=closed.pk).update(session=shut)
    past = make_session(session.cycle, session.school, instruments=["math"],
                        starts_at=timezone.now() - dt.timedelta(hours=5), minutes=60)
    Attempt.objects.filter(pk=late.pk).update(session=past)
    missing = max(a.pk for a in attempts) + 1000
    app = HotPath(FakeDjango(), connections_per_process=1)

    async def go() -> list[Any]:
        # A request occupies the connection first, so the six below travel as one group.
        first = asyncio.ensure_future(save(app, attempts[5].pk, [{"item": "M01", "value": "x", "seq": 1}]))
        await asyncio.sleep(0)
        rest = await gather_with(app, [
            save(app, good.pk, [{"item": "M01", "value": "A", "seq": 1}]),
            save(app, submitted.pk, [{"item": "M01", "value": "A", "seq": 1}]),
            save(app, unknown.pk, [{"item": "M01", "value": "A", "seq": 1}, {"item": "ZZ9", "value": "A", "seq": 2}]),
            save(app, closed.pk, [{"item": "M01", "value": "A", "seq": 1}]),
            save(app, late.pk, [{"item": "M01", "value": "A", "seq": 1}]),
            save(app, missing, [{"item": "M01", "value": "A", "seq": 1}]),
        ])
        return [await first, *rest]

    results = [(status, json.loads(body)) for status, _h, body in run(go())]
    assert results[1] == (200, {"ok": True, "acked": [["M01", 1]]})
    assert results[2] == (409, {"error": "submitted"})
    assert results[3] == (400, {"error": "unknown item ZZ9"})
    assert results[4] == (409, {"error": "closed"})
    assert results[5] == (409, {"error": "closed"})
    assert results[6] == (404, {"error": "not_found"})
    assert stored(good) == {"M01": ("A", 1)}
    for refused in (submitted, unknown, closed, late):
        assert stored(refused) == {}, "a refused request must change nothing"
    assert app.saver is not None and app.saver.statements == 2


def test_two_batches_of_one_attempt_never_share_a_statement_and_the_higher_seq_wins(
        attempts: list[Attempt]) -> None:
    a = attempts[0]
    app = HotPath(FakeDjango(), connections_per_process=1)

    async def go() -> list[Any]:
        return await gather_with(app, [
            save(app, attempts[1].pk, [{"item": "M01", "value": "x", "seq": 1}]),
            save(app, a.pk, [{"item": "M01", "value": "new", "seq": 9}]),
            save(app, a.pk, [{"item": "M01", "value": "stale", "seq": 4}]),   # arrives late, lower seq
            save(app, a.pk, [{"item": "M01", "value": "same", "seq": 9}]),    # a repeat of seq 9
        ])

    results = run(go())
    assert [status for status, _h, _b in results] == [200, 200, 200, 200]
    # Acknowledged, all of them: the server holds M01 at a seq at least as high as each one sent.
    assert stored(a) == {"M01": ("new", 9)}
    assert app.saver is not None and app.saver.statements == 4  # one attempt per statement at most


@pytest.mark.parametrize(("raw", "reason"), [
    (b"not json", "body is not JSON"),
    (b"[1]", "body must be a JSON object"),
    (b'{"answers": {}}', "answers must be a list"),
    (b'{"answers": [{"item": "M01", "value": "A", "seq": -1}]}', "answers[0].seq must be an integer from 0 to 2^53-1"),
    (b'{"answers": [{"item": "M01", "seq": 1}]}', "answers[0].value is missing"),
    (b"x" * (hotpath.MAX_BODY_BYTES + 1), f"body larger than {hotpath.MAX_BODY_BYTES} bytes"),
])
def test_malformed_bodies_are_400_with_the_django_views_reason(attempts: list[Attempt], raw: bytes,
                                                                reason: str) -> None:
    app = HotPath(FakeDjango())
    status, head, body = run(save(app, attempts[0].pk, None, raw=raw))
    assert (status, json.loads(body)) == (400, {"error": reason})
    assert head["cache-control"] == "no-store"
    assert stored(attempts[0]) == {}


def test_a_token_for_another_attempt_or_none_is_401(attempts: list[Attempt]) -> None:
    app = HotPath(FakeDjango())
    a, b = attempts[:2]
    answers = [{"item": "M01", "value": "A", "seq": 1}]
    assert run(save(app, a.pk, answers, token=attempt_token(b.pk)))[0] == 401
    assert run(save(app, a.pk, answers, token=""))[0] == 401
    assert run(save(app, a.pk, answers, token=attempt_token(a.pk, lifetime=-10)))[0] == 401
    assert stored(a) == {}


def test_ping_here_everything_else_to_django(attempts: list[Attempt]) -> None:
    django = FakeDjango()
    app = HotPath(django)
    status, head, body = run(call(app, "GET", "/t/api/ping"))
    assert (status, body, head["cache-control"]) == (200, b"ok", "no-store, private")
    a = attempts[0]
    token = [("X-Attempt-Token", attempt_token(a.pk))]
    for method, path in [("GET", f"/t/api/attempts/{a.pk}/answers"),   # the server's copy
                         ("POST", f"/t/api/attempts/{a.pk}/submit"),
                         ("POST", f"/t/api/attempts/{a.pk}/answers/"),  # not the save URL: Django's 404
                         ("GET", "/t/api/health"), ("GET", "/t/")]:
        assert run(call(app, method, path, b"{}", token))[0] == 299
    assert django.paths == [f"/t/api/attempts/{a.pk}/answers", f"/t/api/attempts/{a.pk}/submit",
                            f"/t/api/attempts/{a.pk}/answers/", "/t/api/health", "/t/"]


def test_a_database_failure_is_503_for_the_whole_group_then_recovers(attempts: list[Attempt]) -> None:
    """Acknowledged only after commit: when the statement cannot run, no request of its group is acknowledged;
    the client retries (by sequence number the retry is harmless) and the next statement reconnects."""
    app = HotPath(FakeDjango(), connections_per_process=1)
    app.saver = GroupSaver({**conninfo(), "port": 1, "connect_timeout": 2}, connections=1)
    a, b = attempts[:2]

    async def go() -> list[Any]:
        return await asyncio.gather(save(app, a.pk, [{"item": "M01", "value": "A", "seq": 1}]),
                                    save(app, b.pk, [{"item": "M01", "value": "B", "seq": 1}]))

    failed = run(go())
    assert [(s, json.loads(body)) for s, _h, body in failed] == [(503, {"error": "unavailable"})] * 2
    assert stored(a) == {} and stored(b) == {}
    app.saver.conninfo = conninfo()  # the database is back
    assert [s for s, _h, _b in run(gather_with(app, [save(app, a.pk, [{"item": "M01", "value": "A", "seq": 1}])]))
            ] == [200]
    assert stored(a) == {"M01": ("A", 1)}


def test_an_unexpected_failure_answers_every_request_of_the_group(attempts: list[Attempt],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """No request may be left waiting forever: whatever goes wrong inside a group, each of its requests is answered
    (503: not acknowledged, the client retries), and the next group works."""
    app = HotPath(FakeDjango(), connections_per_process=1)
    a, b = attempts[:2]
    real_write = GroupSaver._write

    async def broken(self: GroupSaver, conn: Any, group: Any) -> Any:
        raise RuntimeError("a bug, not a database error")

    monkeypatch.setattr(GroupSaver, "_write", broken)

    async def go() -> list[Any]:
        return await asyncio.wait_for(asyncio.gather(save(app, a.pk, [{"item": "M01", "value": "A", "seq": 1}]),
                                                     save(app, b.pk, [{"item": "M01", "value": "B", "seq": 1}])), 10)

    failed = run(go())
    assert [(s, json.loads(body)) for s, _h, body in failed] == [(503, {"error": "unavailable"})] * 2
    monkeypatch.setattr(GroupSaver, "_write", real_write)
    ok = run(gather_with(app, [save(app, a.pk, [{"item": "M01", "value": "A", "seq": 1}])]))
    assert [s for s, _h, _b in ok] == [200]
    assert stored(a) == {"M01": ("A", 1)} and stored(b) == {}


def test_submit_wins_any_race_with_a_grouped_save(attempts: list[Attempt]) -> None:
    """Either the grouped save's answer is in the submitted attempt, or the save was refused with 409 — never
    acknowledged and lost. The save and the submit start together, in both orders."""
    outcomes = []
    for n, att in enumerate(attempts):
        app = HotPath(FakeDjango(), connections_per_process=1)
        barrier = threading.Barrier(2)
        box: dict[str, Any] = {}

        def submit(attempt_id: int = att.pk, wait: threading.Barrier = barrier, out: dict[str, Any] = box) -> None:
            try:
                wait.wait()
                out["submitted"] = hotpath.submit(attempt_id, [{"item": "M03", "value": "36", "seq": 1}])
            finally:
                connections.close_all()

        thread = threading.Thread(target=submit)
        thread.start()

        async def grouped(hot: HotPath = app, attempt_id: int = att.pk, wait: threading.Barrier = barrier,
                          delay: bool = bool(n % 2)) -> Any:
            wait.wait()
            if delay:
                await asyncio.sleep(0.005)
            return await gather_with(hot, [save(hot, attempt_id, [{"item": "M01", "value": "B", "seq": 7}])])

        [(status, _h, body)] = run(grouped())
        thread.join(timeout=30)
        assert "submitted" in box
        att.refresh_from_db()
        assert att.status == AttemptStatus.SUBMITTED
        if status == 200:
            assert stored(att)["M01"] == ("B", 7), "an acknowledged save must be part of the submitted attempt"
            outcomes.append("saved")
        else:
            assert (status, json.loads(body)) == (409, {"error": "submitted"})
            assert "M01" not in stored(att)
            outcomes.append("refused")
        assert stored(att)["M03"] == ("36", 1)
    assert len(outcomes) == len(attempts)
