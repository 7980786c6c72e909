"""Loading cycles: only national admins, atomic, audited, upsert by year, one current cycle; the schedule reads."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner
from django.db import IntegrityError, transaction

from naeq.core.errors import InvalidInput, PermissionDenied
from naeq.core.models import AuditEvent
from naeq.cycles.cli import cycle as cycle_cli
from naeq.cycles.models import Cycle
from naeq.cycles.selectors import cycle_current, cycle_list, schedule_for
from naeq.cycles.services import CONFIG_DIR, cycle_load, load_shipped_cycles
from tests.personas import World

C2024 = CONFIG_DIR / "2024.yaml"


def _state() -> list[tuple]:
    return list(Cycle.objects.order_by("year").values_list("year", "config_hash", "is_current", "config_text"))


def test_national_admin_loads_and_it_is_audited(world: World) -> None:
    admin = world.users["national_admin@A"]
    c = cycle_load(actor=admin, path_or_text=C2024)
    assert (c.year, c.name, c.source_name, c.is_current) == (2024, "2024年国家义务教育质量监测", "2024.yaml", True)
    assert c.config_text == C2024.read_text(encoding="utf-8") and len(c.config_hash) == 64
    ev = AuditEvent.objects.filter(action="cycles.cycle.load").get()
    assert (ev.actor_id, ev.object_type, ev.object_id, ev.before) == (admin.pk, "cycle", "2024", None)
    assert ev.after["config_hash"] == c.config_hash and ev.after["is_current"] is True
    # loading the same file again changes nothing and audits nothing
    cycle_load(actor=admin, path_or_text=C2024)
    assert AuditEvent.objects.filter(action="cycles.cycle.load").count() == 1


@pytest.mark.parametrize("persona", ["national_analyst@A", "province_coordinator@A", "county_liaison@A",
                                     "school_head@A", "student@A"])
def test_only_national_admins_may_load(world: World, persona: str) -> None:
    before = (_state(), AuditEvent.objects.count())
    with pytest.raises(PermissionDenied):
        cycle_load(actor=world.users[persona], path_or_text=C2024)
    assert (_state(), AuditEvent.objects.count()) == before


def test_bad_file_changes_nothing(world: World, tmp_path: Path) -> None:
    cycle_load(actor=None, path_or_text=C2024)
    before = (_state(), AuditEvent.objects.count())
    bad = tmp_path / "2024-bad.yaml"
    bad.write_text(C2024.read_text(encoding="utf-8").replace('end: "09:50"', 'end: "08:00"', 1), encoding="utf-8")
    with pytest.raises(InvalidInput) as exc:
        cycle_load(actor=world.users["national_admin@A"], path_or_text=bad)
    (p,) = exc.value.problems
    assert p.file == str(bad) and p.field == "schedule.sample.primary[0].sessions[0].end"
    assert p.reason == "结束时间 08:00 应晚于开始时间 08:30。"
    assert (_state(), AuditEvent.objects.count()) == before


def test_upsert_by_year_and_one_current(world: World) -> None:
    cycles = load_shipped_cycles()
    assert [c.year for c in cycles] == [2023, 2024]
    assert cycle_current() is not None and cycle_current().year == 2024  # type: ignore[union-attr]
    assert [c.year for c in cycle_list()] == [2024, 2023]
    # reload 2023 as current: 2024 stops being current, still one row per year
    text = (CONFIG_DIR / "2023.yaml").read_text(encoding="utf-8") + "\n# reloaded\n"
    c = cycle_load(actor=None, path_or_text=text, source_name="2023.yaml")
    assert c.is_current and Cycle.objects.count() == 2
    assert list(Cycle.objects.filter(is_current=True).values_list("year", flat=True)) == [2023]
    ev = AuditEvent.objects.filter(action="cycles.cycle.load", object_id="2023").order_by("-id").first()
    assert ev is not None and ev.before["is_current"] is False and ev.after["previous_current_year"] == 2024


def test_database_allows_one_current_cycle(world: World) -> None:
    load_shipped_cycles()
    with pytest.raises(IntegrityError), transaction.atomic():
        Cycle.objects.filter(year=2023).update(is_current=True)


def test_schedule_for_nine_year_school_is_the_union(world: World) -> None:
    load_shipped_cycles()
    c2023 = Cycle.objects.get(year=2023)
    primary = schedule_for(c2023, school_level="primary")
    junior = schedule_for(c2023, school_level="junior")
    nine = schedule_for(c2023, school_level="nine_year")
    # The teacher questionnaire session (5/25 09:00 至全部完成) is shared by both schedules and listed once.
    assert len(primary) == len(junior) == 8 and len(nine) == 15
    assert {(e.date, e.start, e.title) for e in nine} == {(e.date, e.start, e.title) for e in primary + junior}
    assert nine == sorted(nine, key=lambda e: (e.date, e.start or dt.time.min))
    shared = [e for e in nine if e.title == "校长与教师问卷填答"]
    assert len(shared) == 1 and shared[0].end is None and shared[0].level == "primary+middle"
    # grade 4 and grade 8 sit 德育 at the same time in different modes: two entries
    moral = [(e.level, e.mode) for e in nine if e.title == "学生德育测试"]
    assert moral == [("middle", "online_objective_paper_constructed"), ("primary", "paper")]
    assert schedule_for(c2023, school_level="twelve_year") == nine
    assert schedule_for(c2023, school_level="complete_middle") == junior


def test_local_time_flag(world: World) -> None:
    load_shipped_cycles()
    c = Cycle.objects.get(year=2024)
    assert all(e.local_time for e in schedule_for(c, school_level="primary", province_code="650000"))
    assert not any(e.local_time for e in schedule_for(c, school_level="primary", province_code="360000"))
    window = schedule_for(c, school_level="county", province_code="540000")
    assert [(e.date, e.end_date, e.local_time) for e in window] == [
        (dt.date(2024, 5, 24), dt.date(2024, 5, 31), True)]
    with pytest.raises(ValueError, match="school level"):
        schedule_for(c, school_level="university")


def test_config_property_parses_the_stored_text(world: World) -> None:
    load_shipped_cycles()
    c = Cycle.objects.get(year=2024)  # fresh instance: parses config_text
    assert c.config.year == 2024 and c.config.instrument("math").name == "学生数学测试"


# --------------------------------------------------------------------------------------------------- CLI


def test_cli_validate(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(cycle_cli, ["validate", str(C2024), str(CONFIG_DIR / "2023.yaml")])
    assert ok.exit_code == 0 and ok.output.count(": OK") == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text(C2024.read_text(encoding="utf-8").replace('"10:20"', '"10:2O"', 1), encoding="utf-8")
    line = next(i for i, t in enumerate(bad.read_text(encoding="utf-8").splitlines(), 1) if "10:2O" in t)
    result = runner.invoke(cycle_cli, ["validate", str(bad)])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{bad}:{line}: schedule.sample.primary[0].sessions[1].start: "
        "时间“10:2O”格式不对，应为 HH:MM（24小时制，如 08:30）。"]


def test_cli_load_list_show(world: World, tmp_path: Path) -> None:
    runner = CliRunner()
    bad = tmp_path / "bad.yaml"
    bad.write_text("year: 2024\n", encoding="utf-8")
    result = runner.invoke(cycle_cli, ["load", str(bad)])
    assert result.exit_code == 1 and not Cycle.objects.exists()
    assert f"{bad}:1: name: 缺少必填配置项“name”。" in result.output
    result = runner.invoke(cycle_cli, ["load", str(C2024), "--no-current"])
    assert result.exit_code == 0, result.output
    assert Cycle.objects.get().is_current is False
    listed = runner.invoke(cycle_cli, ["list"])
    assert "2024  2024年国家义务教育质量监测  2024.yaml" in listed.output
    shown = runner.invoke(cycle_cli, ["show", "2024", "--participation", "application", "--level", "primary",
                                      "--province", "65"])
    assert shown.exit_code == 0, shown.output
    assert "05-23 14:00–14:45 (当地时间)  学生语文测试  [online]  student" in shown.output
    assert "05-23 09:00–至全部完成 (当地时间)  学生体育现场测试  [field_test]" in shown.output
