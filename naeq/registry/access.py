"""The only place that decides whether an actor may see or change a region or a school.

Missing and forbidden raise the same :class:`NotFound` with the same message, so probing codes tells an outsider
nothing. One condition per line, so that coverage shows every branch is exercised by the authorisation matrix.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from naeq.accounts.jurisdiction import Jurisdiction, jurisdiction_of
from naeq.core.errors import NotFound, PermissionDenied
from naeq.registry.models import Region, School, Submission


def regions_visible(*, actor: Any) -> QuerySet[Region]:
    j = jurisdiction_of(actor)
    if not j.is_staff_role:
        return Region.objects.none()
    if j.school_id is not None:
        return Region.objects.none()
    if j.is_national:
        return Region.objects.all()
    return Region.objects.filter(path__startswith=j.path)


def schools_visible(*, actor: Any) -> QuerySet[School]:
    j = jurisdiction_of(actor)
    if not j.is_staff_role:
        return School.objects.none()
    if j.school_id is not None:
        return School.objects.filter(pk=j.school_id)
    if j.is_national:
        return School.objects.all()
    return School.objects.filter(path__startswith=j.path)


def region_access(*, actor: Any, code: str) -> Region:
    """The region with this division code, if the actor may see it."""
    region = regions_visible(actor=actor).filter(code=code).select_related("parent").first()
    if region is None:
        raise NotFound(_("没有找到该区域。"))
    return region


def school_access(*, actor: Any, code: str) -> School:
    """The school with this identification code, if the actor may see it."""
    school = schools_visible(actor=actor).filter(code=code).select_related("county__parent__parent").first()
    if school is None:
        raise NotFound(_("没有找到该学校。"))
    return school


def _require_writer(j: Jurisdiction) -> None:
    if not j.can_write_registry:
        raise PermissionDenied(_("您的账户只能查看，不能修改。"))


def region_access_for_write(*, actor: Any, code: str) -> Region:
    region = region_access(actor=actor, code=code)
    j = jurisdiction_of(actor)
    _require_writer(j)
    return region


def school_access_for_write(*, actor: Any, code: str) -> School:
    school = school_access(actor=actor, code=code)
    j = jurisdiction_of(actor)
    _require_writer(j)
    return school


# ------------------------------------------------------------------------------------------------ submissions


def submissions_visible(*, actor: Any) -> QuerySet[Submission]:
    """Review-chain submissions inside the actor's jurisdiction (a school's own, a region's subtree)."""
    j = jurisdiction_of(actor)
    if not j.is_staff_role:
        return Submission.objects.none()
    if j.school_id is not None:
        return Submission.objects.filter(school_id=j.school_id)
    if j.is_national:
        return Submission.objects.all()
    return Submission.objects.filter(county__path__startswith=j.path)


def submission_access(*, actor: Any, submission_id: int) -> Submission:
    submission = (submissions_visible(actor=actor).filter(pk=submission_id)
                  .select_related("county__parent__parent", "school").first())
    if submission is None:
        raise NotFound(_("没有找到该提交记录。"))
    return submission


def submission_access_for_action(*, actor: Any, submission_id: int) -> Submission:
    """A submission the actor may see and act on (403 for read-only accounts)."""
    submission = submission_access(actor=actor, submission_id=submission_id)
    _require_writer(jurisdiction_of(actor))
    return submission
