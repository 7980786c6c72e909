"""The only place that decides who may see or run a test session, and who approves role resets.

From the seeds: the school's head and its information officers prepare rooms and staff and run the sessions with
the chief proctor (主监测员) the county sends to the school; the inspector (责任督学) supervises the school's
sitting and reports incidents, but does not run it. So:

* **Run** a school session (open, close, record start and end times, see and regenerate the key, create a
  practice session): the school's head, information officer and chief proctor.
* **Run** a county session (the county manager questionnaire window): the county's liaison and information
  officer. They read their schools' sessions and their completion, they do not run them.
* **Record incidents**: whoever runs the session, and the school's inspector.
* **Read** (lists, proctor view, completion): the school's staff their own school; county, city and province
  staff their region; national staff everything. Keys are shown only to those who run the session.
* **Approve a role reset**: county liaison and information officer, province coordinator and national
  administrator, within their jurisdiction. City viewers and the national analyst read only.

Test takers see none of this. A session outside the actor's jurisdiction and a missing one both raise
:class:`NotFound` with the same message; a reader trying to write gets :class:`PermissionDenied`.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from naeq.accounts.jurisdiction import Jurisdiction, jurisdiction_of
from naeq.accounts.roles import Role
from naeq.core.errors import NotFound, PermissionDenied
from naeq.delivery.models import RoleResetRequest, TestSession, TestTaker

#: Run a school's session (only their own school).
SCHOOL_RUNNERS = frozenset({Role.SCHOOL_HEAD, Role.SCHOOL_INFO_OFFICER, Role.CHIEF_PROCTOR})
#: Run a county-level session (only their own county).
COUNTY_RUNNERS = frozenset({Role.COUNTY_LIAISON, Role.COUNTY_INFO_OFFICER})
#: Record incidents in a school session besides its runners.
INCIDENT_RECORDERS = frozenset({Role.INSPECTOR})
#: Decide teachers' role reset requests.
RESET_APPROVERS = frozenset({Role.NATIONAL_ADMIN, Role.PROVINCE_COORDINATOR, Role.COUNTY_LIAISON,
                             Role.COUNTY_INFO_OFFICER})
#: File a role reset request for a teacher of their school (the teacher files it from the test-taker side).
RESET_FILERS = frozenset({Role.SCHOOL_INFO_OFFICER})


def _not_found() -> NotFound:
    return NotFound(_("没有找到该测试场次。"))


def _staff(actor: Any) -> Jurisdiction:
    j = jurisdiction_of(actor)
    if not j.is_staff_role:
        raise NotFound(_("没有找到该页面。"))
    return j


def sessions_visible(*, actor: Any) -> QuerySet[TestSession]:
    """The sessions the actor may read: their school's, their region's, or all."""
    j = jurisdiction_of(actor)
    if not j.is_staff_role:
        return TestSession.objects.none()
    if j.school_id is not None:
        return TestSession.objects.filter(school_id=j.school_id)
    if j.is_national:
        return TestSession.objects.all()
    return TestSession.objects.filter(path__startswith=j.path)


def takers_visible(*, actor: Any) -> QuerySet[TestTaker]:
    j = jurisdiction_of(actor)
    if not j.is_staff_role:
        return TestTaker.objects.none()
    if j.school_id is not None:
        return TestTaker.objects.filter(school_id=j.school_id)
    if j.is_national:
        return TestTaker.objects.all()
    return TestTaker.objects.filter(path__startswith=j.path)


def session_access(*, actor: Any, session_id: int) -> TestSession:
    """A session the actor may read, or :class:`NotFound`."""
    session = sessions_visible(actor=actor).select_related("school", "county", "cycle").filter(
        pk=session_id).first()
    if session is None:
        raise _not_found()
    return session


def may_run(*, actor: Any, session: TestSession) -> bool:
    """Whether the actor runs ``session`` (open, close, times, key). Assumes the session is visible."""
    j = jurisdiction_of(actor)
    if session.school_id is not None:
        return j.role in SCHOOL_RUNNERS and j.school_id == session.school_id
    return j.role in COUNTY_RUNNERS and j.path == session.path


def may_record_incident(*, actor: Any, session: TestSession) -> bool:
    j = jurisdiction_of(actor)
    if may_run(actor=actor, session=session):
        return True
    return j.role in INCIDENT_RECORDERS and session.school_id is not None and j.school_id == session.school_id


def require_session_runner(*, actor: Any, session_id: int) -> TestSession:
    """A session the actor runs; a visible session they only read gives :class:`PermissionDenied`."""
    session = session_access(actor=actor, session_id=session_id)
    if not may_run(actor=actor, session=session):
        raise PermissionDenied(_("您的账户只能查看该场次，不能操作。"))
    return session


def require_incident_recorder(*, actor: Any, session_id: int) -> TestSession:
    session = session_access(actor=actor, session_id=session_id)
    if not may_record_incident(actor=actor, session=session):
        raise PermissionDenied(_("您的账户不能记录该场次的应急事件。"))
    return session


def require_practice_creator(*, actor: Any, school_id: int) -> Jurisdiction:
    """Practice sessions are created by the school's own runners."""
    j = _staff(actor)
    if j.school_id != school_id:
        raise NotFound(_("没有找到该学校。"))
    if j.role not in SCHOOL_RUNNERS:
        raise PermissionDenied(_("您的账户只能查看，不能创建练习场次。"))
    return j


def require_region_reader(*, actor: Any) -> Jurisdiction:
    """Completion rates and the reset approval list: region-anchored staff (school staff see their sessions)."""
    j = _staff(actor)
    if j.school_id is not None:
        raise NotFound(_("没有找到该页面。"))
    return j


def reset_requests_visible(*, actor: Any) -> QuerySet[RoleResetRequest]:
    j = jurisdiction_of(actor)
    if not j.is_staff_role:
        return RoleResetRequest.objects.none()
    if j.school_id is not None:
        return RoleResetRequest.objects.filter(test_taker__school_id=j.school_id)
    if j.is_national:
        return RoleResetRequest.objects.all()
    return RoleResetRequest.objects.filter(Q(test_taker__path__startswith=j.path))


def require_reset_approver(*, actor: Any, request_id: int) -> RoleResetRequest:
    req = reset_requests_visible(actor=actor).select_related("test_taker").filter(pk=request_id).first()
    if req is None:
        raise NotFound(_("没有找到该申请。"))
    if jurisdiction_of(actor).role not in RESET_APPROVERS:
        raise PermissionDenied(_("您的账户不能审批角色重置申请。"))
    return req


def require_reset_filer(*, actor: Any, taker_id: int) -> TestTaker:
    """A school information officer files a reset for a teacher of their own school."""
    taker = takers_visible(actor=actor).filter(pk=taker_id).first()
    if taker is None:
        raise NotFound(_("没有找到该测试对象。"))
    if jurisdiction_of(actor).role not in RESET_FILERS:
        raise PermissionDenied(_("您的账户不能提交角色重置申请。"))
    return taker


def may_approve_resets(*, actor: Any) -> bool:
    return jurisdiction_of(actor).role in RESET_APPROVERS
