"""Investigation cases (调查取证, seed 2023-national-briefing.txt: the national centre investigates flagged data and
decides): opening from a screened unit with its snapshot, one undecided case per unit, the investigator rules,
transitions, notes, evidence collected from incidents and session records, uploads, decisions written as DataMark
rows (excluded beats flagged), reopening, atomicity and audit."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pytest
from django.utils import timezone

from naeq.core import exclusions
from naeq.core.errors import InvalidInput, NotFound, PermissionDenied
from naeq.core.models import AuditEvent
from naeq.quality import cases, services
from naeq.quality.evidence import evidence_path
from naeq.quality.models import (
    Case,
    CaseEvent,
    CaseEvidence,
    CaseState,
    DataMark,
    ScreenedPerson,
    ScreenedUnit,
    ScreeningRun,
)
from tests.quality.conftest import RUNS_PER_SCHOOL, RunsWorld

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def run(runs_gather: RunsWorld, django_capture_on_commit_callbacks: Any, settings: Any, tmp_path: Any) -> Any:
    settings.DATA_DIR = tmp_path
    with django_capture_on_commit_callbacks(execute=True):
        r = services.screening_start(actor=runs_gather.analyst, cycle=runs_gather.cycle, instrument_code="runstest",
                                     seed=3)
    r.refresh_from_db()
    assert r.status == "done", r.error
    return r


def _unit(rw: RunsWorld, run: ScreeningRun) -> ScreenedUnit:
    return ScreenedUnit.objects.get(run=run, level="school", school=rw.school)


def _actions(case: Case) -> list[str]:
    return list(AuditEvent.objects.filter(object_type="quality.Case", object_id=str(case.pk)).order_by("id")
                .values_list("action", flat=True))


def test_open_snapshots_the_flagged_unit(runs_gather: RunsWorld, run: ScreeningRun) -> None:
    rw = runs_gather
    unit = _unit(rw, run)
    assert unit.flag and unit.rank == 1
    case = cases.case_open(actor=rw.analyst, unit_id=unit.pk)
    assert case.number == f"ZL{rw.cycle.year}-0001" and case.state == CaseState.OPEN
    assert case.indicators == unit.indicators and case.run == run and case.unit == unit
    assert case.level == "school" and case.school == rw.school and case.path == rw.school.path
    assert case.persons == [] and rw.school.name in case.title
    snap = CaseEvidence.objects.get(case=case)
    assert snap.kind == "snapshot" and snap.ref_type == "quality.ScreenedUnit" and snap.ref_id == str(unit.pk)
    assert snap.payload["unit"]["combined_p"] == unit.combined_p
    assert snap.payload["unit"]["indicators"] == unit.indicators
    pair_people = {frozenset((p["person_a_id"], p["person_b_id"])) for p in snap.payload["pairs"]}
    assert any({rw.source, c} == set(pp) for pp in pair_people for c in rw.copiers)
    assert snap.payload["clusters"] and snap.payload["clusters"][0]["source_id"] in {rw.source, *rw.copiers}
    assert list(case.events.values_list("kind", "to_state")) == [("opened", "open")]
    assert _actions(case) == ["quality.case_open"]

    # one undecided case per unit and instrument: a second one is refused and nothing is written
    with pytest.raises(InvalidInput) as e:
        cases.case_open(actor=rw.analyst, unit_id=unit.pk)
    assert e.value.code == "case_exists" and case.number in str(e.value)
    assert Case.objects.count() == 1
    # the numbering continues in the cycle
    other = ScreenedUnit.objects.filter(run=run, level="school").exclude(pk=unit.pk).first()
    assert other is not None
    assert cases.case_open(actor=rw.analyst, unit_id=other.pk).number == f"ZL{rw.cycle.year}-0002"


def test_only_national_staff_open_and_unknown_persons_are_refused(runs_gather: RunsWorld, run: ScreeningRun) -> None:
    rw = runs_gather
    unit = _unit(rw, run)
    for name in ("province_coordinator@A", "county_liaison@A", "school_head@A"):
        with pytest.raises(NotFound):
            cases.case_open(actor=rw.world.users[name], unit_id=unit.pk)
    outsider = ScreenedPerson.objects.filter(run=run).exclude(school=rw.school).values_list("test_taker_id",
                                                                                              flat=True).first()
    with pytest.raises(InvalidInput) as e:
        cases.case_open(actor=rw.analyst, unit_id=unit.pk, persons=[rw.source, outsider])
    assert e.value.code == "bad_persons" and e.value.problems[0].value == outsider
    assert not Case.objects.exists() and not CaseEvidence.objects.exists()
    case = cases.case_open(actor=rw.analyst, unit_id=unit.pk, persons=[*rw.copiers, rw.source])
    assert case.persons == sorted([*rw.copiers, rw.source])


def test_investigator_rules_and_transitions(runs_gather: RunsWorld, run: ScreeningRun) -> None:
    rw, users = runs_gather, runs_gather.world.users
    case = cases.case_open(actor=rw.analyst, unit_id=_unit(rw, run).pk)
    coord_a, coord_b = users["province_coordinator@A"], users["province_coordinator@B"]
    # only national staff assign; only a coordinator of the case's province (or national staff) can investigate
    with pytest.raises(NotFound):
        cases.case_assign(actor=coord_a, case_id=case.pk, investigator=coord_a)
    for bad in (coord_b, users["county_liaison@A"]):
        with pytest.raises(InvalidInput) as e:
            cases.case_assign(actor=rw.analyst, case_id=case.pk, investigator=bad)
        assert e.value.code == "bad_investigator"
    with pytest.raises(NotFound):  # not assigned yet: the coordinator does not see the case
        cases.case_note(actor=coord_a, case_id=case.pk, text="x")
    cases.case_assign(actor=users["national_admin@A"], case_id=case.pk, investigator=coord_a)
    # the assigned coordinator investigates; the other province's coordinator still sees nothing
    cases.case_start(actor=coord_a, case_id=case.pk)
    with pytest.raises(InvalidInput) as e:
        cases.case_start(actor=coord_a, case_id=case.pk)
    assert e.value.code == "bad_transition"
    note = cases.case_note(actor=coord_a, case_id=case.pk, text="  约谈了监考员，记录附后。 ")
    assert note.text == "约谈了监考员，记录附后。" and note.actor == coord_a
    with pytest.raises(InvalidInput):
        cases.case_note(actor=coord_a, case_id=case.pk, text="  ")
    with pytest.raises(NotFound):
        cases.case_note(actor=coord_b, case_id=case.pk, text="x")
    # but not decide: the case is visible to them, so the refusal says why
    with pytest.raises(PermissionDenied):
        cases.case_decide(actor=coord_a, case_id=case.pk, state=CaseState.DATA_EXCLUDED, reason="x")
    case.refresh_from_db()
    assert case.state == CaseState.INVESTIGATING and not DataMark.objects.exists()
    assert list(CaseEvent.objects.filter(case=case).values_list("kind", flat=True)) == [
        "opened", "assigned", "state", "note"]
    assert _actions(case) == ["quality.case_open", "quality.case_assign", "quality.case_start", "quality.case_note"]


def test_decide_writes_marks_and_reopen_removes_them(runs_gather: RunsWorld, run: ScreeningRun) -> None:
    rw = runs_gather
    admin = rw.world.users["national_admin@A"]
    unit = _unit(rw, run)
    case = cases.case_open(actor=rw.analyst, unit_id=unit.pk, persons=rw.copiers)
    for state, reason, code in (("investigating", "x", "bad_decision"),
                                (CaseState.DATA_EXCLUDED, " ", "reason_required")):
        with pytest.raises(InvalidInput) as e:
            cases.case_decide(actor=admin, case_id=case.pk, state=state, reason=reason)
        assert e.value.code == code
    case.refresh_from_db()
    assert case.state == CaseState.OPEN and not DataMark.objects.exists()
    # an open case may be decided directly; the copiers' data are excluded, nobody else's
    cases.case_decide(actor=admin, case_id=case.pk, state=CaseState.DATA_EXCLUDED, reason="监考员提供答案，经核实。")
    case.refresh_from_db()
    assert case.state == CaseState.DATA_EXCLUDED and case.decided_by == admin and case.decided_at is not None
    assert exclusions.excluded(rw.cycle.pk, "runstest") == set(rw.copiers)
    assert exclusions.flagged(rw.cycle.pk, "runstest") == set()
    with pytest.raises(InvalidInput) as e:
        cases.case_decide(actor=admin, case_id=case.pk, state=CaseState.CLEARED, reason="x")
    assert e.value.code == "case_decided"
    with pytest.raises(InvalidInput):
        cases.case_note(actor=admin, case_id=case.pk, text="x")

    # a second case on the same unit (the first is decided) flags the whole school: the excluded copiers stay
    # excluded (excluded beats flagged), the others are flagged
    second = cases.case_open(actor=rw.analyst, unit_id=unit.pk)
    cases.case_decide(actor=admin, case_id=second.pk, state=CaseState.DATA_FLAGGED, reason="同校其他考生标记。")
    everyone = set(ScreenedPerson.objects.filter(run=run, school=rw.school).values_list("test_taker_id", flat=True))
    assert len(everyone) == RUNS_PER_SCHOOL
    assert exclusions.excluded(rw.cycle.pk, "runstest") == set(rw.copiers)
    assert exclusions.flagged(rw.cycle.pk, "runstest") == everyone - set(rw.copiers)
    assert DataMark.objects.filter(case=second).count() == RUNS_PER_SCHOOL - len(rw.copiers)

    # reopening the first removes its marks only, and it is investigating again
    with pytest.raises(InvalidInput):
        cases.case_reopen(actor=admin, case_id=case.pk, reason="")
    with pytest.raises(PermissionDenied):  # the case's own investigator sees it but may not reopen it
        cases.case_reopen(actor=_investigator(rw, case), case_id=case.pk, reason="x")
    cases.case_reopen(actor=admin, case_id=case.pk, reason="当事人申诉，重新核查。")
    case.refresh_from_db()
    assert case.state == CaseState.INVESTIGATING and case.decided_at is None and case.decision_reason == ""
    assert exclusions.excluded(rw.cycle.pk, "runstest") == set()
    assert exclusions.flagged(rw.cycle.pk, "runstest") == everyone - set(rw.copiers)
    assert _actions(case) == ["quality.case_open", "quality.case_decide", "quality.case_reopen"]
    kinds = list(case.events.values_list("kind", "from_state", "to_state"))
    assert kinds == [("opened", "", "open"), ("decided", "open", "data_excluded"),
                     ("reopened", "data_excluded", "investigating")]


def _investigator(rw: RunsWorld, case: Case) -> Any:
    """Assign the province coordinator and return them."""
    coord = rw.world.users["province_coordinator@A"]
    Case.objects.filter(pk=case.pk).update(investigator=coord)
    return coord


def test_a_stronger_earlier_mark_is_kept_and_flagged_upgrades(runs_gather: RunsWorld, run: ScreeningRun) -> None:
    rw = runs_gather
    admin = rw.world.users["national_admin@A"]
    unit = _unit(rw, run)
    first = cases.case_open(actor=rw.analyst, unit_id=unit.pk)
    cases.case_decide(actor=admin, case_id=first.pk, state=CaseState.DATA_FLAGGED, reason="整校标记。")
    second = cases.case_open(actor=rw.analyst, unit_id=unit.pk, persons=rw.copiers)
    cases.case_decide(actor=admin, case_id=second.pk, state=CaseState.DATA_EXCLUDED, reason="抄袭者剔除。")
    assert exclusions.excluded(rw.cycle.pk, "runstest") == set(rw.copiers)
    assert set(DataMark.objects.filter(case=second).values_list("test_taker_id", flat=True)) == set(rw.copiers)
    assert DataMark.objects.filter(case=first).count() == RUNS_PER_SCHOOL - len(rw.copiers)
    # cleared writes nothing
    third = cases.case_open(actor=rw.analyst, unit_id=unit.pk)
    n = DataMark.objects.count()
    cases.case_decide(actor=admin, case_id=third.pk, state=CaseState.CLEARED, reason="经核查无异常。")
    assert DataMark.objects.count() == n and not DataMark.objects.filter(case=third).exists()


def test_uploads_are_checked_stored_and_hashed(runs_gather: RunsWorld, run: ScreeningRun) -> None:
    rw = runs_gather
    case = cases.case_open(actor=rw.analyst, unit_id=_unit(rw, run).pk)
    for name, data, code in (("a.exe", b"MZ", "evidence_type"), ("a.pdf", b"", "evidence_empty"),
                             ("a.pdf", b"not a pdf", "evidence_mismatch"), ("a.docx", PDF, "evidence_mismatch")):
        with pytest.raises(InvalidInput) as e:
            cases.evidence_upload(actor=rw.analyst, case_id=case.pk, file_name=name, data=data)
        assert e.value.code == code
    assert CaseEvidence.objects.filter(case=case, kind="upload").count() == 0
    ev = cases.evidence_upload(actor=rw.analyst, case_id=case.pk, file_name="C:\\材料\\谈话记录.pdf", data=PDF)
    assert ev.original_name == "谈话记录.pdf" and ev.sha256 == hashlib.sha256(PDF).hexdigest() and ev.size == len(PDF)
    assert evidence_path(case.pk, ev.stored_name).read_bytes() == PDF
    with pytest.raises(NotFound):
        cases.evidence_upload(actor=rw.world.users["province_coordinator@B"], case_id=case.pk, file_name="b.pdf",
                              data=PDF)
    assert "quality.case_evidence_upload" in _actions(case)


def test_collect_attaches_incidents_and_session_records_once(runs_gather: RunsWorld, run: ScreeningRun) -> None:
    from naeq.custody.models import SessionRecord
    from naeq.incidents.models import IncidentCase, IncidentReport
    from tests.delivery.factories import make_session

    rw = runs_gather
    school, other = rw.school, rw.world.schools["A1a-2"]
    day = timezone.now().date()
    start = timezone.now() - dt.timedelta(hours=2)
    for s in (school, other):
        session = make_session(rw.cycle, s, instruments=["runstest"], status="closed", starts_at=start)
        SessionRecord.objects.create(session=session, path=s.path, room="第1测试室", actual_start=start,
                                     actual_end=start + dt.timedelta(minutes=80), expected=25, present=25)
        IncidentReport.objects.create(cycle=rw.cycle, school=s, county=s.county, path=s.path, test_date=day,
                                      no_incident=False, handling="监考员离开考场10分钟。", signed_by="（校长）")
    IncidentCase.objects.create(cycle=rw.cycle, county=school.county, school=school, path=school.path,
                                source="school", category="discipline", grade=3, occurred_at=start,
                                description="监考员向学生提示答案。")
    case = cases.case_open(actor=rw.analyst, unit_id=_unit(rw, run).pk)
    got = cases.evidence_collect(actor=rw.analyst, case_id=case.pk)
    assert sorted((e.kind, e.ref_type) for e in got) == [
        ("incident", "incidents.IncidentCase"), ("incident", "incidents.IncidentReport"),
        ("session_record", "custody.SessionRecord")]
    report = next(e for e in got if e.ref_type == "incidents.IncidentReport")
    assert report.payload["school"] == school.pk and report.payload["handling"] == "监考员离开考场10分钟。"
    # idempotent: collecting again attaches nothing new
    assert cases.evidence_collect(actor=rw.analyst, case_id=case.pk) == []
    assert CaseEvidence.objects.filter(case=case).exclude(kind="snapshot").count() == 3
    assert _actions(case).count("quality.case_evidence_collect") == 2
