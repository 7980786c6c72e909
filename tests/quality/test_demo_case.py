"""The quality demo's investigation case: after the screening run, a case on the run's top-ranked flagged school with
its snapshot, assigned to the province coordinator (the named demo coordinator when they may investigate it, else
the first coordinator of the case's province), started, noted and given the school's session records, left
investigating for the national account to decide; once per run."""

from __future__ import annotations

from typing import Any

import pytest

from naeq.core.models import AuditEvent
from naeq.quality import demo, services
from naeq.quality.models import Case, CaseEvent, CaseEvidence, ScreenedUnit
from tests.personas import World
from tests.quality.test_demo import _gather_scores, runs_demo_world  # noqa: F401  (fixture)


@pytest.mark.django_db(transaction=True)  # the run's in-process job runs when screening_start commits, as in the demo
def test_demo_opens_one_investigating_case_on_the_top_flagged_school(
        runs_demo_world: Any, monkeypatch: pytest.MonkeyPatch, world: World) -> None:  # noqa: F811
    cycle = runs_demo_world
    monkeypatch.setattr(services, "_gather", _gather_scores)
    # the named coordinator is of province B (not the case's): the first coordinator of province A is assigned
    out = demo.demo_quality(cycle, seed=7, coordinator="province_coordinator_b")
    got = out["case"]
    assert got["created"] and got["state"] == "investigating" and got["investigator"] == "province_coordinator_a"
    case = Case.objects.get()
    top = ScreenedUnit.objects.filter(run_id=out["run"], level="school", flag=True).order_by("rank").first()
    assert top is not None and top.rank == 1  # the most suspect school of the run
    assert got["case"] == case.pk and got["number"] == case.number == f"ZL{cycle.year}-0001"
    assert case.unit == top and case.school == top.school and case.indicators == top.indicators
    assert case.investigator == world.users["province_coordinator@A"] and case.opened_by == world.users[
        "national_analyst@A"]
    assert case.state == "investigating" and case.decided_at is None and case.decision_reason == ""
    events = list(CaseEvent.objects.filter(case=case).order_by("id").values_list("kind", "actor__username"))
    assert events == [("opened", "national_analyst_a"), ("assigned", "national_analyst_a"),
                      ("state", "province_coordinator_a"), ("note", "province_coordinator_a"),
                      ("evidence", "province_coordinator_a")]
    assert CaseEvent.objects.get(case=case, kind="note").text == demo.CASE_NOTE
    kinds = sorted(CaseEvidence.objects.filter(case=case).values_list("kind", "ref_type"))
    assert kinds == [("session_record", "custody.SessionRecord"), ("snapshot", "quality.ScreenedUnit")]
    # the school's demo session got its session record as filed (everyone present, nothing reported), audited
    record = CaseEvidence.objects.get(case=case, kind="session_record")
    assert record.payload["school"] == top.school_id and got["evidence"] == 2
    assert record.payload["expected"] == record.payload["present"] == demo.PER_SCHOOL
    assert record.payload["deviations"] == [] and record.payload["room"] == "第1测试室"
    assert AuditEvent.objects.filter(action="custody.record_save", object_id=record.ref_id).count() == 1
    from naeq.custody.models import SessionRecord

    assert SessionRecord.objects.count() == 1  # the case's school only
    assert list(AuditEvent.objects.filter(object_type="quality.Case").order_by("id")
                .values_list("action", flat=True)) == [
        "quality.case_open", "quality.case_assign", "quality.case_start", "quality.case_note",
        "quality.case_evidence_collect"]

    # idempotent: the case is reported again, nothing is added
    counts = (Case.objects.count(), CaseEvent.objects.count(), CaseEvidence.objects.count(), AuditEvent.objects.count())
    again = demo.demo_quality(cycle, seed=7, coordinator="province_coordinator_a")
    assert again["case"] == {"case": case.pk, "number": case.number, "state": "investigating", "created": False,
                             "investigator": "province_coordinator_a", "evidence": 2}
    assert counts == (Case.objects.count(), CaseEvent.objects.count(), CaseEvidence.objects.count(),
                      AuditEvent.objects.count())


def test_no_case_while_the_run_is_not_done(runs_demo_world: Any, world: World) -> None:  # noqa: F811
    """With a Celery worker the run may still be queued when the demo reports: no case yet, the reason said; the
    next demo opens it."""
    from naeq.quality.models import ScreeningRun

    demo.demo_responses(runs_demo_world, seed=7)
    run = ScreeningRun.objects.create(cycle=runs_demo_world, instrument_code=demo.INSTRUMENT, seed=7,
                                      status="queued", created_by=world.users["national_analyst@A"])
    got = demo.demo_case(run, coordinator="province_coordinator_a")
    assert got == {"case": None, "created": False, "reason": f"screening run #{run.pk} is queued"}
    assert not Case.objects.exists()
