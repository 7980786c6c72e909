"""The ``naeq marking`` verbs (in-process through click's runner, against the test database) and the demo hook."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from openpyxl import load_workbook

from naeq.delivery.demo_bank import bar_chart_png
from naeq.marking.cli import marking_group
from naeq.marking.demo import demo_marking
from naeq.marking.models import Arbitration, Assignment, MarkResponse, RaterProfile, ResponseStatus, Rubric, Source
from tests.marking.conftest import Marking


def test_every_verb_has_help() -> None:
    runner = CliRunner()
    for verb in ("rubric-template", "rubric-import", "rater-add", "collect", "import-paper", "assign", "agreement",
                 "export"):
        r = runner.invoke(marking_group, [verb, "--help"])
        assert r.exit_code == 0 and "Usage:" in r.output, verb


def test_cli_round_trip(marking: Marking, tmp_path: Path) -> None:
    runner = CliRunner()
    year = ["--year", str(marking.cycle.year)]
    tpl = tmp_path / "rubric.xlsx"
    r = runner.invoke(marking_group, ["rubric-template", *year, str(tpl)])
    assert r.exit_code == 0, r.output
    wb = load_workbook(tpl)
    ws = wb["评分标准"]
    for row in range(2, ws.max_row + 1):
        ws.cell(row, 4, "描述")
    wb["检测卷"].append(["mtest", "E01", "检测卷内容", 2])
    wb.save(tpl)
    r = runner.invoke(marking_group, ["rubric-import", *year, str(tpl)])
    assert r.exit_code == 0, r.output
    assert "mtest/E01: 评分标准第1版" in r.output and "检测卷 1 份" in r.output
    # Bad input: exit 1 with the precise message, nothing written.
    ws.cell(2, 3, 9)
    wb.save(tpl)
    r = runner.invoke(marking_group, ["rubric-import", *year, str(tpl)])
    assert r.exit_code == 1 and "评分标准文件有误" in r.output
    assert "rubric.xlsx row 2, 分值: 评分标准：分值应为0至2的整数。" in r.output
    assert Rubric.objects.count() == 2
    for name in ("cli_rater_1", "cli_rater_2"):
        r = runner.invoke(marking_group, ["rater-add", *year, "--username", name, "--province", "310000",
                                          "--item", "mtest/E01", "--password", "cli-pass-2026"])
        assert r.exit_code == 0, r.output
    r = runner.invoke(marking_group, ["rater-add", *year, "--username", "x", "--province", "999999",
                                      "--password", "p"])
    assert r.exit_code == 1 and "999999" in r.output
    r = runner.invoke(marking_group, ["collect", *year])
    assert r.exit_code == 0 and "新增待评 21 份" in r.output
    # Paper import: one bad row → exit 1 naming the row and the column.
    manifest = tmp_path / "m.csv"
    manifest.write_text("test_id,instrument,item,image\nT99999,mtest,E02,a.png\n", encoding="utf-8")
    archive = tmp_path / "z.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("a.png", bar_chart_png())
    r = runner.invoke(marking_group, ["import-paper", *year, str(manifest), str(archive)])
    assert r.exit_code == 1 and "m.csv row 2, test_id: 未知的测试编号“T99999”" in r.output
    r = runner.invoke(marking_group, ["assign", *year, "--item", "mtest/E01", "--seed", "5"])
    assert r.exit_code == 0 and "种子 5" in r.output, r.output
    r = runner.invoke(marking_group, ["assign", *year, "--item", "mtest/E02", "--seed", "5"])
    assert r.exit_code == 1 and "没有可用的评分员" in r.output
    r = runner.invoke(marking_group, ["agreement", *year])
    assert r.exit_code == 0 and "按题目" in r.output and "按评分员" in r.output
    out = tmp_path / "scores.csv"
    r = runner.invoke(marking_group, ["export", *year, str(out)])
    assert r.exit_code == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "test_id,instrument,item,score,rule" and len(lines) == 1 + 3  # the three blank E02 answers
    assert f"{len(lines) - 1} 条最终得分" in r.output


def test_demo_is_idempotent_and_has_an_arbitration(marking: Marking) -> None:
    raters = demo_marking(marking.cycle, seed=3)
    assert [u.username for u in raters] == ["demo_rater_1", "demo_rater_2"]
    assert RaterProfile.objects.count() == 2
    item = MarkResponse.objects.exclude(source=Source.CHECK).filter(test_taker__isnull=False)
    assert item.count() == 12 and Rubric.objects.filter(is_current=True).count() == 1
    assert Arbitration.objects.filter(resolved_at__isnull=True).exists()
    assert item.filter(status=ResponseStatus.FINAL).exists()
    assert Assignment.objects.filter(response__source=Source.CHECK).exists()
    before = (MarkResponse.objects.count(), Assignment.objects.count())
    again = demo_marking(marking.cycle, seed=3)
    assert [u.username for u in again] == ["demo_rater_1", "demo_rater_2"]
    assert (MarkResponse.objects.count(), Assignment.objects.count()) == before


def test_demo_without_rater_scored_items_does_nothing(cycle: Any, db: None) -> None:
    assert demo_marking(cycle, seed=1) == []
    assert not MarkResponse.objects.exists()

