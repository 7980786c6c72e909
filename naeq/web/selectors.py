"""Reads that compose several apps for one page (the web layer sits above registry and cycles)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _

from naeq.accounts.jurisdiction import jurisdiction_of
from naeq.cycles.models import Cycle
from naeq.cycles.selectors import ScheduleEntry, cycle_current, schedule_for
from naeq.registry.models import SchoolLevel
from naeq.registry.selectors import JurisdictionSummary, jurisdiction_summary


@dataclass(frozen=True)
class Schedule:
    label: str
    entries: list[ScheduleEntry]


@dataclass(frozen=True)
class Home:
    is_test_taker: bool
    summary: JurisdictionSummary
    cycle: Cycle | None
    schedules: list[Schedule] = field(default_factory=list)


def home_for(*, actor: Any) -> Home:
    """What the home page shows: the actor's jurisdiction with its counts, the current cycle and its schedule
    (for primary and junior schools above school level; for the school's own level at a school)."""
    j = jurisdiction_of(actor)
    summary = jurisdiction_summary(actor=actor)
    cycle = cycle_current()
    if not j.is_staff_role:
        return Home(is_test_taker=True, summary=summary, cycle=cycle)
    schedules: list[Schedule] = []
    if cycle is not None:
        if summary.school_level is not None:
            levels = [(summary.school_level, SchoolLevel(summary.school_level).label)]
        else:
            levels = [(SchoolLevel.PRIMARY.value, _("小学")), (SchoolLevel.JUNIOR.value, _("初中"))]
        for level, label in levels:
            entries = schedule_for(cycle, school_level=level, province_code=summary.province_code)
            schedules.append(Schedule(label=str(label), entries=entries))
    return Home(is_test_taker=False, summary=summary, cycle=cycle, schedules=schedules)
