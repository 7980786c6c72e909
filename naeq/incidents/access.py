"""The only place that decides who may see or act on incident cases, school incident reports and the hotline log.

From the seeds (2024-nanchang-city-plan.txt 四、应急预案: "样本校→县级实施工作领导小组→市级实施工作领导小组"逐级负责;
2023 briefing: city accounts view and supervise, they do not submit):

* **Read cases**: school staff their school's cases; county, city and province staff their region's; national staff
  everything.
* **Write cases** (handling log entries, escalation): the school's head, information officer, inspector and chief
  proctor for their school's cases; the county liaison and information officer, the province coordinator and the
  national administrator within their region. The city viewer and the national analyst read only.
* **Close a case**: a writer whose level is at or above the case's current level ("本级能够进行处置的，要立即处置":
  a school closes what it handled itself; once escalated, the level it reached or above closes it).
* **Open a standalone case** (outside a session, e.g. a county-level leak): county officers for their county,
  school writers for their school, the province coordinator and the national administrator in their region.
* **Incident report form**: the school's head and information officer file it (the head signs); the county
  liaison and information officer collect it; everyone above reads.
* **Hotline**: kept by the county liaison and information officer (2024 plan (9): 安排人员值守并做电话记录);
  city, province and nation read; schools do not see the call log (callers report on schools).

Missing and out-of-jurisdiction objects both raise :class:`NotFound` with the same message; a reader trying to
write gets :class:`PermissionDenied`.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from naeq.accounts.jurisdiction import Jurisdiction, jurisdiction_of
from naeq.accounts.roles import Level, Role
from naeq.core.errors import NotFound, PermissionDenied
from naeq.incidents.config import level_rank
from naeq.incidents.models import HotlineCall, IncidentCase, IncidentReport
from naeq.registry.models import Region, School

SCHOOL_WRITERS = frozenset({Role.SCHOOL_HEAD, Role.SCHOOL_INFO_OFFICER, Role.INSPECTOR, Role.CHIEF_PROCTOR})
REGION_WRITERS = frozenset({Role.COUNTY_LIAISON, Role.COUNTY_INFO_OFFICER, Role.PROVINCE_COORDINATOR,
                            Role.NATIONAL_ADMIN})
REPORT_FILERS = frozenset({Role.SCHOOL_HEAD, Role.SCHOOL_INFO_OFFICER})
COUNTY_OFFICERS = frozenset({Role.COUNTY_LIAISON, Role.COUNTY_INFO_OFFICER})

#: The case level an actor of each account level stands at (nation stands above the province).
ACTOR_RANK: dict[str, int] = {Level.SCHOOL: 0, Level.COUNTY: 1, Level.CITY: 2, Level.PROVINCE: 3, Level.NATION: 4}


def _page_not_found() -> NotFound:
    return NotFound(_("没有找到该页面。"))


def staff(actor: Any) -> Jurisdiction:
    j = jurisdiction_of(actor)
    if not j.is_staff_role:
        raise _page_not_found()
    return j


def region_staff(actor: Any) -> Jurisdiction:
    """Region-anchored staff only (school staff get the page-not-found answer)."""
    j = staff(actor)
    if j.school_id is not None:
        raise _page_not_found()
    return j


def _scoped(qs: QuerySet[Any], j: Jurisdiction, *, schools: bool = True) -> QuerySet[Any]:
    if not j.is_staff_role:
        return qs.none()
    if j.school_id is not None:
        return qs.filter(school_id=j.school_id) if schools else qs.none()
    if j.is_national:
        return qs
    return qs.filter(path__startswith=j.path)


def cases_visible(*, actor: Any) -> QuerySet[IncidentCase]:
    return _scoped(IncidentCase.objects.all(), jurisdiction_of(actor))


def case_access(*, actor: Any, case_id: int) -> IncidentCase:
    case = cases_visible(actor=actor).select_related("county", "school", "incident__session").filter(
        pk=case_id).first()
    if case is None:
        raise NotFound(_("没有找到该应急事件。"))
    return case


def may_write_case(*, actor: Any, case: IncidentCase) -> bool:
    """Assumes the case is visible to the actor."""
    j = jurisdiction_of(actor)
    if j.role in SCHOOL_WRITERS:
        return j.school_id is not None and j.school_id == case.school_id
    return j.role in REGION_WRITERS


def may_close_case(*, actor: Any, case: IncidentCase) -> bool:
    if not may_write_case(actor=actor, case=case):
        return False
    return ACTOR_RANK[jurisdiction_of(actor).level] >= level_rank(case.level)


def require_case_writer(*, actor: Any, case_id: int) -> IncidentCase:
    case = case_access(actor=actor, case_id=case_id)
    if not may_write_case(actor=actor, case=case):
        raise PermissionDenied(_("您的账户只能查看该应急事件，不能处置。"))
    return case


def require_case_closer(*, actor: Any, case_id: int) -> IncidentCase:
    case = require_case_writer(actor=actor, case_id=case_id)
    if not may_close_case(actor=actor, case=case):
        raise PermissionDenied(_("该事件已上报至上级，须由上级办结。"))
    return case


def may_open_case(*, actor: Any) -> bool:
    j = jurisdiction_of(actor)
    return j.role in SCHOOL_WRITERS or j.role in REGION_WRITERS


def require_case_opener(*, actor: Any, county_code: str, school_code: str) -> tuple[Region, School | None]:
    """The county (and school) a standalone case is opened for, inside the actor's jurisdiction."""
    j = staff(actor)
    school = None
    if school_code:
        school = School.objects.select_related("county").filter(code=school_code).first()
        if school is None or not _covers_school(j, school):
            raise NotFound(_("没有找到该学校。"))
        county = school.county
    else:
        county_q = Region.objects.filter(code=county_code, level="county").first()
        if county_q is None or j.school_id is not None or not j.covers_path(county_q.path):
            raise NotFound(_("没有找到该县（区）。"))
        county = county_q
    if not may_open_case(actor=actor):
        raise PermissionDenied(_("您的账户不能登记应急事件。"))
    return county, school


def _covers_school(j: Jurisdiction, school: School) -> bool:
    if j.school_id is not None:
        return j.school_id == school.pk
    return j.covers_path(school.path)


# ------------------------------------------------------------------------------------------- reports


def reports_visible(*, actor: Any) -> QuerySet[IncidentReport]:
    return _scoped(IncidentReport.objects.all(), jurisdiction_of(actor))


def require_school_reader(*, actor: Any, school_code: str) -> School:
    j = staff(actor)
    school = School.objects.select_related("county").filter(code=school_code).first()
    if school is None or not _covers_school(j, school):
        raise NotFound(_("没有找到该学校。"))
    return school


def may_file_report(*, actor: Any, school: School) -> bool:
    j = jurisdiction_of(actor)
    return j.role in REPORT_FILERS and j.school_id == school.pk


def require_report_filer(*, actor: Any, school_code: str) -> School:
    school = require_school_reader(actor=actor, school_code=school_code)
    if not may_file_report(actor=actor, school=school):
        raise PermissionDenied(_("应急事件情况报告表由学校校长或信息员填报。"))
    return school


def require_report_collector(*, actor: Any, report_id: int) -> IncidentReport:
    report = reports_visible(actor=actor).select_related("school").filter(pk=report_id).first()
    if report is None:
        raise NotFound(_("没有找到该报告表。"))
    j = jurisdiction_of(actor)
    if j.role not in COUNTY_OFFICERS:
        raise PermissionDenied(_("报告表由县级联络员或信息员收取。"))
    return report


# ------------------------------------------------------------------------------------------- hotline


def calls_visible(*, actor: Any) -> QuerySet[HotlineCall]:
    return _scoped(HotlineCall.objects.all(), jurisdiction_of(actor), schools=False)


def may_keep_hotline(*, actor: Any) -> bool:
    return jurisdiction_of(actor).role in COUNTY_OFFICERS


def require_hotline_reader(*, actor: Any) -> Jurisdiction:
    return region_staff(actor)


def require_hotline_keeper(*, actor: Any) -> Region:
    """The county whose hotline the actor keeps."""
    j = region_staff(actor)
    if j.role not in COUNTY_OFFICERS:
        raise PermissionDenied(_("监督专线来电由县级联络员或信息员登记。"))
    county = Region.objects.filter(path=j.path, level="county").first()
    if county is None:
        raise _page_not_found()
    return county


def call_access(*, actor: Any, call_id: int) -> HotlineCall:
    call = calls_visible(actor=actor).select_related("county", "school", "handler", "case").filter(
        pk=call_id).first()
    if call is None:
        raise NotFound(_("没有找到该来电记录。"))
    return call


def require_call_keeper(*, actor: Any, call_id: int) -> HotlineCall:
    call = call_access(actor=actor, call_id=call_id)
    if not may_keep_hotline(actor=actor):
        raise PermissionDenied(_("监督专线来电由县级联络员或信息员登记。"))
    return call
