"""``naeq analysis run|list|show|balanced`` in-process: a run followed to the end, its record and estimates
shown through the reader's jurisdiction (— for suppressed numbers), refusals exit non-zero, --help of each verb."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from tests.analysis.test_exports import YEAR_KEY, ExportWorld, exw  # noqa: F401  (fixture)
from tests.analysis.test_runs import ew  # noqa: F401  (fixture)


@pytest.fixture(autouse=True)
def _jobs_now(monkeypatch: pytest.MonkeyPatch) -> None:
    """The verb waits for the run inside the test's transaction: send the job at once instead of after commit."""
    from naeq.analysis import services

    monkeypatch.setattr(services.transaction, "on_commit", lambda func, *a, **k: func())


def _invoke(ew: ExportWorld, *args: str) -> Any:  # noqa: F811
    from naeq.analysis.cli import analysis_group

    return CliRunner().invoke(analysis_group, list(args), catch_exceptions=True)


@pytest.mark.django_db
def test_run_list_show_balanced(ew: ExportWorld) -> None:  # noqa: F811
    from naeq.analysis.models import EstimationRun

    year = str(ew.cycle.year)
    r = _invoke(ew, "run", "--as", "national_admin_a", "--cycle", year, "--instrument", YEAR_KEY, "--quiet",
                "--option", "min_n=5", "--option", "min_schools=1")
    assert r.exit_code == 0, r.output
    run = EstimationRun.objects.get()
    assert run.status == "done" and run.options["min_n"] == 5
    assert f"#{run.pk} {year} {YEAR_KEY} done" in r.output
    r = _invoke(ew, "list", "--as", "national_analyst_a")
    assert r.exit_code == 0 and f"#{run.pk}\t{year}\t{YEAR_KEY}\tdone" in r.output
    r = _invoke(ew, "show", str(run.pk), "--as", "province_coordinator_a", "--level", "county")
    assert r.exit_code == 0, r.output
    assert "310000/310100/310101/" in r.output and "440000/" not in r.output
    r = _invoke(ew, "show", str(run.pk), "--as", "county_liaison_a", "--level", "county", "--region", "440101")
    assert r.exit_code != 0
    r = _invoke(ew, "show", str(run.pk), "--as", "national_admin_a", "--level", "nation")
    assert "全国" in r.output and "mean" in r.output
    r = _invoke(ew, "balanced", "--as", "national_admin_a", "--cycle", year, "--county", "310101",
                "--min-level", "I", "--max-rate", "0.9")
    assert r.exit_code == 0, r.output
    assert "310101" in r.output and YEAR_KEY in r.output


@pytest.mark.django_db
def test_default_rules_print_dashes_and_refusals(ew: ExportWorld) -> None:  # noqa: F811
    year = str(ew.cycle.year)
    r = _invoke(ew, "run", "--as", "national_admin_a", "--cycle", year, "--instrument", YEAR_KEY, "--quiet")
    assert r.exit_code == 0, r.output
    from naeq.analysis.models import EstimationRun

    run = EstimationRun.objects.get()
    r = _invoke(ew, "show", str(run.pk), "--as", "national_admin_a", "--level", "county")
    assert "—" in r.output and "不予报告" in r.output
    r = _invoke(ew, "run", "--as", "province_coordinator_a", "--cycle", year, "--instrument", YEAR_KEY)
    assert r.exit_code != 0 and EstimationRun.objects.count() == 1


@pytest.mark.parametrize("verb", ["run", "list", "show", "balanced"])
def test_help(verb: str) -> None:
    from naeq.analysis.cli import analysis_group

    r = CliRunner().invoke(analysis_group, [verb, "--help"])
    assert r.exit_code == 0 and "--as" in r.output
