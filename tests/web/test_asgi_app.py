"""`naeq serve`'s application (naeq.asgi): the hot path in front of Django, Django on a fixed thread pool."""

from __future__ import annotations

import asyncio
from typing import Any

from django.db import connection

from naeq.asgi import application


async def _get(path: str) -> tuple[int, dict[str, str], bytes]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"127.0.0.1")], "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000)}
    await application(scope, receive, send)
    head = {k.decode().lower(): v.decode() for k, v in sent[0]["headers"]}
    return sent[0]["status"], head, b"".join(m.get("body", b"") for m in sent[1:])


def test_the_hot_path_is_engaged_only_on_postgresql() -> None:
    assert application.enabled == (connection.vendor == "postgresql")


def test_django_answers_behind_it_with_its_headers() -> None:
    status, head, body = asyncio.run(_get("/t/api/health"))
    assert (status, body) == (200, b"ok")
    assert head["cache-control"] == "no-store, private"
    assert head["x-content-type-options"] == "nosniff"   # Django's security middleware ran


def test_ping_answers_the_same_on_either_database() -> None:
    status, head, body = asyncio.run(_get("/t/api/ping"))
    assert (status, body) == (200, b"ok")
    assert head["cache-control"] == "no-store, private"
    assert head["x-content-type-options"] == "nosniff"


def test_an_unknown_path_is_djangos_404() -> None:
    status, _head, _body = asyncio.run(_get("/t/api/nothing-here"))
    assert status == 404
