"""A rater pair marks in a real browser (Chromium through Playwright): rater X scores every response from the
keyboard, rater Y by clicking, disagreeing on one; that response goes to arbitration, where the national
administrator gives the final score. Run with ``pytest -m browser``."""

from __future__ import annotations

import os
from typing import Any

from naeq.marking import services
from naeq.marking.models import Arbitration, MarkResponse, ResponseStatus
from tests.marking.conftest import POINTS_E01, add_raters, build_marking
from tests.personas import PASSWORD
from tests.web.browser import BROWSER_MARKS

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
pytestmark = BROWSER_MARKS




def _login(browser: Any, base: str, username: str, password: str) -> Any:
    page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(f"{base}/")
    return page


def _wait_past(page: Any, code: str) -> None:
    """Wait until the next response (or the empty queue) is shown after scoring ``code``."""
    page.wait_for_function(
        "code => document.querySelector('#empty') || "
        "(document.querySelector('#response-code') && document.querySelector('#response-code').innerText !== code)",
        arg=code)


def test_rater_pair_disagree_and_arbitration_resolves(browser: Any, live_server: Any, world: Any,
                                                       cycle: Any) -> None:
    m = build_marking(world, cycle, n=3)
    services.responses_collect(actor=m.admin, cycle=cycle)
    services.rubric_save(actor=m.admin, cycle=cycle, instrument_code="mtest", item_code="E01", points=POINTS_E01)
    services.settings_update(actor=m.admin, cycle=cycle, double_share="1")
    add_raters(m)
    services.assign(actor=m.admin, cycle=cycle, instrument_code="mtest", item_code="E01", seed=12)
    base = live_server.url
    disagree = sorted(MarkResponse.objects.filter(item_code="E01").values_list("code", flat=True))[0]

    x = _login(browser, base, "rater_x", "rater-pass-2026")
    x.goto(f"{base}/scoring/")
    x.click("text=开始评分")
    for _ in range(3):
        assert POINTS_E01[2] in x.inner_text("#rubric")  # the rubric beside every response
        code = x.inner_text("#response-code")
        assert MarkResponse.objects.filter(code=code).exists()
        x.keyboard.press("2")  # keyboard-friendly: a digit gives that score
        _wait_past(x, code)
    assert "当前没有待评的答卷。" in x.inner_text("#empty")

    y = _login(browser, base, "rater_y", "rater-pass-2026")
    y.goto(f"{base}/marking/queue/")
    for _ in range(3):
        code = y.inner_text("#response-code")
        y.click(f"#score-form button[name=score][value='{1 if code == disagree else 2}']")
        _wait_past(y, code)
    assert "当前没有待评的答卷。" in y.inner_text("#empty")
    arb = Arbitration.objects.get()
    assert arb.response.code == disagree and sorted(arb.scores) == [1, 2]

    admin = _login(browser, base, "national_admin_a", PASSWORD)
    admin.goto(f"{base}/marking/arbitration/")
    card = admin.locator("section.arbitration")
    assert disagree in card.inner_text()
    card.locator("button[name=score][value='1']").click()
    admin.wait_for_selector("#no-arbitration")
    assert f"答卷{disagree}已定分：1分。" in admin.content()
    r = MarkResponse.objects.get(code=disagree)
    assert (r.status, r.final_score, r.final_rule) == (ResponseStatus.FINAL, 1, "arbitrated")
    assert set(MarkResponse.objects.filter(item_code="E01").exclude(code=disagree)
               .values_list("final_score", "final_rule")) == {(2, "agreed")}
