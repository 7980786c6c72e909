"""The answer-save hot path and its HTTP protocol (issue 4, "Server"; DESIGN.md "The online testing hot path":
"a stale or repeated write can never overwrite a newer one … acknowledges only after commit … Submit is
idempotent and wins any race with a late autosave")."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from django.db import connection, connections
from django.test import Client
from django.utils import timezone

from naeq.delivery import hotpath
from naeq.delivery.attempts import attempt_start
from naeq.delivery.models import Answer, Attempt, AttemptStatus, ItemScore, SessionStatus
from naeq.delivery.tokens import attempt_token
from tests.delivery.factories import make_instrument, make_session, make_taker


@pytest.fixture
def attempt(cycle: Any, world: Any) -> Attempt:
    school = world.schools["A1a-1"]
    make_instrument(cycle, "math")
    session = make_session(cycle, school, instruments=["math"])
    return attempt_start(taker=make_taker(cycle, school, "S0101"), session=session, instrument_code="math")


def _post(client: Client, attempt: Attempt, verb: str, answers: Any, *, token: str | None = None,
          raw: bytes | None = None) -> Any:
    body = raw if raw is not None else json.dumps({"answers": answers})
    return client.post(f"/t/api/attempts/{attempt.pk}/{verb}", data=body, content_type="application/json",
                       headers={"X-Attempt-Token": attempt_token(attempt.pk) if token is None else token})


def _stored(attempt: Attempt) -> dict[str, tuple[Any, int]]:
    return {a.item: (json.loads(a.value), a.seq) for a in Answer.objects.filter(attempt=attempt)}


def test_higher_seq_wins_and_stale_writes_never_overwrite(attempt: Attempt) -> None:
    c = Client()
    assert _post(c, attempt, "answers", [{"item": "M01", "value": "A", "seq": 2}]).status_code == 200
    # A newer answer replaces it.
    resp = _post(c, attempt, "answers", [{"item": "M01", "value": "B", "seq": 5}])
    assert resp.json() == {"ok": True, "acked": [["M01", 5]]}
    # A stale one (delayed batch arriving late) does not, nor does a repeat with the same seq and another value.
    _post(c, attempt, "answers", [{"item": "M01", "value": "C", "seq": 3}])
    _post(c, attempt, "answers", [{"item": "M01", "value": "C", "seq": 5}])
    assert _stored(attempt) == {"M01": ("B", 5)}
    # The stale write is still acknowledged: the server holds M01 at seq >= 3.
    resp = _post(c, attempt, "answers", [{"item": "M01", "value": "C", "seq": 3}])
    assert resp.json()["acked"] == [["M01", 3]]


def test_batch_with_duplicates_keeps_the_highest_seq(attempt: Attempt) -> None:
    c = Client()
    resp = _post(c, attempt, "answers", [{"item": "M02", "value": ["A"], "seq": 4},
                                          {"item": "M02", "value": ["A", "C"], "seq": 6},
                                          {"item": "M03", "value": "36", "seq": 1}])
    assert resp.status_code == 200
    assert sorted(resp.json()["acked"]) == [["M02", 6], ["M03", 1]]
    assert _stored(attempt) == {"M02": (["A", "C"], 6), "M03": ("36", 1)}
    assert resp["Cache-Control"] == "no-store"


def test_ack_only_after_commit(attempt: Attempt, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure inside the save's transaction gives no ack and leaves nothing behind. (This is the transactional
    path, SQLite's; on PostgreSQL a save is one statement, atomic by itself — and that an ack means committed,
    visible to another connection, is shown by the PostgreSQL race tests below.)"""
    real = hotpath._upsert

    def upsert_then_fail(cur: Any, *args: Any) -> None:
        real(cur, *args)
        raise RuntimeError("disk gone")

    monkeypatch.setattr(hotpath, "_upsert", upsert_then_fail)
    with pytest.raises(RuntimeError):
        hotpath._save_in_transaction(attempt.pk, [("M01", '"B"', 1)], timezone.now())
    assert not Answer.objects.filter(attempt=attempt).exists()


def test_submit_is_idempotent_and_refuses_later_saves(attempt: Attempt) -> None:
    c = Client()
    _post(c, attempt, "answers", [{"item": "M01", "value": "B", "seq": 1}])
    first = _post(c, attempt, "submit", [{"item": "M03", "value": "36", "seq": 2}])
    assert first.status_code == 200
    body = first.json()
    assert body["ok"] is True and body["status"] == "submitted"
    again = _post(c, attempt, "submit", [{"item": "M03", "value": "99", "seq": 9}])
    assert again.status_code == 200 and again.json()["submitted_at"] == body["submitted_at"]
    late = _post(c, attempt, "answers", [{"item": "M02", "value": ["A"], "seq": 1}])
    assert late.status_code == 409 and late.json() == {"error": "submitted"}
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.SUBMITTED
    assert _stored(attempt) == {"M01": ("B", 1), "M03": ("36", 2)}
    # Scored in the submitting request: M01 right, M02 omitted, M03 right, M04 open (no score).
    scores = {s.item: (s.code, s.score) for s in ItemScore.objects.filter(attempt=attempt)}
    assert scores == {"M01": ("B", 1.0), "M02": ("99", 0.0), "M03": ("36", 1.0), "M04": ("", None)}
    assert attempt.score == 2.0


def test_closed_session_refuses(attempt: Attempt) -> None:
    session = attempt.session
    session.status = SessionStatus.CLOSED
    session.save()
    c = Client()
    resp = _post(c, attempt, "answers", [{"item": "M01", "value": "B", "seq": 1}])
    assert resp.status_code == 409 and resp.json() == {"error": "closed"}
    assert _post(c, attempt, "submit", []).json() == {"error": "closed"}
    assert not Answer.objects.filter(attempt=attempt).exists()


def test_formal_session_past_its_window_refuses(attempt: Attempt) -> None:
    """A formal session accepts until 30 minutes after its end (interfaces: session_accepts)."""
    import datetime as dt

    session = attempt.session
    session.starts_at -= dt.timedelta(hours=5)
    session.ends_at = session.starts_at + dt.timedelta(minutes=80)
    session.save()
    resp = _post(Client(), attempt, "answers", [{"item": "M01", "value": "B", "seq": 1}])
    assert resp.status_code == 409 and resp.json()["error"] == "closed"


def test_bad_token_is_401(attempt: Attempt) -> None:
    c = Client()
    other = attempt_token(attempt.pk + 1)
    good = attempt_token(attempt.pk)
    forged = good[:-1] + ("1" if good[-1] == "0" else "0")  # one hex digit of the MAC changed
    for token in ["", "garbage", other, forged]:
        resp = _post(c, attempt, "answers", [{"item": "M01", "value": "B", "seq": 1}], token=token)
        assert resp.status_code == 401, token
    expired = attempt_token(attempt.pk, lifetime=-10)
    assert _post(c, attempt, "submit", [], token=expired).status_code == 401
    assert c.get(f"/t/api/attempts/{attempt.pk}/answers").status_code == 401
    assert not Answer.objects.exists()
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.IN_PROGRESS


@pytest.mark.parametrize(("body", "reason"), [
    (b"{not json", "body is not JSON"),
    (b"[1, 2]", "body must be a JSON object"),
    (json.dumps({"answers": {"M01": 1}}).encode(), "answers must be a list"),
    (json.dumps({"answers": ["M01"]}).encode(), "answers[0] must be an object"),
    (json.dumps({"answers": [{"item": "", "value": 1, "seq": 1}]}).encode(), "answers[0].item"),
    (json.dumps({"answers": [{"item": "M" * 41, "value": 1, "seq": 1}]}).encode(), "answers[0].item"),
    (json.dumps({"answers": [{"item": "M01", "value": 1, "seq": -1}]}).encode(), "answers[0].seq"),
    (json.dumps({"answers": [{"item": "M01", "value": 1, "seq": 2**53}]}).encode(), "answers[0].seq"),
    (json.dumps({"answers": [{"item": "M01", "value": 1, "seq": "3"}]}).encode(), "answers[0].seq"),
    (json.dumps({"answers": [{"item": "M01", "value": 1, "seq": True}]}).encode(), "answers[0].seq"),
    (json.dumps({"answers": [{"item": "M01", "seq": 1}]}).encode(), "answers[0].value is missing"),
    (json.dumps({"answers": [{"item": "M01", "value": "x" * 9000, "seq": 1}]}).encode(), "larger than 8192"),
    (json.dumps({"answers": [{"item": f"M{n}", "value": 1, "seq": 1} for n in range(201)]}).encode(),
     "more than 200"),
    (b" " * (64 * 1024 + 1), "body larger than"),
    (json.dumps({"answers": [{"item": "Z99", "value": 1, "seq": 1}]}).encode(), "unknown item Z99"),
])
def test_malformed_bodies_are_400_with_the_reason(attempt: Attempt, body: bytes, reason: str) -> None:
    resp = _post(Client(), attempt, "answers", None, raw=body)
    assert resp.status_code == 400
    assert reason in resp.json()["error"]
    assert not Answer.objects.exists()


def test_server_copy_for_resume(attempt: Attempt) -> None:
    c = Client()
    _post(c, attempt, "answers", [{"item": "M01", "value": "B", "seq": 3}, {"item": "M02", "value": ["A"], "seq": 1}])
    resp = c.get(f"/t/api/attempts/{attempt.pk}/answers", headers={"X-Attempt-Token": attempt_token(attempt.pk)})
    assert resp.status_code == 200 and resp["Cache-Control"] == "no-store"
    assert resp.json() == {"status": "in_progress",
                           "answers": {"M01": {"value": "B", "seq": 3}, "M02": {"value": ["A"], "seq": 1}}}


def test_ping(client: Client) -> None:
    resp = client.get("/t/api/ping")
    assert resp.status_code == 200 and resp.content == b"ok"


# ------------------------------------------------------------------------------------------------ concurrency


@pytest.mark.django_db(transaction=True)
def test_submit_wins_any_race_with_a_late_save(cycle: Any) -> None:
    """Whatever the interleaving, either the save's answer is in the submitted attempt's scored data, or the
    save was refused with 409 — never acknowledged and lost."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks are a PostgreSQL matter (SQLite serialises writers with BEGIN IMMEDIATE)")
    from tests.personas import build_world

    world = build_world()
    school = world.schools["A1a-1"]
    make_instrument(cycle, "math")
    session = make_session(cycle, school, instruments=["math"])
    outcomes = []
    for round_no in range(12):
        taker = make_taker(cycle, school, f"S09{round_no:02d}")
        att = attempt_start(taker=taker, session=session, instrument_code="math")
        barrier = threading.Barrier(2)
        result: dict[str, Any] = {}

        def save(attempt_id: int = att.pk, box: dict[str, Any] = result, wait: threading.Barrier = barrier) -> None:
            try:
                wait.wait()
                box["acked"] = hotpath.save_batch(attempt_id, [{"item": "M01", "value": "B", "seq": 7}])
            except hotpath.Refused as refused:
                box["refused"] = refused.reason
            finally:
                connections.close_all()

        def submit(attempt_id: int = att.pk, box: dict[str, Any] = result,
                   wait: threading.Barrier = barrier) -> None:
            try:
                wait.wait()
                box["submitted"] = hotpath.submit(attempt_id, [{"item": "M03", "value": "36", "seq": 1}])
            finally:
                connections.close_all()

        threads = [threading.Thread(target=save), threading.Thread(target=submit)]
        if round_no % 2:
            threads.reverse()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert "submitted" in result
        from naeq.delivery.scoring import score_attempt

        scored = score_attempt(att.pk)
        codes = dict(ItemScore.objects.filter(attempt=scored).values_list("item", "code"))
        if "acked" in result:
            assert codes["M01"] == "B", "an acknowledged save must be part of the submitted attempt"
            outcomes.append("saved")
        else:
            assert result.get("refused") == "submitted"
            assert codes["M01"] == "99"
            outcomes.append("refused")
        assert codes["M03"] == "36"
    assert len(outcomes) == 12
    print("save/submit race outcomes:", {o: outcomes.count(o) for o in set(outcomes)})


def test_practice_session_accepts_while_open_whatever_the_clock(cycle: Any, world: Any) -> None:
    """Interfaces, session_accepts: a practice session accepts while it is open (no time window)."""
    import datetime as dt

    from django.utils import timezone

    from naeq.delivery.models import SessionKind

    school = world.schools["A1a-1"]
    make_instrument(cycle, "math")
    session = make_session(cycle, school, instruments=["math"], kind=SessionKind.PRACTICE,
                           starts_at=timezone.now() + dt.timedelta(days=3))
    att = attempt_start(taker=make_taker(cycle, school, "S0150"), session=session, instrument_code="math")
    assert _post(Client(), att, "answers", [{"item": "M01", "value": "B", "seq": 1}]).status_code == 200
    session.status = SessionStatus.CLOSED
    session.save()
    assert _post(Client(), att, "answers", [{"item": "M01", "value": "C", "seq": 2}]).json() == {"error": "closed"}
    assert _stored(att) == {"M01": ("B", 1)}


def _paused_in_upsert(monkeypatch: pytest.MonkeyPatch, thread_name: str) -> tuple[threading.Event, threading.Event]:
    """Make the thread called ``thread_name`` stop inside its transaction (locks held) until released (the
    submit's transactional path)."""
    real = hotpath._upsert
    inside, release = threading.Event(), threading.Event()

    def upsert(*args: Any) -> None:
        if threading.current_thread().name == thread_name:
            inside.set()
            assert release.wait(timeout=30)
        real(*args)

    monkeypatch.setattr(hotpath, "_upsert", upsert)
    return inside, release


def _race_world(cycle: Any, code: str) -> Attempt:
    from tests.personas import build_world

    world = build_world()
    school = world.schools["A1a-1"]
    make_instrument(cycle, "math")
    session = make_session(cycle, school, instruments=["math"])
    return attempt_start(taker=make_taker(cycle, school, code), session=session, instrument_code="math")


def _run(name: str, fn: Any, box: dict[str, Any]) -> threading.Thread:
    def body() -> None:
        try:
            box[name] = fn()
        except hotpath.Refused as refused:
            box[name] = refused.reason
        finally:
            connections.close_all()

    t = threading.Thread(target=body, name=name)
    t.start()
    return t


@pytest.mark.django_db(transaction=True)
def test_submit_waits_for_a_save_holding_its_lock(cycle: Any) -> None:
    """The save read the attempt first (FOR SHARE) and is still writing: the submit waits, and the save's
    answer is in the submitted attempt. To hold the save mid-statement, a third connection keeps an uncommitted
    answer row for the same item, so the save's upsert waits on it while holding its share lock."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks are a PostgreSQL matter")
    from django.db import transaction

    att = _race_world(cycle, "S0960")
    blocker_in, blocker_release = threading.Event(), threading.Event()

    def blocker() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cur:
                cur.execute("INSERT INTO delivery_answer (attempt_id, item, value, seq, saved_at) "
                            "VALUES (%s, 'M01', '\"A\"', 1, now())", [att.pk])
                blocker_in.set()
                assert blocker_release.wait(timeout=30)
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
        finally:
            connections.close_all()

    holder = threading.Thread(target=blocker)
    holder.start()
    assert blocker_in.wait(timeout=30)
    box: dict[str, Any] = {}
    saver = _run("save", lambda: hotpath.save_batch(att.pk, [{"item": "M01", "value": "B", "seq": 4}]), box)
    saver.join(timeout=1.0)
    assert saver.is_alive(), "the save waits on the uncommitted row, holding its share lock"
    submitter = _run("submit", lambda: hotpath.submit(att.pk, []), box)
    submitter.join(timeout=1.0)
    assert submitter.is_alive(), "the submit must wait for the save's lock"
    blocker_release.set()
    for t in (holder, saver, submitter):
        t.join(timeout=30)
    assert box["save"] == [["M01", 4]]
    assert box["submit"][1] is True
    assert _stored(att) == {"M01": ("B", 4)}


@pytest.mark.django_db(transaction=True)
def test_save_arriving_during_submit_is_refused(cycle: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The submit locked the attempt first: the save waits, then sees it submitted and gets 409 — it is never
    acknowledged."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks are a PostgreSQL matter")
    att = _race_world(cycle, "S0961")
    inside, release = _paused_in_upsert(monkeypatch, "submit")
    box: dict[str, Any] = {}
    submitter = _run("submit", lambda: hotpath.submit(att.pk, [{"item": "M03", "value": "36", "seq": 1}]), box)
    assert inside.wait(timeout=30)
    saver = _run("save", lambda: hotpath.save_batch(att.pk, [{"item": "M01", "value": "B", "seq": 4}]), box)
    saver.join(timeout=1.0)
    assert saver.is_alive(), "the save must wait for the submit's lock"
    release.set()
    submitter.join(timeout=30)
    saver.join(timeout=30)
    assert box["save"] == "submitted"
    assert _stored(att) == {"M03": ("36", 1)}
