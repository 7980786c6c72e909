"""Reads of cycles and their schedules.

Cycles are national configuration, readable by every signed-in user, so these selectors take no actor.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from naeq.core.errors import InvalidInput, NotFound
from naeq.cycles.models import Cycle

#: Which configuration school levels (``primary``, ``middle``) a registry school level follows. Nine- and
#: twelve-year schools have both grade 4 and grade 8, so they follow both schedules. ``county`` is the
#: county-level schedule (e.g. the county manager questionnaire window), not a school's.
SCHEDULE_LEVELS: dict[str, tuple[str, ...]] = {
    "primary": ("primary",),
    "junior": ("middle",),
    "complete_middle": ("middle",),
    "nine_year": ("primary", "middle"),
    "twelve_year": ("primary", "middle"),
    "middle": ("middle",),
    "county": ("county",),
}


@dataclass(frozen=True)
class ScheduleEntry:
    """One session of a schedule as a school (or county) sees it."""

    date: dt.date
    start: dt.time | None
    end: dt.time | None  # None for "至全部完成" (until everyone has finished) and for multi-day windows
    end_date: dt.date | None  # last day of a multi-day window (e.g. 5/24–5/31), else None
    title: str  # Chinese, e.g. "学生数学测试"
    respondents: tuple[str, ...]  # student / teacher / principal / county_manager
    mode: str  # delivery mode at this school level, e.g. "paper", "online"; several joined with "+"
    local_time: bool  # True when the province runs on local time: the times are local times
    instruments: tuple[str, ...] = ()
    level: str = ""  # the configuration level this entry comes from: primary / middle / county


#: ``source_name`` of a demo cycle: ``demo:<base year>.yaml<±weeks>w`` (see :mod:`naeq.cycles.demo`).
DEMO_SOURCE_PREFIX = "demo:"
_DEMO_SOURCE = re.compile(r"^demo:(\d{4})\.yaml[+-]\d+w$")


def is_demo(cycle: Cycle) -> bool:
    """A demo cycle (dates shifted from a shipped configuration by ``naeq demo``), never an official one."""
    return cycle.source_name.startswith(DEMO_SOURCE_PREFIX)


def base_year(cycle: Cycle) -> int:
    """The year whose per-year configuration files (e.g. ``naeq/timeline/configs/<year>.yaml``) apply to
    ``cycle``: its own year, or for a demo cycle the year it was derived from."""
    m = _DEMO_SOURCE.match(cycle.source_name)
    return int(m[1]) if m else cycle.year


def cycle_current() -> Cycle | None:
    return Cycle.objects.filter(is_current=True).first()


def cycle_list() -> QuerySet[Cycle]:
    return Cycle.objects.order_by("-year")


def cycle_get(*, year: int) -> Cycle | None:
    return Cycle.objects.filter(year=year).first()


def cycle_for(year: int | None) -> Cycle:
    """The cycle of ``year``, or the current cycle when no year is given; :class:`InvalidInput` (``no_cycle``)
    naming what is missing otherwise."""
    cycle = Cycle.objects.filter(year=year).first() if year is not None else cycle_current()
    if cycle is None:
        if year is None:
            raise InvalidInput(_("尚未设置当前监测周期。"), code="no_cycle")
        raise InvalidInput(_("没有%(year)s年的监测周期。") % {"year": year}, code="no_cycle")
    return cycle


def cycle_of_year(year: int) -> Cycle:
    """The cycle a CLI verb's ``--cycle YEAR`` names; :class:`NotFound` otherwise."""
    cycle = Cycle.objects.filter(year=year).first()
    if cycle is None:
        raise NotFound(_("没有%(year)s年度的监测周期。") % {"year": year})
    return cycle


def schedule_for(cycle: Cycle, *, school_level: str, participation: str = "sample",
                 province_code: str | None = None) -> list[ScheduleEntry]:
    """The sessions a school of ``school_level`` runs in ``cycle`` as a county of type ``participation``.

    ``school_level`` is a registry :class:`~naeq.registry.models.SchoolLevel` value (or ``county`` for the
    county-level schedule). Nine- and twelve-year schools get the union of the primary and middle schedules,
    sorted by date and time, with sessions shared by both (e.g. the teacher questionnaires) listed once.
    ``province_code`` is a division code (or its first two digits); in a local-time region ``local_time`` is
    True. Raises ``ValueError`` for an unknown school level or participation type (a programming error).
    """
    from naeq.cycles.config import entries_for

    if school_level not in SCHEDULE_LEVELS:
        raise ValueError(f"unknown school level {school_level!r}")
    return entries_for(cycle.config, levels=SCHEDULE_LEVELS[school_level], participation=participation,
                       province_code=province_code)
