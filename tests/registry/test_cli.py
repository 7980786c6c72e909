"""``naeq registry template | import | export``: exit codes 0 / 1 / 2 and precise messages."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from openpyxl import load_workbook

from naeq.cli import main
from naeq.core.models import AuditEvent
from naeq.registry.imports import HEADERS
from naeq.registry.models import School
from tests.personas import World
from tests.registry.helpers import csv_bytes, row


def test_help_on_every_verb() -> None:
    for args in (["registry"], ["registry", "template"], ["registry", "import"], ["registry", "export"]):
        result = CliRunner().invoke(main, [*args, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output, args


def test_template_import_export(world: World, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "t.xlsx"
    assert runner.invoke(main, ["registry", "template", "-o", str(out)]).exit_code == 0
    assert [c.value for c in load_workbook(out)["学校信息"][1]] == list(HEADERS)

    good = tmp_path / "学校.csv"
    good.write_bytes(csv_bytes([row("1310101001", "甲省一市a县第1学校"), row("1310101002", "改名学校"),
                                row("1310101003", "新建学校")], encoding="gb18030"))
    dry = runner.invoke(main, ["registry", "import", "--county", "310101", "--year", "2026", "--dry-run",
                               str(good)])
    assert dry.exit_code == 0 and "would change: 1 added" in dry.output
    assert not School.objects.filter(code="1310101003").exists()
    result = runner.invoke(main, ["registry", "import", "--county", "310101", "--year", "2026", str(good)])
    assert result.exit_code == 0, result.output
    assert "+ 1310101003 新建学校" in result.output and "学校名称 甲省一市a县第2学校 → 改名学校" in result.output
    assert School.objects.get(code="1310101002").name == "改名学校"
    assert AuditEvent.objects.get(action="registry.import").actor_label == "system"

    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes([row("1310101001"), row("1310101001")]))
    result = runner.invoke(main, ["registry", "import", "--county", "310101", "--year", "2026", str(bad)])
    assert result.exit_code == 1
    assert "bad.csv" in result.output and "row 3" in result.output and "学校标识码" in result.output

    exported = tmp_path / "e.xlsx"
    result = runner.invoke(main, ["registry", "export", "--county", "310101", "-o", str(exported)])
    assert result.exit_code == 0 and "3 schools" in result.output
    assert load_workbook(exported)["学校信息"]["A4"].value == "1310101003"
    assert runner.invoke(main, ["registry", "export", "--county", "999999"]).exit_code == 1
    assert runner.invoke(main, ["registry", "import", "--county", "310101", str(good)]).exit_code == 2
