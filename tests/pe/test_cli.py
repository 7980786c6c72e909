"""``naeq pe`` verbs through click's CliRunner: help on each, exit 1 with precise messages on bad input."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from click.testing import CliRunner
from django.utils import timezone
from openpyxl import load_workbook

from naeq.pe import services
from naeq.pe.cli import pe_group
from naeq.pe.config import CONFIG_DIR
from naeq.pe.models import ExamRoom
from tests.pe.conftest import PeWorld, good_values


def test_every_verb_has_help() -> None:
    assert set(pe_group.commands) == {"check-config", "template", "import", "completion", "indicators"}
    for verb in pe_group.commands:
        result = CliRunner().invoke(pe_group, [verb, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output, verb


def test_check_config(tmp_path: Path) -> None:
    ok = CliRunner().invoke(pe_group, ["check-config"])
    assert ok.exit_code == 0 and "score tables: 20 (10 published, 10 configured norms); OK" in ok.output
    bad = tmp_path / "items.yaml"
    bad.write_text((CONFIG_DIR / "items.yaml").read_text(encoding="utf-8").replace(
        "4: {M: [90, 170], F: [90, 170]}", "4: {M: [170, 90], F: [90, 170]}", 1), encoding="utf-8")
    res = CliRunner().invoke(pe_group, ["check-config", "--items", str(bad)])
    assert res.exit_code == 1 and "items.yaml row" not in res.output
    assert "items[0].bounds.4.M: 下限应小于上限。" in res.output


def _csv(tmp_path: Path, rows: list[dict[str, object]]) -> Path:
    p = tmp_path / "students.csv"
    cols = ["group", "grade", "sex", "height", "weight", "vision_l", "vision_r", "vc_1", "vc_2", "run50"]
    with p.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        w.writerows(rows)
    return p


def test_indicators_over_a_csv(tmp_path: Path) -> None:
    # Hand-computed (tables cited in tests/pe/test_indicators.py): grade-4 boys, BMI 40/1.4² = 20.4 超重 and
    # 44.5/1.4² = 22.7 肥胖; VC 2450 (90: pass, excellent) and 1000 (50: fail); vision 4.8 moderate, 5.0 normal.
    p = _csv(tmp_path, [
        {"group": "s1", "grade": 4, "sex": "M", "height": 140, "weight": 40, "vision_l": 4.8, "vision_r": 5.0,
         "vc_1": 2450, "vc_2": 2300, "run50": 9.0},
        {"group": "s1", "grade": 4, "sex": "M", "height": 140, "weight": 44.5, "vision_l": 5.0, "vision_r": 5.1,
         "vc_1": 1000, "vc_2": -1, "run50": ""},
    ])
    res = CliRunner().invoke(pe_group, ["indicators", str(p)])
    assert res.exit_code == 0, res.output
    out = list(csv.DictReader(io.StringIO(res.output)))
    assert len(out) == 1
    row = out[0]
    assert (row["students"], row["bmi_n"], row["obese"], row["overweight"]) == ("2", "2", "1", "1")
    assert (row["poor_vision"], row["moderate"]) == ("1", "1")
    assert (row["vc_n"], row["vc_pass"], row["vc_excellent"], row["vc_pass_rate"]) == ("2", "1", "1", "0.5000")
    assert (row["run50_n"], row["run50_pass"]) == ("1", "1")  # 9.0 s: 85 points for a grade-4 boy (≤ 9.0)


def test_indicators_bad_input_exits_1_with_row_and_column(tmp_path: Path) -> None:
    p = _csv(tmp_path, [{"group": "s1", "grade": 5, "sex": "男", "height": "abc"}])
    res = CliRunner().invoke(pe_group, ["indicators", str(p)])
    assert res.exit_code == 1
    assert "students.csv: row 2, grade: 应为 4 或 8，现为“5”" in res.output
    assert "students.csv: row 2, sex: 应为 M 或 F，现为“男”" in res.output
    assert "students.csv: row 2, height: “abc”不是数值" in res.output
    q = tmp_path / "nogrades.csv"
    q.write_text("group,height\ns,140\n", encoding="utf-8")
    res = CliRunner().invoke(pe_group, ["indicators", str(q)])
    assert res.exit_code == 1 and "缺少列 grade, sex" in res.output


@pytest.mark.django_db
def test_template_import_and_completion(pw: PeWorld, tmp_path: Path) -> None:
    room = pw.staffed_rooms()[0]
    # The entry window of the room's province around the moment the command runs (the CLI acts "now").
    now = timezone.now()
    services.window_set_system(cycle=pw.cycle, province=pw.world.regions["A"], opens_at=now - dt.timedelta(hours=1),
                               closes_at=now + dt.timedelta(hours=1))
    out = tmp_path / "room.xlsx"
    runner = CliRunner()
    res = runner.invoke(pe_group, ["template", "--room", str(room.pk), "--out", str(out)])
    assert res.exit_code == 0 and "4 students" in res.output, res.output
    wb = load_workbook(out)
    ws = wb.worksheets[0]
    header = [c.value for c in ws[3]]
    for k, r in enumerate(services.room_records(room)):
        for f, v in good_values(4, r.test_taker.sampled_student.student.sex, k).items():
            ws.cell(row=4 + k, column=header.index(r._meta.get_field(f).verbose_name) + 1).value = v or None
    ws.cell(row=4, column=header.index("身高") + 1).value = "abc"
    wb.save(out)
    res = runner.invoke(pe_group, ["import", str(out), "--room", str(room.pk), "--user", "school_info_officer_a"])
    assert res.exit_code == 1 and "row 4" in res.output and "身高 “abc”不是数值" in res.output
    ws.cell(row=4, column=header.index("身高") + 1).value = 140.2
    wb.save(out)
    wrong = runner.invoke(pe_group, ["import", str(out), "--room", str(room.pk), "--user", "school_head_a"])
    assert wrong.exit_code == 1 and "只有本考场的录入员" in wrong.output
    res = runner.invoke(pe_group, ["import", str(out), "--room", str(room.pk), "--user", "school_info_officer_a",
                                   "--submit"])
    assert res.exit_code == 0 and "4 records saved; submitted" in res.output, res.output
    assert ExamRoom.objects.get(pk=room.pk).status == "submitted"
    res = runner.invoke(pe_group, ["completion", "--region", "310101"])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(res.output)))
    assert (rows[0]["expected"], rows[0]["entered"], rows[0]["submitted"]) == ("8", "4", "1")
    missing = runner.invoke(pe_group, ["completion", "--region", "999999"])
    assert missing.exit_code == 1 and "没有行政区划代码为 999999 的地区" in missing.output
