"""Running sessions: open, close, times, incidents, keys, practice sessions; the proctor view and completion."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from naeq.core.errors import InvalidInput, NotFound, PermissionDenied
from naeq.core.models import AuditEvent
from naeq.delivery import selectors, signin
from naeq.delivery import sessions as svc
from naeq.delivery.attempts import attempt_start
from naeq.delivery.models import Attempt, AttemptStatus, Incident, InstrumentKind, Respondent, SessionStatus
from naeq.delivery.models import TestSession as Session
from naeq.delivery.models import TestTaker as Taker
from tests.delivery.factories import make_instrument
from tests.delivery.sessions_world import Sampled, during, generate
from tests.personas import World


@pytest.fixture
def g(world: World, cycle: Any) -> Sampled:
    make_instrument(cycle, "math", booklets={1: ["B1", "B2"], 2: ["B2", "B1"]})
    make_instrument(cycle, "questionnaire_1", kind=InstrumentKind.QUESTIONNAIRE)
    return generate(world, cycle)


def _session(g: Sampled, key: str = "A1a-1", grade: int = 4, code: str = "math") -> Session:
    return next(s for s in Session.objects.filter(school=g.world.schools[key], grade=grade,
                                                  respondent=Respondent.STUDENT) if s.instruments == [code])


def _submit(attempt: Attempt) -> None:
    Attempt.objects.filter(pk=attempt.pk).update(status=AttemptStatus.SUBMITTED, submitted_at=timezone.now())


def test_who_runs_a_school_session(g: Sampled) -> None:
    s = _session(g)
    u = g.world.users
    for persona in ("inspector@A", "county_liaison@A", "province_coordinator@A", "national_admin@A",
                    "city_viewer@A"):
        with pytest.raises(PermissionDenied):
            svc.session_open(actor=u[persona], session_id=s.pk)
    for persona in ("school_head@B", "county_liaison@B", "chief_proctor@B"):
        with pytest.raises(NotFound):
            svc.session_open(actor=u[persona], session_id=s.pk)
    assert Session.objects.get(pk=s.pk).status == SessionStatus.SCHEDULED
    opened = svc.session_open(actor=u["chief_proctor@A"], session_id=s.pk)
    assert opened.status == SessionStatus.OPEN and opened.opened_at is not None
    with pytest.raises(InvalidInput):
        svc.session_open(actor=u["school_head@A"], session_id=s.pk)
    ev = AuditEvent.objects.get(action="delivery.session_open")
    assert (ev.before["status"], ev.after["status"]) == ("scheduled", "open")


def test_county_sessions_are_run_by_the_county(g: Sampled) -> None:
    s = Session.objects.get(county=g.world.regions["A1a"], school=None)
    with pytest.raises(NotFound):  # school staff do not even see the county's session
        svc.session_open(actor=g.world.users["school_head@A"], session_id=s.pk)
    assert svc.session_open(actor=g.world.users["county_info_officer@A"], session_id=s.pk).status == "open"


def test_close_refused_while_answering_unless_forced_and_absentees(g: Sampled) -> None:
    head = g.world.users["school_head@A"]
    s = svc.session_open(actor=head, session_id=_session(g).pk)
    first, second = g.test_ids["A1a-1"][:2]
    taker, session = signin.taker_sign_in(code=first, key=s.key, now=during(s))
    a = attempt_start(taker=taker, session=session, instrument_code="math")
    with pytest.raises(InvalidInput) as exc:
        svc.session_close(actor=head, session_id=s.pk)
    assert exc.value.code == "still_answering"
    view = selectors.proctor_view(actor=head, session_id=s.pk)
    assert [r.absent for r in view.rows] == [False, False]  # nobody is absent while the session is open
    closed = svc.session_close(actor=head, session_id=s.pk, force=True)
    assert closed.status == SessionStatus.CLOSED
    assert Attempt.objects.get(pk=a.pk).status == AttemptStatus.IN_PROGRESS
    view = selectors.proctor_view(actor=head, session_id=s.pk)
    assert {r.taker.code: r.absent for r in view.rows} == {first: False, second: True}
    assert view.absent == 1 and view.signed_in == 1
    ev = AuditEvent.objects.get(action="delivery.session_close")
    assert ev.after["absent"] == [second] and ev.after["forced_in_progress"] == 1


def test_proctor_view_numbers(g: Sampled) -> None:
    from naeq.delivery.models import Answer

    head = g.world.users["school_head@A"]
    s = svc.session_open(actor=head, session_id=_session(g).pk)
    first, second = g.test_ids["A1a-1"][:2]
    t1, _ = signin.taker_sign_in(code=first, key=s.key, now=during(s))
    t2, _ = signin.taker_sign_in(code=second, key=s.key, now=during(s))
    a1 = attempt_start(taker=t1, session=s, instrument_code="math")
    attempt_start(taker=t2, session=s, instrument_code="math")
    for item in ("M01", "M02", "M03"):
        Answer.objects.create(attempt=a1, item=item, value='"A"', seq=1, saved_at=timezone.now())
    _submit(a1)
    view = selectors.proctor_view(actor=g.world.users["inspector@A"], session_id=s.pk)
    rows = {r.taker.code: r for r in view.rows}
    # MATH_ITEMS: four items in the one booklet.
    assert rows[first].progress["math"] == (3, 4, AttemptStatus.SUBMITTED)
    assert rows[second].progress["math"] == (0, 4, AttemptStatus.IN_PROGRESS)
    assert (view.signed_in, view.submitted_all, view.absent) == (2, 1, 0)
    assert not view.can_run and view.can_record_incident  # the inspector supervises


def test_times_incidents_and_keys(g: Sampled) -> None:
    head = g.world.users["school_head@A"]
    s = _session(g)
    start = s.starts_at + dt.timedelta(minutes=3)
    with pytest.raises(InvalidInput):
        svc.session_record_times(actor=head, session_id=s.pk, actual_start=start,
                                 actual_end=start - dt.timedelta(minutes=1))
    svc.session_record_times(actor=head, session_id=s.pk, actual_start=start)
    svc.session_record_times(actor=head, session_id=s.pk, actual_end=start + dt.timedelta(minutes=80))
    s.refresh_from_db()
    assert (s.actual_start, s.actual_end) == (start, start + dt.timedelta(minutes=80))
    with pytest.raises(InvalidInput):
        svc.incident_record(actor=head, session_id=s.pk, category="meteor", grade=1, description="x")
    with pytest.raises(InvalidInput):
        svc.incident_record(actor=head, session_id=s.pk, category="power", grade=4, description="x")
    with pytest.raises(InvalidInput):
        svc.incident_record(actor=head, session_id=s.pk, category="power", grade=1, description="  ")
    with pytest.raises(PermissionDenied):
        svc.incident_record(actor=g.world.users["city_viewer@A"], session_id=s.pk, category="power", grade=1,
                            description="停电")
    assert not Incident.objects.exists()
    # "Severe (grade 3) incidents go to the city at once."
    svc.incident_record(actor=g.world.users["inspector@A"], session_id=s.pk, category="network", grade=3,
                        description="全校网络中断20分钟")
    ev = AuditEvent.objects.get(action="delivery.incident_record")
    assert ev.after["escalate_to_city"] == g.world.regions["A1"].code
    severe = selectors.completion(actor=g.world.users["city_viewer@A"]).severe
    assert [i.description for i in severe] == ["全校网络中断20分钟"]
    assert selectors.completion(actor=g.world.users["city_viewer@B"]).severe == []
    old = s.key
    assert svc.session_key_regenerate(actor=head, session_id=s.pk).key != old


def test_practice_sessions_allow_repeated_attempts_formal_one(g: Sampled) -> None:
    """DOMAIN.md: "Practice projects allow repeated attempts; formal projects one.\""""
    head = g.world.users["school_head@A"]
    school = g.world.schools["A1a-1"]
    with pytest.raises(PermissionDenied):
        svc.practice_session_create(actor=g.world.users["inspector@A"], school_id=school.pk,
                                    instrument_codes=["math"], grade=4)
    with pytest.raises(NotFound):
        svc.practice_session_create(actor=g.world.users["school_head@B"], school_id=school.pk,
                                    instrument_codes=["math"], grade=4)
    with pytest.raises(InvalidInput):
        svc.practice_session_create(actor=head, school_id=school.pk, instrument_codes=["principal_questionnaire"],
                                    grade=4)
    with pytest.raises(InvalidInput):
        svc.practice_session_create(actor=head, school_id=school.pk, instrument_codes=["nope"], grade=4)
    p = svc.practice_session_create(actor=head, school_id=school.pk, instrument_codes=["math"], grade=4,
                                    title="数学练习")
    assert p.kind == "practice" and p.status == SessionStatus.SCHEDULED
    svc.session_open(actor=head, session_id=p.pk)
    code = g.test_ids["A1a-1"][0]
    taker, session = signin.taker_sign_in(code=code, key=p.key)
    first = attempt_start(taker=taker, session=session, instrument_code="math")
    assert attempt_start(taker=taker, session=session, instrument_code="math").pk == first.pk
    _submit(first)
    again = attempt_start(taker=taker, session=session, instrument_code="math")
    assert (again.number, again.pk != first.pk) == (2, True)
    formal = svc.session_open(actor=head, session_id=_session(g).pk)
    f1 = attempt_start(taker=taker, session=formal, instrument_code="math")
    _submit(f1)
    with pytest.raises(InvalidInput) as exc:
        attempt_start(taker=taker, session=formal, instrument_code="math")
    assert "正式测试只能作答一次" in exc.value.message


def test_completion_rates_by_level(g: Sampled) -> None:
    head = g.world.users["school_head@A"]
    s = svc.session_open(actor=head, session_id=_session(g).pk)
    t1 = Taker.objects.get(code=g.test_ids["A1a-1"][0])
    _submit(attempt_start(taker=t1, session=s, instrument_code="math"))
    national = selectors.completion(actor=g.world.users["national_admin@A"])
    rows = {r.code: r for r in national.rows}
    # Province A: math expected = 2 (A1a-1 g4) + 2 (A1a-1 g8) + 2 (A1a-2 g4); one submitted.
    assert rows[g.world.regions["A"].code].cells["math"] == (1, 6)
    assert rows[g.world.regions["B"].code].cells["math"] == (0, 2)
    assert national.total.cells["math"] == (1, 8)
    # Principals: one per participating school; county managers: five per sample county.
    assert national.total.cells["principal_questionnaire"] == (0, 3)
    assert national.total.cells["county_manager_questionnaire"] == (0, 20)
    # Drill down: province A → city A1 → county A1a → schools.
    county = selectors.completion(actor=g.world.users["province_coordinator@A"],
                                  region_code=g.world.regions["A1a"].code)
    by_school = {r.code: r.cells["math"] for r in county.rows if r.code}
    assert by_school == {g.world.schools["A1a-1"].code: (1, 4), g.world.schools["A1a-2"].code: (0, 2)}
    city = {r.code: r for r in selectors.completion(actor=g.world.users["city_viewer@A"]).rows}
    # A1b's only sampled school refused: no students expected there, but its county managers are.
    assert set(city) == {g.world.regions["A1a"].code, g.world.regions["A1b"].code}
    assert city[g.world.regions["A1b"].code].cells["math"] == (0, 0)
    assert city[g.world.regions["A1b"].code].cells["county_manager_questionnaire"] == (0, 5)
    with pytest.raises(NotFound):
        selectors.completion(actor=g.world.users["county_liaison@A"], region_code=g.world.regions["A1b"].code)
    with pytest.raises(NotFound):
        selectors.completion(actor=g.world.users["school_head@A"])


def test_teacher_completion_follows_picks(g: Sampled) -> None:
    from naeq.delivery.teacher_roles import roles_pick

    teachers = list(Taker.objects.filter(kind=Respondent.TEACHER, school=g.world.schools["A1a-1"], grade=4))
    roles_pick(taker=teachers[0], roles=["head_teacher", "subject:math"])
    roles_pick(taker=teachers[1], roles=["subject:math"])
    c = selectors.completion(actor=g.world.users["county_liaison@A"])
    assert c.total.cells["math_teacher_questionnaire"] == (0, 2)
    assert c.total.cells["head_teacher_questionnaire"] == (0, 1)


def test_session_list_filters(g: Sampled) -> None:
    head = g.world.users["school_head@A"]
    mine = selectors.session_list(actor=head)
    assert {s.school_id for s in mine} == {g.world.schools["A1a-1"].pk}
    assert selectors.session_list(actor=head, date="2024-05-23").count() == 0
    assert selectors.session_list(actor=head, date="2024-05-22").count() == mine.count()
    with pytest.raises(InvalidInput):
        selectors.session_list(actor=head, date="22/05/2024")
    liaison = g.world.users["county_liaison@A"]
    assert selectors.session_list(actor=liaison, school_code=g.world.schools["A1a-2"].code).count() == 7
    svc.session_open(actor=head, session_id=_session(g).pk)
    assert selectors.session_list(actor=liaison, status="open").count() == 1


def test_cli_generate_list_open_close(world: World, cycle: Any) -> None:
    from click.testing import CliRunner

    from naeq.cli import main
    from tests.delivery.sessions_world import build_sample

    build_sample(world, cycle)
    runner = CliRunner()
    first = runner.invoke(main, ["sessions", "generate", "--year", "2024"])
    assert first.exit_code == 0, first.output
    assert "student 8" in first.output and Session.objects.count() > 0
    again = runner.invoke(main, ["sessions", "generate", "--year", "2024"])
    assert "student 0" in again.output and "sessions added: student 0" in again.output
    s = _session(g=Sampled(world=world, cycle=cycle, test_ids={}))
    listed = runner.invoke(main, ["sessions", "list", "--school", world.schools["A1a-1"].code])
    assert s.code in listed.output and "2024-05-22 08:30+0800" in listed.output
    refused = runner.invoke(main, ["sessions", "open", s.code, "--as", "inspector_a"])
    assert refused.exit_code == 1 and Session.objects.get(pk=s.pk).status == SessionStatus.SCHEDULED
    assert runner.invoke(main, ["sessions", "open", s.code, "--as", "school_head_a"]).exit_code == 0
    assert runner.invoke(main, ["sessions", "close", s.code, "--as", "school_head_a"]).exit_code == 0
    assert Session.objects.get(pk=s.pk).status == SessionStatus.CLOSED
    for verb in ("generate", "list", "open", "close"):
        assert runner.invoke(main, ["sessions", verb, "--help"]).exit_code == 0
