"""The only place that decides who starts estimation runs and who reads which estimates.

National centre staff (administrator, analyst) start runs and read every estimate. A province coordinator reads
the estimates of its province and of the counties in it; a county liaison those of its county; both also read the
national figures, which every report compares with. Nobody reads school-level numbers: none are stored (the
between-school statistics are county-level summaries). Everyone else — and any unit outside the actor's
jurisdiction — gets the same :class:`NotFound` as for a page that does not exist.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from naeq.accounts.jurisdiction import jurisdiction_of
from naeq.accounts.roles import Level, Role
from naeq.analysis.models import Estimate, EstimationRun, UnitLevel
from naeq.core.errors import NotFound

#: Roles that start estimation runs and read every estimate.
ESTIMATORS = frozenset({Role.NATIONAL_ADMIN, Role.NATIONAL_ANALYST})
#: Roles (with the level of the hierarchy they must be anchored at) that read their own region's estimates.
READERS: dict[str, str] = {Role.NATIONAL_ADMIN: Level.NATION, Role.NATIONAL_ANALYST: Level.NATION,
                           Role.PROVINCE_COORDINATOR: Level.PROVINCE, Role.COUNTY_LIAISON: Level.COUNTY}


def _missing() -> NotFound:
    return NotFound(_("没有找到该页面。"))


def may_estimate(*, actor: Any) -> bool:
    j = jurisdiction_of(actor)
    return j.is_national and j.role in ESTIMATORS


def may_read(*, actor: Any) -> bool:
    j = jurisdiction_of(actor)
    return READERS.get(j.role) == j.level and j.school_id is None


def require_estimator(*, actor: Any) -> None:
    if not may_estimate(actor=actor):
        raise _missing()


def require_reader(*, actor: Any) -> None:
    if not may_read(actor=actor):
        raise _missing()


def runs_visible(*, actor: Any) -> QuerySet[EstimationRun]:
    """Every run to national staff; finished runs to province coordinators and county liaisons."""
    if may_estimate(actor=actor):
        return EstimationRun.objects.all()
    if may_read(actor=actor):
        return EstimationRun.objects.filter(status="done")
    return EstimationRun.objects.none()


def run_access(*, actor: Any, run_id: int) -> EstimationRun:
    run = (runs_visible(actor=actor).select_related("cycle", "created_by", "calibration_run")
           .filter(pk=run_id).first())
    if run is None:
        raise NotFound(_("没有找到该估计记录。"))
    return run


def estimate_filter(*, actor: Any) -> Q:
    """The estimates an actor may read, as a filter on :class:`Estimate`."""
    if not may_read(actor=actor):
        return Q(pk__in=[])
    j = jurisdiction_of(actor)
    if j.is_national:
        return Q()
    return Q(level=UnitLevel.NATION) | Q(path__startswith=j.path)


def estimates_visible(*, actor: Any, run: EstimationRun) -> QuerySet[Estimate]:
    return Estimate.objects.filter(run=run).filter(estimate_filter(actor=actor))


def may_see_unit(*, actor: Any, level: str, path: str) -> bool:
    if not may_read(actor=actor):
        return False
    if level == UnitLevel.NATION:
        return True
    return jurisdiction_of(actor).covers_path(path)
