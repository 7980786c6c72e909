"""Reads of problem letters and plans, scoped through :mod:`naeq.rectification.access`: lists, a plan's next-cycle
value against its baseline and target, and the dashboard counts per level."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from naeq.analysis.models import Estimate, EstimationRun, RunStatus
from naeq.rectification import access, alerts
from naeq.rectification.models import PlanState, ProblemLetter, RectificationPlan


def letter_list(*, actor: Any) -> QuerySet[ProblemLetter]:
    return access.letters_visible(actor=actor).select_related("cycle", "province").order_by("-cycle__year", "path")


def plan_list(*, actor: Any, state: str = "") -> QuerySet[RectificationPlan]:
    qs = access.plans_visible(actor=actor).select_related("unit", "problem", "problem__letter",
                                                          "problem__letter__cycle")
    if state in PlanState.values:
        qs = qs.filter(state=state)
    return qs.order_by("deadline", "id")


@dataclass(frozen=True)
class NextValue:
    """The unit's value of the plan's target indicator in a later cycle's run of the same subject."""

    year: int
    run_id: int
    value: float
    se: float | None
    baseline: float | None
    target: float
    met: bool
    change: float | None


def next_cycle_value(plan: RectificationPlan) -> NextValue | None:
    """The latest done run of the same subject in a cycle after the letter's, if it has an unsuppressed estimate
    of the target indicator for the plan's unit; met when it is at least as good as the target."""
    year = plan.problem.letter.cycle.year
    runs = (EstimationRun.objects.filter(instrument_code=plan.instrument_code, status=RunStatus.DONE,
                                         cycle__year__gt=year)
            .select_related("cycle").order_by("-cycle__year", "-created_at", "-id"))
    for run in runs:
        est = Estimate.objects.filter(run=run, level=plan.unit.level, path=plan.path,
                                      statistic=plan.target_statistic, group_var=plan.target_group_var,
                                      group_value=plan.target_group_value, key=plan.target_key).first()
        if est is None or est.suppressed or est.value is None:
            continue
        met = (est.value - plan.target_value) * plan.better >= 0
        change = est.value - plan.baseline if plan.baseline is not None else None
        return NextValue(year=run.cycle.year, run_id=run.pk, value=est.value, se=est.se, baseline=plan.baseline,
                         target=plan.target_value, met=met, change=change)
    return None


@dataclass
class Dashboard:
    by_state: dict[str, int]
    overdue: int
    stale: int
    met: int
    not_met: int
    awaiting_review: int
    alerts: list[alerts.Alert]
    letters: int
    total: int


def dashboard(*, actor: Any, today: dt.date | None = None) -> Dashboard:
    today = today or timezone.localdate()
    plans = list(plan_list(actor=actor))
    states = Counter(p.state for p in plans)
    found = alerts.for_actor(actor, today)
    met = not_met = 0
    for p in plans:
        nv = next_cycle_value(p)
        if nv is not None:
            met += nv.met
            not_met += not nv.met
    awaiting = sum(1 for p in plans if p.state == PlanState.SUBMITTED and access.may_review(actor=actor, plan=p))
    return Dashboard(by_state={s: states.get(s, 0) for s in PlanState.values},
                     overdue=sum(a.kind == "overdue" for a in found), stale=sum(a.kind == "stale" for a in found),
                     met=met, not_met=not_met, awaiting_review=awaiting, alerts=found,
                     letters=letter_list(actor=actor).count(), total=len(plans))
