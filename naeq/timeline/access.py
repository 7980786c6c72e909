"""The only place that decides who may see a unit's timeline and reports, mark a milestone done, and review.

From the seeds: every submission goes up the chain school → county (审核) → province (审核/汇总) → national
(DOMAIN.md, "Review chain for every submission"); 2024-nanchang-city-plan.txt: "县级实施工作领导小组将《县级实施工作
总结》通过“实施管理系统”提交至省级实施工作领导小组". City accounts view and supervise but do not submit (2023
briefing: 市级账号 can view and supervise, not submit). So:

* **Read** a unit's timeline and report: national staff every unit; province, city and county staff the units in
  their region; school staff (head, information officer, inspector, chief proctor) their own school.
* **Mark done / write a report**: the unit's own chain roles — the school's head and information officer, the
  county's liaison and information officer, the province coordinator (:data:`naeq.registry.review.CHAIN_ROLES`).
* **Review** (approve or return with a reason): the chain roles of the level above — county officers for their
  schools, the province coordinator for the province's counties, the national administrator for provinces.

City viewers, the national analyst, inspectors and chief proctors only read. A unit outside the actor's
jurisdiction and a missing one both raise :class:`NotFound` with the same message; a reader trying to write gets
:class:`PermissionDenied`.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from naeq.accounts.jurisdiction import Jurisdiction, jurisdiction_of
from naeq.core.errors import NotFound, PermissionDenied
from naeq.cycles.models import Cycle
from naeq.registry.review import acts_at
from naeq.timeline.config import REVIEWER_LEVEL
from naeq.timeline.units import Unit, Units, sample_units


def not_found() -> NotFound:
    return NotFound(_("没有找到该单位的工作进度。"))


def staff(actor: Any) -> Jurisdiction:
    j = jurisdiction_of(actor)
    if not j.is_staff_role:
        raise NotFound(_("没有找到该页面。"))
    return j


def sees(j: Jurisdiction, unit: Unit) -> bool:
    """Whether jurisdiction ``j`` covers ``unit``."""
    if not j.is_staff_role:
        return False
    if j.school_id is not None:
        return unit.school is not None and unit.school.pk == j.school_id
    return unit.path.startswith(j.path)


def units_visible(*, actor: Any, cycle: Cycle) -> Units:
    """The units of ``cycle`` the actor may read."""
    j = jurisdiction_of(actor)
    if not j.is_staff_role:
        return Units(provinces=[], counties=[], schools=[])
    scope = "" if j.school_id is not None else j.path
    return sample_units(cycle, path=scope).filter(lambda u: sees(j, u))


def unit_access(*, actor: Any, cycle: Cycle, code: str) -> Unit:
    """A unit the actor may read, or :class:`NotFound`."""
    staff(actor)
    unit = units_visible(actor=actor, cycle=cycle).by_code(code)
    if unit is None:
        raise not_found()
    return unit


def may_submit(j: Jurisdiction, unit: Unit) -> bool:
    """Whether ``j`` acts for ``unit`` itself (marks its milestones done, writes its report)."""
    if not acts_at(j.role, unit.level):
        return False
    if unit.level == "school":
        return unit.school is not None and j.school_id == unit.school.pk
    return j.school_id is None and j.path == unit.path


def may_review(j: Jurisdiction, unit: Unit) -> bool:
    """Whether ``j`` reviews ``unit`` (the level above it, inside the jurisdiction)."""
    level = REVIEWER_LEVEL[unit.level]
    if not acts_at(j.role, level):
        return False
    if level == "nation":
        return j.is_national
    if level == "county":
        return j.school_id is None and j.path == unit.parent_path
    return j.school_id is None and unit.path.startswith(j.path)


def require_submitter(*, actor: Any, cycle: Cycle, code: str) -> Unit:
    unit = unit_access(actor=actor, cycle=cycle, code=code)
    if not may_submit(jurisdiction_of(actor), unit):
        raise PermissionDenied(_("您的账户只能查看该单位的工作进度，不能提交。"))
    return unit


def require_reviewer(*, actor: Any, cycle: Cycle, code: str) -> Unit:
    unit = unit_access(actor=actor, cycle=cycle, code=code)
    if not may_review(jurisdiction_of(actor), unit):
        raise PermissionDenied(_("您的账户不能审核该单位的提交。"))
    return unit
