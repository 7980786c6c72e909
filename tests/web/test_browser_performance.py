"""Listening and recorded tasks in a real browser (issue 9: "A singing task and an oral English task recorded in
the real browser with a fake microphone stream …, the network cut during upload and restored; a listening item
that refuses a third play").

Chromium gets a fake microphone that plays a WAV made here (``--use-fake-device-for-media-stream
--use-file-for-fake-audio-capture``) and grants the permission without a prompt. Run with ``pytest -m browser``.
Screenshots go to /tmp/shots/perf/.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from naeq.delivery.attempts import attempt_start
from naeq.delivery.media import media_store
from naeq.delivery.models import Attempt
from naeq.performance.models import HeadsetCheck, PlayCount, Recording, RecordingStatus
from naeq.performance.storage import RECORDINGS, WEBM_MAGIC
from tests.delivery.factories import make_session, make_taker
from tests.performance.world import make_perf_instrument, sine_wav
from tests.web.browser import ARGS, BROWSER_MARKS, CHROMIUM

pytestmark = BROWSER_MARKS

CHUNK = 4096  # small chunks, so that even a few seconds of Opus take several requests


@pytest.fixture(scope="module")
def mic_browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    import os

    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    wav = tmp_path_factory.mktemp("mic") / "voice.wav"
    wav.write_bytes(sine_wav(4.0, freq=330.0))
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            *ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={wav}", "--autoplay-policy=no-user-gesture-required"])
        yield b
        b.close()


@pytest.fixture
def new_context(mic_browser: Any, live_server: Any) -> Iterator[Callable[[Attempt], Any]]:
    contexts = []

    def make(attempt: Attempt) -> Any:
        store = import_module(settings.SESSION_ENGINE).SessionStore()
        store["naeq_taker"] = {"taker_id": attempt.test_taker_id, "session_id": attempt.session_id}
        store.save()
        ctx = mic_browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        ctx.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": store.session_key,
                          "url": live_server.url}])
        ctx.add_init_script(f"window.NAEQ_PERF_CHUNK = {CHUNK};")
        ctx.set_default_timeout(30_000)
        contexts.append(ctx)
        return ctx

    yield make
    for ctx in contexts:
        ctx.close()


def until(page: Any, check: Callable[[], bool], what: str, tries: int = 150) -> None:
    """Poll ``check`` (a database read from the test thread) until it holds. On SQLite the live server's thread
    may hold a table lock of the shared in-memory test database at that moment: that read is retried."""
    from django.db import OperationalError

    for _ in range(tries):
        try:
            if check():
                return
        except OperationalError as exc:
            if "locked" not in str(exc):
                raise
        page.wait_for_timeout(200)
    raise AssertionError(f"never happened: {what}")


def cut_chunks(page: Any) -> dict[str, Any]:
    """Every upload chunk after the first fails as if the network were down, while ``cut["on"]``; ``cut["aborted"]``
    counts the chunks refused."""
    cut = {"on": True, "aborted": 0}

    def chunks(route: Any) -> None:
        if cut["on"] and "offset=0" not in route.request.url:
            cut["aborted"] += 1
            route.abort("internetdisconnected")
        else:
            route.continue_()

    page.route("**/chunk?offset=*", chunks)
    return cut


def local_recordings(page: Any) -> int:
    """How many recordings the page's IndexedDB holds (kept until the server acknowledged them)."""
    return int(page.evaluate("""() => new Promise(resolve => {
        const open = indexedDB.open("naeq-performance", 1);
        open.onupgradeneeded = () => open.result.createObjectStore("recordings", {keyPath: "key"});
        open.onsuccess = () => {
            const req = open.result.transaction("recordings").objectStore("recordings").count();
            req.onsuccess = () => { resolve(req.result); open.result.close(); };
        };
    })"""))


def check_stored(rec: Recording, seconds: int) -> None:
    data = RECORDINGS.read(rec.attempt_id, rec.item, rec.take)
    assert data is not None and len(data) == rec.size
    assert hashlib.sha256(data).hexdigest() == rec.sha256
    assert data.startswith(WEBM_MAGIC) and b"webm" in data[:64] and b"A_OPUS" in data[:400]  # WebM with Opus
    assert rec.mime == "audio/webm;codecs=opus"
    assert abs(rec.duration_ms - seconds * 1000) < 1500
    assert rec.size > CHUNK  # it took more than one chunk


def test_listening_limits_headset_and_recordings_through_network_cut_and_reload(
        new_context: Any, live_server: Any, cycle: Any, world: Any, settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path
    shots = Path("/tmp/shots/perf")  # noqa: S108 — PNGs to look at
    shots.mkdir(parents=True, exist_ok=True)
    school = world.schools["A1a-1"]
    inst = make_perf_instrument(cycle)
    media_store(inst, "dialogue.wav", sine_wav(0.6, freq=523.0))
    media_store(inst, "beat.wav", sine_wav(0.4, freq=392.0))
    session = make_session(cycle, school, instruments=["english"], title="学生英语测试")
    attempt = attempt_start(taker=make_taker(cycle, school, "S0801"), session=session, instrument_code="english")
    url = f"{live_server.url}/t/attempt/{attempt.pk}/"

    ctx = new_context(attempt)
    page = ctx.new_page()
    page.goto(url)
    # Every audio is preloaded before the test starts; then the headset check.
    page.locator('#perf-gate[data-preloaded="true"]').wait_for(state="attached")
    assert page.locator("#perf-progress").evaluate("p => p.value") == 2
    page.locator("#perf-headset").wait_for()
    assert page.locator("#perf-heard").is_disabled()
    page.screenshot(path=str(shots / "headset.png"))
    page.click("#perf-tone")
    page.click("#perf-heard")
    page.locator('body[data-perf-ready="true"]').wait_for(state="attached")
    assert page.locator("#perf-gate").is_hidden()
    until(page, lambda: HeadsetCheck.objects.filter(attempt=attempt, heard=True).exists(), "headset recorded")
    assert not PlayCount.objects.exists()  # preloading is not playing

    # The stimulus audio plays twice, then the button is disabled; the server refuses a third play.
    sel = '[data-perf-audio="stimulus:U1:dialogue.wav"]'
    dialogue = page.locator(sel)
    assert dialogue.locator(".perf-count").inner_text() == "已播放 0 / 2 次"
    for n in (1, 2):
        page.wait_for_function(f"() => !document.querySelector('{sel} button').disabled")
        dialogue.locator("button").click()
        dialogue.locator(f'.perf-count:text-is("已播放 {n} / 2 次")').wait_for()
    page.locator(f'{sel}[data-exhausted="true"]').wait_for()
    assert dialogue.locator("button").is_disabled()
    # A client that tries anyway (the button forced back on) is refused by the server, in Chinese.
    page.evaluate(f"() => {{ const b = document.querySelector('{sel} button'); b.disabled = false; b.click(); }}")
    dialogue.locator('.perf-msg:has-text("最多只能播放 2 次")').wait_for()
    assert dialogue.locator("button").is_disabled()
    assert PlayCount.objects.get(attempt=attempt, owner="U1").plays == 2
    beat = page.locator('[data-perf-audio="item:L02:beat.wav"]')
    beat.locator("button").click()
    beat.locator('.perf-count:text-is("已播放 1 / 1 次")').wait_for()
    page.screenshot(path=str(shots / "listening.png"), full_page=True)
    # A reload keeps the counts (the server's), and the headset check is not asked again.
    page.reload()
    page.locator('body[data-perf-ready="true"]').wait_for(state="attached")
    page.locator(f'{sel} .perf-count:text-is("已播放 2 / 2 次")').wait_for()
    assert page.locator(f"{sel} button").is_disabled()

    # The oral English task: microphone, level meter, a test recording played back.
    page.click("#take-next")
    rec = page.locator('[data-perf-rec="E01"]')
    rec.locator(".perf-mic").click()
    page.wait_for_function("() => Number(document.querySelector('[data-perf-rec=\"E01\"] .perf-meter')"
                           ".getAttribute('data-level')) > 5")
    rec.locator(".perf-test").click()
    rec.locator('.perf-test-audio[data-ready="true"]').wait_for(state="attached", timeout=15_000)
    played = page.evaluate("""() => new Promise(resolve => {
        const a = document.querySelector('[data-perf-rec="E01"] .perf-test-audio');
        a.play().then(() => setTimeout(() => resolve(a.currentTime), 700), () => resolve(-1));
    })""")
    assert played > 0
    page.screenshot(path=str(shots / "recorder.png"), full_page=True)

    # The real take, with the network cut in the middle of its upload.
    cut = cut_chunks(page)
    rec.locator(".perf-record").click()
    rec.locator(".perf-clock:has-text('秒后开始录音')").wait_for()
    until(page, lambda: cut["aborted"] > 0, "the second chunk cut", tries=300)
    ctx.set_offline(True)
    cut["on"] = False
    row = Recording.objects.get(attempt=attempt, item="E01")
    assert (row.status, row.received) == (RecordingStatus.UPLOADING, CHUNK)
    rec.locator('.perf-status[data-state="retrying"]').wait_for()
    assert "保存在本机" in rec.locator(".perf-status").inner_text()
    assert local_recordings(page) == 1
    page.click("#take-submit")  # held while the take is on its way
    page.locator('#take-alert:has-text("录音还在上传")').wait_for()
    assert page.locator("#take-dialog").is_hidden()
    page.wait_for_timeout(1500)
    assert Recording.objects.get(pk=row.pk).status == RecordingStatus.UPLOADING
    ctx.set_offline(False)
    rec.locator('.perf-status[data-state="done"]').wait_for()
    row.refresh_from_db()
    assert row.status == RecordingStatus.COMPLETE and row.take == 1
    assert rec.get_attribute("data-sha256") == row.sha256
    check_stored(row, 6)
    assert local_recordings(page) == 0
    assert rec.locator(".perf-record").is_disabled()  # one take; another needs the proctor

    # The singing task, with the page reloaded while its upload is cut: it resumes from local storage.
    page.click("#take-next")
    sing = page.locator('[data-perf-rec="S01"]')
    assert sing.locator(".perf-mic").is_hidden()  # the microphone is already open on this page
    cut["on"], cut["aborted"] = True, 0
    sing.locator(".perf-record").click()
    until(page, lambda: cut["aborted"] > 0, "the singing upload cut", tries=300)
    held = Recording.objects.get(attempt=attempt, item="S01")
    assert held.status == RecordingStatus.UPLOADING and 0 < held.received < held.size
    assert local_recordings(page) == 1
    cut["on"] = False
    page.reload()
    page.locator('body[data-perf-resumed="1"]').wait_for(state="attached")
    until(page, lambda: Recording.objects.get(pk=held.pk).status == RecordingStatus.COMPLETE, "singing complete")
    held.refresh_from_db()
    check_stored(held, 5)
    until(page, lambda: local_recordings(page) == 0, "local copy dropped after the acknowledgement")
    assert Recording.objects.filter(attempt=attempt).count() == 2
    page.locator('body[data-perf-ready="true"]').wait_for(state="attached")
    page.locator('[data-perf-rec="S01"] .perf-status[data-state="done"]').wait_for()
    page.screenshot(path=str(shots / "singing-done.png"), full_page=True)


def test_microphone_refused_gives_a_clear_chinese_message(new_context: Any, live_server: Any, cycle: Any,
                                                          world: Any, settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path
    school = world.schools["A1a-1"]
    make_perf_instrument(cycle)
    session = make_session(cycle, school, instruments=["english"], title="学生英语测试")
    attempt = attempt_start(taker=make_taker(cycle, school, "S0802"), session=session, instrument_code="english")
    ctx = new_context(attempt)
    # The student clicked "block" in the browser's prompt.
    ctx.add_init_script("navigator.mediaDevices.getUserMedia = () => "
                        "Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));")
    page = ctx.new_page()
    page.goto(f"{live_server.url}/t/attempt/{attempt.pk}/")
    # The audio files are missing here: the preload keeps retrying, the room is not let in half-loaded.
    page.locator(".perf-preload-text:has-text('正在重试')").wait_for()
    assert page.locator("#perf-headset").is_hidden()
    media_store(attempt.instrument, "dialogue.wav", sine_wav(0.3))
    media_store(attempt.instrument, "beat.wav", sine_wav(0.3))
    page.locator("#perf-headset").wait_for(timeout=40_000)
    page.click("#perf-tone")
    page.click("#perf-not-heard")
    page.locator("#perf-headset-help:has-text('监考老师')").wait_for()
    until(page, lambda: HeadsetCheck.objects.filter(attempt=attempt, heard=False).exists(), "not heard recorded")
    page.click("#perf-heard")
    page.locator('body[data-perf-ready="true"]').wait_for(state="attached")
    page.click("#take-next")
    rec = page.locator('[data-perf-rec="E01"]')
    rec.locator(".perf-mic").click()
    rec.locator('.perf-status[data-state="denied"]:has-text("无法使用麦克风")').wait_for()
    assert rec.locator(".perf-record").is_hidden()
    assert not Recording.objects.exists()
