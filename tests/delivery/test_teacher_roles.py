"""Teachers pick their roles; each role brings its questionnaire; DOMAIN.md: "a wrong pick is reset only with
approval"."""

from __future__ import annotations

from typing import Any

import pytest

from naeq.core.errors import InvalidInput, NotFound, PermissionDenied
from naeq.core.models import AuditEvent
from naeq.delivery import teacher_roles as tr
from naeq.delivery.attempts import attempt_start
from naeq.delivery.models import Attempt, AttemptStatus, InstrumentKind, Respondent, RoleResetRequest
from naeq.delivery.models import TestSession as Session
from naeq.delivery.models import TestTaker as Taker
from naeq.delivery.selectors import instruments_for
from naeq.delivery.sessions import session_open
from tests.delivery.factories import make_instrument
from tests.delivery.sessions_world import Sampled, generate
from tests.personas import World

TEACHER_QS = ["head_teacher_questionnaire", "math_teacher_questionnaire", "pe_teacher_questionnaire",
              "mental_health_teacher_questionnaire"]


@pytest.fixture
def g(world: World, cycle: Any) -> Sampled:
    for code in TEACHER_QS:
        make_instrument(cycle, code, kind=InstrumentKind.QUESTIONNAIRE)
    return generate(world, cycle)


def _teacher(g: Sampled) -> tuple[Taker, Session]:
    school = g.world.schools["A1a-1"]
    session = session_open(actor=g.world.users["school_head@A"], session_id=Session.objects.get(
        school=school, grade=4, respondent=Respondent.TEACHER).pk)
    taker = Taker.objects.filter(school=school, kind=Respondent.TEACHER, grade=4).order_by("code").first()
    assert taker is not None
    return taker, session


def test_roles_on_offer_come_from_the_configuration(cycle: Any) -> None:
    assert tr.role_choices(cycle) == [("head_teacher", "班主任"), ("subject:math", "数学教师"),
                                      ("subject:pe", "体育与健康教师"), ("subject:mental_health", "心理健康教师")]
    assert tr.matching_instruments(cycle, ["subject:pe", "head_teacher"]) == ["head_teacher_questionnaire",
                                                                             "pe_teacher_questionnaire"]


def test_pick_is_locked_and_brings_the_matching_questionnaires(g: Sampled) -> None:
    taker, session = _teacher(g)
    assert instruments_for(taker, session) == []  # nothing before the pick
    taker = tr.roles_pick(taker=taker, roles=["head_teacher", "subject:math"])
    assert taker.roles_locked and taker.roles == ["head_teacher", "subject:math"]
    assert instruments_for(taker, session) == ["head_teacher_questionnaire", "math_teacher_questionnaire"]
    with pytest.raises(InvalidInput) as exc:
        tr.roles_pick(taker=taker, roles=["subject:pe"])
    assert exc.value.code == "roles_locked"
    assert Taker.objects.get(pk=taker.pk).roles == ["head_teacher", "subject:math"]


def test_bad_picks_change_nothing(g: Sampled) -> None:
    taker, _session = _teacher(g)
    for roles, code in (([], "no_roles"), (["subject:chinese"], "bad_role"), (["principal"], "bad_role")):
        with pytest.raises(InvalidInput) as exc:
            tr.roles_pick(taker=taker, roles=roles)
        assert exc.value.code == code
    assert not Taker.objects.get(pk=taker.pk).roles_locked


def test_a_wrong_pick_is_reset_only_with_approval(g: Sampled) -> None:
    """DOMAIN.md: "Teachers who hold several roles pick their roles; a wrong pick is reset only with approval"."""
    taker, session = _teacher(g)
    taker = tr.roles_pick(taker=taker, roles=["head_teacher", "subject:pe"])
    kept = attempt_start(taker=taker, session=session, instrument_code="head_teacher_questionnaire")
    dropped = attempt_start(taker=taker, session=session, instrument_code="pe_teacher_questionnaire")
    req = tr.role_reset_request_file(taker=taker, reason="我不教体育，误选了体育教师")
    with pytest.raises(InvalidInput):  # one pending request at a time
        tr.role_reset_request_file(taker=taker, reason="再申请一次")
    # The school and the city cannot approve; county B cannot even see it.
    with pytest.raises(PermissionDenied):
        tr.role_reset_decide(actor=g.world.users["school_info_officer@A"], request_id=req.pk, approve=True)
    with pytest.raises(NotFound):
        tr.role_reset_decide(actor=g.world.users["county_liaison@B"], request_id=req.pk, approve=True)
    with pytest.raises(NotFound):
        tr.role_reset_decide(actor=g.world.users["city_viewer@A"], request_id=req.pk + 999, approve=True)
    assert Taker.objects.get(pk=taker.pk).roles_locked
    tr.role_reset_decide(actor=g.world.users["county_liaison@A"], request_id=req.pk, approve=True)
    taker = Taker.objects.get(pk=taker.pk)
    assert (taker.roles, taker.roles_locked) == ([], False)
    assert RoleResetRequest.objects.get(pk=req.pk).status == RoleResetRequest.Status.APPROVED
    # The new pick drops the questionnaire no longer held (with its answers), keeps the one still held.
    tr.roles_pick(taker=taker, roles=["head_teacher", "subject:math"])
    assert list(Attempt.objects.filter(test_taker=taker).values_list("pk", flat=True)) == [kept.pk]
    assert not Attempt.objects.filter(pk=dropped.pk).exists()
    ev = AuditEvent.objects.filter(action="delivery.roles_pick").order_by("-id").first()
    assert ev is not None and ev.after["removed_attempts"] == 1
    assert ev.after["removed_instruments"] == ["pe_teacher_questionnaire"]
    decided = AuditEvent.objects.get(action="delivery.role_reset_decide")
    assert decided.before["roles"] == ["head_teacher", "subject:pe"]


def test_rejected_reset_keeps_the_pick_and_submitted_answers_stay(g: Sampled) -> None:
    taker, session = _teacher(g)
    taker = tr.roles_pick(taker=taker, roles=["subject:pe"])
    a = attempt_start(taker=taker, session=session, instrument_code="pe_teacher_questionnaire")
    Attempt.objects.filter(pk=a.pk).update(status=AttemptStatus.SUBMITTED, submitted_at=a.started_at)
    req = tr.role_reset_request_file_for(actor=g.world.users["school_info_officer@A"], taker_id=taker.pk,
                                         reason="学校信息员代为申请")
    tr.role_reset_decide(actor=g.world.users["province_coordinator@A"], request_id=req.pk, approve=False)
    assert Taker.objects.get(pk=taker.pk).roles == ["subject:pe"]
    with pytest.raises(InvalidInput):
        tr.role_reset_decide(actor=g.world.users["county_liaison@A"], request_id=req.pk, approve=True)
    req2 = tr.role_reset_request_file(taker=taker, reason="确实选错")
    tr.role_reset_decide(actor=g.world.users["county_info_officer@A"], request_id=req2.pk, approve=True)
    tr.roles_pick(taker=Taker.objects.get(pk=taker.pk), roles=["head_teacher"])
    assert Attempt.objects.filter(pk=a.pk, status=AttemptStatus.SUBMITTED).exists()


def test_only_the_schools_info_officer_files_for_a_teacher(g: Sampled) -> None:
    taker, _session = _teacher(g)
    tr.roles_pick(taker=taker, roles=["subject:pe"])
    with pytest.raises(PermissionDenied):
        tr.role_reset_request_file_for(actor=g.world.users["chief_proctor@A"], taker_id=taker.pk, reason="x")
    with pytest.raises(NotFound):
        tr.role_reset_request_file_for(actor=g.world.users["school_info_officer@B"], taker_id=taker.pk, reason="x")
    with pytest.raises(InvalidInput):
        tr.role_reset_request_file_for(actor=g.world.users["school_info_officer@A"], taker_id=taker.pk, reason=" ")
    assert not RoleResetRequest.objects.exists()


def test_practice_sessions_do_not_need_or_lock_a_pick(g: Sampled) -> None:
    from naeq.delivery.sessions import practice_session_create

    taker, _session = _teacher(g)
    head = g.world.users["school_head@A"]
    p = practice_session_create(actor=head, school_id=taker.school_id, respondent=Respondent.TEACHER, grade=4,
                                instrument_codes=["head_teacher_questionnaire", "pe_teacher_questionnaire"])
    assert instruments_for(taker, p) == ["head_teacher_questionnaire", "pe_teacher_questionnaire"]
    assert not Taker.objects.get(pk=taker.pk).roles_locked
