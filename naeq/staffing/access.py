"""The only place that decides who may see or change staff lists (实施人员).

From the seeds (2024-nanchang-city-plan.txt): "县级实施工作领导小组按照要求为各样本校选派责任督学、主监测员" and
"体育监测员 … 2名由样本县或申报县安排，2名由样本校自行安排" — the county sends some posts, the school arranges the
rest ("要督促样本校按规定安排校内测试工作人员"). So:

* **County team and county-sent posts** (``sent_by: county`` in the catalogue: 责任督学, 主监测员, the county's two PE
  proctors): the county's liaison and information officer, for their own county and its sample schools.
* **School posts** (``sent_by: school``): the school's head and information officer, for their own school.
* **People**: county officers add and edit any person of their county; school officers the people who work at
  their school.
* **Read**: national staff everything; province and city staff their region (city read-only: 2023 briefing, 市级账号
  view and supervise, not submit); county staff their county; the school's staff (including the inspector and chief
  proctor anchored there) their school.

Test takers see none of this. Missing and out-of-jurisdiction objects raise the same :class:`NotFound`; a reader
trying to write gets :class:`PermissionDenied`.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from naeq.accounts.jurisdiction import Jurisdiction, jurisdiction_of
from naeq.accounts.roles import Role
from naeq.core.errors import NotFound, PermissionDenied
from naeq.registry.models import Region, School
from naeq.staffing.config import Post
from naeq.staffing.models import StaffAssignment, StaffMember

#: Edit the county team and the posts the county sends to its schools.
COUNTY_EDITORS = frozenset({Role.COUNTY_LIAISON, Role.COUNTY_INFO_OFFICER})
#: Edit their own school's posts.
SCHOOL_EDITORS = frozenset({Role.SCHOOL_HEAD, Role.SCHOOL_INFO_OFFICER})


def _staff(actor: Any) -> Jurisdiction:
    j = jurisdiction_of(actor)
    if not j.is_staff_role:
        raise NotFound(_("没有找到该页面。"))
    return j


def _county_missing() -> NotFound:
    return NotFound(_("没有找到该县（区）。"))


def _school_missing() -> NotFound:
    return NotFound(_("没有找到该学校。"))


def people_visible(*, actor: Any) -> QuerySet[StaffMember]:
    """People the actor may read: a school's staff see those working at or assigned to their school."""
    j = jurisdiction_of(actor)
    if not j.is_staff_role:
        return StaffMember.objects.none()
    if j.school_id is not None:
        return StaffMember.objects.filter(Q(home_school_id=j.school_id)
                                          | Q(assignments__school_id=j.school_id)).distinct()
    if j.is_national:
        return StaffMember.objects.all()
    return StaffMember.objects.filter(path__startswith=j.path)


def assignments_visible(*, actor: Any) -> QuerySet[StaffAssignment]:
    j = jurisdiction_of(actor)
    if not j.is_staff_role:
        return StaffAssignment.objects.none()
    if j.school_id is not None:
        return StaffAssignment.objects.filter(school_id=j.school_id)
    if j.is_national:
        return StaffAssignment.objects.all()
    return StaffAssignment.objects.filter(path__startswith=j.path)


def county_access(*, actor: Any, code: str) -> Region:
    """A county whose staff overview the actor may read (region-anchored staff only)."""
    j = _staff(actor)
    county = Region.objects.filter(code=code, level="county").first()
    if county is None:
        raise _county_missing()
    if j.school_id is not None:
        raise _county_missing()
    if not j.is_national and not county.path.startswith(j.path):
        raise _county_missing()
    return county


def school_access(*, actor: Any, code: str) -> School:
    """A school whose staff page the actor may read."""
    j = _staff(actor)
    school = School.objects.select_related("county").filter(code=code).first()
    if school is None:
        raise _school_missing()
    if j.school_id is not None and j.school_id != school.pk:
        raise _school_missing()
    if j.school_id is None and not j.is_national and not school.path.startswith(j.path):
        raise _school_missing()
    return school


def may_edit_post(*, actor: Any, post: Post, county: Region, school: School | None) -> bool:
    """Whether the actor may assign people to ``post`` at ``county`` (and ``school``); assumes it is visible."""
    j = jurisdiction_of(actor)
    if post.sent_by == "county":
        return j.role in COUNTY_EDITORS and j.path == county.path
    return j.role in SCHOOL_EDITORS and school is not None and j.school_id == school.pk


def may_edit_county(*, actor: Any, county: Region) -> bool:
    j = jurisdiction_of(actor)
    return j.role in COUNTY_EDITORS and j.path == county.path


def may_edit_school(*, actor: Any, school: School) -> bool:
    """Whether the actor edits any post at ``school`` (the county-sent ones or the school's own)."""
    j = jurisdiction_of(actor)
    if j.role in COUNTY_EDITORS:
        return j.path == school.path
    return j.role in SCHOOL_EDITORS and j.school_id == school.pk


def require_post_editor(*, actor: Any, post: Post, county: Region, school: School | None) -> None:
    if not may_edit_post(actor=actor, post=post, county=county, school=school):
        raise PermissionDenied(_("您的账户不能安排“%(post)s”岗位。") % {"post": post.name})


def may_edit_person(*, actor: Any, person: StaffMember) -> bool:
    j = jurisdiction_of(actor)
    if j.role in COUNTY_EDITORS:
        return j.path == person.path
    return j.role in SCHOOL_EDITORS and person.home_school_id is not None and person.home_school_id == j.school_id


def person_access(*, actor: Any, person_id: int) -> StaffMember:
    person = people_visible(actor=actor).select_related("county", "home_school").filter(pk=person_id).first()
    if person is None:
        raise NotFound(_("没有找到该人员。"))
    return person


def require_person_editor(*, actor: Any, person_id: int) -> StaffMember:
    person = person_access(actor=actor, person_id=person_id)
    if not may_edit_person(actor=actor, person=person):
        raise PermissionDenied(_("您的账户只能查看该人员，不能修改。"))
    return person


def require_person_creator(*, actor: Any, county: Region, home_school: School | None) -> None:
    """County officers add people of their county; school officers people who work at their school."""
    j = jurisdiction_of(actor)
    if j.role in COUNTY_EDITORS and j.path == county.path:
        return
    if j.role in SCHOOL_EDITORS and home_school is not None and j.school_id == home_school.pk:
        return
    raise PermissionDenied(_("您的账户不能在此添加人员。"))


def assignment_access(*, actor: Any, assignment_id: int) -> StaffAssignment:
    a = (assignments_visible(actor=actor).select_related("county", "school", "person", "cycle")
         .filter(pk=assignment_id).first())
    if a is None:
        raise NotFound(_("没有找到该岗位安排。"))
    return a


def may_import(*, actor: Any, county: Region) -> bool:
    """County officers of the county and school officers of a school in it may upload a staff list."""
    j = jurisdiction_of(actor)
    if j.role in COUNTY_EDITORS:
        return j.path == county.path
    return j.role in SCHOOL_EDITORS and j.path == county.path


def import_county_access(*, actor: Any, code: str) -> Region:
    """The county of an upload: region staff over it, or the staff of a school in it."""
    j = _staff(actor)
    county = Region.objects.filter(code=code, level="county").first()
    if county is None:
        raise _county_missing()
    if j.school_id is not None and j.path != county.path:
        raise _county_missing()
    if j.school_id is None and not j.is_national and not county.path.startswith(j.path):
        raise _county_missing()
    return county


def require_importer(*, actor: Any, code: str) -> Region:
    county = import_county_access(actor=actor, code=code)
    if not may_import(actor=actor, county=county):
        raise PermissionDenied(_("您的账户只能查看，不能导入人员名单。"))
    return county
