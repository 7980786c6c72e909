"""The online test client in a real browser (Chromium through Playwright): durability across offline periods,
reloads and computers, and a submit racing a pending save (issue 4, "Browser client" and "Browser tests";
DESIGN.md: "the client marks an answer as safe only on acknowledgement, retries with backoff, survives reloads
and offline periods, and resumes on another computer from the server's copy. Submit is idempotent and wins any
race with a late autosave").

Run with ``pytest -m browser``; needs /usr/bin/chromium. The screenshot goes to pytest's tmp dir.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from naeq.delivery.attempts import attempt_start
from naeq.delivery.models import Answer, Attempt, AttemptStatus, InstrumentKind
from tests.delivery.factories import make_instrument, make_session, make_taker
from tests.web.browser import BROWSER_MARKS

pytestmark = BROWSER_MARKS


@pytest.fixture
def new_context(browser: Any, live_server: Any) -> Iterator[Callable[[Attempt], Any]]:
    """A fresh browser (own storage) signed in as the attempt's test taker, as the sign-in page would leave it:
    the Django session holds ``naeq_taker``."""
    contexts = []

    def make(attempt: Attempt) -> Any:
        store = import_module(settings.SESSION_ENGINE).SessionStore()
        store["naeq_taker"] = {"taker_id": attempt.test_taker_id, "session_id": attempt.session_id}
        store.save()
        ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        ctx.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": store.session_key,
                          "url": live_server.url}])
        contexts.append(ctx)
        ctx.set_default_timeout(20_000)
        return ctx

    yield make
    for ctx in contexts:
        ctx.close()


def stored(attempt: Attempt) -> dict[str, Any]:
    return {a.item: json.loads(a.value) for a in Answer.objects.filter(attempt_id=attempt.pk)}


def until(page: Any, check: Callable[[], bool], what: str, tries: int = 100) -> None:
    """Poll the database while letting the browser run (no assertion on how long it took)."""
    for _ in range(tries):
        if check():
            return
        page.wait_for_timeout(200)
    raise AssertionError(f"never happened: {what}")


def item(page: Any, code: str) -> Any:
    return page.locator(f'[data-item="{code}"]')


def status(page: Any) -> Any:
    return page.locator("#take-status")


def test_offline_reload_resume_and_submit_during_a_pending_save(new_context: Any, live_server: Any, cycle: Any,
                                                                world: Any, tmp_path: Path) -> None:
    school = world.schools["A1a-1"]
    make_instrument(cycle, "math")
    session = make_session(cycle, school, instruments=["math"])
    attempt = attempt_start(taker=make_taker(cycle, school, "S0401"), session=session, instrument_code="math")
    url = f"{live_server.url}/t/attempt/{attempt.pk}/"

    ctx = new_context(attempt)
    page = ctx.new_page()
    page.goto(url)
    assert page.locator("h1, .take-title").first.inner_text() == "math"
    item(page, "M01").locator('label:has-text("7")').click()
    until(page, lambda: stored(attempt).get("M01") == "B", "M01 saved")
    page.locator('#take-status[data-state="saved"]').wait_for()
    assert item(page, "M01").locator(".item-state").inner_text() == "已保存"
    page.screenshot(path=str(tmp_path / "take.png"), full_page=True)
    print(f"screenshot: {tmp_path / 'take.png'}")

    # Offline: keep answering; the page says so and nothing reaches the server.
    ctx.set_offline(True)
    page.click("#take-next")
    item(page, "M02").locator('label:has-text("2")').click()
    item(page, "M02").locator('label:has-text("4")').click()
    page.locator('#take-status[data-state="offline"]').wait_for()
    assert "离线" in status(page).inner_text()
    assert item(page, "M02").locator(".item-state").inner_text() in {"离线", "未保存"}
    page.wait_for_timeout(1500)
    assert "M02" not in stored(attempt)

    # Back online: everything is saved.
    ctx.set_offline(False)
    page.locator('#take-status[data-state="saved"]').wait_for()
    assert stored(attempt)["M02"] == ["A", "C"]
    assert item(page, "M02").locator(".item-state").inner_text() == "已保存"

    # Reload before the debounced save went out: the answer survives in local storage and is sent after reload.
    page.click("#take-next")
    item(page, "M03").locator("input").fill("36")
    page.reload()
    page.locator('body[data-synced="true"]').wait_for()
    until(page, lambda: stored(attempt).get("M03") == "36", "M03 saved after reload")
    assert item(page, "M03").locator("input").input_value() == "36"  # same page, same answer after reload

    # Another computer (fresh storage) resumes from the server's copy.
    ctx2 = new_context(attempt)
    page2 = ctx2.new_page()
    page2.goto(url)
    page2.locator('body[data-synced="true"]').wait_for()
    page2.locator('#take-status[data-state="saved"]').wait_for()
    assert item(page2, "M01").locator('input[value="B"]').is_checked()
    page2.locator('[data-goto="M03"]').click()
    assert item(page2, "M03").locator("input").input_value() == "36"
    # A change here outranks the first computer's copy (higher seq).
    page2.locator('[data-goto="M01"]').click()
    item(page2, "M01").locator('label:has-text("8")').click()
    until(page2, lambda: stored(attempt).get("M01") == "C", "M01 changed on the second computer")
    item(page2, "M01").locator("button.flag").click()

    # Submit while a save is held in flight: the submit carries it, and the late save changes nothing.
    held: list[Any] = []

    def hold(route: Any) -> None:
        if route.request.method == "POST":
            held.append(route)
        else:
            route.continue_()

    page2.route("**/answers", hold)
    page2.locator('[data-goto="M03"]').click()
    item(page2, "M03").locator("input").fill("37")
    page2.locator('#take-status[data-state="saving"]').wait_for()
    assert held, "the save is pending"
    assert stored(attempt)["M03"] == "36"
    page2.click("#take-submit")
    dialog = page2.locator("#take-dialog")
    dialog.wait_for(state="visible")
    assert "第 1 题" in dialog.locator(".dlg-flagged").inner_text()  # the flagged item is listed
    assert "无" in dialog.locator(".dlg-unanswered").inner_text()    # the open item is answered on paper
    page2.click("#take-confirm")
    page2.locator("#take-finished").wait_for(state="visible")
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.SUBMITTED
    assert stored(attempt) == {"M01": "C", "M02": ["A", "C"], "M03": "37"}
    assert page2.evaluate(f"window.localStorage.getItem('naeq.attempt.{attempt.pk}')") is None
    for route in held:
        route.continue_()
    page2.wait_for_timeout(500)
    assert stored(attempt)["M03"] == "37"
    attempt.refresh_from_db()
    assert attempt.score == 1.0  # M01 "C" is wrong, M02 right, M03 37 wrong; M04 is scored by raters

    # The first computer learns the attempt is over on its next contact and shows the finished screen.
    page.reload()
    page.locator("#take-finished").wait_for(state="visible")


def test_skip_and_conditional_items_live(new_context: Any, live_server: Any, cycle: Any, world: Any) -> None:
    """Skip rule: answering 1 to Q02 skips screen 2; show_if: Q05 appears only when Q04 is 2."""
    school = world.schools["A1a-1"]
    make_instrument(cycle, "stu_q", kind=InstrumentKind.QUESTIONNAIRE, time_limit_minutes=None)
    session = make_session(cycle, school, instruments=["stu_q"])
    attempt = attempt_start(taker=make_taker(cycle, school, "S0402"), session=session, instrument_code="stu_q")
    page = new_context(attempt).new_page()
    page.goto(f"{live_server.url}/t/attempt/{attempt.pk}/")
    assert page.locator("#take-pageno").inner_text().endswith("共 3 页")
    item(page, "Q02").locator('label:has-text("完全不同意")').click()
    assert page.locator("#take-pageno").inner_text().endswith("共 2 页")
    page.click("#take-next")
    assert item(page, "Q04").is_visible() and not item(page, "Q05").is_visible()
    item(page, "Q04").locator('label:has-text("参加（请注明）")').click()
    assert item(page, "Q05").is_visible()
    number = item(page, "Q05").locator("input")
    number.fill("30")  # the item allows 0 to 14: marked, still saved (scored 97 if submitted so)
    assert number.get_attribute("aria-invalid") == "true"
    number.fill("3")
    assert number.get_attribute("aria-invalid") == "false"
    until(page, lambda: stored(attempt).get("Q05") == "3", "Q05 saved")
    assert stored(attempt)["Q04"] == {"choice": "2", "text": ""}


ALL_TYPES: list[dict[str, Any]] = [
    {"code": "T01", "screen": 1, "type": "true_false", "stem": "地球绕太阳转。"},
    {"code": "T02", "screen": 1, "type": "matrix", "stem": "你同意下列说法吗？",
     "rows": [{"value": "a", "label": "我喜欢读书"}, {"value": "b", "label": "我喜欢运动"}],
     "options": [{"value": "1", "label": "不同意"}, {"value": "2", "label": "同意"}]},
    {"code": "T03", "screen": 2, "type": "ranking", "stem": "请按喜欢程度排序。", "rows": ["语文", "数学", "英语"]},
    {"code": "T04", "screen": 2, "type": "slider", "stem": "你每天运动几小时？",
     "constraints": {"min": 0, "max": 5, "decimals": 0}},
    {"code": "T05", "screen": 3, "type": "text", "stem": "说说你的理想。", "constraints": {"max_length": 20}},
    {"code": "T06", "screen": 3, "type": "open", "stem": "画一幅画。"},
    {"code": "T07", "screen": 3, "type": "single_text", "stem": "你放学后通常做什么？",
     "options": [{"value": "1", "label": "写作业"}, {"value": "2", "label": "其他"}],
     "constraints": {"max_length": 20, "text_option": "2"}},
]


def test_every_item_type_answers_and_saves(new_context: Any, live_server: Any, cycle: Any, world: Any,
                                           tmp_path: Path) -> None:
    school = world.schools["A1a-1"]
    make_instrument(cycle, "stu_q", kind=InstrumentKind.QUESTIONNAIRE, items=ALL_TYPES, time_limit_minutes=None)
    session = make_session(cycle, school, instruments=["stu_q"])
    attempt = attempt_start(taker=make_taker(cycle, school, "S0403"), session=session, instrument_code="stu_q")
    page = new_context(attempt).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_server.url}/t/attempt/{attempt.pk}/")
    item(page, "T01").locator('label:has-text("正确")').click()
    item(page, "T02").get_by_label("我喜欢运动 同意").check()
    item(page, "T02").get_by_label("我喜欢读书 不同意").check()
    page.screenshot(path=str(tmp_path / "take-types-1.png"), full_page=True)
    page.click("#take-next")
    item(page, "T03").get_by_role("button", name="下移 语文").click()   # 数学, 语文, 英语
    item(page, "T03").get_by_role("button", name="上移 英语").click()   # 数学, 英语, 语文
    slider = item(page, "T04").locator('input[type="range"]')
    slider.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert item(page, "T04").locator("output").inner_text() == "2"
    page.screenshot(path=str(tmp_path / "take-types-2.png"), full_page=True)
    print(f"screenshots: {tmp_path}")
    page.click("#take-next")
    item(page, "T05").locator("textarea").fill("当一名老师")
    assert "请在答题卡上作答" in item(page, "T06").inner_text()
    other = item(page, "T07").locator('input[type="text"]')
    assert other.is_disabled()  # the text belongs to option 2 ("其他") only
    item(page, "T07").locator('label:has-text("其他")').click()
    other.fill("踢球")
    until(page, lambda: len(stored(attempt)) == 6 and stored(attempt)["T07"].get("text") == "踢球",
          "all six answers saved")
    assert stored(attempt) == {"T01": "T", "T02": {"a": "1", "b": "2"}, "T03": ["2", "3", "1"], "T04": 2,
                               "T05": "当一名老师", "T07": {"choice": "2", "text": "踢球"}}
    assert errors == []


def test_every_demo_instrument_renders_page_by_page(new_context: Any, live_server: Any, cycle: Any, world: Any,
                                                    settings: Any, tmp_path: Path) -> None:
    """The item bank's demo content of every online instrument: each page renders, with no script error."""
    from naeq.delivery.demo_bank import demo_bank_load
    from naeq.delivery.models import Instrument

    settings.DATA_DIR = tmp_path
    demo_bank_load(actor=None, year=cycle.year)
    school = world.schools["A1a-1"]
    instruments = list(Instrument.objects.filter(cycle=cycle, status="published"))
    session = make_session(cycle, school, instruments=[i.code for i in instruments])
    for n, inst in enumerate(instruments):
        first = inst.booklets.order_by("number").values_list("number", flat=True).first()
        taker = make_taker(cycle, school, f"D{n:04d}", booklets={inst.code: first})
        attempt = attempt_start(taker=taker, session=session, instrument_code=inst.code)
        page = new_context(attempt).new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc, sink=errors: sink.append(str(exc)))
        page.goto(f"{live_server.url}/t/attempt/{attempt.pk}/")
        page.locator('body[data-synced="true"]').wait_for()
        while True:
            assert page.locator("#take-main [data-item]").count() > 0, inst.code
            if not page.locator("#take-next").is_enabled():
                break
            page.click("#take-next")
        assert errors == [], (inst.code, errors)
        page.context.close()
