"""`naeq roster template` and `naeq roster import`: the same service as the page, exit code 1 with every problem."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from openpyxl import load_workbook

from naeq.cli import main
from naeq.registry.models import Student
from naeq.registry.rosters import HEADERS
from tests.personas import World


def test_template_then_import_then_errors(world: World, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "students.xlsx"
    result = runner.invoke(main, ["roster", "template", "students", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert [c.value for c in next(load_workbook(out).worksheets[0].iter_rows(max_row=1))] == list(HEADERS["students"])

    school = world.schools["A1a-1"]
    good = tmp_path / "good.csv"
    good.write_text(",".join(HEADERS["students"]) + "\n8,1,1,甲,男,2010-05\n8,2,1,乙,女,2010-06\n", encoding="utf-8")
    args = ["roster", "import", "--school", school.code, "--kind", "students", "--year", "2024",
            "--as", "school_head_a"]
    result = runner.invoke(main, [*args, str(good)])
    assert result.exit_code == 0, result.output
    assert "2 rows imported" in result.output and "0 → 2" in result.output
    assert Student.objects.filter(school=school).count() == 2

    bad = tmp_path / "bad.csv"
    bad.write_text(",".join(HEADERS["students"]) + "\n8,1,1,甲,男,2010-05\n8,1,1,乙,女,2010-06\n", encoding="utf-8")
    result = runner.invoke(main, [*args, str(bad)])
    assert result.exit_code == 1
    assert "bad.csv" in result.output and "row 3" in result.output and "与第 2 行重复" in result.output

    result = runner.invoke(main, [*args[:-1], "nobody", str(good)])
    assert result.exit_code == 1 and "没有找到该账户" in result.output
    result = runner.invoke(main, [*args[:-1], "city_viewer_a", str(good)])
    assert result.exit_code == 1 and "permission_denied" in result.output
    assert Student.objects.filter(school=school).count() == 2
