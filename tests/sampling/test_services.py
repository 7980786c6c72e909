"""The sampling services end to end on a county-scale world: response, database, audit."""

from __future__ import annotations

import numpy as np
import pytest

from naeq.core.errors import InvalidInput, NotFound, PermissionDenied
from naeq.core.models import AuditEvent
from naeq.engines import booklets
from naeq.registry.models import School, Submission, SubmissionKind, SubmissionStatus
from naeq.sampling import services
from naeq.sampling.models import (
    ReplicateWeights,
    RunStatus,
    SampledCounty,
    SampledSchool,
    SampledStudent,
    SampleRun,
    SchoolParticipation,
    SchoolRole,
    Stage,
    StudentStatus,
)
from tests.sampling.conftest import County, draw_students


def _draw_schools(c: County, seed: int = 11) -> SampleRun:
    services.sample_draw(actor=c.admin, year=c.year, stage=Stage.COUNTY, seed=seed)
    return services.sample_draw(actor=c.admin, year=c.year, stage=Stage.SCHOOL, seed=seed)


def _school_rows(run: SampleRun) -> list[tuple[str, int, str, str | None, float]]:
    return list(SampledSchool.objects.filter(run=run).order_by("school__code", "grade")
                .values_list("school__code", "grade", "role", "replaces__school__code", "pi"))


def _participate_all(c: County) -> None:
    for pk in SampledSchool.objects.filter(participation=SchoolParticipation.PENDING).values_list("pk", flat=True):
        services.school_participation_set(actor=c.liaison, sampled_school_id=pk,
                                          participation=SchoolParticipation.PARTICIPATING)


def _draw_all_students(c: County) -> None:
    codes = (SampledSchool.objects.filter(participation=SchoolParticipation.PARTICIPATING)
             .values_list("school__code", flat=True).distinct())
    for code in sorted(set(codes)):
        draw_students(actor=c.liaison, year=c.year, school_code=code)


def test_county_draw_records_the_run_and_its_counties(county: County) -> None:
    run = services.sample_draw(actor=county.admin, year=county.year, stage=Stage.COUNTY, seed=5)
    assert run.status == RunStatus.DONE
    assert run.seed == 5 and run.frame_hash.startswith("sha256:") and len(run.design_hash) == 64
    assert "naeq" in run.code_version and run.created_by == county.admin
    rows = list(SampledCounty.objects.filter(run=run).values_list("county__code", "pi", "participation"))
    # One county in the world and at least two per province in the design: the county is taken with π = 1.
    assert rows == [(county.code, 1.0, "sample")]
    actions = list(AuditEvent.objects.filter(object_type="SampleRun", object_id=str(run.pk))
                   .values_list("action", flat=True))
    assert actions == ["sampling.draw_start", "sampling.draw_done"]


def test_draws_are_national_admin_only(county: County) -> None:
    with pytest.raises(PermissionDenied):
        services.sample_draw(actor=county.analyst, year=county.year, stage=Stage.COUNTY, seed=1)
    with pytest.raises(NotFound):
        services.sample_draw(actor=county.liaison, year=county.year, stage=Stage.COUNTY, seed=1)
    assert not SampleRun.objects.exists()


def test_school_draw_needs_counties_and_a_redraw_needs_consent(county: County) -> None:
    with pytest.raises(InvalidInput) as exc:
        services.sample_draw(actor=county.admin, year=county.year, stage=Stage.SCHOOL, seed=1)
    assert exc.value.code == "no_county_run"
    _draw_schools(county)
    with pytest.raises(InvalidInput) as exc:
        services.sample_draw(actor=county.admin, year=county.year, stage=Stage.SCHOOL, seed=2)
    assert exc.value.code == "run_exists"
    with pytest.raises(InvalidInput) as exc:
        services.sample_draw(actor=county.admin, year=county.year, stage=Stage.COUNTY, seed=2, replace_existing=True)
    assert exc.value.code == "later_stage_exists"


def test_same_seed_same_frame_same_rows(county: County) -> None:
    first = _draw_schools(county, seed=123)
    rows1 = _school_rows(first)
    again = services.sample_draw(actor=county.admin, year=county.year, stage=Stage.SCHOOL, seed=123,
                                 replace_existing=True)
    assert _school_rows(again) == rows1
    first.refresh_from_db()
    assert first.status == RunStatus.SUPERSEDED and first.frame_hash == again.frame_hash
    other = services.sample_draw(actor=county.admin, year=county.year, stage=Stage.SCHOOL, seed=124,
                                 replace_existing=True)
    assert _school_rows(other) != rows1


def test_school_draw_follows_the_design(county: County) -> None:
    run = _draw_schools(county)
    sampled = SampledSchool.objects.filter(run=run, role=SchoolRole.SAMPLED)
    # Seeds (county plans): "每个样本县（市、区）原则上抽取12所小学、8所初中".
    assert sampled.filter(grade=4).count() == 12
    assert sampled.filter(grade=8).count() == 8
    assert all(p == SchoolParticipation.PENDING for p in sampled.values_list("participation", flat=True))
    repl = SampledSchool.objects.filter(run=run).exclude(role=SchoolRole.SAMPLED)
    assert repl.exists()
    assert set(repl.values_list("participation", flat=True)) == {SchoolParticipation.RESERVE}
    assert all(r.replaces.role == SchoolRole.SAMPLED and r.replaces.grade == r.grade for r in repl)
    for r in sampled:
        assert r.base_weight == pytest.approx(1.0 / r.pi)  # county π = 1 here


def test_refusal_calls_in_replacement_one_then_two(county: County) -> None:
    run = _draw_schools(county)
    original = (SampledSchool.objects.filter(run=run, role=SchoolRole.SAMPLED, replacements__role="replacement_2")
                .filter(replacements__role="replacement_1").first())
    assert original is not None
    with pytest.raises(InvalidInput) as exc:
        services.school_participation_set(actor=county.liaison, sampled_school_id=original.pk,
                                          participation=SchoolParticipation.REFUSED)
    assert exc.value.code == "reason_required"
    services.school_participation_set(actor=county.liaison, sampled_school_id=original.pk,
                                      participation=SchoolParticipation.REFUSED, reason="校舍维修")
    r1 = SampledSchool.objects.get(replaces=original, role=SchoolRole.REPLACEMENT_1)
    r2 = SampledSchool.objects.get(replaces=original, role=SchoolRole.REPLACEMENT_2)
    assert (r1.participation, r2.participation) == (SchoolParticipation.PENDING, SchoolParticipation.RESERVE)
    services.school_participation_set(actor=county.liaison, sampled_school_id=r1.pk,
                                      participation=SchoolParticipation.REFUSED, reason="不同意")
    r2.refresh_from_db()
    assert r2.participation == SchoolParticipation.PENDING
    actions = list(AuditEvent.objects.filter(object_type="SampledSchool").values_list("action", "object_id"))
    assert ("sampling.replacement_called_in", str(r1.pk)) in actions
    assert ("sampling.replacement_called_in", str(r2.pk)) in actions
    with pytest.raises(InvalidInput) as exc:  # a reserve school is not called in yet
        other_reserve = SampledSchool.objects.filter(run=run, participation=SchoolParticipation.RESERVE).first()
        assert other_reserve is not None
        services.school_participation_set(actor=county.liaison, sampled_school_id=other_reserve.pk,
                                          participation=SchoolParticipation.PARTICIPATING)
    assert exc.value.code == "not_called_in"


def test_analyst_cannot_record_participation(county: County) -> None:
    run = _draw_schools(county)
    row = SampledSchool.objects.filter(run=run, role=SchoolRole.SAMPLED).first()
    assert row is not None
    with pytest.raises(PermissionDenied):
        services.school_participation_set(actor=county.analyst, sampled_school_id=row.pk,
                                          participation=SchoolParticipation.REFUSED, reason="x")
    row.refresh_from_db()
    assert row.participation == SchoolParticipation.PENDING


def test_student_draw_test_ids_and_booklets(county: County) -> None:
    run = _draw_schools(county)
    _participate_all(county)
    row = SampledSchool.objects.filter(run=run, participation=SchoolParticipation.PARTICIPATING).first()
    assert row is not None
    code = row.school.code
    srun = draw_students(actor=county.liaison, year=county.year, school_code=code)
    students = SampledStudent.objects.filter(run=srun)
    school = School.objects.get(code=code)
    for g in school.grades:
        n = students.filter(grade=g).count()
        if SampledSchool.objects.filter(run=run, school=school, grade=g,
                                        participation=SchoolParticipation.PARTICIPATING).exists():
            # Seeds: "每个样本学校原则上抽取30名样本学生"; DOMAIN.md: all of them when there are 30 or fewer.
            assert n == min(30, school.students.filter(grade=g).count())
    assert all(booklets.test_id_valid(t) for t in students.values_list("test_id", flat=True))
    assert all(t.startswith(code) for t in students.values_list("test_id", flat=True))
    first = students.first()
    assert first is not None and first.booklets and all(v >= 1 for v in first.booklets.values())
    assert first.base_weight == pytest.approx(first.sampled_school.base_weight / first.pi)
    with pytest.raises(InvalidInput) as exc:
        draw_students(actor=county.liaison, year=county.year, school_code=code)
    assert exc.value.code == "students_drawn"


def test_student_draw_is_reproducible(county: County) -> None:
    run = _draw_schools(county)
    _participate_all(county)
    code = SampledSchool.objects.filter(run=run).first().school.code  # type: ignore[union-attr]
    draw_students(actor=county.liaison, year=county.year, school_code=code)
    drawn = list(SampledStudent.objects.order_by("test_id").values_list("student_id", "test_id", "booklets"))
    SampledStudent.objects.all().delete()
    SampleRun.objects.filter(stage=Stage.STUDENT).update(status=RunStatus.SUPERSEDED)
    draw_students(actor=county.liaison, year=county.year, school_code=code)
    assert list(SampledStudent.objects.order_by("test_id").values_list("student_id", "test_id", "booklets")) == drawn


def test_test_taker_status_rejects_bad_rows_and_changes_nothing(county: County) -> None:
    run = _draw_schools(county)
    _participate_all(county)
    code = SampledSchool.objects.filter(run=run).first().school.code  # type: ignore[union-attr]
    draw_students(actor=county.liaison, year=county.year, school_code=code)
    ids = list(SampledStudent.objects.order_by("test_id").values_list("test_id", flat=True))
    with pytest.raises(InvalidInput) as exc:
        services.test_takers_set(actor=county.liaison, year=county.year, school_code=code,
                                 statuses={ids[0]: "缺考", ids[1]: "迟到", "99999999999999": "到考"},
                                 file="t.xlsx", rows={ids[0]: 2, ids[1]: 3, "99999999999999": 4})
    rows = {(p.row, p.field) for p in exc.value.problems}
    assert rows == {(3, "测试情况"), (4, "测试编号")}
    assert set(SampledStudent.objects.values_list("status", flat=True)) == {StudentStatus.PENDING}
    changed = services.test_takers_set(actor=county.liaison, year=county.year, school_code=code,
                                       statuses={ids[0]: "缺考", ids[1]: "体育免测"})
    assert changed == 2
    assert SampledStudent.objects.get(test_id=ids[0]).status == StudentStatus.ABSENT
    event = AuditEvent.objects.filter(action="sampling.test_takers_set").get()
    assert event.after == {ids[0]: "absent", ids[1]: "pe_exempt"}


def test_final_weights_sum_to_frame_enrollment_by_county_and_grade(county: County) -> None:
    run = _draw_schools(county)
    refused = SampledSchool.objects.filter(run=run, role=SchoolRole.SAMPLED, replacements__isnull=True,
                                           grade=4).first()
    if refused is not None:  # a refusal without replacement: the cell's other schools carry its weight
        services.school_participation_set(actor=county.liaison, sampled_school_id=refused.pk,
                                          participation=SchoolParticipation.REFUSED, reason="停课")
    _participate_all(county)
    _draw_all_students(county)
    rng = np.random.default_rng(0)
    for code in sorted(set(SampledStudent.objects.values_list("sampled_school__school__code", flat=True))):
        ids = list(SampledStudent.objects.filter(sampled_school__school__code=code).values_list("test_id", flat=True))
        status = rng.choice(["到考", "到考", "到考", "缺考", "体育免测"], size=len(ids))
        services.test_takers_set(actor=county.liaison, year=county.year, school_code=code,
                                 statuses=dict(zip(ids, status.tolist(), strict=True)))
    wrun = services.weights_compute(actor=county.admin, year=county.year)
    assert wrun.status == RunStatus.DONE
    for grade in (4, 8):
        frame = sum(School.objects.filter(county__code=county.code).values_list(f"g{grade}_enrollment", flat=True))
        got = sum(SampledStudent.objects.filter(grade=grade).values_list("final_weight", flat=True))
        assert got == pytest.approx(frame, rel=1e-9)
    assert not SampledStudent.objects.filter(status=StudentStatus.ABSENT, final_weight__gt=0).exists()
    assert SampledStudent.objects.filter(status=StudentStatus.PE_EXEMPT, final_weight__gt=0).exists()
    ids, matrix, scheme = services.replicate_matrix(wrun)
    assert matrix.dtype == np.float32 and matrix.shape[0] == SampledStudent.objects.count()
    assert set(ids.tolist()) == set(SampledStudent.objects.values_list("pk", flat=True))
    assert ReplicateWeights.objects.get(run=wrun, scope="county").n_replicates == matrix.shape[1] > 0
    assert scheme.n_replicates == matrix.shape[1]
    # National weights: the within-county final weight over the county's inclusion probability.
    county_pi = SampledCounty.objects.get(run__stage=Stage.COUNTY, run__status=RunStatus.DONE).pi
    for final, national in SampledStudent.objects.values_list("final_weight", "national_weight"):
        assert national == pytest.approx(final / county_pi, rel=1e-12)
    n_ids, n_matrix, _n_scheme = services.replicate_matrix(wrun, "national")
    assert n_matrix.shape[0] == len(n_ids) == matrix.shape[0]


def test_weights_wait_for_test_taker_reports(county: County) -> None:
    _draw_schools(county)
    _participate_all(county)
    _draw_all_students(county)
    with pytest.raises(InvalidInput) as exc:
        services.weights_compute(actor=county.admin, year=county.year)
    assert exc.value.code == "test_takers_pending"
    assert not SampleRun.objects.filter(stage=Stage.WEIGHTS).exists()




def test_participating_replacement_takes_the_weight_of_the_school_it_replaces(county: County) -> None:
    run = _draw_schools(county)
    original = SampledSchool.objects.filter(run=run, role=SchoolRole.SAMPLED, replacements__role="replacement_1",
                                            grade=8).first()
    assert original is not None
    services.school_participation_set(actor=county.liaison, sampled_school_id=original.pk,
                                      participation=SchoolParticipation.REFUSED, reason="停课")
    _participate_all(county)
    _draw_all_students(county)
    for code in sorted(set(SampledStudent.objects.values_list("sampled_school__school__code", flat=True))):
        ids = SampledStudent.objects.filter(sampled_school__school__code=code).values_list("test_id", flat=True)
        services.test_takers_set(actor=county.liaison, year=county.year, school_code=code,
                                 statuses=dict.fromkeys(ids, "到考"))
    services.weights_compute(actor=county.admin, year=county.year)
    r1 = SampledSchool.objects.get(replaces=original, role=SchoolRole.REPLACEMENT_1)
    original.refresh_from_db()
    # The replacement stands in for the refusing school, so its cell lost no school: factor 1.
    assert r1.adjusted_weight == pytest.approx(original.base_weight)
    assert original.adjusted_weight is None


def test_students_are_drawn_only_once_the_roster_is_submitted(county: County) -> None:
    run = _draw_schools(county)
    _participate_all(county)
    code = SampledSchool.objects.filter(run=run).first().school.code  # type: ignore[union-attr]
    with pytest.raises(InvalidInput) as exc:
        services.students_draw(actor=county.liaison, year=county.year, school_code=code)
    assert [p.field for p in exc.value.problems] == ["样本校名单"]
    assert not SampledStudent.objects.exists()
    assert not SampleRun.objects.filter(stage=Stage.STUDENT).exists()


def test_no_draw_from_an_unlocked_frame(county: County) -> None:
    """The sample comes from the frame the centre locked: with the county's registry back under review, the county
    draw is refused with the county named, and no run is recorded."""
    Submission.objects.filter(kind=SubmissionKind.REGISTRY).update(status=SubmissionStatus.RETURNED)
    with pytest.raises(InvalidInput) as exc:
        services.sample_draw(actor=county.admin, year=county.year, stage=Stage.COUNTY, seed=1)
    assert exc.value.code == "frame_not_locked"
    assert [p.field for p in exc.value.problems] == [county.code]
    assert not SampleRun.objects.exists()
