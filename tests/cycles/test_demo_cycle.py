"""The demo cycle: the shipped 2024 configuration moved by whole weeks so that its test days lie about a week
before "today"; labelled as a demo, never overwriting an official configuration."""

from __future__ import annotations

import datetime as dt

import pytest

from naeq.cycles.demo import DEMO_NAME_PREFIX, demo_cycle_load, shift_weeks, shifted_text
from naeq.cycles.models import Cycle
from naeq.cycles.selectors import base_year, cycle_current, is_demo
from naeq.cycles.services import CONFIG_DIR, cycle_load, load_shipped_cycles

FIRST_2024 = dt.date(2024, 5, 22)  # 2024-nanchang-city-plan.txt: "2024 年 5 月 22 日全天和 5 月 23 日上午"


@pytest.mark.parametrize("today", [dt.date(2026, 12, 2), dt.date(2026, 12, 8), dt.date(2025, 3, 1),
                                   dt.date(2027, 7, 15)])
def test_shift_keeps_the_weekday_and_lands_a_week_back(today: dt.date) -> None:
    weeks = shift_weeks(FIRST_2024, today)
    moved = FIRST_2024 + dt.timedelta(weeks=weeks)
    assert moved.weekday() == FIRST_2024.weekday() == 2  # a Wednesday stays a Wednesday
    assert 7 <= (today - moved).days <= 13


def test_shift_never_straddles_a_new_year() -> None:
    # On 2027-01-05 the first test day would be 2026-12-23 and the county window (+9 days) 2027-01-01.
    span = (FIRST_2024, dt.date(2024, 5, 31))
    weeks = shift_weeks(FIRST_2024, dt.date(2027, 1, 5), span=span)
    lo, hi = (d + dt.timedelta(weeks=weeks) for d in span)
    assert lo.year == hi.year == 2026 and (dt.date(2027, 1, 5) - lo).days >= 14


def test_shifted_text_moves_every_date_and_labels_the_cycle() -> None:
    text = (CONFIG_DIR / "2024.yaml").read_text(encoding="utf-8")
    body, year = shifted_text(text, 131, base_year=2024)
    assert year == 2026 and "2024-05-" not in body
    assert "date: 2026-11-25" in body and "end_date: 2026-12-04" in body  # 5/24–5/31 county window moved too
    assert f"name: {DEMO_NAME_PREFIX}（2024年国家义务教育质量监测，日期平移131周）" in body


@pytest.mark.django_db
def test_demo_cycle_is_current_and_the_official_2024_is_untouched() -> None:
    official = {c.year: c.config_hash for c in load_shipped_cycles()}
    cycle = demo_cycle_load(today=dt.date(2026, 12, 2))
    assert cycle is not None and cycle_current() == cycle and is_demo(cycle)
    assert cycle.year == 2026 and base_year(cycle) == 2024 and cycle.source_name == "demo:2024.yaml+131w"
    assert cycle.name.startswith(DEMO_NAME_PREFIX)
    assert {c.year: c.config_hash for c in Cycle.objects.exclude(pk=cycle.pk)} == official
    assert not is_demo(Cycle.objects.get(year=2024)) and base_year(Cycle.objects.get(year=2024)) == 2024
    assert demo_cycle_load(today=dt.date(2026, 12, 2)) == cycle  # same day: unchanged
    from naeq.timeline.config import cycle_test_days, milestones_for

    assert cycle_test_days(cycle) == (dt.date(2026, 11, 25), dt.date(2026, 11, 27))
    # The 2024 timeline override (venue_setup) applies to the demo cycle derived from 2024.
    assert any(m.code == "venue_setup" for m in milestones_for(cycle))


@pytest.mark.django_db
def test_demo_cycle_never_overwrites_an_official_configuration() -> None:
    text = (CONFIG_DIR / "2024.yaml").read_text(encoding="utf-8")
    body, _year = shifted_text(text, 131, base_year=2024)
    real = cycle_load(actor=None, path_or_text=body, source_name="2026.yaml")  # as if 2026 were shipped
    assert demo_cycle_load(today=dt.date(2026, 12, 2)) is None
    assert Cycle.objects.get(year=2026).config_hash == real.config_hash
