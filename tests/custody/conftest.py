from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

CST = dt.timezone(dt.timedelta(hours=8))
DAY = dt.date(2024, 5, 22)


def at(day: dt.date, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hh, mm), tzinfo=CST)


@pytest.fixture
def cycle(db: None) -> Any:
    """The current shipped cycle (2024), loaded from the configuration files."""
    from naeq.cycles.services import load_shipped_cycles

    cycles = load_shipped_cycles()
    return next(c for c in cycles if c.is_current)
