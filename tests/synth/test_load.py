"""Loading a world into the database, refusing to overwrite one, and the `naeq synth` command."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from naeq.accounts.models import User
from naeq.cli import EXIT_BAD_INPUT, main
from naeq.core.errors import InvalidInput
from naeq.core.models import AuditEvent
from naeq.engines.synth import generate_world
from naeq.registry.models import Principal, Region, School, Student, Teacher
from naeq.registry.synth_load import registry_counts, synth_world_load

DOCS = Path(__file__).resolve().parents[2] / "docs" / "synth.md"


def _db_counts() -> dict[str, int]:
    c = registry_counts()
    return {"counties": Region.objects.filter(level="county").count(), **c}


@pytest.mark.django_db
def test_load_counts_paths_and_audit() -> None:
    world = generate_world("county", 3)
    written = synth_world_load(world=world)
    counts = world.counts()
    assert written["schools"] == School.objects.count() == counts["schools"]
    assert Region.objects.count() == counts["provinces"] + counts["cities"] + counts["counties"]
    assert Student.objects.count() == counts["students"]
    assert Teacher.objects.count() == counts["teachers"]
    assert Principal.objects.count() == counts["principals"] == counts["schools"]
    for r in Region.objects.select_related("parent"):
        assert r.path == Region.path_for(r.code, r.parent.path if r.parent else None)
    for s in School.objects.select_related("county")[:200]:
        assert s.path == s.county.path and s.code[1:7] == s.county.code
    heads = Teacher.objects.filter(head_teacher_class__isnull=False).count()
    assert heads == sum(s.g4_classes + s.g8_classes for s in School.objects.all())
    event = AuditEvent.objects.get(action="registry.synth.load")
    assert event.after["schools"] == counts["schools"] and event.object_id == "county:3"
    # ids keep working after bulk inserts with explicit ids
    province = Region.objects.get(level="province")
    new = Region.objects.create(code="639999", name="新增县", level="county", parent=province, path="x/")
    assert new.pk > max(Region.objects.exclude(pk=new.pk).values_list("pk", flat=True))


@pytest.mark.django_db
def test_loading_twice_fails_and_changes_nothing_replace_succeeds() -> None:
    synth_world_load(world=generate_world("county", 1))
    before = (_db_counts(), AuditEvent.objects.count(), list(School.objects.values_list("code", "name")[:20]))
    with pytest.raises(InvalidInput) as exc:
        synth_world_load(world=generate_world("city", 1))
    assert exc.value.code == "world_exists" and "--replace" in exc.value.message
    assert (_db_counts(), AuditEvent.objects.count(),
            list(School.objects.values_list("code", "name")[:20])) == before
    city = generate_world("city", 1)
    synth_world_load(world=city, replace=True)
    assert _db_counts()["counties"] == city.counts()["counties"]
    assert School.objects.count() == city.counts()["schools"]
    assert Student.objects.count() == city.counts()["students"]


@pytest.mark.django_db
def test_replace_refuses_when_accounts_point_at_the_world() -> None:
    synth_world_load(world=generate_world("county", 1))
    county = Region.objects.filter(level="county").first()
    User.objects.create(username="liaison-x", role="county_liaison", region=county, scope_path=county.path)
    before = _db_counts()
    with pytest.raises(InvalidInput) as exc:
        synth_world_load(world=generate_world("county", 2), replace=True)
    assert exc.value.code == "world_referenced"
    assert _db_counts() == before


def _documented_columns() -> dict[str, list[str]]:
    tables: dict[str, list[str]] = {}
    current = None
    for line in DOCS.read_text().splitlines():
        m = re.match(r"^### (\w+)$", line)
        if m:
            current = m.group(1)
            tables[current] = []
            continue
        m = re.match(r"^\| `(\w+)` \|", line)
        if m and current:
            tables[current].append(m.group(1))
        elif line.startswith("## "):
            current = None
    return tables


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_out_files_match_the_docs(tmp_path: Path, fmt: str) -> None:
    result = CliRunner().invoke(main, ["synth", "--scale", "county", "--seed", "5", "--no-db", "--quiet",
                                       "--out", str(tmp_path), "--format", fmt])
    assert result.exit_code == 0, result.output
    documented = _documented_columns()
    assert set(documented) == {"regions", "schools", "students", "teachers", "principals"}
    world = generate_world("county", 5)
    counts = {"regions": 3, "schools": world.counts()["schools"], "students": world.counts()["students"],
              "teachers": world.counts()["teachers"], "principals": world.counts()["principals"]}
    for name, columns in documented.items():
        path = tmp_path / f"{name}.{fmt}"
        table = pq.read_table(path) if fmt == "parquet" else pacsv.read_csv(path)
        assert table.column_names == columns, name
        assert table.num_rows == counts[name], name
    assert (tmp_path / "manifest.json").exists()


def test_no_db_without_out_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["synth", "--no-db"])
    assert result.exit_code == 2 and "--out" in result.output


@pytest.mark.django_db(transaction=True)
def test_cli_loads_then_refuses_a_second_world() -> None:
    runner = CliRunner()
    first = runner.invoke(main, ["synth", "--scale", "county", "--seed", "7", "--quiet"])
    assert first.exit_code == 0, first.output
    world = generate_world("county", 7)
    assert f"{world.counts()['students']:,}" in first.output
    assert School.objects.count() == world.counts()["schools"]
    before = _db_counts()
    second = runner.invoke(main, ["synth", "--scale", "city", "--seed", "7", "--quiet"])
    assert second.exit_code == EXIT_BAD_INPUT
    assert "world_exists" in second.output and "--replace" in second.output
    assert _db_counts() == before
    third = runner.invoke(main, ["synth", "--scale", "county", "--seed", "8", "--quiet", "--replace",
                                 "--rosters", "none"])
    assert third.exit_code == 0, third.output
    assert Student.objects.count() == 0 and School.objects.count() == generate_world("county", 8).counts()["schools"]
