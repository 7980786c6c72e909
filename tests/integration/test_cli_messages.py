"""What a user sees when a scoring verb refuses: the problems, and no empty progress bar before them (``naeq scaling
run`` used to draw ``nope: 0%|`` before saying that the instrument does not exist)."""

from __future__ import annotations

from typing import Any

from click.testing import CliRunner

from naeq.cli import main


def test_a_refused_run_prints_its_problems_and_no_bar(world: Any) -> None:
    from naeq.cycles.services import load_shipped_cycles

    year = next(c for c in load_shipped_cycles() if c.is_current).year
    result = CliRunner().invoke(main, ["scaling", "run", "--as", "national_analyst_a", "--year", str(year),
                                       "--instrument", "nope", "--seed", "1"])
    assert result.exit_code == 1
    assert "本周期没有监测工具“nope”" in result.output
    assert "%|" not in result.output and "nope:" not in result.output


def test_an_unknown_year_is_named(world: Any) -> None:
    result = CliRunner().invoke(main, ["scaling", "run", "--as", "national_analyst_a", "--year", "1999",
                                       "--instrument", "math", "--seed", "1"])
    assert result.exit_code == 1 and "没有1999年度的监测周期。" in result.output
