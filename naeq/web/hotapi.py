"""The served application: the answer-save hot path as a thin ASGI handler in front of Django.

``POST /t/api/attempts/<id>/answers`` (save a batch) and ``GET /t/api/ping`` (the trivial view) are answered here
on PostgreSQL, without Django's request machinery: the attempt token header is checked (HMAC, no database read),
the body is parsed and validated by the same functions as the Django view (``hotpath.parse_body`` and
``clean_batch``), and the batch goes to the process's :class:`~naeq.delivery.groupsave.GroupSaver`, which
acknowledges only after commit. Everything else — pages, the server's copy, submit, and every request on SQLite
(the embedded default, where writes are serialised anyway) — goes to Django's ASGI handler unchanged.

The responses are the Django view's: the same JSON, status codes, ``Cache-Control: no-store`` and the security
headers Django's middleware would add.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django.conf import settings
from django.db import connections

from naeq.delivery import hotpath
from naeq.delivery.groupsave import GroupSaver
from naeq.delivery.tokens import attempt_from_token

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SAVE_PATH = re.compile(r"/t/api/attempts/([0-9]{1,18})/answers\Z")
PING_PATH = "/t/api/ping"

_JSON_HEADERS = [
    (b"content-type", b"application/json"),
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]
_PING_HEADERS = [(b"content-type", b"text/plain"), (b"cache-control", b"no-store, private"), (b"pragma", b"no-cache"),
                 (b"expires", b"0"), *_JSON_HEADERS[2:]]


def conninfo() -> dict[str, Any]:
    """psycopg keyword arguments for the default database (Django's own connection parameters)."""
    params = dict(connections["default"].get_connection_params())
    for key in ("cursor_factory", "context", "prepare_threshold", "server_side_binding", "pool"):
        params.pop(key, None)
    if "database" in params:
        params["dbname"] = params.pop("database")
    return params


class HotPath:
    """The ASGI application: the hot path here, everything else to ``django_app``."""

    def __init__(self, django_app: ASGIApp, *, connections_per_process: int = 2) -> None:
        self.django_app = django_app
        self.enabled = connections["default"].vendor == "postgresql"
        self.connections_per_process = connections_per_process
        self.saver: GroupSaver | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.enabled:
            path = scope["path"]
            if path == PING_PATH and scope["method"] in ("GET", "HEAD"):
                await _respond(send, 200, b"ok", _PING_HEADERS)
                return
            if scope["method"] == "POST":
                match = SAVE_PATH.match(path)
                if match:
                    await self.save(scope, receive, send, int(match.group(1)))
                    return
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
            return
        await self.django_app(scope, receive, send)

    async def lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.saver is not None:
                    await self.saver.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def save(self, scope: Scope, receive: Receive, send: Send, attempt_id: int) -> None:
        token = _header(scope, b"x-attempt-token")
        if not token or attempt_from_token(token) != attempt_id:
            await _json(send, 401, {"error": "unauthorised"})
            return
        body = await _body(receive, hotpath.MAX_BODY_BYTES)
        try:
            if body is None:
                raise hotpath.bad(f"body larger than {hotpath.MAX_BODY_BYTES} bytes")
            rows = hotpath.clean_batch(hotpath.parse_body(body))
            if self.saver is None:
                self.saver = GroupSaver(conninfo(), connections=self.connections_per_process)
            await self.saver.save(attempt_id, rows)
        except hotpath.Refused as refused:
            await _json(send, refused.status, {"error": refused.reason})
            return
        await _json(send, 200, {"ok": True, "acked": [[item, seq] for item, _text, seq in rows]})


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return ""


async def _body(receive: Receive, limit: int) -> bytes | None:
    """The request body, or None when it is longer than ``limit`` (the rest is drained, not kept)."""
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks) if size <= limit else None


async def _respond(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _json(send: Send, status: int, data: dict[str, Any]) -> None:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    await _respond(send, status, body, _JSON_HEADERS)


def application_for(django_app: ASGIApp) -> HotPath:
    """The served application (``naeq.asgi``): the hot path in front of ``django_app``."""
    return HotPath(django_app, connections_per_process=settings.NAEQ_SAVE_CONNECTIONS)
