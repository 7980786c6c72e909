"""The end of a test with recorded tasks, in a real browser (issue 9, item 2: recordings "kept locally until
acknowledged"; docs/performance.md, "The test client"):

* the timer's automatic submission waits while a take is still uploading (录音还在上传…) and submits as soon as
  the upload is complete;
* after a bounded wait it submits anyway: the take stays in IndexedDB and keeps uploading on the finished view,
  and the finished page (after a reload) uploads it too, with its line 录音上传中 / 录音已全部上传.

Chromium with a fake microphone, as in test_browser_performance.py. Run with ``pytest -m browser``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from naeq.delivery.attempts import attempt_start
from naeq.delivery.media import media_store
from naeq.delivery.models import Attempt, AttemptStatus
from naeq.performance.models import Recording, RecordingStatus
from tests.delivery.factories import make_session, make_taker
from tests.performance.world import make_perf_instrument, sine_wav
from tests.web.browser import BROWSER_MARKS
from tests.web.test_browser_performance import cut_chunks, local_recordings, mic_browser, new_context, until

pytestmark = BROWSER_MARKS
__all__ = ["mic_browser", "new_context"]  # fixtures shared with the other performance browser test


@pytest.fixture
def attempt(cycle: Any, world: Any, settings: Any, tmp_path: Path) -> Attempt:
    settings.DATA_DIR = tmp_path
    school = world.schools["A1a-1"]
    inst = make_perf_instrument(cycle)
    media_store(inst, "dialogue.wav", sine_wav(0.3, freq=523.0))
    media_store(inst, "beat.wav", sine_wav(0.3, freq=392.0))
    session = make_session(cycle, school, instruments=["english"], title="学生英语测试")
    return attempt_start(taker=make_taker(cycle, school, "S0811"), session=session, instrument_code="english")


def _record_cut_take(page: Any, attempt: Attempt, url: str) -> tuple[dict[str, Any], Recording]:
    """Open the test, pass the headset check, record E01 (6 s) with its upload cut after the first chunk."""
    page.goto(url)
    page.locator("#perf-headset").wait_for()
    page.click("#perf-tone")
    page.click("#perf-heard")
    page.locator('body[data-perf-ready="true"]').wait_for(state="attached")
    page.click("#take-next")
    rec = page.locator('[data-perf-rec="E01"]')
    rec.locator(".perf-mic").click()
    cut = cut_chunks(page)
    rec.locator(".perf-record").click()
    until(page, lambda: cut["aborted"] > 0, "the upload cut", tries=300)
    rec.locator('.perf-status[data-state="retrying"]').wait_for()
    assert local_recordings(page) == 1
    return cut, Recording.objects.get(attempt=attempt, item="E01")


def _time_nearly_up(page: Any, attempt: Attempt, seconds: int) -> None:
    """Move the attempt's start back so that ``seconds`` of its 80 minutes are left (the page counts from the
    server's remaining time when it loads)."""
    from django.db import OperationalError

    started = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=80) + dt.timedelta(seconds=seconds)
    for _ in range(50):
        try:
            Attempt.objects.filter(pk=attempt.pk).update(started_at=started)
            return
        except OperationalError as exc:  # SQLite's shared in-memory test database, locked by the live server
            if "locked" not in str(exc):
                raise
            page.wait_for_timeout(200)
    raise AssertionError("could not move the attempt's start")


def test_time_up_waits_for_the_upload_then_submits(new_context: Any, live_server: Any, attempt: Attempt) -> None:
    shots = Path("/tmp/shots/perf")  # noqa: S108 — PNGs to look at
    shots.mkdir(parents=True, exist_ok=True)
    url = f"{live_server.url}/t/attempt/{attempt.pk}/"
    ctx = new_context(attempt)
    ctx.add_init_script("window.NAEQ_PERF_HOLD_MS = 120000;")  # far longer than this test waits
    page = ctx.new_page()
    cut, row = _record_cut_take(page, attempt, url)
    assert (row.status, row.received) == (RecordingStatus.UPLOADING, 4096)

    # Four seconds left; the reloaded page resumes the take from IndexedDB (still cut) and the time runs out.
    _time_nearly_up(page, attempt, 4)
    page.reload()
    page.locator('body[data-perf-hold="waiting"]').wait_for(state="attached", timeout=20_000)
    page.locator('#take-alert:has-text("录音还在上传")').wait_for()
    assert "作答时间已到" in page.locator("#take-alert").inner_text()
    assert page.locator("#take-main").get_attribute("inert") is not None  # no answering while it waits
    page.screenshot(path=str(shots / "time-up-waiting.png"))
    page.wait_for_timeout(2000)
    assert Attempt.objects.get(pk=attempt.pk).status == AttemptStatus.IN_PROGRESS  # not submitted yet
    assert Recording.objects.get(pk=row.pk).status == RecordingStatus.UPLOADING

    cut["on"] = False  # the network is back: the upload completes, then the submission follows at once
    page.locator('#take-finished:not([hidden])').wait_for(timeout=40_000)
    assert page.locator("body").get_attribute("data-perf-hold") == "uploaded"
    row.refresh_from_db()
    assert row.status == RecordingStatus.COMPLETE
    until(page, lambda: Attempt.objects.get(pk=attempt.pk).status == AttemptStatus.SUBMITTED, "submitted")
    line = page.locator("#perf-upload-line")
    line.locator('xpath=self::*[@data-state="done"]').wait_for()
    assert line.inner_text() == "录音已全部上传"
    assert local_recordings(page) == 0


def test_a_bounded_wait_submits_anyway_and_the_finished_page_uploads_the_take(
        new_context: Any, live_server: Any, attempt: Attempt) -> None:
    shots = Path("/tmp/shots/perf")  # noqa: S108 — PNGs to look at
    shots.mkdir(parents=True, exist_ok=True)
    url = f"{live_server.url}/t/attempt/{attempt.pk}/"
    ctx = new_context(attempt)
    ctx.add_init_script("window.NAEQ_PERF_HOLD_MS = 3000;")
    page = ctx.new_page()
    cut, row = _record_cut_take(page, attempt, url)

    _time_nearly_up(page, attempt, 3)
    page.reload()
    page.locator('body[data-perf-hold="waiting"]').wait_for(state="attached", timeout=20_000)
    # Three seconds later it submits anyway: the take is still in IndexedDB and still uploading.
    page.locator('body[data-perf-hold="timeout"]').wait_for(state="attached", timeout=20_000)
    until(page, lambda: Attempt.objects.get(pk=attempt.pk).status == AttemptStatus.SUBMITTED, "submitted")
    assert Recording.objects.get(pk=row.pk).status == RecordingStatus.UPLOADING
    line = page.locator("#perf-upload-line")
    line.locator('xpath=self::*[@data-state="uploading"]').wait_for()
    assert "录音上传中" in line.inner_text() and "1 段" in line.inner_text()
    assert local_recordings(page) == 1

    # The finished page (what a reload of a submitted attempt shows) runs the uploader too.
    page.reload()
    assert page.locator("#take-content").count() == 0  # the finished page, not the test
    line.locator('xpath=self::*[@data-state="uploading"]').wait_for()
    assert "录音上传中" in line.inner_text()
    page.screenshot(path=str(shots / "finished-uploading.png"))
    page.wait_for_timeout(1500)
    assert Recording.objects.get(pk=row.pk).status == RecordingStatus.UPLOADING
    cut["on"] = False
    line.locator('xpath=self::*[@data-state="done"]').wait_for(timeout=40_000)
    assert line.inner_text() == "录音已全部上传"
    row.refresh_from_db()
    assert row.status == RecordingStatus.COMPLETE and row.received == row.size
    assert local_recordings(page) == 0
    page.screenshot(path=str(shots / "finished-uploaded.png"))
