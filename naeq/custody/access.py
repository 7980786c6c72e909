"""The only place that decides who may see or write custody records and session records.

From the seeds: the county keeps the instruments (保密工作组 / 县级实施工作领导小组:
"负责接收与保管监测工具的安全保密工作；完成监测工具的回邮工作", collected-county-and-school-plans.txt), the school's
two custodians (保密员) collect and return them, and the school uploads its 测试情况记录表
("样本校按照要求上传测试情况记录表"). City accounts view and supervise but do not submit (2023 national briefing).
So:

* **Write the custody ledger** (receipt, storage, issue, return, mail-back) and **request** a two-day keep: the
  county's liaison and information officer, in their own county.
* **Decide** a two-day keep: per :mod:`naeq.custody.config` — the county's officers (not the requester) or the
  province coordinator.
* **Read the ledger and the alerts**: county staff their county; city, province and national staff their tree.
* **School view**: the school's own staff read what their school received and returned; region staff read too.
* **Write a session record**: the school's session runners (:data:`naeq.delivery.access.SCHOOL_RUNNERS`) of a
  school session; everyone who may read the session reads its records.

Missing and out-of-jurisdiction objects raise the same :class:`NotFound`; a reader trying to write gets
:class:`PermissionDenied`.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from naeq.accounts.jurisdiction import Jurisdiction, jurisdiction_of
from naeq.accounts.roles import Level, Role
from naeq.core.errors import NotFound, PermissionDenied
from naeq.custody.config import custody_config
from naeq.custody.models import CustodyEvent, SessionRecord, TwoDayKeep
from naeq.delivery.access import COUNTY_RUNNERS, may_run, session_access
from naeq.delivery.models import TestSession
from naeq.registry.models import Region, RegionLevel, School

#: Keep the county's ledger (the county's 保密工作组 acts through these accounts).
CUSTODIANS = COUNTY_RUNNERS


def _page_missing() -> NotFound:
    return NotFound(_("没有找到该页面。"))


def _staff(actor: Any) -> Jurisdiction:
    j = jurisdiction_of(actor)
    if not j.is_staff_role:
        raise _page_missing()
    return j


def require_region_reader(*, actor: Any) -> Jurisdiction:
    """Region-anchored staff (county and above): the alert and exception pages."""
    j = _staff(actor)
    if j.school_id is not None:
        raise _page_missing()
    return j


def counties_visible(*, actor: Any) -> QuerySet[Region]:
    j = jurisdiction_of(actor)
    if not j.is_staff_role or j.school_id is not None:
        return Region.objects.none()
    qs = Region.objects.filter(level=RegionLevel.COUNTY)
    return qs if j.is_national else qs.filter(path__startswith=j.path)


def county_access(*, actor: Any, code: str) -> Region:
    """A county whose ledger the actor may read, or :class:`NotFound`."""
    county = counties_visible(actor=actor).filter(code=code).first()
    if county is None:
        raise NotFound(_("没有找到该县（区）。"))
    return county


def may_keep_ledger(*, actor: Any, county: Region) -> bool:
    j = jurisdiction_of(actor)
    return j.role in CUSTODIANS and j.path == county.path


def require_custodian(*, actor: Any, code: str) -> Region:
    county = county_access(actor=actor, code=code)
    if not may_keep_ledger(actor=actor, county=county):
        raise PermissionDenied(_("您的账户只能查看保密交接记录，不能登记。"))
    return county


def may_write_test_takers(*, actor: Any) -> bool:
    """Who may turn a school's 测试情况记录表 into its test-taker information: whoever may write the school's test
    takers in the sampling issue (its school writers), within their jurisdiction (checked by
    :func:`school_access`)."""
    from naeq.sampling.access import SCHOOL_WRITERS

    return jurisdiction_of(actor).role in SCHOOL_WRITERS


def require_test_taker_writer(*, actor: Any, code: str) -> School:
    school = school_access(actor=actor, code=code)
    if not may_write_test_takers(actor=actor):
        raise PermissionDenied(_("您的账户只能查看，不能修改测试生信息。"))
    return school


def school_access(*, actor: Any, code: str) -> School:
    """A school whose custody the actor may read: its own staff, or region staff over it."""
    j = _staff(actor)
    school = School.objects.select_related("county").filter(code=code).first()
    if school is None:
        raise NotFound(_("没有找到该学校。"))
    if j.school_id is not None:
        if j.school_id != school.pk:
            raise NotFound(_("没有找到该学校。"))
        return school
    if not (j.is_national or school.path.startswith(j.path)):
        raise NotFound(_("没有找到该学校。"))
    return school


def events_visible(*, actor: Any) -> QuerySet[CustodyEvent]:
    j = jurisdiction_of(actor)
    if not j.is_staff_role:
        return CustodyEvent.objects.none()
    if j.school_id is not None:
        return CustodyEvent.objects.filter(school_id=j.school_id)
    if j.is_national:
        return CustodyEvent.objects.all()
    return CustodyEvent.objects.filter(path__startswith=j.path)


def keeps_visible(*, actor: Any) -> QuerySet[TwoDayKeep]:
    j = jurisdiction_of(actor)
    if not j.is_staff_role:
        return TwoDayKeep.objects.none()
    if j.school_id is not None:
        return TwoDayKeep.objects.filter(school_id=j.school_id)
    if j.is_national:
        return TwoDayKeep.objects.all()
    return TwoDayKeep.objects.filter(path__startswith=j.path)


def may_decide_keep(*, actor: Any, keep: TwoDayKeep) -> bool:
    """Whether the actor decides ``keep`` (assumed visible), per the configured approver."""
    j = jurisdiction_of(actor)
    if custody_config().keep_approver == "province":
        return j.role == Role.PROVINCE_COORDINATOR and j.level == Level.PROVINCE
    return j.role in CUSTODIANS and j.path == keep.path and keep.requested_by_id != getattr(actor, "pk", None)


def may_decide_keeps(*, actor: Any) -> bool:
    """Whether the actor's role decides two-day keeps at all (for showing the decision buttons)."""
    j = jurisdiction_of(actor)
    if custody_config().keep_approver == "province":
        return j.role == Role.PROVINCE_COORDINATOR
    return j.role in CUSTODIANS


def require_keep_decider(*, actor: Any, keep_id: int) -> TwoDayKeep:
    keep = keeps_visible(actor=actor).select_related("school", "county").filter(pk=keep_id).first()
    if keep is None or jurisdiction_of(actor).school_id is not None:
        raise NotFound(_("没有找到该申请。"))
    if not may_decide_keep(actor=actor, keep=keep):
        raise PermissionDenied(_("您的账户不能审批该申请（申请人不能审批自己的申请）。"))
    return keep


def require_records_reader(*, actor: Any) -> Jurisdiction:
    """Staff (school staff see their school's records, region staff their region's): the records export."""
    return _staff(actor)


def records_visible(*, actor: Any) -> QuerySet[SessionRecord]:
    j = jurisdiction_of(actor)
    if not j.is_staff_role:
        return SessionRecord.objects.none()
    if j.school_id is not None:
        return SessionRecord.objects.filter(session__school_id=j.school_id)
    if j.is_national:
        return SessionRecord.objects.all()
    return SessionRecord.objects.filter(path__startswith=j.path)


def record_session_access(*, actor: Any, session_id: int) -> TestSession:
    """A school session whose records the actor may read (county sessions have no 测试情况记录表)."""
    session = session_access(actor=actor, session_id=session_id)
    if session.school_id is None:
        raise NotFound(_("没有找到该测试场次。"))
    return session


def may_write_record(*, actor: Any, session: TestSession) -> bool:
    return session.school_id is not None and may_run(actor=actor, session=session)


def require_record_writer(*, actor: Any, session_id: int) -> TestSession:
    session = record_session_access(actor=actor, session_id=session_id)
    if not may_write_record(actor=actor, session=session):
        raise PermissionDenied(_("您的账户只能查看测试情况记录表，不能填报。"))
    return session
