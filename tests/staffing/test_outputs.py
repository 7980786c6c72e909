"""Badges and staff lists (PDF, Excel), the CLI and the demo hook."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from openpyxl import load_workbook

from naeq.staffing.cli import staff
from naeq.staffing.demo import demo_staffing
from naeq.staffing.documents import StaffLine, badges_pdf, staff_list_pdf, staff_list_xlsx
from naeq.staffing.models import StaffAssignment, StaffMember
from naeq.staffing.rules import violations
from tests.staffing.helpers import staff_county_team, staff_school


def _line(i: int) -> StaffLine:
    return StaffLine(badge_no=f"2024-310101-{i:04d}", post="保密员", name=f"人员{i:02d}", gender="男",
                     phone="13900000000", unit="甲省一市a县第1学校", home="甲省一市a县第1学校", day="全程")


def _pdf_text(pdf: bytes, tmp_path: Path) -> tuple[int, str]:
    path = tmp_path / "x.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    pages = int(next(ln.split()[-1] for ln in info.splitlines() if ln.startswith("Pages:")))
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout
    return pages, text


def test_badges_eight_per_page_with_name_post_unit_cycle_number(tmp_path: Path) -> None:
    """"现场测试工作人员须佩戴工作胸牌。各类胸牌由县级实施工作领导小组统一制作并配发"."""
    pages, text = _pdf_text(badges_pdf([_line(i) for i in range(1, 18)], cycle_name="2024年国家义务教育质量监测"),
                            tmp_path)
    assert pages == 3  # 17 badges: 8 + 8 + 1
    for i in range(1, 18):
        assert f"人员{i:02d}" in text and f"2024-310101-{i:04d}" in text
    assert text.count("保密员") == 17 and "2024年国家义务教育质量监测" in text and "甲省一市a县第1学校" in text


def test_staff_list_pdf_and_xlsx(tmp_path: Path) -> None:
    lines = [_line(1), _line(2)]
    pages, text = _pdf_text(staff_list_pdf(lines, title="某县 实施人员名单"), tmp_path)
    assert pages == 1 and "某县 实施人员名单" in text and "人员02" in text
    ws = load_workbook(io.BytesIO(staff_list_xlsx(lines, title="某县 实施人员名单"))).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "某县 实施人员名单" and rows[1][0] == "胸牌编号"
    assert rows[2][:3] == ("2024-310101-0001", "保密员", "人员01")


def test_cli_check_exits_nonzero_on_violations_and_zero_when_clean(sw: Any, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(staff, ["check", "--county", "310101"])
    assert result.exit_code == 1, result.output
    assert "[too_few] 甲省一市a县 · 组长: “组长”应至少1人，现有0人。" in result.output
    assert "依据：2024-nanchang-city-plan.txt" in result.output
    staff_county_team(sw)
    staff_school(sw)
    # A1a-2 is still empty; a county without sample schools and with a full team is clean.
    assert runner.invoke(staff, ["check", "--county", "310101"]).exit_code == 1
    assert runner.invoke(staff, ["check", "--county", "999999"]).exit_code == 1
    out = tmp_path / "b.pdf"
    result = runner.invoke(staff, ["badges", "--county", "310101", str(out)])
    assert result.exit_code == 0, result.output
    n = StaffAssignment.objects.filter(county__code="310101").count()
    assert f"{n} badges written" in result.output and out.read_bytes().startswith(b"%PDF")
    xlsx = tmp_path / "s.xlsx"
    result = runner.invoke(staff, ["export", "--county", "310101", "--school", sw.world.schools["A1a-1"].code,
                                   str(xlsx)])
    assert result.exit_code == 0, result.output
    rows = list(load_workbook(xlsx).active.iter_rows(values_only=True))
    assert len(rows) - 2 == StaffAssignment.objects.filter(school=sw.world.schools["A1a-1"]).count()
    for verb in ("check", "badges", "export", "template"):
        assert runner.invoke(staff, [verb, "--help"]).exit_code == 0


def test_cli_check_passes_for_a_clean_county(sw: Any) -> None:
    from naeq.sampling.models import SampledSchool

    SampledSchool.objects.filter(county=sw.world.regions["A1a"], school=sw.world.schools["A1a-2"]).delete()
    staff_county_team(sw)
    staff_school(sw)
    result = CliRunner().invoke(staff, ["check", "--county", "310101"])
    assert result.exit_code == 0, result.output
    assert "310101 甲省一市a县: 0 项问题" in result.output


def test_demo_gives_a_realistic_mix(sw: Any) -> None:
    demo_staffing(sw.cycle, seed=7)
    first = violations(sw.cycle, sw.world.regions["A1a"])
    rules = {v.rule_code for v in first}
    assert {"tested_subject", "conflict", "too_few"} <= rules  # maths chief proctor, custodian+proctor, 1 custodian
    assert not [v for v in violations(sw.cycle, sw.world.regions["A1b"])]  # a complete county
    last = violations(sw.cycle, sw.world.regions["B1b"])  # the last county: only its team so far
    assert last and all(v.rule_code == "too_few" and v.school_id is not None for v in last)
    n = StaffMember.objects.count()
    demo_staffing(sw.cycle, seed=7)  # idempotent
    assert StaffMember.objects.count() == n
