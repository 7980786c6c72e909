"""Sitting a test through the production server (issue 4, "How it will be checked": "Sitting a test in a browser as
a student would, with the network cut and restored").

The other browser tests use Django's live server, where saves go through the Django view. Here the page is served
by `naeq serve` itself — uvicorn, with the answer saves answered by the group-commit hot path (naeq.web.hotapi) —
against the test database, so the browser client is proven against the path that carries the load in production.
PostgreSQL only (on SQLite `naeq serve` hands every request to Django, which the live-server tests cover).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from naeq.delivery.attempts import attempt_start
from naeq.delivery.models import Answer, Attempt
from tests.delivery.factories import make_instrument, make_session, make_taker
from tests.web.browser import BROWSER_MARKS

pytestmark = BROWSER_MARKS
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    if connection.vendor != "postgresql":
        pytest.skip("the group-commit hot path is served on PostgreSQL")
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    if db.get("PASSWORD"):
        url = url.replace("@", f":{db['PASSWORD']}@", 1)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, DATABASE_URL=url, NAEQ_SECRET_KEY=settings.SECRET_KEY, NAEQ_DATA_DIR=str(tmp_path),
               NAEQ_ALLOWED_HOSTS="127.0.0.1")
    env.pop("NAEQ_DEBUG", None)
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "naeq.cli", "serve", "--bind", f"127.0.0.1:{port}",
                                 "--workers", "1", "--threads", "2"], env=env, cwd=ROOT, stdout=out, stderr=out,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + 40
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/t/api/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"naeq serve did not come up:\n{log.read_text()[-3000:]}") from None
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=25)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def stored(attempt: Attempt) -> dict[str, Any]:
    return {a.item: json.loads(a.value) for a in Answer.objects.filter(attempt_id=attempt.pk)}


def item(page: Any, code: str) -> Any:
    return page.locator(f'[data-item="{code}"]')


def test_a_test_sat_through_naeq_serve_survives_a_network_cut(browser: Any, server: str, cycle: Any) -> None:
    from tests.personas import build_world

    world = build_world()
    school = world.schools["A1a-1"]
    make_instrument(cycle, "math")
    session = make_session(cycle, school, instruments=["math"])
    attempt = attempt_start(taker=make_taker(cycle, school, "S0801"), session=session, instrument_code="math")
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store["naeq_taker"] = {"taker_id": attempt.test_taker_id, "session_id": attempt.session_id}
    store.save()
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    ctx.set_default_timeout(20_000)
    ctx.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": store.session_key, "url": server}])
    saves: list[tuple[int, dict[str, str]]] = []
    page = ctx.new_page()
    page.on("response", lambda r: saves.append((r.status, r.headers)) if r.url.endswith("/answers")
            and r.request.method == "POST" else None)
    try:
        page.goto(f"{server}/t/attempt/{attempt.pk}/")
        item(page, "M01").locator('label:has-text("7")').click()
        page.locator('#take-status[data-state="saved"]').wait_for()
        assert item(page, "M01").locator(".item-state").inner_text() == "已保存"
        assert stored(attempt)["M01"] == "B"   # option "7" is B in the factory's item

        # The network is cut: answers stay on the computer, the page says so, the server has nothing new.
        ctx.set_offline(True)
        page.click("#take-next")
        item(page, "M02").locator('label:has-text("2")').click()
        item(page, "M02").locator('label:has-text("4")').click()
        page.locator('#take-status[data-state="offline"]').wait_for()
        page.wait_for_timeout(1500)
        assert "M02" not in stored(attempt)

        # Restored: the client retries and the server acknowledges after commit.
        ctx.set_offline(False)
        page.locator('#take-status[data-state="saved"]').wait_for()
        assert stored(attempt)["M02"] == ["A", "C"]
        assert item(page, "M02").locator(".item-state").inner_text() == "已保存"
    finally:
        ctx.close()
    # The saves were answered by the hot path, not by Django (whose locale middleware adds Content-Language).
    assert saves and all(status == 200 for status, _h in saves)
    assert all("content-language" not in headers for _s, headers in saves)
