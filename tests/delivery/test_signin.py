"""Signing in with test ID + session key: no personal passwords, one generic error, a rate limit."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.cache import cache

from naeq.core.errors import InvalidInput
from naeq.core.models import AuditEvent
from naeq.delivery import signin
from naeq.delivery.models import Respondent, SessionKind, SessionStatus
from naeq.delivery.models import TestSession as Session
from naeq.delivery.models import TestTaker as Taker
from naeq.delivery.sessions import session_accepts, session_open
from tests.delivery.sessions_world import Sampled, during, generate
from tests.personas import World


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    cache.clear()


@pytest.fixture
def g(world: World, cycle: Any) -> Sampled:
    return generate(world, cycle)


def _math(g: Sampled, key: str = "A1a-1", grade: int = 4) -> Session:
    s = next(s for s in Session.objects.filter(school=g.world.schools[key], grade=grade,
                                               respondent=Respondent.STUDENT) if s.instruments == ["math"])
    return session_open(actor=g.world.users["school_head@A" if key.startswith("A") else "school_head@B"],
                        session_id=s.pk) if key in ("A1a-1", "B1a-1") else s


def test_sign_in_with_test_id_and_key(g: Sampled) -> None:
    s = _math(g)
    code = g.test_ids["A1a-1"][0]
    taker, session = signin.taker_sign_in(code=code.lower(), key=f" {s.key.lower()} ", ip="10.0.0.1",
                                          now=during(s))
    assert (taker.code, session.pk) == (code, s.pk)
    ev = AuditEvent.objects.get(action="delivery.sign_in")
    assert (ev.object_id, ev.after["taker"], ev.actor_label) == (str(s.pk), code, f"taker:{code}")
    data = {signin.SESSION_KEY: signin.session_data(taker, session)}
    assert signin.current_taker(data, now=during(s)) == (taker, session)


def _refused(code: str, key: str, now: dt.datetime, ip: str = "10.0.0.9") -> str:
    with pytest.raises(InvalidInput) as exc:
        signin.taker_sign_in(code=code, key=key, ip=ip, now=now)
    return exc.value.message


def test_every_failure_gives_the_same_message(g: Sampled) -> None:
    s = _math(g)
    code = g.test_ids["A1a-1"][0]
    other = _math(g, "B1a-1", 8)
    grade8 = g.test_ids["A1a-1"][2]  # a grade-8 student of the same school: not this grade-4 session
    messages = {
        _refused(code, "WRONG2", during(s)),  # wrong key
        _refused("99999999999999", s.key, during(s)),  # unknown ID
        _refused(code, other.key, during(s)),  # another school's open session
        _refused(grade8, s.key, during(s)),  # the school's other grade
        _refused(code, s.key, s.starts_at - dt.timedelta(minutes=31)),  # before the window
        _refused(code, s.key, s.ends_at + dt.timedelta(minutes=31)),  # after the window
    }
    assert len(messages) == 1
    assert not AuditEvent.objects.filter(action="delivery.sign_in").exists()


def test_closed_or_unopened_session_refuses(g: Sampled) -> None:
    scheduled = _math(g, "A1a-2", 4)
    assert scheduled.status == SessionStatus.SCHEDULED
    with pytest.raises(InvalidInput):
        signin.taker_sign_in(code=g.test_ids["A1a-2"][0], key=scheduled.key, now=during(scheduled))
    s = _math(g)
    Session.objects.filter(pk=s.pk).update(status=SessionStatus.CLOSED)
    with pytest.raises(InvalidInput):
        signin.taker_sign_in(code=g.test_ids["A1a-1"][0], key=s.key, now=during(s))


def test_window_edges_of_a_formal_session(g: Sampled) -> None:
    s = _math(g)
    assert session_accepts(s, s.starts_at - dt.timedelta(minutes=30))
    assert not session_accepts(s, s.starts_at - dt.timedelta(minutes=31))
    assert session_accepts(s, s.ends_at + dt.timedelta(minutes=30))
    assert not session_accepts(s, s.ends_at + dt.timedelta(minutes=31))
    s.ends_at = None  # "至全部完成"
    assert session_accepts(s, s.starts_at + dt.timedelta(days=2))
    s.kind = SessionKind.PRACTICE
    s.starts_at = s.starts_at + dt.timedelta(days=30)
    assert session_accepts(s, s.starts_at - dt.timedelta(days=10))


def test_current_taker_lapses_when_the_session_closes(g: Sampled) -> None:
    s = _math(g)
    taker, session = signin.taker_sign_in(code=g.test_ids["A1a-1"][0], key=s.key, now=during(s))
    data = {signin.SESSION_KEY: signin.session_data(taker, session)}
    Session.objects.filter(pk=s.pk).update(status=SessionStatus.CLOSED)
    assert signin.current_taker(data, now=during(s)) is None
    assert signin.current_taker({}, now=during(s)) is None
    assert signin.current_taker({signin.SESSION_KEY: {"taker_id": "1", "session_id": s.pk}}) is None


def test_teachers_principals_and_county_managers_sign_in_to_theirs(g: Sampled) -> None:
    head = g.world.users["school_head@A"]
    school = g.world.schools["A1a-1"]
    t_session = session_open(actor=head, session_id=Session.objects.get(
        school=school, grade=8, respondent=Respondent.TEACHER).pk)
    teacher = Taker.objects.filter(school=school, kind=Respondent.TEACHER, grade=8).first()
    assert teacher is not None
    assert signin.taker_sign_in(code=teacher.code, key=t_session.key, now=during(t_session))[1] == t_session
    grade4_teacher = Taker.objects.filter(school=school, kind=Respondent.TEACHER, grade=4).first()
    assert grade4_teacher is not None
    with pytest.raises(InvalidInput):  # a grade-4 teacher with the grade-8 teachers' key
        signin.taker_sign_in(code=grade4_teacher.code, key=t_session.key, now=during(t_session))
    liaison = g.world.users["county_liaison@A"]
    c_session = session_open(actor=liaison, session_id=Session.objects.get(
        county=g.world.regions["A1a"], school=None).pk)
    manager = f"{g.world.regions['A1a'].code}M03"
    assert signin.taker_sign_in(code=manager, key=c_session.key, now=during(c_session, 60 * 30))[1] == c_session
    with pytest.raises(InvalidInput):  # another county's manager
        signin.taker_sign_in(code=f"{g.world.regions['A1b'].code}M01", key=c_session.key,
                             now=during(c_session, 60))


def test_rate_limit_per_test_id_and_per_address(g: Sampled, settings: Any) -> None:
    settings.NAEQ_SIGNIN_IP_FAILURES = 15  # production: 300 (a school room shares one NAT address)
    s = _math(g)
    code = g.test_ids["A1a-1"][0]
    for n in range(signin.FAILURE_LIMIT):
        _refused(code, "WRONG2", during(s), ip=f"10.1.0.{n}")
    # The ID is now locked even with the right key, from any address, with its own message.
    with pytest.raises(InvalidInput) as exc:
        signin.taker_sign_in(code=code, key=s.key, ip="10.2.0.1", now=during(s))
    assert exc.value.code == "sign_in_rate_limited"
    # Another ID from a fresh address still signs in.
    other = g.test_ids["A1a-1"][1]
    assert signin.taker_sign_in(code=other, key=s.key, ip="10.2.0.2", now=during(s))[0].code == other
    # One address guessing many IDs is locked too, at its own (higher) limit.
    for n in range(signin.FAILURE_LIMIT):
        _refused(f"1000000000000{n}", s.key, during(s), ip="10.3.0.1")
    assert signin.taker_sign_in(code=other, key=s.key, ip="10.3.0.1", now=during(s))[0].code == other
    for n in range(5):
        _refused(f"1000000000000{n}", s.key, during(s), ip="10.3.0.1")
    with pytest.raises(InvalidInput) as exc:
        signin.taker_sign_in(code=other, key=s.key, ip="10.3.0.1", now=during(s))
    assert exc.value.code == "sign_in_rate_limited"
