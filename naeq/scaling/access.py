"""The only place that decides who may start calibration runs and read their results.

Item statistics are secret (a published item's difficulty and discrimination reveal the test), and a run's person
estimates are minors' results: only national centre staff (the national administrator and analyst) start runs
and read them. Everyone else, staff or not, gets the same :class:`NotFound` as for a run that does not exist.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from naeq.accounts.jurisdiction import jurisdiction_of
from naeq.accounts.roles import Role
from naeq.core.errors import NotFound
from naeq.scaling.models import CalibrationRun

#: Roles that start calibration runs and see item parameters.
ANALYSTS = frozenset({Role.NATIONAL_ADMIN, Role.NATIONAL_ANALYST})


def may_calibrate(*, actor: Any) -> bool:
    j = jurisdiction_of(actor)
    if not j.is_national:
        return False
    return j.role in ANALYSTS


def _missing() -> NotFound:
    return NotFound(_("没有找到该校准记录。"))


def require_analyst(*, actor: Any) -> None:
    """Starting runs and reading any run: national staff only (others: the page does not exist)."""
    if not may_calibrate(actor=actor):
        raise NotFound(_("没有找到该页面。"))


def runs_visible(*, actor: Any) -> QuerySet[CalibrationRun]:
    if not may_calibrate(actor=actor):
        return CalibrationRun.objects.none()
    return CalibrationRun.objects.all()


def run_access(*, actor: Any, run_id: int) -> CalibrationRun:
    run = runs_visible(actor=actor).select_related("cycle", "created_by").filter(pk=run_id).first()
    if run is None:
        raise _missing()
    return run
