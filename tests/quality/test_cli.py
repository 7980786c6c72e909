"""``naeq quality run | list | show | export`` on the database (click's CliRunner, in-process jobs), and --help."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from naeq.cli import main
from naeq.quality.models import ScreenedPair, ScreenedPerson, ScreenedUnit, ScreeningRun
from naeq.scaling.models import RunStatus
from tests.quality.conftest import RUNS_PER_SCHOOL, RunsWorld

pytestmark = pytest.mark.django_db(transaction=True)  # the command commits; the in-process job runs on commit


def test_run_list_show_export(runs_gather: RunsWorld, tmp_path: Path) -> None:
    rw = runs_gather
    runner = CliRunner()
    year = str(rw.cycle.year)
    result = runner.invoke(main, ["quality", "run", "--as", "national_analyst_a", "--cycle", year, "--instrument",
                                  "runstest", "--option", "fdr=0.1", "--option", "exact_tests=false", "--quiet"],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    run = ScreeningRun.objects.get()
    assert run.status == RunStatus.DONE and run.created_by == rw.analyst
    assert run.options["fdr"] == 0.1 and run.options["exact_tests"] is False
    assert f"#{run.pk} {year} runstest seed=0 done 100%" in result.output and run.inputs_hash in result.output
    assert "flagged schools (most suspect first):" in result.output and rw.school.code in result.output
    assert "warning: （测试）一条读取警告" in result.output

    listed = runner.invoke(main, ["quality", "list", "--as", "national_analyst_a", "--cycle", year])
    assert listed.exit_code == 0 and f"#{run.pk}\t{year}\trunstest\tdone\t100%" in listed.output
    assert "schools=1" in listed.output
    assert runner.invoke(main, ["quality", "list", "--as", "national_analyst_a", "--cycle", "1999"]).output == ""

    shown = runner.invoke(main, ["quality", "show", "--as", "national_admin_a", "--top", "3", str(run.pk)])
    assert shown.exit_code == 0, shown.output
    top = ScreenedUnit.objects.get(run=run, level="school", rank=1)
    assert f"   1. {rw.school.code} {rw.school.name}" in shown.output
    assert "drivers: " + ", ".join(top.drivers) in shown.output
    assert f"{8 * RUNS_PER_SCHOOL} persons, 40 items, 8 schools, 4 counties" in shown.output

    out = tmp_path / "export"
    exported = runner.invoke(main, ["quality", "export", "--as", "national_analyst_a", "--out", str(out),
                                    str(run.pk)])
    assert exported.exit_code == 0, exported.output
    schools = list(csv.DictReader((out / "schools.csv").open(encoding="utf-8")))
    assert len(schools) == 8 and schools[0]["unit"] == rw.school.code and schools[0]["flag"] == "1"
    assert schools[0]["drivers"] == ";".join(top.drivers)
    assert float(schools[0]["pairs_omega_p"]) == top.indicators["pairs_omega"]["p"]  # round-trip exact
    assert float(schools[0]["combined_q"]) == top.combined_q
    assert list(schools[0])[:3] == ["unit", "county", "n_persons"] and "item_partial_q" in schools[0]
    counties = list(csv.DictReader((out / "counties.csv").open(encoding="utf-8")))
    assert len(counties) == 4 and counties[0]["unit"] == rw.school.county.code and counties[0]["n_schools"] == "2"
    pairs = list(csv.DictReader((out / "pairs.csv").open(encoding="utf-8")))
    assert len(pairs) == ScreenedPair.objects.filter(run=run).count() > 0
    assert [float(p["omega_p"]) for p in pairs] == sorted(float(p["omega_p"]) for p in pairs)
    flagged = [p for p in pairs if p["flag"] == "1"]
    assert flagged and all(p["school"] == rw.school.code for p in flagged)
    assert all(p["gbt_p"] == "" for p in pairs)  # exact tests off: no GBT tails
    persons = list(csv.DictReader((out / "persons.csv").open(encoding="utf-8")))
    assert len(persons) == ScreenedPerson.objects.filter(run=run).count() == 8 * RUNS_PER_SCHOOL
    assert {p["person"][:2] for p in persons} == {"RT"}  # test IDs only
    clusters = list(csv.DictReader((out / "clusters.csv").open(encoding="utf-8")))
    from naeq.delivery.models import TestTaker

    source_code = TestTaker.objects.get(pk=rw.source).code
    assert len(clusters) == 1 and clusters[0]["source_candidate"] == source_code
    assert clusters[0]["members"].split(";")[0] == source_code
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert record["inputs_hash"] == run.inputs_hash and record["summary"]["items"][0] == "R01"
    from naeq.core.models import AuditEvent

    assert AuditEvent.objects.filter(action="quality.run_export", object_id=str(run.pk)).count() == 1


def test_bad_options_and_non_national_accounts_are_refused(runs_gather: RunsWorld, tmp_path: Path) -> None:
    runner = CliRunner()
    year = str(runs_gather.cycle.year)
    bad = runner.invoke(main, ["quality", "run", "--as", "national_analyst_a", "--cycle", year, "--instrument",
                               "runstest", "--option", "fdr=2", "--option", "pair_scope=class", "--quiet"])
    assert bad.exit_code == 1 and "bad_options" in bad.output and "fdr" in bad.output and "pair_scope" in bad.output
    malformed = runner.invoke(main, ["quality", "run", "--as", "national_analyst_a", "--cycle", year,
                                     "--instrument", "runstest", "--option", "fdr"])
    assert malformed.exit_code == 2 and "KEY=VALUE" in malformed.output
    for argv in (["quality", "run", "--as", "province_coordinator_a", "--cycle", year, "--instrument", "runstest",
                  "--quiet"],
                 ["quality", "show", "--as", "county_liaison_a", "1"], ["quality", "show", "--as", "nobody", "1"],
                 ["quality", "export", "--as", "city_viewer_a", "--out", str(tmp_path / "x"), "1"]):
        result = runner.invoke(main, argv)
        assert result.exit_code == 1 and "not_found" in result.output, argv
    assert runner.invoke(main, ["quality", "list", "--as", "county_liaison_a"]).output == ""
    assert not ScreeningRun.objects.exists() and not (tmp_path / "x").exists()


@pytest.mark.parametrize("verb", [[], ["run"], ["list"], ["show"], ["export"]])
def test_help(verb: list[str]) -> None:
    result = CliRunner().invoke(main, ["quality", *verb, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output
    if verb == ["run"]:
        assert "--option" in result.output and "alpha_pairs" in result.output
