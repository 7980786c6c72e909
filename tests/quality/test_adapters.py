"""naeq.quality.adapters.gather: the platform's rows in the screening engine's layout, source by source, on the
small world of ``adapters_world`` (tests/quality/conftest.py), with the exact arrays expected."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest
from django.utils import timezone

from naeq.core.errors import InvalidInput
from naeq.quality import adapters
from naeq.quality.inputs import inputs_hash
from tests.quality.conftest import AdaptersWorld

PERSONS = ("t1", "t2", "t3", "t4", "t5")


def _ids(aw: AdaptersWorld, names: tuple[str, ...] = PERSONS) -> list[int]:
    return [aw.takers[n].pk for n in names]


def _row(aw: AdaptersWorld, inp: Any, name: str) -> int:
    return inp.test_takers.tolist().index(aw.takers[name].pk)


def test_options_online_then_paper_with_omitted_and_out_of_range(adapters_world: AdaptersWorld) -> None:
    aw = adapters_world
    inp = adapters.gather(aw.cycle, "adpt")
    # t6 answered nothing (dropped), t7 sat a practice session only, t8 never submitted: not rows
    assert inp.test_takers.tolist() == _ids(aw)
    assert inp.items == ["S1", "S2", "S3"]  # the multiple-choice and the open item are left out
    assert inp.option_labels == [["A", "B", "C", ""], ["A", "B", "C", "D", ""], ["A", "B", "C", ""]]
    assert inp.keys.tolist() == [1, 3, 0]
    assert inp.options.tolist() == [
        [1, 4, 3],    # t1: B, 99 omitted → 4 (the omitted option of a four-option item), 97 → omitted (3)
        [0, 3, 2],    # t2
        [2, 0, -1],   # t3: S3 not administered
        [0, 4, 1],    # t4 on paper: A, 97 → omitted, B
        [1, 1, 0],    # t5: online wins over its paper card (which says C for S1)
    ]
    c = inp.counts
    assert (c["persons"], c["items"], c["online"], c["paper"], c["dropped"]) == (5, 3, 4, 1, 1)
    assert (c["items_other_types"], c["both_online_and_paper"], c["out_of_range"], c["unknown_codes"]) == (2, 1, 2, 0)
    assert "1名测试对象既有在线作答又有纸笔答题卡，采用在线作答。" in inp.warnings
    assert "1名测试对象没有作答任何题目，未参与甄别。" in inp.warnings
    assert "2道非单选（或无答案）的题目不参与甄别。" in inp.warnings


def test_persons_schools_counties_and_rooms(adapters_world: AdaptersWorld) -> None:
    from naeq.custody.models import SessionRecord

    aw = adapters_world
    a, b = aw.sessions["a"], aw.sessions["b"]
    for session, rooms in ((a, ["101"]), (b, ["201", "202"])):
        for room in rooms:
            SessionRecord.objects.create(session=session, path=session.path, room=room,
                                         actual_start=session.starts_at, actual_end=aw.close, expected=3, present=3)
    inp = adapters.gather(aw.cycle, "adpt")
    sa, sb = aw.world.schools["A1a-1"], aw.world.schools["B1a-1"]
    assert inp.school_ids.tolist() == sorted([sa.pk, sb.pk])
    assert inp.county_ids.tolist() == sorted([sa.county_id, sb.county_id])
    school_of = {sa.pk: sa, sb.pk: sb}
    expected = [aw.takers[n].school_id for n in PERSONS]
    assert [int(inp.school_ids[s]) for s in inp.school.tolist()] == expected
    assert [int(inp.county_ids[c]) for c in inp.county.tolist()] == [school_of[s].county_id for s in expected]
    assert inp.county_paths == [school_of[s].county.path for s in sorted(school_of, key=lambda s:
                                                                         school_of[s].county_id)]
    # one room recorded for session a: appended; two for b: the session alone; paper: the school
    assert inp.room is not None
    assert inp.room.tolist() == [f"{a.code}/101", f"{a.code}/101", b.code, f"paper:{sb.code}", f"{a.code}/101"]


def _calibration(cycle: Any, takers: dict[str, Any], items: dict[str, tuple[str, float, float]],
                 eap: dict[str, float]) -> Any:
    from naeq.scaling.models import CalibrationItem, CalibrationPerson, CalibrationRun, RunStatus

    run = CalibrationRun.objects.create(cycle=cycle, instrument_code="adpt", model_spec="2pl/gpcm", seed=1,
                                        inputs_hash="a" * 64, code_version="test", status=RunStatus.DONE,
                                        finished_at=timezone.now())
    for seq, (item, (model, a, b)) in enumerate(items.items(), start=1):
        CalibrationItem.objects.create(run=run, seq=seq, item=item, model=model, n_categories=2, a=a, b=[b],
                                       n_responses=5)
    for name, value in eap.items():
        CalibrationPerson.objects.create(run=run, test_taker=takers[name], n_items=3, raw_score=1, max_score=3,
                                         eap=value, eap_se=0.5)
    return run


def test_calibration_parameters_taken_when_the_run_covers_the_items(adapters_world: AdaptersWorld) -> None:
    aw = adapters_world
    eap = {"t1": 0.1, "t2": -0.2, "t3": 0.3, "t4": -0.4, "t5": 0.5}
    run = _calibration(aw.cycle, aw.takers, {"S1": ("2pl", 1.2, -0.5), "S2": ("rasch", 1.0, 0.25),
                                             "S3": ("2pl", 0.8, 1.5), "M1": ("2pl", 1.0, 0.0)}, eap)
    inp = adapters.gather(aw.cycle, "adpt")
    assert inp.calibration_run == run.pk
    assert inp.a is not None and inp.b is not None and inp.theta is not None
    assert inp.a.tolist() == [1.2, 1.0, 0.8] and inp.b.tolist() == [-0.5, 0.25, 1.5]
    assert inp.theta.tolist() == [eap[n] for n in PERSONS]


def test_calibration_not_taken_when_an_item_or_a_person_is_missing(adapters_world: AdaptersWorld) -> None:
    aw = adapters_world
    _calibration(aw.cycle, aw.takers, {"S1": ("2pl", 1.2, -0.5), "S2": ("3pl", 1.0, 0.25), "S3": ("2pl", 0.8, 1.5)},
                 {"t1": 0.0})
    inp = adapters.gather(aw.cycle, "adpt")
    assert inp.a is None and inp.b is None and inp.theta is None and inp.calibration_run is None
    assert any("未包含1道甄别题目" in w for w in inp.warnings)
    # items covered but a person missing: a, b taken, θ left to the engine
    run = _calibration(aw.cycle, aw.takers, {"S1": ("2pl", 1.2, -0.5), "S2": ("2pl", 1.0, 0.25),
                                             "S3": ("2pl", 0.8, 1.5)}, {"t1": 0.0, "t2": 0.1})
    inp = adapters.gather(aw.cycle, "adpt")
    assert inp.calibration_run == run.pk and inp.a is not None and inp.theta is None
    assert any("3名测试对象没有校准记录" in w for w in inp.warnings)


def test_covariates_urban_and_previous_cycle_mean(adapters_world: AdaptersWorld) -> None:
    from naeq.cycles.models import Cycle
    from naeq.scaling.models import CalibrationPerson, CalibrationRun, RunStatus
    from tests.delivery.factories import make_taker

    aw = adapters_world
    sa, sb = aw.world.schools["A1a-1"], aw.world.schools["B1a-1"]
    inp = adapters.gather(aw.cycle, "adpt")
    order = inp.school_ids.tolist()
    assert inp.covariate_names == ["urban"]  # no earlier cycle has a calibration run of adpt yet
    assert inp.school_covariates is not None
    assert inp.school_covariates[:, 0].tolist() == [1.0 if s == sa.pk else 0.0 for s in order]

    prev = Cycle.objects.filter(year__lt=aw.cycle.year).order_by("-year").first()
    assert prev is not None
    run = CalibrationRun.objects.create(cycle=prev, instrument_code="adpt", model_spec="2pl/gpcm", seed=1,
                                        inputs_hash="b" * 64, code_version="test", status=RunStatus.DONE,
                                        finished_at=timezone.now())
    for k, (school, value) in enumerate([(sa, 0.2), (sa, 0.6), (sb, -1.0)]):
        old = make_taker(prev, school, f"OLD{k}")
        CalibrationPerson.objects.create(run=run, test_taker=old, n_items=3, raw_score=1, max_score=3, eap=value,
                                         eap_se=0.5)
    inp = adapters.gather(aw.cycle, "adpt")
    assert inp.covariate_names == ["urban", "previous_mean"]
    assert inp.school_covariates is not None
    means = {sa.pk: 0.4, sb.pk: -1.0}
    np.testing.assert_allclose(inp.school_covariates[:, 1], [means[s] for s in order])
    assert inp.counts["previous_cycle_run"] == run.pk


def test_participation_absent_exempt_replaced_and_roster_changes(adapters_world: AdaptersWorld) -> None:
    from naeq.core.audit import audit_record
    from naeq.registry.models import Student
    from naeq.sampling.models import (
        RunStatus,
        SampledSchool,
        SampledStudent,
        SampleRun,
        SchoolParticipation,
        SchoolRole,
        Stage,
        StudentStatus,
    )

    aw = adapters_world
    sa, sb = aw.world.schools["A1a-1"], aw.world.schools["B1a-1"]

    def run(stage: str, school: Any = None) -> SampleRun:
        return SampleRun.objects.create(cycle=aw.cycle, stage=stage, school=school, design_text="test",
                                        design_hash="0" * 64, frame_hash="sha256:" + "0" * 64, seed=1,
                                        code_version="test", status=RunStatus.DONE)

    school_run = run(Stage.SCHOOL)
    drawn = SampledSchool.objects.create(run=school_run, school=world_school(aw, "A1b-1"),
                                         county=world_school(aw, "A1b-1").county, path=world_school(aw, "A1b-1").path,
                                         grade=8, role=SchoolRole.SAMPLED, pi=0.5, base_weight=2, enrollment=40,
                                         participation=SchoolParticipation.REFUSED)
    rows = {}
    for school, role in ((sa, SchoolRole.SAMPLED), (sb, SchoolRole.REPLACEMENT_1)):
        rows[school.pk] = SampledSchool.objects.create(
            run=school_run, school=school, county=school.county, path=school.path, grade=8, role=role, pi=0.5,
            base_weight=2, enrollment=40, participation=SchoolParticipation.PARTICIPATING,
            replaces=drawn if role != SchoolRole.SAMPLED else None)
    statuses = {sa.pk: [StudentStatus.PRESENT] * 5 + [StudentStatus.ABSENT] * 2 + [StudentStatus.PE_EXEMPT],
                sb.pk: [StudentStatus.PRESENT] * 3 + [StudentStatus.ABSENT]}
    for school in (sa, sb):
        student_run = run(Stage.STUDENT, school)
        for seq, st in enumerate(statuses[school.pk], start=1):
            student = Student.objects.create(school=school, grade=8, class_no=1, seq=seq, name=f"学生{seq}",
                                             sex="M", birth_month="2012-05")
            SampledStudent.objects.create(cycle=aw.cycle, run=student_run, sampled_school=rows[school.pk],
                                          student=student, path=school.path, grade=8, seq=seq, pi=0.5,
                                          base_weight=4, test_id=f"{school.code}8{seq:02d}1", status=st)
    # roster re-upload at A1a-1 inside the window: 11 → 8 grade-8 students; the first upload at B1a-1 is no change
    audit_record(actor=None, action="registry.roster.students.import", object_type="school", object_id=sa.code,
                 before={"year": aw.cycle.year, "counts": {"8": 11, "total": 11}},
                 after={"year": aw.cycle.year, "counts": {"8": 8, "total": 8}})
    audit_record(actor=None, action="registry.roster.students.import", object_type="school", object_id=sb.code,
                 before={"year": aw.cycle.year, "counts": {"total": 0}},
                 after={"year": aw.cycle.year, "counts": {"8": 4, "total": 4}})
    inp = adapters.gather(aw.cycle, "adpt")
    order = inp.school_ids.tolist()

    def at(d: dict[int, float]) -> list[float]:
        return [d[s] for s in order]

    p = inp.participation
    assert set(p) == {"absent", "exempt", "replaced", "roster_changed"}
    assert p["absent"][0].tolist() == at({sa.pk: 2.0, sb.pk: 1.0})
    assert p["absent"][1].tolist() == at({sa.pk: 8.0, sb.pk: 4.0})
    assert p["exempt"][0].tolist() == at({sa.pk: 1.0, sb.pk: 0.0})
    assert p["replaced"][0].tolist() == at({sa.pk: 0.0, sb.pk: 1.0})
    assert p["replaced"][1].tolist() == [1.0, 1.0]
    assert p["roster_changed"][0].tolist() == at({sa.pk: 3.0, sb.pk: 0.0})
    assert p["roster_changed"][1].tolist() == at({sa.pk: 8.0, sb.pk: 4.0})
    # outside the window (roster_days=0: nothing before the first test day counts)
    inp = adapters.gather(aw.cycle, "adpt", roster_days=0)
    assert inp.participation["roster_changed"][0].tolist() == [0.0, 0.0]


def world_school(aw: AdaptersWorld, key: str) -> Any:
    return aw.world.schools[key]


def _answers(aw: AdaptersWorld, name: str, saved: list[tuple[str, float]]) -> None:
    from naeq.delivery.models import Answer

    start = aw.attempts[name].started_at
    for n, (item, sec) in enumerate(saved, start=1):
        Answer.objects.create(attempt=aw.attempts[name], item=item, value='"A"', seq=n,
                              saved_at=start + dt.timedelta(seconds=sec))


def test_answers_after_close_and_response_time_gaps(adapters_world: AdaptersWorld) -> None:
    aw = adapters_world
    after = (aw.close - aw.attempts["t1"].started_at).total_seconds() + 600
    # t1: S1 at 30 s, S2 at 75 s, then S3 and M1 saved ten minutes after the close (changed, not timed)
    _answers(aw, "t1", [("S1", 30.0), ("S2", 75.0), ("S3", after), ("M1", after + 5)])
    # t2: S2 and S1 saved together at 40 s (the second gap is 0: unmeasured), S3 at 100 s
    _answers(aw, "t2", [("S2", 40.0), ("S1", 40.0), ("S3", 100.0)])
    # t7 (practice) and t8 (unsubmitted) do not count
    _answers(aw, "t7", [("S1", after)])
    _answers(aw, "t8", [("S1", 20.0)])
    inp = adapters.gather(aw.cycle, "adpt")
    assert inp.changed is not None
    assert inp.changed[0].tolist() == [_row(aw, inp, "t1")] and inp.changed[1].tolist() == [2]
    assert inp.timings is not None
    rows, secs = inp.timings
    r1, r2 = _row(aw, inp, "t1"), _row(aw, inp, "t2")
    assert sorted(zip(rows.tolist(), secs.tolist(), strict=True)) == sorted(
        [(r1, 30.0), (r1, 45.0), (r2, 40.0), (r2, 60.0)])
    assert inp.counts["timing_zero_gaps"] == 1 and inp.counts["changed_persons"] == 1
    assert "1名测试对象有考试结束后保存或修改的作答（共2条）。" in inp.warnings


def test_pe_values_of_the_rows_only(adapters_world: AdaptersWorld) -> None:
    from naeq.pe.models import ExamRoom, PeRecord
    from tests.delivery.factories import make_taker

    aw = adapters_world
    sa = aw.world.schools["A1a-1"]
    room = ExamRoom.objects.create(cycle=aw.cycle, school=sa, path=sa.path, number=1, name="第1考场", grade=8)
    PeRecord.objects.create(room=room, test_taker=aw.takers["t1"], path=sa.path, seq=1, height=150.5, weight=-1,
                            run50=8.2)
    PeRecord.objects.create(room=room, test_taker=aw.takers["t2"], path=sa.path, seq=2, attendance="absent")
    other = make_taker(aw.cycle, sa, "ADpe")  # PE only, not a row of the instrument: ignored
    PeRecord.objects.create(room=room, test_taker=other, path=sa.path, seq=3, height=149.0)
    inp = adapters.gather(aw.cycle, "adpt")
    assert inp.pe is not None
    rows, test, value, dec = inp.pe
    got = sorted(zip(rows.tolist(), test.tolist(), value.tolist(), dec.tolist(), strict=True))
    r1 = _row(aw, inp, "t1")
    assert got == sorted([(r1, "height", 150.5, 1), (r1, "run50", 8.2, 1)])
    assert inp.counts["pe_ignored"] == 1
    only = adapters.gather(aw.cycle, "adpt", pe_tests=["height"])
    assert only.pe is not None and only.pe[1].tolist() == ["height"]
    assert adapters.gather(aw.cycle, "adpt", pe_tests=[]).pe is None


def test_questionnaire_blocks_of_the_same_sessions(adapters_world: AdaptersWorld) -> None:
    from naeq.delivery.models import Attempt, AttemptStatus, Instrument, ItemScore

    aw = adapters_world
    q = Instrument.objects.get(cycle=aw.cycle, code="adptq")
    for name, codes in (("t1", {"Q1": "2", "Q2": "2", "Q3": "99", "Q4": "3"}), ("t3", {"Q1": "4", "Q2": "97"}),
                        ("t6", {"Q1": "1"})):  # t6 is not a row
        att = Attempt.objects.create(session=aw.sessions["b" if name == "t3" else "a"], test_taker=aw.takers[name],
                                     instrument=q, booklet=1, status=AttemptStatus.SUBMITTED,
                                     submitted_at=timezone.now())
        ItemScore.objects.bulk_create([ItemScore(attempt=att, item=i, code=c) for i, c in codes.items()])
    inp = adapters.gather(aw.cycle, "adpt")
    assert inp.questionnaire is not None
    rows, block, value = inp.questionnaire
    r1, r3 = _row(aw, inp, "t1"), _row(aw, inp, "t3")
    assert sorted(zip(rows.tolist(), block.tolist(), value.tolist(), strict=True)) == sorted(
        [(r1, "QA", 1), (r1, "QA", 1), (r1, "QA", 2), (r3, "QA", 3)])
    named = adapters.gather(aw.cycle, "adpt", questionnaire_instrument="adptq")
    assert named.questionnaire is not None and len(named.questionnaire[0]) == 4
    with pytest.raises(InvalidInput) as exc:
        adapters.gather(aw.cycle, "adpt", questionnaire_instrument="nope")
    assert exc.value.code == "unknown_questionnaire"


def test_errors_unknown_instrument_no_choice_items_no_responses(adapters_world: AdaptersWorld) -> None:
    from tests.delivery.factories import make_instrument

    aw = adapters_world
    with pytest.raises(InvalidInput) as exc:
        adapters.gather(aw.cycle, "nope")
    assert exc.value.code == "unknown_instrument" and "本周期没有监测工具“nope”" in str(exc.value)
    make_instrument(aw.cycle, "openonly", items=[{"code": "O1", "block": "B1", "screen": 1, "type": "open",
                                                   "stem": "（开放题）", "max_score": 2}])
    with pytest.raises(InvalidInput) as exc:
        adapters.gather(aw.cycle, "openonly")
    assert exc.value.code == "no_choice_items"
    make_instrument(aw.cycle, "empty", items=[{"code": "E1", "block": "B1", "screen": 1, "type": "single",
                                                "stem": "（示例）", "options": [{"value": "A", "label": "甲"},
                                                                              {"value": "B", "label": "乙"}],
                                                "key": "A", "max_score": 1}])
    with pytest.raises(InvalidInput) as exc:
        adapters.gather(aw.cycle, "empty")
    assert exc.value.code == "no_responses"


def test_hash_is_deterministic_and_follows_one_answer(adapters_world: AdaptersWorld) -> None:
    from naeq.delivery.models import ItemScore

    aw = adapters_world
    first = inputs_hash(adapters.gather(aw.cycle, "adpt"))
    assert inputs_hash(adapters.gather(aw.cycle, "adpt")) == first
    ItemScore.objects.filter(attempt=aw.attempts["t2"], item="S1").update(code="B")
    changed = adapters.gather(aw.cycle, "adpt")
    assert changed.options[_row(aw, changed, "t2"), 0] == 1
    assert inputs_hash(changed) != first
