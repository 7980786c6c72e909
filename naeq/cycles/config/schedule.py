"""Flatten a parsed configuration's schedule into the entries a school (or county) sees."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from naeq.cycles.config.types import CycleConfig

if TYPE_CHECKING:
    from naeq.cycles.selectors import ScheduleEntry


def entries_for(config: CycleConfig, *, levels: tuple[str, ...], participation: str,
                province_code: str | None) -> list[ScheduleEntry]:
    """Flatten the schedule of ``participation`` for the given configuration levels into sorted entries;
    a session that appears identically in several levels (same day, times, title, respondents and delivery
    mode) is listed once, with ``level`` naming all of them (e.g. ``primary+middle``)."""
    from naeq.cycles.selectors import ScheduleEntry

    local = config.is_local_time(province_code)
    schedule = config.schedule_of(participation)
    merged: dict[tuple[Any, ...], ScheduleEntry] = {}
    for level in levels:
        for day in schedule.get(level, ()):
            for s in day.sessions:
                modes = tuple(dict.fromkeys(config.instrument(c).mode_at(level) for c in s.instruments))
                key = (day.date, s.start, s.end, day.end_date, s.title, s.respondents, modes)
                entry = ScheduleEntry(date=day.date, start=s.start, end=s.end, end_date=day.end_date, title=s.title,
                                      respondents=s.respondents, mode="+".join(modes), local_time=local,
                                      instruments=s.instruments, level=level)
                if key in merged:
                    prev = merged[key]
                    entry = ScheduleEntry(
                        date=prev.date, start=prev.start, end=prev.end, end_date=prev.end_date, title=prev.title,
                        respondents=prev.respondents, mode=prev.mode, local_time=local,
                        instruments=tuple(dict.fromkeys(prev.instruments + s.instruments)),
                        level=f"{prev.level}+{level}")
                merged[key] = entry
    return sorted(merged.values(), key=lambda e: (e.date, e.start or dt.time.min, e.end or dt.time.max, e.title,
                                                e.level))
