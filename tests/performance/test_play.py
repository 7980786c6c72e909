"""The play limit of listening audio is the server's: counted when a play starts, per attempt × owner × file,
the play beyond the limit refused with a Chinese message and audited."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from django.db import connections
from django.test import Client

from naeq.core.models import AuditEvent
from naeq.delivery.attempts import attempt_start
from naeq.delivery.models import AttemptStatus, SessionStatus
from naeq.delivery.tokens import attempt_token
from naeq.performance.models import HeadsetCheck, PlayCount
from naeq.performance.selectors import session_headsets
from naeq.performance.services import Conflict, play_start
from tests.delivery.factories import make_session, make_taker
from tests.performance.world import make_perf_instrument


def test_third_play_refused_and_counted_per_attempt(perf: dict[str, Any]) -> None:
    api1, api2 = perf["api1"], perf["api2"]
    play = {"owner_kind": "stimulus", "owner": "U1", "media": "dialogue.wav"}
    first = api1.post("play", play)
    assert first.status_code == 200 and first.json() == {"ok": True, "plays": 1, "limit": 2, "remaining": 1}
    assert first["Cache-Control"] == "no-store"
    assert api1.post("play", play).json()["remaining"] == 0
    third = api1.post("play", play)
    assert third.status_code == 409
    body = third.json()
    assert body["error"] == "play_limit" and "最多只能播放 2 次" in body["message"]
    assert PlayCount.objects.get(attempt=perf["a1"], owner="U1").plays == 2
    actions = list(AuditEvent.objects.filter(object_id=str(perf["a1"].pk), action__startswith="performance.play")
                   .values_list("action", flat=True).order_by("id"))
    assert actions == ["performance.play", "performance.play", "performance.play_refused"]
    # The other test taker's counter is their own.
    assert api2.post("play", play).json()["plays"] == 1
    # The state after a reload shows the counts.
    assert api1.get("state").json()["plays"] == {"stimulus:U1:dialogue.wav": 2}


def test_media_own_limit_and_unknown_audio(perf: dict[str, Any]) -> None:
    api1 = perf["api1"]
    beat = {"owner_kind": "item", "owner": "L02", "media": "beat.wav"}
    assert api1.post("play", beat).json()["limit"] == 1
    assert api1.post("play", beat).status_code == 409
    for wrong in ({"owner_kind": "item", "owner": "L02", "media": "other.wav"},
                  {"owner_kind": "item", "owner": "L99", "media": "beat.wav"},
                  {"owner_kind": "stimulus", "owner": "L02", "media": "beat.wav"},
                  {"owner_kind": "x", "owner": "L02", "media": "beat.wav"}):
        resp = api1.post("play", wrong)
        assert resp.status_code == 404 and resp.json() == {"error": "not_found"}
    assert PlayCount.objects.filter(owner="L99").count() == 0


def test_access_missing_and_forbidden_look_the_same(perf: dict[str, Any]) -> None:
    api1, a2 = perf["api1"], perf["a2"]
    play = {"owner_kind": "stimulus", "owner": "U1", "media": "dialogue.wav"}
    # Another taker's attempt with my session, with my token, with theirs; no session; a missing attempt.
    others = [
        api1.client.post(f"/t/api/perf/attempts/{a2.pk}/play", json.dumps(play), content_type="application/json",
                         HTTP_X_ATTEMPT_TOKEN=attempt_token(a2.pk)),
        api1.client.post(f"/t/api/perf/attempts/{a2.pk}/play", json.dumps(play), content_type="application/json",
                         HTTP_X_ATTEMPT_TOKEN=attempt_token(api1.attempt.pk)),
        Client().post(api1.base + "play", json.dumps(play), content_type="application/json", **api1.headers),
        api1.client.post(api1.base + "play", json.dumps(play), content_type="application/json"),
        api1.client.post("/t/api/perf/attempts/999999/play", json.dumps(play), content_type="application/json",
                         HTTP_X_ATTEMPT_TOKEN=attempt_token(999999)),
    ]
    assert [(r.status_code, r.json()) for r in others] == [(404, {"error": "not_found"})] * len(others)
    assert not PlayCount.objects.exists()
    # A closed session, a submitted attempt.
    perf["session"].status = SessionStatus.CLOSED
    perf["session"].save()
    assert api1.post("play", play).status_code == 404
    perf["session"].status = SessionStatus.OPEN
    perf["session"].save()
    type(api1.attempt).objects.filter(pk=api1.attempt.pk).update(status=AttemptStatus.SUBMITTED,
                                                                  submitted_at=perf["session"].starts_at)
    assert api1.post("play", play).status_code == 404
    assert api1.client.get(api1.base + "play", **api1.headers).status_code == 405


def test_headset_check_recorded_and_visible_to_the_proctor(perf: dict[str, Any]) -> None:
    api1 = perf["api1"]
    assert api1.post("headset", {"heard": False}).json() == {"ok": True, "heard": False, "tries": 1}
    assert api1.post("headset", {"heard": True}).json() == {"ok": True, "heard": True, "tries": 2}
    assert api1.post("headset", {"heard": "yes"}).status_code == 400
    assert HeadsetCheck.objects.get(attempt=perf["a1"]).heard is True
    rows = {r["taker"]: r["heard"] for r in session_headsets(perf["session"])}
    assert rows == {"S0801": True, "S0802": None}
    assert AuditEvent.objects.filter(action="performance.headset").count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_tabs_cannot_both_get_the_last_play(cycle: Any, settings: Any, tmp_path: Any) -> None:
    """Six plays started at once on one attempt (limit 2): exactly two are counted (row lock; PostgreSQL)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("concurrency is serialised outright on SQLite (BEGIN IMMEDIATE)")
    from tests.personas import build_world

    settings.DATA_DIR = tmp_path
    school = build_world().schools["A1a-1"]
    make_perf_instrument(cycle)
    session = make_session(cycle, school, instruments=["english"])
    attempt = attempt_start(taker=make_taker(cycle, school, "S0803"), session=session, instrument_code="english")
    results: list[str] = []
    barrier = threading.Barrier(6)

    def play() -> None:
        try:
            barrier.wait()
            play_start(attempt=attempt, owner_kind="stimulus", owner="U1", media="dialogue.wav")
            results.append("ok")
        except Conflict:
            results.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=play) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == ["ok", "ok"] + ["refused"] * 4
    assert PlayCount.objects.get(attempt=attempt).plays == 2
