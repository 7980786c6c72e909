"""A rater listens to a recorded oral English answer in a real browser (Chromium through Playwright) and scores
it: the <audio> player loads the recording from the rater-only audio view (metadata read, a duration above 0),
the rubric is beside it, nothing on the page names the student or school, and the score lands. Run with
``pytest -m browser``; screenshots in /tmp/shots/audiomark/."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from naeq.core.audit import AuditEvent
from naeq.marking import recordings, services
from naeq.marking.models import Assignment, AssignmentStatus, MarkResponse
from tests.marking.audio_world import add_audio_raters, build_audio_world
from tests.web.browser import BROWSER_MARKS

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
pytestmark = BROWSER_MARKS
SHOTS = Path("/tmp/shots/audiomark")  # noqa: S108 — PNGs to look at


def test_rater_plays_a_recording_and_scores_it(browser: Any, live_server: Any, world: Any, cycle: Any,
                                               settings: Any, tmp_path: Any) -> None:
    settings.DATA_DIR = tmp_path
    aw = build_audio_world(world, cycle, n=2)
    recordings.recordings_collect(actor=aw.admin, cycle=cycle)
    (rater,) = add_audio_raters(aw, ("rater_p",))
    services.assign(actor=aw.admin, cycle=cycle, instrument_code="english", item_code="E01", seed=2)
    SHOTS.mkdir(parents=True, exist_ok=True)
    base = live_server.url
    page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{base}/login/")
    page.fill("#id_username", "rater_p")
    page.fill("#id_password", "rater-pass-2026")
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/marking/queue/")
    code = page.inner_text("#response-code")
    assert MarkResponse.objects.get(code=code).recording is not None
    page.wait_for_function("() => { const a = document.querySelector('#response-audio');"
                           " return a && a.readyState >= 1 && a.duration > 0; }")
    duration = page.evaluate("() => document.querySelector('#response-audio').duration")
    assert 0.9 < duration < 1.1  # the one-second fixture take
    assert page.evaluate("() => document.querySelector('#response-audio').error") is None
    src = page.get_attribute("#response-audio", "src")
    assert src == f"/marking/responses/{code}/audio"
    # play it (muted in headless Chromium) and let it advance
    page.evaluate("() => { const a = document.querySelector('#response-audio'); a.muted = true; return a.play(); }")
    page.wait_for_function("() => document.querySelector('#response-audio').currentTime > 0")
    text = page.inner_text("main") if page.locator("main").count() else page.inner_text("body")
    assert "表达流畅准确" in text
    for secret in [t.code for t in aw.takers] + [aw.world.schools["A1a-1"].name]:
        assert secret not in page.content()
    page.screenshot(path=str(SHOTS / "rater-audio.png"), full_page=True)
    assert AuditEvent.objects.filter(action="marking.audio", actor=rater).exists()
    page.click("#score-form button[name=score][value='3']")
    page.wait_for_function(
        "code => document.querySelector('#empty') || "
        "(document.querySelector('#response-code') && document.querySelector('#response-code').innerText !== code)",
        arg=code)
    a = Assignment.objects.get(response__code=code, rater=rater)
    assert (a.status, a.score) == (AssignmentStatus.SCORED, 3)
    page.screenshot(path=str(SHOTS / "rater-after-score.png"), full_page=True)
