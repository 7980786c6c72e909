"""The test-taking page and its media: only the signed-in test taker, only inside the session window, never
cached (issue 4, "Secrecy": item content reaches only a signed-in test taker inside an open session window)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client

from naeq.core.models import AuditEvent
from naeq.delivery import hotpath
from naeq.delivery.attempts import attempt_start
from naeq.delivery.media import media_store
from naeq.delivery.models import Attempt, SessionStatus
from tests.delivery.factories import make_instrument, make_session, make_taker

SECRET_STEM = "12 × 3 = ?"


def sign_in(client: Client, attempt: Attempt) -> None:
    """What the sign-in page leaves in the Django session (interfaces: ``naeq_taker``)."""
    session = client.session
    session["naeq_taker"] = {"taker_id": attempt.test_taker_id, "session_id": attempt.session_id}
    session.save()


@pytest.fixture
def setup(cycle: Any, world: Any, settings: Any, tmp_path: Any) -> dict[str, Any]:
    settings.DATA_DIR = tmp_path
    school = world.schools["A1a-1"]
    inst = make_instrument(cycle, "math")
    media_store(inst, "chart.png", b"\x89PNG fake")
    session = make_session(cycle, school, instruments=["math"])
    mine = attempt_start(taker=make_taker(cycle, school, "S0301"), session=session, instrument_code="math")
    other = attempt_start(taker=make_taker(cycle, school, "S0302"), session=session, instrument_code="math")
    return {"mine": mine, "other": other, "session": session, "instrument": inst}


def test_signed_in_taker_gets_the_page_not_cached_and_audited(setup: dict[str, Any]) -> None:
    c = Client()
    sign_in(c, setup["mine"])
    before = AuditEvent.objects.filter(action="delivery.content").count()
    resp = c.get(f"/t/attempt/{setup['mine'].pk}/")
    assert resp.status_code == 200
    assert resp["Cache-Control"] == "no-store, private" and resp["Pragma"] == "no-cache"
    text = resp.content.decode()
    assert "12 \\u00d7 3" in text or SECRET_STEM in text
    assert '"key"' not in text  # the key never reaches the browser
    assert 'id="take-config"' in text and "/static/naeq/take.js" in text
    assert AuditEvent.objects.filter(action="delivery.content").count() == before + 1
    media = c.get(f"/t/attempt/{setup['mine'].pk}/media/chart.png")
    assert media.status_code == 200 and media.content == b"\x89PNG fake"
    assert media["Cache-Control"] == "no-store, private" and media["Content-Type"] == "image/png"


def _looks_missing(c: Client, attempt: Attempt) -> None:
    for url in (f"/t/attempt/{attempt.pk}/", f"/t/attempt/{attempt.pk}/media/chart.png"):
        resp = c.get(url)
        assert resp.status_code == 404, url
        assert SECRET_STEM not in resp.content.decode()


def test_nobody_else_gets_it(setup: dict[str, Any]) -> None:
    before = AuditEvent.objects.filter(action="delivery.content").count()
    _looks_missing(Client(), setup["mine"])           # not signed in
    c = Client()
    sign_in(c, setup["other"])
    _looks_missing(c, setup["mine"])                  # another test taker's attempt
    assert c.get("/t/attempt/999999/").status_code == 404  # missing looks the same
    assert AuditEvent.objects.filter(action="delivery.content").count() == before


def test_closed_session_and_outside_window_are_404(setup: dict[str, Any]) -> None:
    c = Client()
    sign_in(c, setup["mine"])
    session = setup["session"]
    session.status = SessionStatus.CLOSED
    session.save()
    _looks_missing(c, setup["mine"])
    session.status = SessionStatus.OPEN
    session.starts_at = session.starts_at + dt.timedelta(days=1)  # opened early: not yet inside the window
    session.ends_at = session.starts_at + dt.timedelta(minutes=80)
    session.save()
    _looks_missing(c, setup["mine"])


def test_no_staff_account_gets_item_content(setup: dict[str, Any], world: Any) -> None:
    """Item content is for the test taker only: every role, national administrator included, gets 404 (the
    item bank's own export is the national staff's route to content)."""
    assert len(world.users) >= 20
    for persona, user in world.users.items():
        c = Client()
        c.force_login(user)
        resp = c.get(f"/t/attempt/{setup['mine'].pk}/")
        assert resp.status_code == 404, persona


def test_submitted_attempt_shows_finished_without_content(setup: dict[str, Any]) -> None:
    c = Client()
    sign_in(c, setup["mine"])
    hotpath.submit(setup["mine"].pk, [])
    resp = c.get(f"/t/attempt/{setup['mine'].pk}/")
    assert resp.status_code == 200 and resp["Cache-Control"] == "no-store, private"
    assert SECRET_STEM not in resp.content.decode() and "take-content" not in resp.content.decode()
    assert c.get(f"/t/attempt/{setup['mine'].pk}/media/chart.png").status_code == 404


def test_page_embeds_a_working_token(setup: dict[str, Any]) -> None:
    c = Client()
    sign_in(c, setup["mine"])
    text = c.get(f"/t/attempt/{setup['mine'].pk}/").content.decode()
    start = text.index('<script id="take-config" type="application/json">') + len(
        '<script id="take-config" type="application/json">')
    config = json.loads(text[start:text.index("</script>", start)])
    save = Client().post(f"/t/api/attempts/{setup['mine'].pk}/answers", content_type="application/json",
                         data=json.dumps({"answers": [{"item": "M01", "value": "B", "seq": 1}]}),
                         headers={"X-Attempt-Token": config["token"]})
    assert save.status_code == 200
    # The token is for this attempt only.
    other = Client().post(f"/t/api/attempts/{setup['other'].pk}/answers", content_type="application/json",
                          data=json.dumps({"answers": [{"item": "M01", "value": "B", "seq": 1}]}),
                          headers={"X-Attempt-Token": config["token"]})
    assert other.status_code == 401
    assert config["remaining_seconds"] is not None and config["remaining_seconds"] <= 80 * 60


def test_from_sign_in_to_the_test_page(cycle: Any, world: Any) -> None:
    """The whole path a student walks: test ID + key on the sign-in page, "my tests", start, the test page."""
    school = world.schools["A1a-1"]
    make_instrument(cycle, "math")
    make_session(cycle, school, instruments=["math"], key="K7Q2M9")
    make_taker(cycle, school, "S0399")
    c = Client()
    assert c.post("/t/", {"code": "S0399", "key": "K7Q2M9"}).status_code == 302
    started = c.post("/t/start/math/")
    assert started.status_code == 302
    attempt = Attempt.objects.get(test_taker__code="S0399")
    assert started["Location"] == f"/t/attempt/{attempt.pk}/"
    page = c.get(started["Location"])
    assert page.status_code == 200 and 'id="take-content"' in page.content.decode()
    # Signing out ends access to the content at once.
    c.post("/t/signout/")
    assert c.get(started["Location"]).status_code == 404
