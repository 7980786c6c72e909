"""Rectification alerts, computed at a given day, never stored (like :mod:`naeq.custody.alerts`).

* ``overdue`` — the deadline (整改时限) has passed and the plan is not completed ("限期整改");
* ``stale`` — an approved or in-progress plan with no progress update for ``stale_days`` days (since the last
  update, else since approval): "教育督导部门及时跟进" needs progress to follow.

Each alert is listed for the level that supervises the plan: the nation for province plans, the province for
county plans (:func:`naeq.rectification.access.reviewer_level`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from naeq.rectification import access
from naeq.rectification.models import UNDER_WAY, PlanState, RectificationPlan

STALE_DAYS = 30


@dataclass(frozen=True)
class Alert:
    kind: str
    plan_id: int
    unit_name: str
    unit_code: str
    level: str  # the supervising level the alert is for
    indicator: str
    deadline: dt.date
    days: int
    message: str


def compute(plans: Any, today: dt.date, *, stale_days: int = STALE_DAYS) -> list[Alert]:
    """Every alert of ``plans`` (a queryset already scoped to the actor) at ``today``, by deadline."""
    rows = (plans.exclude(state=PlanState.COMPLETED).select_related("unit")
            .annotate(last_update=Max("updates__created_at")).order_by("deadline", "id"))
    out: list[Alert] = []
    for plan in rows:
        level = access.reviewer_level(plan.unit)
        common = {"plan_id": plan.pk, "unit_name": plan.unit.name, "unit_code": plan.unit.code, "level": level,
                  "indicator": plan.indicator, "deadline": plan.deadline}
        if plan.deadline < today:
            days = (today - plan.deadline).days
            out.append(Alert(kind="overdue", days=days, message=_("整改时限%(d)s已过%(n)d天，尚未完成整改。") % {
                "d": plan.deadline.isoformat(), "n": days}, **common))
        if plan.state in UNDER_WAY:
            since_at = plan.last_update or plan.approved_at
            if since_at is None:
                continue
            since = timezone.localtime(since_at).date()
            days = (today - since).days
            if days >= stale_days:
                out.append(Alert(kind="stale", days=days, message=_("已%(n)d天没有填报整改进展。") % {"n": days},
                                 **common))
    return out


def for_actor(actor: Any, today: dt.date | None = None, *, stale_days: int = STALE_DAYS) -> list[Alert]:
    return compute(access.plans_visible(actor=actor), today or timezone.localdate(), stale_days=stale_days)


__all__ = ["STALE_DAYS", "Alert", "RectificationPlan", "compute", "for_actor"]
