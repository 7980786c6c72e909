"""The only place that decides who may see or change the sample.

Reading follows the registry: national staff see the whole sample, province and city staff their province or
city, county staff their county, school staff their own school (as a sampled school; never the county's list).
Test takers see nothing here. Missing and forbidden raise the same :class:`NotFound`.

Writing: only national administrators draw and compute weights; county writers (and province coordinators and
national administrators above them) record a school's participation; the school's head and information officer,
or the county, draw its students and report its test takers. City viewers, the national analyst, inspectors and
chief proctors read only (:class:`PermissionDenied`). Names of students are shown to the school and its county
only; everyone else gets pseudonymised lists (test ID, sex, birth month).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from naeq.accounts.jurisdiction import Jurisdiction, jurisdiction_of
from naeq.accounts.roles import Level, Role
from naeq.core.errors import NotFound, PermissionDenied
from naeq.sampling.models import SampledCounty, SampledSchool, SampledStudent

#: Roles that write school participation (region-anchored registry writers).
PARTICIPATION_WRITERS = frozenset({Role.NATIONAL_ADMIN, Role.PROVINCE_COORDINATOR, Role.COUNTY_LIAISON,
                                   Role.COUNTY_INFO_OFFICER})
#: Roles that draw a school's students and report its test takers.
SCHOOL_WRITERS = frozenset({Role.NATIONAL_ADMIN, Role.PROVINCE_COORDINATOR, Role.COUNTY_LIAISON,
                            Role.COUNTY_INFO_OFFICER, Role.SCHOOL_HEAD, Role.SCHOOL_INFO_OFFICER})


def _staff(actor: Any) -> Jurisdiction:
    j = jurisdiction_of(actor)
    if not j.is_staff_role:
        raise NotFound(_("没有找到该页面。"))
    return j


def sampled_counties_visible(*, actor: Any) -> QuerySet[SampledCounty]:
    j = jurisdiction_of(actor)
    if not j.is_staff_role:
        return SampledCounty.objects.none()
    if j.school_id is not None:
        return SampledCounty.objects.none()
    if j.is_national:
        return SampledCounty.objects.all()
    return SampledCounty.objects.filter(path__startswith=j.path)


def sampled_schools_visible(*, actor: Any) -> QuerySet[SampledSchool]:
    j = jurisdiction_of(actor)
    if not j.is_staff_role:
        return SampledSchool.objects.none()
    if j.school_id is not None:
        return SampledSchool.objects.filter(school_id=j.school_id)
    if j.is_national:
        return SampledSchool.objects.all()
    return SampledSchool.objects.filter(path__startswith=j.path)


def sampled_students_visible(*, actor: Any) -> QuerySet[SampledStudent]:
    j = jurisdiction_of(actor)
    if not j.is_staff_role:
        return SampledStudent.objects.none()
    if j.school_id is not None:
        return SampledStudent.objects.filter(sampled_school__school_id=j.school_id)
    if j.is_national:
        return SampledStudent.objects.all()
    return SampledStudent.objects.filter(path__startswith=j.path)


def require_region_reader(*, actor: Any) -> Jurisdiction:
    """Pages over counties (lists, progress): region-anchored staff only; school staff see their school page."""
    j = _staff(actor)
    if j.school_id is not None:
        raise NotFound(_("没有找到该页面。"))
    return j


def require_national(*, actor: Any) -> Jurisdiction:
    """Run lists: national staff only."""
    j = _staff(actor)
    if not j.is_national:
        raise NotFound(_("没有找到该页面。"))
    return j


def require_drawer(*, actor: Any) -> Jurisdiction:
    """Draws and weights: national administrators; the analyst reads only."""
    j = require_national(actor=actor)
    if j.role != Role.NATIONAL_ADMIN:
        raise PermissionDenied(_("您的账户只能查看，不能抽样。"))
    return j


def require_participation_writer(*, actor: Any) -> Jurisdiction:
    j = jurisdiction_of(actor)
    if j.role not in PARTICIPATION_WRITERS:
        raise PermissionDenied(_("您的账户只能查看，不能修改。"))
    return j


def require_school_writer(*, actor: Any) -> Jurisdiction:
    j = jurisdiction_of(actor)
    if j.role not in SCHOOL_WRITERS:
        raise PermissionDenied(_("您的账户只能查看，不能修改。"))
    return j


def may_see_names(*, actor: Any) -> bool:
    """Student names: the school's own staff and its county's staff only."""
    j = jurisdiction_of(actor)
    if not j.is_staff_role:
        return False
    return j.level in (Level.SCHOOL, Level.COUNTY)


def may_draw(*, actor: Any) -> bool:
    """Whether to offer the draw forms (the services check again)."""
    return jurisdiction_of(actor).role == Role.NATIONAL_ADMIN


def may_write_participation(*, actor: Any) -> bool:
    return jurisdiction_of(actor).role in PARTICIPATION_WRITERS


def may_write_school(*, actor: Any) -> bool:
    return jurisdiction_of(actor).role in SCHOOL_WRITERS
