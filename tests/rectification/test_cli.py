"""``naeq rectification``: every verb has --help; draft and issue a letter, list and show plans, overdue alerts —
through the account's access."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from click.testing import CliRunner, Result
from django.utils import timezone

from naeq.cli import main
from naeq.rectification import services
from naeq.rectification.models import ProblemLetter
from tests.rectification.conftest import Rect


def _cli(*args: str) -> Result:
    return CliRunner().invoke(main, ["rectification", *args])


def test_help() -> None:
    for verb in ([], ["letters"], ["letters", "draft"], ["letters", "issue"], ["letters", "list"], ["letters", "pdf"],
                 ["plans"], ["plans", "list"], ["plans", "show"], ["overdue"]):
        r = _cli(*verb, "--help")
        assert r.exit_code == 0 and "Usage" in r.output, verb


def test_letters_plans_overdue(rect: Rect) -> None:
    r = _cli("letters", "draft", "--cycle", "2023", "--province", "310000", "--as", "national_admin_a")
    assert r.exit_code == 0, r.output
    assert "mean_below_nation" in r.output and "diff_rate" in r.output
    letter = ProblemLetter.objects.get()
    r = _cli("letters", "draft", "--cycle", "2023", "--province", "440000", "--as", "national_admin_a")
    assert r.exit_code == 1 and "no_problems" in r.output
    r = _cli("letters", "issue", str(letter.pk), "--as", "province_coordinator_a")
    assert r.exit_code == 1 and "not_found" in r.output
    r = _cli("letters", "issue", str(letter.pk), "--as", "national_admin_a")
    assert r.exit_code == 0 and "监测函〔2023〕1号" in r.output
    assert "监测函〔2023〕1号" in _cli("letters", "list", "--as", "province_coordinator_a").output
    assert _cli("letters", "list", "--as", "province_coordinator_b").output == ""
    problem = letter.problems.get(rule="mean_below_nation")
    plan = services.plan_create(actor=rect.user("province_coordinator@A"), problem_id=problem.pk,
                                unit=rect.world.regions["A"], department="省教育厅",
                                target_value=490, deadline=(timezone.localdate() + dt.timedelta(days=10)),
                                measures="加强教研")
    out = _cli("plans", "list", "--as", "province_coordinator_a").output
    assert f"{plan.pk}\t310000" in out and "480\t490" in out
    shown = _cli("plans", "show", str(plan.pk), "--as", "national_analyst_a")
    assert shown.exit_code == 0 and "加强教研" in shown.output and "not measured yet" in shown.output
    assert _cli("plans", "show", str(plan.pk), "--as", "province_coordinator_b").exit_code == 1
    later = (timezone.localdate() + dt.timedelta(days=12)).isoformat()
    r = _cli("overdue", "--as", "national_admin_a", "--at", later)
    assert r.exit_code == 1 and "overdue" in r.output and "2天" in r.output
    assert _cli("overdue", "--as", "province_coordinator_b", "--at", later).exit_code == 0


def test_letter_pdf_and_county_options(rect: Rect, tmp_path: Path) -> None:
    from naeq.core.models import AuditEvent
    from tests.rectification import factories as f

    a1b = rect.world.regions["A1b"]
    f.est(rect.run, a1b, "difference", -12.0, 4.0, key="vs_nation", p=0.003, sign=-1)
    r = _cli("letters", "draft", "--cycle", "2023", "--province", "310000", "--as", "national_admin_a")
    assert r.exit_code == 0 and "county_below_nation" not in r.output  # 12 points: under the 15-point line
    r = _cli("letters", "draft", "--cycle", "2023", "--province", "310000", "--as", "national_admin_a",
             "--county-gap-points", "10")
    assert r.exit_code == 0 and "county_below_nation" in r.output and "甲省一市b县" in r.output
    letter = ProblemLetter.objects.get()
    assert letter.rules["county_gap_points"] == 10.0
    out = tmp_path / "letter.pdf"
    r = _cli("letters", "pdf", str(letter.pk), "--as", "province_coordinator_a", "--out", str(out))
    assert r.exit_code == 1 and "not_found" in r.output and not out.exists()  # a draft: national only
    r = _cli("letters", "pdf", str(letter.pk), "--as", "national_analyst_a", "--out", str(out))
    assert r.exit_code == 0, r.output
    assert out.read_bytes().startswith(b"%PDF") and AuditEvent.objects.filter(
        action="rectification.letter_download").count() == 1
