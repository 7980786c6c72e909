"""Issue 9's whole check in one walk through real browsers (Chromium through Playwright):

"A singing task and an oral English task recorded in the real browser with a fake microphone stream …, the
network cut during upload and restored, the recording played back by a rater; a listening item that refuses a
third play; a rater pair scoring the same recordings and the agreement they reach."

With the room of the seeds in between (collected-county-and-school-plans.txt, plan three: "演唱与口语测试室……配备
专用耳机（只测试5名学生）"): the proctor calls the first group, watches both recordings arrive (one of them through
a cut network), allows one re-record with a reason, and the student records again. Then the recordings are
collected into marking, two raters listen to the same recordings in their browsers and score them, and the
agreement page shows what their scores give. Besides the two students in the browser, three classmates' takes are
on the server as the upload leaves them (tests/marking/audio_world.py) and one classmate recorded nothing.

Run with ``pytest -m browser``; screenshots in /tmp/shots/room/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.test import Client
from django.utils import timezone

from naeq.delivery.attempts import attempt_start
from naeq.delivery.media import media_store
from naeq.delivery.models import Attempt, AttemptStatus, Item, Stimulus
from naeq.marking import recordings, selectors, services
from naeq.marking.models import Assignment, AssignmentStatus, MarkResponse
from naeq.performance.models import HeadsetCheck, PlayCount, Recording, RecordingStatus, RerecordPermit, RoomCall
from tests.delivery.factories import make_instrument, make_session, make_taker
from tests.marking.audio_world import POINTS_4, add_take
from tests.performance.world import PERF_ITEMS, sine_wav
from tests.web.browser import BROWSER_MARKS
from tests.web.test_browser_performance import (
    CHUNK,
    check_stored,
    cut_chunks,
    local_recordings,
    mic_browser,
    new_context,
    until,
)

__all__ = ["mic_browser", "new_context"]  # the fixtures of the recording browser test, shared
pytestmark = BROWSER_MARKS
SHOTS = Path("/tmp/shots/room")  # noqa: S108 — PNGs to look at

#: What each rater gives each student's recording (by test ID). E01: agree, adjacent, two apart; S01: agree twice.
SCORES = {"rater_p": {"S0801": 3, "S0803": 2, "S0805": 4, "S0802": 4, "S0804": 1},
          "rater_q": {"S0801": 3, "S0803": 3, "S0805": 2, "S0802": 4, "S0804": 1}}


def instrument(cycle: Any) -> Any:
    """The performance instrument of tests/performance/world.py with the singing task in a block of its own:
    booklet 1 is listening + oral English (E01), booklet 2 listening + singing (S01)."""
    items = [dict(spec, block="B3", screen=1) if spec["code"] == "S01" else dict(spec) for spec in PERF_ITEMS]
    inst = make_instrument(cycle, "english", items=items, booklets={1: ["B1", "B2"], 2: ["B1", "B3"]})
    stim = Stimulus.objects.create(instrument=inst, code="U1", title="听力材料",
                                   media=[{"kind": "audio", "file": "dialogue.wav"}])
    Item.objects.filter(instrument=inst, code="L01").update(stimulus=stim)
    media_store(inst, "dialogue.wav", sine_wav(0.6, freq=523.0))
    media_store(inst, "beat.wav", sine_wav(0.4, freq=392.0))
    return inst


def staff_context(browser: Any, live_server: Any, user: Any) -> Any:
    """A browser context signed in as ``user`` (Django's own session cookie, no login form)."""
    client = Client()
    client.force_login(user)
    ctx = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="zh-CN")
    name = settings.SESSION_COOKIE_NAME
    ctx.add_cookies([{"name": name, "value": client.cookies[name].value, "url": live_server.url}])
    ctx.set_default_timeout(30_000)
    return ctx


def task(page: Any, taker: str, item: str, state: str = "") -> Any:
    """A recorded task's line on the room screen (``state``: more attribute selectors, e.g. its state)."""
    return page.locator(f'#room-groups tr[data-taker="{taker}"] li[data-task="{item}"]{state}')


def gate(page: Any) -> None:
    """Preload, headset check: the student hears the tone."""
    page.locator('#perf-gate[data-preloaded="true"]').wait_for(state="attached")
    page.locator("#perf-headset").wait_for()
    page.click("#perf-tone")
    page.click("#perf-heard")
    page.locator('body[data-perf-ready="true"]').wait_for(state="attached")


def submit(page: Any, attempt: Attempt) -> None:
    page.click("#take-submit")
    page.locator("#take-dialog").wait_for(state="visible")
    page.click("#take-confirm")
    page.locator("#take-finished").wait_for(state="visible")
    until(page, lambda: Attempt.objects.get(pk=attempt.pk).status == AttemptStatus.SUBMITTED, "submitted")


def qwk(a: list[int], b: list[int], k: int) -> float:
    """Quadratic-weighted kappa from its definition, independently of naeq.engines.agreement."""
    n = len(a)
    obs = sum((x - y) ** 2 for x, y in zip(a, b, strict=True)) / n
    pa = [a.count(s) / n for s in range(k + 1)]
    pb = [b.count(s) / n for s in range(k + 1)]
    exp = sum(pa[i] * pb[j] * (i - j) ** 2 for i in range(k + 1) for j in range(k + 1))
    return 1 - obs / exp


def rate_in_browser(browser: Any, live_server: Any, rater: Any, secrets: list[str]) -> int:
    """The rater works through the own queue: each recording loads in the <audio> player and plays, then the
    score of :data:`SCORES` is clicked. Returns how many were scored."""
    ctx = staff_context(browser, live_server, rater)
    page = ctx.new_page()
    page.goto(f"{live_server.url}/marking/queue/")
    scored = 0
    while page.locator("#response-code").count():
        code = page.inner_text("#response-code")
        response = MarkResponse.objects.select_related("test_taker", "recording").get(code=code)
        assert response.recording is not None
        page.wait_for_function("() => { const a = document.querySelector('#response-audio');"
                               " return a && a.readyState >= 1 && a.duration > 0 && !a.error; }")
        page.evaluate("() => { const a = document.querySelector('#response-audio'); a.muted = true; a.play(); }")
        page.wait_for_function("() => document.querySelector('#response-audio').currentTime > 0")
        html = page.content()
        for secret in secrets:
            assert secret not in html, secret
        if scored == 0:
            page.screenshot(path=str(SHOTS / f"{rater.username}-listening.png"), full_page=True)
        score = SCORES[rater.username][response.test_taker.code]
        page.click(f"#score-form button[name=score][value='{score}']")
        page.wait_for_function(
            "code => document.querySelector('#empty') || (document.querySelector('#response-code') &&"
            " document.querySelector('#response-code').innerText !== code)", arg=code)
        a = Assignment.objects.get(response=response, rater=rater)
        assert (a.status, a.score) == (AssignmentStatus.SCORED, score)
        scored += 1
    page.locator("#empty").wait_for()
    ctx.close()
    return scored


def test_issue_9_walkthrough(mic_browser: Any, new_context: Any, live_server: Any, cycle: Any, world: Any,
                             settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path
    SHOTS.mkdir(parents=True, exist_ok=True)
    school = world.schools["A1a-1"]
    inst = instrument(cycle)
    session = make_session(cycle, school, instruments=["english"], title="学生英语测试")
    oral = attempt_start(taker=make_taker(cycle, school, "S0801", booklets={"english": 1}), session=session,
                         instrument_code="english")
    singing = attempt_start(taker=make_taker(cycle, school, "S0802", booklets={"english": 2}), session=session,
                            instrument_code="english")
    # Classmates: three whose takes are on the server already, one who recorded nothing.
    now = timezone.now()
    classmates = {}
    for code, booklet, item in (("S0803", 1, "E01"), ("S0804", 2, "S01"), ("S0805", 1, "E01"),
                                ("S0806", 2, None)):
        taker = make_taker(cycle, school, code, booklets={"english": booklet})
        att = Attempt.objects.create(session=session, test_taker=taker, instrument=inst, booklet=booklet,
                                     status=AttemptStatus.SUBMITTED, submitted_at=now)
        if item:
            add_take(att, item, freq=300.0 + 40 * booklet)
        classmates[code] = att
    base = live_server.url
    room_url = f"{base}/sessions/{session.pk}/performance/room/"

    # ---- The proctor opens the room from the session page and calls the first group (five, as the seeds).
    proctor_ctx = staff_context(mic_browser, live_server, world.users["chief_proctor@A"])
    room = proctor_ctx.new_page()
    room.goto(f"{base}/sessions/{session.pk}/")
    room.click("#session-performance a:text-is('演唱与口语测试室')")
    room.wait_for_url(room_url)
    assert room.locator("#room-now h2").inner_text() == "尚未叫组"
    assert room.locator("#room-group-size").input_value() == "5"
    room.click("#room-call-next")
    room.locator(".msg-success:has-text('已叫第 1 组：S0801、S0802、S0803、S0804、S0805。')").wait_for()
    assert room.locator("#room-now h2").inner_text() == "现在：第 1 组"
    call = RoomCall.objects.get(session=session)
    assert call.takers == ["S0801", "S0802", "S0803", "S0804", "S0805"]
    assert call.called_at.astimezone(timezone.get_fixed_timezone(session.utc_offset_minutes)).strftime(
        "%H:%M:%S") in room.locator("#room-now").inner_text()
    assert room.locator('#room-groups td[data-group-state="waiting"]').inner_text().startswith("第 2 组")
    room.screenshot(path=str(SHOTS / "room-called.png"), full_page=True)
    room.evaluate("() => { window.NAEQ_SAME_PAGE = true; }")  # gone if the page were loaded again

    # ---- Student S0801: preload, headset, a listening item that refuses the third play, the oral English task
    # recorded with the fake microphone, the network cut during the upload and restored.
    ctx1 = new_context(oral)
    p1 = ctx1.new_page()
    p1.goto(f"{base}/t/attempt/{oral.pk}/")
    gate(p1)
    until(p1, lambda: HeadsetCheck.objects.filter(attempt=oral, heard=True).exists(), "headset recorded")
    sel = '[data-perf-audio="stimulus:U1:dialogue.wav"]'
    dialogue = p1.locator(sel)
    for n in (1, 2):
        p1.wait_for_function(f"() => !document.querySelector('{sel} button').disabled")
        dialogue.locator("button").click()
        dialogue.locator(f'.perf-count:text-is("已播放 {n} / 2 次")').wait_for()
    assert dialogue.locator("button").is_disabled()
    p1.evaluate(f"() => {{ const b = document.querySelector('{sel} button'); b.disabled = false; b.click(); }}")
    dialogue.locator('.perf-msg:has-text("这段音频最多只能播放 2 次，你已经播放了 2 次。")').wait_for()
    assert PlayCount.objects.get(attempt=oral, owner="U1").plays == 2
    p1.screenshot(path=str(SHOTS / "student-third-play-refused.png"), full_page=True)
    p1.click("#take-next")
    rec1 = p1.locator('[data-perf-rec="E01"]')
    rec1.locator(".perf-mic").click()
    p1.wait_for_function("() => Number(document.querySelector('[data-perf-rec=\"E01\"] .perf-meter')"
                         ".getAttribute('data-level')) > 5")
    cut = cut_chunks(p1)
    rec1.locator(".perf-record").click()
    until(p1, lambda: cut["aborted"] > 0, "the upload cut after its first chunk", tries=300)
    ctx1.set_offline(True)  # the room's network is down
    cut["on"] = False
    rec1.locator('.perf-status[data-state="retrying"]').wait_for()
    assert "保存在本机" in rec1.locator(".perf-status").inner_text()
    assert local_recordings(p1) == 1
    held = Recording.objects.get(attempt=oral, item="E01")
    assert (held.status, held.received) == (RecordingStatus.UPLOADING, CHUNK)
    # The proctor's screen shows the take on its way (polled, no reload).
    percent = 100 * CHUNK // held.size
    task(room, "S0801", "E01", f'[data-state="uploading"][data-percent="{percent}"]').wait_for()
    assert f"上传中 {percent}%（第 1 次）" in task(room, "S0801", "E01").inner_text()
    room.screenshot(path=str(SHOTS / "room-upload-cut.png"), full_page=True)
    p1.wait_for_timeout(1500)
    assert Recording.objects.get(pk=held.pk).status == RecordingStatus.UPLOADING
    ctx1.set_offline(False)  # restored
    rec1.locator('.perf-status[data-state="done"]').wait_for()
    held.refresh_from_db()
    assert held.status == RecordingStatus.COMPLETE and rec1.get_attribute("data-sha256") == held.sha256
    check_stored(held, 6)
    assert local_recordings(p1) == 0

    # ---- Student S0802: the singing task.
    ctx2 = new_context(singing)
    ctx2.add_init_script("window.NAEQ_PERF_POLL = 1000;")  # the re-record permission arrives within a second
    p2 = ctx2.new_page()
    p2.goto(f"{base}/t/attempt/{singing.pk}/")
    gate(p2)
    p2.click("#take-next")
    rec2 = p2.locator('[data-perf-rec="S01"]')
    rec2.locator(".perf-mic").click()
    rec2.locator(".perf-record").wait_for()
    rec2.locator(".perf-record").click()
    rec2.locator('.perf-status[data-state="done"]').wait_for()
    first = Recording.objects.get(attempt=singing, item="S01")
    assert (first.status, first.take) == (RecordingStatus.COMPLETE, 1)
    check_stored(first, 5)

    # ---- The room screen shows both complete, without a reload; the list of complete recordings agrees.
    task(room, "S0801", "E01", '[data-state="complete"]').wait_for()
    task(room, "S0802", "S01", '[data-state="complete"][data-take="1"]').wait_for()
    assert room.evaluate("() => window.NAEQ_SAME_PAGE") is True
    assert int(room.locator("#room-live").get_attribute("data-refreshed") or 0) > 1
    heard = room.locator('#room-groups tr[data-taker="S0802"] td[data-heard]')
    assert heard.get_attribute("data-heard") == "yes"
    listing = room.locator("#room-complete-list")
    for code, complete in (("S0801", "yes"), ("S0802", "yes"), ("S0803", "yes"), ("S0806", "no")):
        assert listing.locator(f'tr[data-taker="{code}"]').get_attribute("data-complete") == complete
    room.screenshot(path=str(SHOTS / "room-both-complete.png"), full_page=True)

    # ---- The proctor allows S0802 one re-record; the reason is required.
    room.locator(f'button.rerecord[data-attempt="{singing.pk}"][data-item="S01"]').click()
    dialog = room.locator("#rerecord-dialog")
    dialog.wait_for(state="visible")
    assert "S0802 · S01" in dialog.inner_text()
    room.click("#rerecord-confirm")  # no reason: the browser does not send it
    assert dialog.is_visible() and not RerecordPermit.objects.exists()
    room.fill("#rerecord-reason", "演唱时耳机松脱，录音里听不到伴奏")
    room.screenshot(path=str(SHOTS / "room-rerecord-reason.png"), full_page=True)
    room.click("#rerecord-confirm")
    room.locator(".msg-success:has-text('已允许重录：S01 第 2 次录音。')").wait_for()
    permit = RerecordPermit.objects.get()
    assert (permit.attempt_id, permit.item, permit.take, permit.reason) == (
        singing.pk, "S01", 2, "演唱时耳机松脱，录音里听不到伴奏")
    assert "已允许重录，等待第 2 次录音" in task(room, "S0802", "S01").inner_text()
    # A second request for the same item (say, from a stale screen) is refused in plain words.
    with room.expect_navigation():
        room.evaluate(f"""() => {{
            document.getElementById('rerecord-attempt').value = '{singing.pk}';
            document.getElementById('rerecord-item').value = 'S01';
            document.getElementById('rerecord-reason').value = '再录一次';
            document.querySelector('#rerecord-dialog form').submit(); }}""")
    room.locator(".msg-error:has-text('每道题只能重录一次')").wait_for()
    assert RerecordPermit.objects.count() == 1

    # ---- The student's screen offers the recorder again (no reload); the second take goes up.
    rec2.locator('.perf-status[data-state="rerecord"]:has-text("监考老师已允许重录")').wait_for()
    p2.screenshot(path=str(SHOTS / "student-rerecord-allowed.png"), full_page=True)
    rec2.locator(".perf-record").click()
    rec2.locator('.perf-status[data-state="done"]').wait_for()
    second = Recording.objects.get(attempt=singing, item="S01", take=2)
    assert second.status == RecordingStatus.COMPLETE and second.sha256 != first.sha256
    check_stored(second, 5)
    task(room, "S0802", "S01", '[data-state="complete"][data-take="2"]').wait_for()
    assert room.locator(f'button.rerecord[data-item="S01"][data-attempt="{singing.pk}"]').count() == 0
    room.screenshot(path=str(SHOTS / "room-after-rerecord.png"), full_page=True)
    submit(p1, oral)
    submit(p2, singing)
    for ctx in (ctx1, ctx2):
        ctx.close()

    # ---- Marking: the recordings are collected (S0802's accepted take is the permitted second one).
    admin = world.users["national_admin@A"]
    got = recordings.recordings_collect(actor=admin, cycle=cycle)
    assert (got.created, got.pending) == (5, 0)
    assert MarkResponse.objects.get(test_taker__code="S0802").recording_id == second.pk
    assert MarkResponse.objects.get(test_taker__code="S0801").recording_id == held.pk
    assert not MarkResponse.objects.filter(test_taker__code="S0806").exists()
    services.settings_update(actor=admin, cycle=cycle, double_share="1", check_rate="0")
    for item in ("E01", "S01"):
        services.rubric_save(actor=admin, cycle=cycle, instrument_code="english", item_code=item, points=POINTS_4)
    raters = [services.rater_add(actor=admin, cycle=cycle, username=name, password="rater-pass-2026",
                                 region=world.regions["A"], display_name=label,
                                 items=[("english", "E01"), ("english", "S01")])
              for name, label in (("rater_p", "评分员P"), ("rater_q", "评分员Q"))]
    for seed, item in enumerate(("E01", "S01")):
        services.assign(actor=admin, cycle=cycle, instrument_code="english", item_code=item, seed=seed)
    secrets = [f"S080{n}" for n in range(1, 7)] + [school.name, school.code]

    # ---- Two raters each play the same recordings in their browser and score them.
    for rater in raters:
        assert rate_in_browser(mic_browser, live_server, rater, secrets) == 5

    # ---- The agreement they reach, on the page and checked against the scores given.
    expected = {}
    for item, takers in (("E01", ["S0801", "S0803", "S0805"]), ("S01", ["S0802", "S0804"])):
        a = [SCORES["rater_p"][t] for t in takers]
        b = [SCORES["rater_q"][t] for t in takers]
        expected[item] = (len(a), sum(x == y for x, y in zip(a, b, strict=True)) / len(a),
                          sum(abs(x - y) <= 1 for x, y in zip(a, b, strict=True)) / len(a), qwk(a, b, 4))
    assert expected["E01"][:3] == (3, 1 / 3, 2 / 3) and expected["S01"][:3] == (2, 1.0, 1.0)
    rows = {r.label: r.stats for r in selectors.agreement_by_item(actor=admin, cycle=cycle)}
    for item, (n, exact, adjacent, kappa) in expected.items():
        stats = rows[f"english/{item}"]
        assert (stats.n, round(stats.exact, 6), round(stats.adjacent, 6)) == (n, round(exact, 6), round(adjacent, 6))
        assert abs(stats.kappa - kappa) < 1e-9
    admin_ctx = staff_context(mic_browser, live_server, admin)
    page = admin_ctx.new_page()
    page.goto(f"{base}/marking/agreement/")
    for item, (n, exact, adjacent, kappa) in expected.items():
        cells = page.locator(f'#by-item tr:has(td:text-is("english/{item}")) td').all_inner_texts()
        assert cells[:5] == [f"english/{item}", str(n), f"{exact:.3f}", f"{adjacent:.3f}", f"{kappa:.3f}"], cells
    assert "一致率偏低" in page.locator('#by-item tr:has(td:text-is("english/E01"))').inner_text()
    for rater in ("评分员P", "评分员Q"):
        assert page.locator(f'#by-rater tr:has(td:text-is("{rater} · english/E01")) td').nth(2).inner_text() == (
            f"{expected['E01'][1]:.3f}")
    page.screenshot(path=str(SHOTS / "agreement.png"), full_page=True)
    admin_ctx.close()
    proctor_ctx.close()
