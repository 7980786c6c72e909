"""The milestone configuration: the shipped files resolve against the cycle's test days, and every mistake in a
file is reported with its line, field and a precise reason."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from naeq.core.errors import InvalidInput
from naeq.timeline.config import cycle_test_days, load, milestones_for, parse_text

GOOD = """\
remind_days_before: 3
milestones:
  - code: practice
    name: 练习
    level: school
    due: {offset_days: -10, from: first_test_day}
    done: manual
    source: "seed"
"""


def _problems(text: str, **kw: Any) -> list[tuple[int | None, str | None, str]]:
    with pytest.raises(InvalidInput) as exc:
        parse_text(text, file="t.yaml", **kw)
    return [(p.row, p.field, p.reason) for p in exc.value.problems]


def test_test_days_come_from_the_cycle_schedule(cycle: Any) -> None:
    """2024-nanchang-city-plan.txt: "样本县、协议县：2024 年 5 月 22 日全天和 5 月 23 日上午" (application counties
    until 5/24 morning): the first test day is 5/22, the last the latest school day of any participation type."""
    first, last = cycle_test_days(cycle)
    assert first == dt.date(2024, 5, 22)
    assert last == dt.date(2024, 5, 24)


def test_shipped_deadlines(cycle: Any) -> None:
    """仙游 plan (collected-county-and-school-plans.txt): "9月27日前，由县保密工作组负责接收与保管监测工具" — one day
    before the 9/28 test: 2024-05-21. 山西: "6月17日前提交监测实施工作总结" — 25 days after 5/23 test."""
    by_code = {m.code: m for m in milestones_for(cycle)}
    assert by_code["instrument_receipt"].due == dt.date(2024, 5, 21)
    assert by_code["province_summary"].due == dt.date(2024, 5, 24) + dt.timedelta(days=25)
    assert by_code["test_days"].derived == "sessions" and by_code["staff_lists"].manual
    # 2024.yaml adds the venue set-up ("测试前一天，各样本校须完成各测试场地的布置").
    assert by_code["venue_setup"].due == dt.date(2024, 5, 21)
    assert "venue_setup" not in {m.code for m in load(2023).milestones}
    dues = [m.due for m in milestones_for(cycle)]
    assert dues == sorted(dues)


def test_good_file_parses() -> None:
    config = parse_text(GOOD)
    assert config.remind_days_before == 3 and config.milestones[0].offset_days == -10


def test_every_problem_is_reported_with_line_and_field() -> None:
    bad = GOOD.replace("level: school", "level: city").replace("done: manual", "done: derived:registry") + """\
  - code: practice
    name: ""
    level: county
    due: {offset_days: 5, date: 2024-05-01}
    done: sometimes
    source: s
    colour: red
"""
    problems = _problems(bad)
    fields = {f for _r, f, _m in problems}
    assert "milestones[0].level" in fields
    assert "milestones[1].name" in fields
    assert "milestones[1].due" in fields
    assert "milestones[1].done" in fields
    assert "milestones[1].colour" in fields
    reasons = " ".join(m for _r, _f, m in problems)
    assert "city" in reasons and "二选一" in reasons and "sometimes" in reasons
    assert all(r is not None for r, _f, _m in problems)


def test_duplicate_codes_and_derived_level_mismatch() -> None:
    dup = GOOD + GOOD.split("milestones:\n", 1)[1]
    assert any("重复" in m for _r, _f, m in _problems(dup))
    wrong = GOOD.replace("done: manual", "done: derived:registry")
    assert any(f == "milestones[0].done" and "county" in m for _r, f, m in _problems(wrong))


def test_offsets_and_dates_are_checked() -> None:
    assert any("-366" in m for _r, _f, m in _problems(GOOD.replace("-10", "-1000")))
    assert any("from" in (f or "") for _r, f, _m in _problems(GOOD.replace(", from: first_test_day", "")))
    dated = GOOD.replace("{offset_days: -10, from: first_test_day}", "{date: 2023-05-01}")
    assert any("2024" in m for _r, _f, m in _problems(dated, year=2024))
    assert parse_text(dated.replace("2023", "2024"), year=2024).milestones[0].date == dt.date(2024, 5, 1)


def test_override_replaces_and_adds() -> None:
    base = parse_text(GOOD)
    extra = GOOD.split("milestones:\n", 1)[1].replace("practice", "extra")
    changed = GOOD.replace("remind_days_before: 3\n", "").replace("-10", "-12").replace("练习", "练习（改）")
    override = parse_text(changed + extra, base=base)
    assert [m.code for m in override.milestones] == ["practice", "extra"]
    assert override.milestones[0].offset_days == -12 and override.remind_days_before == 3


def test_syntax_error_has_a_line() -> None:
    problems = _problems("milestones: [\n")
    assert problems and problems[0][0] is not None
