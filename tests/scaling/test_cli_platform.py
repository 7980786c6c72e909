"""``naeq scaling run | list | show | export`` on the database, and the demo hook (idempotent)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from naeq.cli import main
from naeq.scaling.models import CalibrationPerson, CalibrationRun, RunStatus
from tests.scaling.conftest import N_PERSONS, ScalingWorld

pytestmark = pytest.mark.django_db(transaction=True)  # the command commits; the in-process job runs on commit


def test_run_list_show_export(sw: ScalingWorld, tmp_path: Path) -> None:
    runner = CliRunner()
    year = str(sw.cycle.year)
    result = runner.invoke(main, ["scaling", "run", "--as", "national_analyst_a", "--year", year, "--instrument",
                                  "scaltest", "--seed", "3", "--dif", "urban_rural", "--quiet"],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    run = CalibrationRun.objects.get()
    assert run.status == RunStatus.DONE and run.created_by == sw.analyst
    assert f"#{run.pk} {year} scaltest 2pl/gpcm seed=3 done" in result.output and run.inputs_hash in result.output
    listed = runner.invoke(main, ["scaling", "list", "--as", "national_analyst_a"])
    assert listed.exit_code == 0 and f"#{run.pk}\t{year}\tscaltest" in listed.output and "100%" in listed.output
    shown = runner.invoke(main, ["scaling", "show", "--as", "national_admin_a", str(run.pk)])
    assert shown.exit_code == 0 and "12 items, 400 persons" in shown.output
    out = tmp_path / "export"
    exported = runner.invoke(main, ["scaling", "export", "--as", "national_analyst_a", "--out", str(out),
                                    str(run.pk)])
    assert exported.exit_code == 0, exported.output
    items = list(csv.DictReader((out / "items.csv").open(encoding="utf-8")))
    assert len(items) == 12 and items[0]["item"] == "T01"
    persons = list(csv.DictReader((out / "persons.csv").open(encoding="utf-8")))
    assert len(persons) == N_PERSONS == CalibrationPerson.objects.count() and "pv5" in persons[0]
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert record["inputs_hash"] == run.inputs_hash and record["seed"] == 3


def test_only_national_accounts(sw: ScalingWorld) -> None:
    runner = CliRunner()
    for argv in (["scaling", "run", "--as", "province_coordinator_a", "--year", str(sw.cycle.year),
                  "--instrument", "scaltest", "--seed", "1", "--quiet"],
                 ["scaling", "list", "--as", "county_liaison_a"], ["scaling", "show", "--as", "nobody", "1"]):
        result = runner.invoke(main, argv)
        assert result.exit_code == 1 and "not_found" in result.output, argv
    assert not CalibrationRun.objects.exists()


def test_demo_hook_is_idempotent(sw: ScalingWorld) -> None:
    from naeq.scaling.demo import demo_scaling

    first = demo_scaling(sw.cycle, seed=11, instrument_code="scaltest")
    assert first["created"] and first["status"] == RunStatus.DONE
    again = demo_scaling(sw.cycle, seed=11, instrument_code="scaltest")
    assert again["run"] == first["run"] and not again["created"] and again["truth"]["created"] == 0
    assert CalibrationRun.objects.count() == 1 and CalibrationPerson.objects.count() == N_PERSONS


def test_demo_hook_on_the_shipped_demo_test(world: object, cycle: object) -> None:
    """What `naeq demo` will call: the demo item bank's math test (3 booklets, items worth 1, 2 and 3 points)."""
    from naeq.delivery.demo_bank import demo_bank_load
    from naeq.scaling.demo import demo_scaling

    demo_bank_load(actor=None, year=cycle.year)  # type: ignore[attr-defined]
    done = demo_scaling(cycle, seed=2026)  # type: ignore[arg-type]
    run = CalibrationRun.objects.get(pk=done["run"])
    assert run.status == RunStatus.DONE, run.error
    assert run.summary["n_persons"] == 600 and len(run.summary["booklets"]) == 3
