"""``naeq quality cases list | show | open | assign | start | note | collect | decide | reopen`` on the database
(click's CliRunner): every verb's output through the account's access, the writes through the case services (the
national-only decision, audit, DataMark rows), and the refusals — a province coordinator deciding, an unknown case,
a bad decision value, an unknown county or test ID — exit non-zero with the precise message and change nothing."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from click.testing import CliRunner, Result

from naeq.cli import main
from naeq.core.models import AuditEvent
from naeq.delivery import models as dm
from naeq.quality import cases, services
from naeq.quality.models import Case, CaseEvent, CaseEvidence, CaseState, DataMark, ScreenedUnit, ScreeningRun
from tests.quality.conftest import RunsWorld
from tests.scaling.conftest import ScalingWorld, cycle, sw  # noqa: F401  (fixtures)

ANALYST, ADMIN = "national_analyst_a", "national_admin_a"
COORD_A, COORD_B = "province_coordinator_a", "province_coordinator_b"


@pytest.fixture
def run(runs_gather: RunsWorld, django_capture_on_commit_callbacks: Any, settings: Any, tmp_path: Any) -> Any:
    settings.DATA_DIR = tmp_path
    with django_capture_on_commit_callbacks(execute=True):
        r = services.screening_start(actor=runs_gather.analyst, cycle=runs_gather.cycle, instrument_code="runstest",
                                     seed=3)
    r.refresh_from_db()
    assert r.status == "done", r.error
    return r


def _cli(*args: str) -> Result:
    return CliRunner().invoke(main, ["quality", "cases", *args])


def _unit(rw: RunsWorld, run: ScreeningRun) -> ScreenedUnit:
    return ScreenedUnit.objects.get(run=run, level="school", school=rw.school)


def _state(case: Case) -> tuple[Any, ...]:
    """Everything a refused verb must leave as it was."""
    case.refresh_from_db()
    return (case.state, case.investigator_id, case.decision_reason, case.persons, CaseEvent.objects.count(),
            CaseEvidence.objects.count(), DataMark.objects.count(), AuditEvent.objects.count())


def _codes(ids: list[int]) -> list[str]:
    return list(dm.TestTaker.objects.filter(pk__in=ids).order_by("pk").values_list("code", flat=True))


def test_every_verb_has_help_in_both_languages() -> None:
    top = _cli("--help")
    assert top.exit_code == 0 and "调查取证" in top.output
    verbs = ("list", "show", "open", "assign", "start", "note", "collect", "decide", "reopen")
    for verb in verbs:
        assert verb in top.output
        got = _cli(verb, "--help")
        assert got.exit_code == 0, got.output
        assert "--as" in got.output and any("\u4e00" <= ch <= "\u9fff" for ch in got.output), verb
    quality = CliRunner().invoke(main, ["quality", "--help"])
    assert "cases" in quality.output


def test_open_assign_start_note_collect_and_show(runs_gather: RunsWorld, run: ScreeningRun) -> None:
    rw = runs_gather
    unit = _unit(rw, run)
    got = _cli("open", "--as", ANALYST, "--unit", str(unit.pk))
    assert got.exit_code == 0, got.output
    case = Case.objects.get()
    assert got.output == f"opened {case.number} (#{case.pk}): {case.title}\n"
    assert case.unit == unit and case.indicators == unit.indicators and case.opened_by == rw.analyst
    # a second case on the unit is refused with the service's message
    again = _cli("open", "--as", ANALYST, "--unit", str(unit.pk))
    assert again.exit_code == 1 and "error [case_exists]" in again.output and case.number in again.output
    assert Case.objects.count() == 1

    # the coordinator does not see the case before it is assigned: the same message as for no case at all
    hidden = _cli("show", "--as", COORD_A, case.number)
    unknown = _cli("show", "--as", ANALYST, "999999")
    assert hidden.exit_code == unknown.exit_code == 1
    assert hidden.output == unknown.output == "error [not_found]: 没有找到该案件。\n"

    bad = _cli("assign", "--as", ANALYST, "--to", COORD_B, str(case.pk))  # the other province's coordinator
    assert bad.exit_code == 1 and "error [bad_investigator]" in bad.output
    assert Case.objects.get().investigator is None
    assigned = _cli("assign", "--as", ANALYST, "--to", COORD_A, case.number.lower())  # by number, any case
    assert assigned.exit_code == 0 and assigned.output == f"{case.number}: investigator {COORD_A}\n"
    assert _cli("start", "--as", COORD_A, str(case.pk)).output == f"{case.number}: investigating\n"
    noted = _cli("note", "--as", COORD_A, "--text", "约谈了监考员。", str(case.pk))
    assert noted.exit_code == 0, noted.output
    empty = _cli("note", "--as", COORD_A, "--text", "  ", str(case.pk))
    assert empty.exit_code == 1 and "error [note_empty]: 调查记录不能为空。" in empty.output
    collected = _cli("collect", "--as", COORD_A, str(case.pk))
    assert collected.exit_code == 0 and collected.output == "evidence added: 0\n"
    assert list(CaseEvent.objects.filter(case=case).order_by("id").values_list("kind", flat=True)) == [
        "opened", "assigned", "state", "note", "evidence"]
    assert [a for a in AuditEvent.objects.filter(object_type="quality.Case", object_id=str(case.pk))
            .order_by("id").values_list("action", flat=True)] == [
        "quality.case_open", "quality.case_assign", "quality.case_start", "quality.case_note",
        "quality.case_evidence_collect"]

    shown = _cli("show", "--as", COORD_A, str(case.pk))  # the investigator now sees it
    assert shown.exit_code == 0, shown.output
    out = shown.output
    assert out.startswith(f"{case.number} (#{case.pk})  {case.title}\n")
    assert "  state: investigating (调查中)" in out
    assert f"from screening run #{run.pk}, rank {unit.rank}" in out and ", ".join(unit.drivers) in out
    assert f"school {rw.school.code} {rw.school.name}" in out
    assert f"investigator: {COORD_A}; opened" in out and f"by {ANALYST}" in out
    assert "decision: none yet" in out
    n = len(cases.case_persons(case))
    assert f"test takers concerned: {n} (the whole unit)" in out
    # the indicator snapshot, most significant first, with its Chinese label
    from naeq.quality import meanings

    lines = [line for line in out.splitlines() if line.startswith("  ") and " stat=" in line]
    names = [line.split()[0] for line in lines]
    assert sorted(names) == sorted(unit.indicators)
    qs = [unit.indicators[name].get("q") for name in names]
    assert [q for q in qs if q is not None] == sorted(q for q in qs if q is not None)
    assert meanings.label(names[0]) in lines[0]
    snap = CaseEvidence.objects.get(case=case, kind="snapshot")
    assert "evidence (1):" in out and f"  #{snap.pk} snapshot {snap.title}" in out
    assert "log (5):" in out and f"{COORD_A} note: 约谈了监考员。" in out and "state open → investigating" in out
    assert "effect on the estimates: no finished calibration run of the instrument yet" in out


def test_decide_refusals_change_nothing_then_decide_and_reopen(runs_gather: RunsWorld, run: ScreeningRun) -> None:
    rw = runs_gather
    case = cases.case_open(actor=rw.analyst, unit_id=_unit(rw, run).pk)
    cases.case_assign(actor=rw.analyst, case_id=case.pk, investigator=rw.world.users["province_coordinator@A"])
    before = _state(case)

    # the assigned province coordinator sees the case but may not decide (also with test IDs given)
    for extra in ((), ("--persons", _codes([rw.source])[0])):
        refused = _cli("decide", "--as", COORD_A, "--decision", "data_excluded", "--reason", "核实。", *extra,
                       str(case.pk))
        assert refused.exit_code == 1
        assert refused.output == "error [not_decider]: 只有国家监测中心人员可以作出或撤销决定。\n"
        assert _state(case) == before
    # a coordinator of another province, a county liaison: as if there were no such case
    for who in (COORD_B, "county_liaison_a"):
        refused = _cli("decide", "--as", who, "--decision", "cleared", "--reason", "x", str(case.pk))
        assert refused.exit_code == 1 and refused.output == "error [not_found]: 没有找到该案件。\n"
    unknown = _cli("decide", "--as", ADMIN, "--decision", "cleared", "--reason", "x", "999999")
    assert unknown.exit_code == 1 and "没有找到该案件。" in unknown.output
    by_number = _cli("decide", "--as", ADMIN, "--decision", "cleared", "--reason", "x", "ZL1999-0001")
    assert by_number.exit_code == 1 and "没有找到该案件。" in by_number.output
    bad = _cli("decide", "--as", ADMIN, "--decision", "excluded", "--reason", "x", str(case.pk))
    assert bad.exit_code == 2 and "Invalid value for '--decision'" in bad.output and "'excluded'" in bad.output
    blank = _cli("decide", "--as", ADMIN, "--decision", "cleared", "--reason", "  ", str(case.pk))
    assert blank.exit_code == 1 and "error [reason_required]: 请填写理由。" in blank.output
    ghost = _cli("decide", "--as", ADMIN, "--decision", "data_flagged", "--reason", "x", "--persons", "NOSUCH1",
                 str(case.pk))
    assert ghost.exit_code == 1 and "error [bad_persons]" in ghost.output and "NOSUCH1" in ghost.output
    outsider = dm.TestTaker.objects.filter(cycle=rw.cycle).exclude(school=rw.school).values_list("code", flat=True)[0]
    foreign = _cli("decide", "--as", ADMIN, "--decision", "data_flagged", "--reason", "x", "--persons", outsider,
                   str(case.pk))
    assert foreign.exit_code == 1 and "error [bad_persons]" in foreign.output
    nobody = _cli("decide", "--as", "nobody_here", "--decision", "cleared", "--reason", "x", str(case.pk))
    assert nobody.exit_code == 1 and "没有账户“nobody_here”。" in nobody.output
    assert _state(case) == before

    # the national administrator excludes the source and the copiers (test IDs, comma-separated and repeated)
    chosen = sorted([rw.source, *rw.copiers])
    codes = _codes(chosen)
    got = _cli("decide", "--as", ADMIN, "--decision", "data_excluded", "--reason", "经调查核实为监考员传递答案。",
               "--persons", ",".join(codes[:4]), "--persons", ",".join(codes[4:]), case.number)
    assert got.exit_code == 0, got.output
    assert got.output == f"{case.number}: data_excluded (数据剔除); test takers 9, marks written 9, kept 0\n"
    case.refresh_from_db()
    assert case.state == CaseState.DATA_EXCLUDED and case.persons == chosen
    assert case.decided_by == rw.world.users["national_admin@A"]
    assert sorted(DataMark.objects.filter(case=case, mark="excluded").values_list("test_taker_id", flat=True)) == \
        chosen
    assert AuditEvent.objects.filter(action="quality.case_decide", object_id=str(case.pk)).count() == 1
    again = _cli("decide", "--as", ADMIN, "--decision", "cleared", "--reason", "x", str(case.pk))
    assert again.exit_code == 1 and "error [case_decided]" in again.output
    shown = _cli("show", "--as", ANALYST, str(case.pk)).output
    assert "test takers concerned: 9 (chosen)" in shown
    assert "decision: data_excluded (数据剔除)" in shown and f"by {ADMIN}: 经调查核实为监考员传递答案。" in shown

    # reopen: national only; the marks go
    no = _cli("reopen", "--as", COORD_A, "--reason", "x", str(case.pk))
    assert no.exit_code == 1 and "not_decider" in no.output and DataMark.objects.count() == 9
    back = _cli("reopen", "--as", ANALYST, "--reason", "新材料。", str(case.pk))
    assert back.exit_code == 0 and back.output == f"{case.number}: investigating; marks removed 9\n"
    assert not DataMark.objects.exists()
    # "all": the whole unit
    flagged = _cli("decide", "--as", ANALYST, "--decision", "data_flagged", "--reason", "存疑。", "--persons", "all",
                   str(case.pk))
    assert flagged.exit_code == 0, flagged.output
    assert DataMark.objects.filter(case=case, mark="flagged").count() == 9  # the case's persons stay chosen


def test_list_filters_formats_and_access(runs_gather: RunsWorld, run: ScreeningRun) -> None:
    rw, users = runs_gather, runs_gather.world.users
    school_case = cases.case_open(actor=rw.analyst, unit_id=_unit(rw, run).pk)
    b_school = rw.world.schools["B1a-1"]
    county_case = cases.case_open_manual(actor=rw.analyst, cycle=rw.cycle, instrument_code="runstest",
                                         county=b_school.county, title="举报：考场纪律", reason="群众来信。")
    cases.case_assign(actor=rw.analyst, case_id=school_case.pk, investigator=users["province_coordinator@A"])
    cases.case_decide(actor=rw.analyst, case_id=county_case.pk, state="cleared", reason="查无实据。")

    table = _cli("list", "--as", ANALYST)
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert lines[0] == "id\tnumber\tinstrument\tunit\tstate\tinvestigator\topened"
    assert lines[1].startswith(f"#{county_case.pk}\t{county_case.number}\trunstest\t")
    assert f"\t{b_school.county.code} {b_school.county.name}\tcleared\t-\t" in lines[1]
    assert lines[2].startswith(f"#{school_case.pk}\t{school_case.number}\trunstest\t{rw.school.code} "
                               f"{rw.school.name}\topen\t{COORD_A}\t")
    assert len(lines) == 3

    rows = list(csv.DictReader(io.StringIO(_cli("list", "--as", ADMIN, "--format", "csv").output)))
    assert [r["number"] for r in rows] == [county_case.number, school_case.number]
    assert rows[0]["state"] == "cleared" and rows[0]["state_label"] == "排除异常"
    assert rows[0]["decision_reason"] == "查无实据。" and rows[0]["decided_at"] and rows[0]["school_code"] == ""
    assert rows[1]["school_code"] == rw.school.code and rows[1]["investigator"] == COORD_A
    assert rows[1]["year"] == str(rw.cycle.year) and rows[1]["id"] == str(school_case.pk)

    data = json.loads(_cli("list", "--as", ANALYST, "--format", "json", "--state", "open").output)
    assert [d["id"] for d in data] == [school_case.pk] and data[0]["level"] == "school"
    by_county = json.loads(_cli("list", "--as", ANALYST, "--format", "json", "--county",
                                b_school.county.code).output)
    assert [d["id"] for d in by_county] == [county_case.pk]
    assert json.loads(_cli("list", "--as", ANALYST, "--format", "json", "--cycle", "2001").output) == []
    assert len(json.loads(_cli("list", "--as", ANALYST, "--format", "json", "--cycle",
                               str(rw.cycle.year)).output)) == 2

    # through the account's access: the investigator sees their case only, others nothing
    mine = json.loads(_cli("list", "--as", COORD_A, "--format", "json").output)
    assert [d["id"] for d in mine] == [school_case.pk]
    for who in (COORD_B, "county_liaison_a", "school_head_a"):
        got = _cli("list", "--as", who, "--format", "json")
        assert got.exit_code == 0 and json.loads(got.output) == []

    county = _cli("list", "--as", ANALYST, "--county", "999999")
    assert county.exit_code == 1 and "error [unknown_county]: 没有代码为“999999”的区县。" in county.output
    state = _cli("list", "--as", ANALYST, "--state", "closed")
    assert state.exit_code == 2 and "Invalid value for '--state'" in state.output


def test_open_is_national_only_and_checks_test_ids(runs_gather: RunsWorld, run: ScreeningRun) -> None:
    rw = runs_gather
    unit = _unit(rw, run)
    for who in (COORD_A, "county_liaison_a"):
        got = _cli("open", "--as", who, "--unit", str(unit.pk), "--persons", "NOSUCH1")
        assert got.exit_code == 1 and got.output == "error [not_found]: 没有找到该页面。\n"  # no test ID checked
    ghost = _cli("open", "--as", ANALYST, "--unit", str(unit.pk), "--persons", "NOSUCH1")
    assert ghost.exit_code == 1 and "error [bad_persons]" in ghost.output
    missing = _cli("open", "--as", ANALYST, "--unit", "999999")
    assert missing.exit_code == 1 and "没有找到该甄别单位。" in missing.output
    assert not Case.objects.exists() and not AuditEvent.objects.filter(action="quality.case_open").exists()
    codes = _codes([rw.source, *rw.copiers])
    got = _cli("open", "--as", ANALYST, "--unit", str(unit.pk), "--title", "监考员传递答案", "--persons",
               ",".join(codes))
    assert got.exit_code == 0, got.output
    case = Case.objects.get()
    assert case.title == "监考员传递答案" and case.persons == sorted([rw.source, *rw.copiers])


def test_show_prints_the_effect_before_after_and_rerun(sw: ScalingWorld,  # noqa: F811
                                                       django_capture_on_commit_callbacks: Any) -> None:
    """A decided case with a re-run: the effect table of ``naeq.quality.effects.case_effect``, number for number."""
    from naeq.quality.effects import case_effect
    from naeq.scaling import services as scaling

    def calibrate() -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            r = scaling.calibration_start(actor=sw.analyst, cycle=sw.cycle, instrument_code="scaltest", seed=7)
        r.refresh_from_db()
        assert r.status == "done", r.error
        return r

    admin = sw.world.users["national_admin@A"]
    case = cases.case_open_manual(actor=admin, cycle=sw.cycle, instrument_code="scaltest",
                                  school=sw.world.schools["A1a-1"], title="举报：考场纪律", reason="群众举报。")
    first = calibrate()
    undecided = _cli("show", "--as", ADMIN, str(case.pk)).output
    assert "indicators: none (a case opened by hand)" in undecided
    assert f"calibration run #{first.pk}, no re-run yet" in undecided
    decided = _cli("decide", "--as", ADMIN, "--decision", "data_excluded", "--reason", "经调查核实。", str(case.pk))
    assert decided.exit_code == 0, decided.output
    second = calibrate()
    shown = _cli("show", "--as", ADMIN, str(case.pk))
    assert shown.exit_code == 0, shown.output
    case.refresh_from_db()
    eff = case_effect(case, cases.case_persons(case))
    assert eff.before_run == first and eff.rerun == second and eff.excluded > 0
    assert f"calibration run #{first.pk}, re-run #{second.pk}; {eff.excluded} test takers left out" in shown.output
    table = shown.output.split("  level\tbefore (n)\tafter (n)\tchange\tre-run (n)\n", 1)[1].splitlines()
    for line, row in zip(table, eff.rows(), strict=True):
        level, before, after, change, rerun = line.strip().split("\t")
        assert level == row["level"]
        assert before == f"{row['before_mean']:.5g} ({row['before_n']})"
        assert after == f"{row['after_mean']:.5g} ({row['after_n']})"
        assert change == (f"{row['change']:.3g}" if row["change"] is not None else "-")
        assert rerun == f"{row['rerun_mean']:.5g} ({row['rerun_n']})"
    assert eff.before is not None
    county_n = int(eff.before["county"]["n"] or 0)
    assert table[0].split("\t")[2].endswith(f"({county_n - eff.excluded})")  # the case's test takers left out
