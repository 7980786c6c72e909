"""``naeq custody`` verbs (the group is registered in naeq/cli.py by the integrator; tested here directly)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from click.testing import CliRunner
from openpyxl import load_workbook

from naeq.custody.cli import custody
from tests.custody.helpers import issue, receive
from tests.personas import World


def test_every_verb_has_help() -> None:
    for verb in custody.commands:
        result = CliRunner().invoke(custody, [verb, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output, verb


def test_alerts_and_export(world: World, cycle: Any, tmp_path: Path) -> None:
    liaison = world.users["county_liaison@A"]
    receive(liaison, cycle, world.regions["A1a"])
    issue(liaison, cycle, world.schools["A1a-1"])
    runner = CliRunner()
    quiet = runner.invoke(custody, ["alerts", "--as", "city_viewer_a", "--at", "2024-05-22 20:00"])
    assert quiet.exit_code == 0, quiet.output
    loud = runner.invoke(custody, ["alerts", "--as", "city_viewer_a", "--at", "2024-05-23 00:30"])
    assert loud.exit_code == 1 and "not_returned" in loud.output and "310101" in loud.output
    outside = runner.invoke(custody, ["alerts", "--as", "city_viewer_b", "--at", "2024-05-23 00:30"])
    assert outside.exit_code == 0 and "310101" not in outside.output
    out = tmp_path / "ledger.xlsx"
    done = runner.invoke(custody, ["export", "310101", "--as", "county_liaison_a", "-o", str(out)])
    assert done.exit_code == 0, done.output
    assert load_workbook(out).worksheets[0].max_row == 3  # header + receipt + issue
    refused = runner.invoke(custody, ["export", "310101", "--as", "county_liaison_b", "-o", str(out)])
    assert refused.exit_code != 0
