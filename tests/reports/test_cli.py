"""``naeq report generate | list | export`` and the demo hook (idempotent)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from naeq.cli import main
from naeq.core.models import AuditEvent
from naeq.reports.demo import demo_reports
from naeq.reports.models import Report, ReportBatch
from tests.reports.conftest import ReportsWorld

pytestmark = pytest.mark.django_db(transaction=True)  # the command commits; the in-process job runs on commit


def test_generate_list_export(rw: ReportsWorld, tmp_path: Path) -> None:
    runner = CliRunner()
    for cmd in ("generate", "list", "export"):
        helped = runner.invoke(main, ["report", cmd, "--help"])
        assert helped.exit_code == 0 and "--as" in helped.output
    result = runner.invoke(main, ["report", "generate", "--cycle", str(rw.cycle.year), "--level", "county",
                                  "--region", rw.world.regions["B1a"].code, "--workers", "1",
                                  "--as", "national_analyst_a"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    batch = ReportBatch.objects.get()
    assert batch.status == "done" and batch.levels == ["county"] and batch.created_by == rw.analyst
    assert f"#{batch.pk} {rw.cycle.year} county done reports=1" in result.output
    assert batch.content_hash in result.output
    report = Report.objects.get()
    listed = runner.invoke(main, ["report", "list", "--as", "national_analyst_a"])
    assert f"batch #{batch.pk}" in listed.output and f"report #{report.pk}" in listed.output
    # the county's liaison in province A sees nothing of province B; B's liaison sees its report
    assert "report #" not in runner.invoke(main, ["report", "list", "--as", "county_liaison_a"]).output
    assert f"report #{report.pk}" in runner.invoke(main, ["report", "list", "--as", "county_liaison_b"]).output
    out = tmp_path / "out"
    exported = runner.invoke(main, ["report", "export", str(batch.pk), "--out", str(out), "--as",
                                    "county_liaison_b", "--quiet"])
    assert exported.exit_code == 0, exported.output
    pdf = (out / report.pdf_name).read_bytes()
    assert hashlib.sha256(pdf).hexdigest() == report.pdf_sha256
    assert hashlib.sha256((out / report.html_name).read_bytes()).hexdigest() == report.html_sha256
    assert AuditEvent.objects.filter(action="reports.export", actor=rw.world.users["county_liaison@B"]).exists()
    refused = runner.invoke(main, ["report", "export", str(batch.pk), "--out", str(tmp_path / "x"), "--as",
                                   "county_liaison_a", "--quiet"])
    assert refused.exit_code != 0 and not (tmp_path / "x").exists()
    refused = runner.invoke(main, ["report", "generate", "--cycle", str(rw.cycle.year), "--as",
                                   "province_coordinator_a", "--quiet"])
    assert refused.exit_code != 0 and ReportBatch.objects.count() == 1


def test_demo_reports_is_idempotent(rw: ReportsWorld, monkeypatch: Any) -> None:
    from naeq.reports import services

    # the demo renders every unit; the matrix of units is tested elsewhere, here one county keeps it fast
    real = services._units
    monkeypatch.setattr(services, "_units", lambda batch, index, infos: real(batch, index, infos)[:2])
    first = demo_reports(actor=rw.analyst, workers=1)
    assert first["status"] == "done" and first["reports"] == 2
    again = demo_reports(actor=rw.analyst, workers=1)
    assert again == {"status": "exists", "batch": first["batch"], "reports": 2}
    assert ReportBatch.objects.count() == 1
