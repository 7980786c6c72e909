"""The only place that decides who may see and change problem letters and rectification plans.

* National centre staff (administrator, analyst) draft, edit and issue letters, see every letter and plan, and
  review the provinces' plans.
* A province coordinator sees its province's *issued* letter (drafts are the national centre's working copy),
  writes plans whose responsible unit is the province, and reviews its counties' plans.
* A county liaison sees its province's issued letter, and writes and updates plans whose responsible unit is its
  county.
* Everyone else sees nothing; a letter or plan outside what the actor may see raises the same :class:`NotFound`
  as one that does not exist.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from naeq.accounts.jurisdiction import jurisdiction_of
from naeq.accounts.roles import Role
from naeq.core.errors import NotFound
from naeq.rectification.models import LetterStatus, Problem, ProblemLetter, RectificationPlan

NATIONAL = frozenset({Role.NATIONAL_ADMIN, Role.NATIONAL_ANALYST})
#: the roles that write plans, at the level of the plan's responsible unit
WRITERS = {"province": Role.PROVINCE_COORDINATOR, "county": Role.COUNTY_LIAISON}


def is_national(actor: Any) -> bool:
    j = jurisdiction_of(actor)
    return j.is_national and j.role in NATIONAL


def may_draft(*, actor: Any) -> bool:
    return is_national(actor)


def may_read(*, actor: Any) -> bool:
    """Whether the rectification pages exist for the actor at all."""
    j = jurisdiction_of(actor)
    return is_national(actor) or j.role in (Role.PROVINCE_COORDINATOR, Role.COUNTY_LIAISON)


def letters_visible(*, actor: Any) -> QuerySet[ProblemLetter]:
    if is_national(actor):
        return ProblemLetter.objects.all()
    j = jurisdiction_of(actor)
    if j.role not in (Role.PROVINCE_COORDINATOR, Role.COUNTY_LIAISON):
        return ProblemLetter.objects.none()
    province_path = j.path.split("/")[0] + "/"
    return ProblemLetter.objects.filter(status=LetterStatus.ISSUED, path=province_path)


def letter_access(*, actor: Any, letter_id: int) -> ProblemLetter:
    letter = letters_visible(actor=actor).select_related("cycle", "province").filter(pk=letter_id).first()
    if letter is None:
        raise NotFound(_("没有找到该问题函。"))
    return letter


def problem_access(*, actor: Any, problem_id: int) -> Problem:
    problem = (Problem.objects.filter(letter__in=letters_visible(actor=actor)).select_related(
        "letter", "letter__cycle", "letter__province", "region", "estimate").filter(pk=problem_id).first())
    if problem is None:
        raise NotFound(_("没有找到该问题。"))
    return problem


def plans_visible(*, actor: Any) -> QuerySet[RectificationPlan]:
    if is_national(actor):
        return RectificationPlan.objects.all()
    j = jurisdiction_of(actor)
    if j.role not in (Role.PROVINCE_COORDINATOR, Role.COUNTY_LIAISON):
        return RectificationPlan.objects.none()
    return RectificationPlan.objects.filter(path__startswith=j.path)


def plan_access(*, actor: Any, plan_id: int) -> RectificationPlan:
    plan = (plans_visible(actor=actor).select_related("problem", "problem__letter", "problem__letter__cycle", "unit")
            .filter(pk=plan_id).first())
    if plan is None:
        raise NotFound(_("没有找到该整改方案。"))
    return plan


def may_write_plan_for(*, actor: Any, unit: Any) -> bool:
    """Writing (create, edit, submit, update, complete) a plan whose responsible unit is ``unit``: the province
    coordinator of that province, or the county liaison of that county."""
    j = jurisdiction_of(actor)
    role = WRITERS.get(unit.level)
    return role is not None and j.role == role and j.path == unit.path


def may_review(*, actor: Any, plan: RectificationPlan) -> bool:
    """The supervising level: the nation reviews province plans, the province its counties' plans."""
    if plan.unit.level == "province":
        return is_national(actor)
    j = jurisdiction_of(actor)
    return j.role == Role.PROVINCE_COORDINATOR and plan.path.startswith(j.path)


def reviewer_level(unit: Any) -> str:
    return "nation" if unit.level == "province" else "province"
