"""The only place that decides who may screen data, read screening results, and see, work on and decide cases.

Screening runs show item keys and minors' answer strings, so only national centre staff (the national
administrator and analyst) start runs and read them. Cases: national staff see and work on every case and alone
decide (clear, flag or exclude data; seed 2023-national-briefing.txt: 调查取证 by the national centre). A provincial
coordinator assigned as a case's investigator sees that case (it lies in their province by construction) and may
add notes and evidence, but not decide. Everyone else — and an investigator for a case not theirs — gets the same
:class:`NotFound` as for a case that does not exist.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from naeq.accounts.jurisdiction import jurisdiction_of
from naeq.accounts.roles import Role
from naeq.core.errors import NotFound
from naeq.quality.models import Case, ScreeningRun

#: Roles that start screening runs, read their results, and decide cases.
SCREENERS = frozenset({Role.NATIONAL_ADMIN, Role.NATIONAL_ANALYST})
#: Roles that may be assigned as a case's investigator (national staff, or a province coordinator of the case's
#: province).
INVESTIGATORS = frozenset({*SCREENERS, Role.PROVINCE_COORDINATOR})


def may_screen(*, actor: Any) -> bool:
    j = jurisdiction_of(actor)
    return j.is_national and j.role in SCREENERS


def may_decide(*, actor: Any) -> bool:
    """Deciding a case (cleared / data flagged / data excluded): national staff only."""
    return may_screen(actor=actor)


def may_investigate(*, actor: Any, case: Case) -> bool:
    """Adding notes and evidence, moving open → investigating: national staff, or the case's own investigator."""
    if may_screen(actor=actor):
        return True
    j = jurisdiction_of(actor)
    return (j.role == Role.PROVINCE_COORDINATOR and case.investigator_id is not None
            and case.investigator_id == getattr(actor, "pk", None) and j.covers_path(case.path))


def may_be_investigator(*, user: Any, case: Case) -> bool:
    j = jurisdiction_of(user)
    if j.is_national:
        return j.role in SCREENERS
    return j.role == Role.PROVINCE_COORDINATOR and j.covers_path(case.path)


def require_screener(*, actor: Any) -> None:
    """Starting runs and reading any run: national staff only (others: the page does not exist)."""
    if not may_screen(actor=actor):
        raise NotFound(_("没有找到该页面。"))


def runs_visible(*, actor: Any) -> QuerySet[ScreeningRun]:
    if not may_screen(actor=actor):
        return ScreeningRun.objects.none()
    return ScreeningRun.objects.all()


def run_access(*, actor: Any, run_id: int) -> ScreeningRun:
    run = runs_visible(actor=actor).select_related("cycle", "created_by").filter(pk=run_id).first()
    if run is None:
        raise NotFound(_("没有找到该甄别记录。"))
    return run


def cases_visible(*, actor: Any) -> QuerySet[Case]:
    if may_screen(actor=actor):
        return Case.objects.all()
    j = jurisdiction_of(actor)
    if j.role == Role.PROVINCE_COORDINATOR and getattr(actor, "pk", None):
        return Case.objects.filter(Q(investigator_id=actor.pk) & Q(path__startswith=j.path))
    return Case.objects.none()


def case_access(*, actor: Any, case_id: int) -> Case:
    case = (cases_visible(actor=actor).select_related("cycle", "county", "school", "investigator", "run")
            .filter(pk=case_id).first())
    if case is None:
        raise NotFound(_("没有找到该案件。"))
    return case
