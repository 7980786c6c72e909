"""Writes of the sample: draws, participation, student draws, test-taker status, weights.

Every service takes the acting user keyword-only, checks access through :mod:`naeq.sampling.access`, runs in one
transaction and writes an audit event. The sampling mathematics is the engine's (:mod:`naeq.engines.sampling`,
:mod:`naeq.engines.booklets`); this module only moves rows to arrays and back (:mod:`naeq.sampling.adapters`).

Reproducibility: a run records its design (text and SHA-256), the frame's SHA-256 and its seed; drawing again
with the same seed from the same frame gives the same rows. Student draws use the school run's seed spawned by
the school code (``default_rng([seed, code])``), so one school's draw does not depend on the order in which
schools send their rosters.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from naeq.core.audit import audit_record
from naeq.core.errors import InvalidInput, NotFound, PermissionDenied, Problem, ProblemCollector
from naeq.cycles.models import Cycle
from naeq.engines.booklets import assign_booklets, make_test_ids
from naeq.engines.sampling.counties import draw_counties
from naeq.engines.sampling.frames import county_frame
from naeq.engines.sampling.replicates import ReplicateScheme, replicate_weights
from naeq.engines.sampling.schools import draw_schools
from naeq.engines.sampling.spec import SampleDesign
from naeq.engines.sampling.students import draw_students
from naeq.engines.sampling.weights import adjust_nonresponse, calibrate_to_totals
from naeq.registry import review
from naeq.registry.access import school_access
from naeq.registry.models import Region, School, Student, Submission, SubmissionKind, SubmissionStatus
from naeq.registry.services import frame_lock, submission_require_editable, submission_submit
from naeq.sampling import adapters
from naeq.sampling.access import require_drawer, require_participation_writer, require_school_writer
from naeq.sampling.models import (
    CountyParticipation,
    ReplicateScope,
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
from naeq.sampling.selectors import ACTIVE, SUBMITTED_OR_LATER, active_run, cycle_for, sampled_school_for_write

ROLE_NAMES = (SchoolRole.SAMPLED, SchoolRole.REPLACEMENT_1, SchoolRole.REPLACEMENT_2)
#: Test-taker statuses that count as responding in the student non-response adjustment. A PE-exempt student
#: (体育免测) sits every other test, so responds.
RESPONDED = (StudentStatus.PRESENT, StudentStatus.PE_EXEMPT)


def sample_design() -> SampleDesign:
    """The design the draws use: the default design file."""
    from naeq.sampling.design import default_design

    return default_design()


def _new_seed() -> int:
    return int(np.random.default_rng().integers(0, 2**62))


def _run_after(run: SampleRun) -> dict[str, Any]:
    return {"id": run.pk, "cycle": run.cycle.year, "stage": run.stage, "seed": run.seed,
            "frame_hash": run.frame_hash, "design_hash": run.design_hash, "code_version": run.code_version,
            "status": run.status, "summary": run.summary,
            "school": run.school.code if run.school_id and run.school else None}


def _supersede(run: SampleRun, *, actor: Any) -> None:
    """Keep the run as a record, drop its rows (they are recomputed from the new run)."""
    before = {"status": run.status}
    run.counties.all().delete()
    run.schools.filter(replaces__isnull=False).delete()
    run.schools.all().delete()
    run.status = RunStatus.SUPERSEDED
    run.save(update_fields=["status"])
    audit_record(actor=actor, action="sampling.run_supersede", object_type="SampleRun", object_id=run.pk,
                 before=before, after={"status": run.status})


# ------------------------------------------------------------------------------------------- national draws


def _new_run(*, actor: Any, cycle: Cycle, stage: str, seed: int | None, design: SampleDesign,
             options: Mapping[str, Any] | None = None, school: School | None = None) -> SampleRun:
    text = adapters.design_text(design)
    if seed is not None and seed < 0:
        raise InvalidInput(_("随机种子必须是非负整数。"), code="bad_seed")
    run = SampleRun(cycle=cycle, stage=stage, school=school, design_text=text, design_hash=adapters.design_hash(text),
                    frame_hash="", seed=_new_seed() if seed is None else int(seed),
                    code_version=adapters.code_version(),
                    created_by=actor if getattr(actor, "pk", None) else None, status=RunStatus.QUEUED,
                    summary={"options": dict(options or {})})
    run.full_clean(exclude=["frame_hash"])
    run.save()
    return run


def _check_designated(codes: Sequence[str], field: str) -> tuple[str, ...]:
    out = tuple(sorted({c.strip() for c in codes if c.strip()}))
    found = set(Region.objects.filter(code__in=out, level="county").values_list("code", flat=True))
    missing = [c for c in out if c not in found]
    if missing:
        raise InvalidInput(_("指定的县不存在：%(codes)s") % {"codes": "、".join(missing)}, code="unknown_county",
                           details={"field": field})
    return out


@transaction.atomic
def sample_draw_start(*, actor: Any, year: int, stage: str, seed: int | None = None,
                      agreement: Sequence[str] = (), application: Sequence[str] = (),
                      replace_existing: bool = False) -> SampleRun:
    """Record a queued county or school draw for ``year`` (national administrators). The job
    (:func:`naeq.sampling.tasks.sample_run_execute_task`) runs it; :func:`sample_run_execute` is the work."""
    require_drawer(actor=actor)
    cycle = cycle_for(year)
    if stage not in (Stage.COUNTY, Stage.SCHOOL):
        raise InvalidInput(_("只能抽取样本县或样本校。"), code="bad_stage")
    design = sample_design()
    options: dict[str, Any] = {}
    if stage == Stage.COUNTY:
        agree = _check_designated(agreement, "agreement")
        apply_ = _check_designated(application, "application")
        both = set(agree) & set(apply_)
        if both:
            raise InvalidInput(_("同一个县不能既是协议县又是申请县：%(codes)s") % {"codes": "、".join(sorted(both))},
                               code="designated_twice")
        design = replace(design, counties=replace(design.counties, agreement=agree, application=apply_))
        options = {"agreement": list(agree), "application": list(apply_)}
        if active_run(cycle, Stage.SCHOOL) is not None:
            raise InvalidInput(_("已抽取样本校，不能重新抽取样本县。"), code="later_stage_exists")
    else:
        county_run = active_run(cycle, Stage.COUNTY)
        if county_run is None or county_run.status != RunStatus.DONE:
            raise InvalidInput(_("请先完成样本县抽取。"), code="no_county_run")
        if SampledStudent.objects.filter(cycle=cycle).exists():
            raise InvalidInput(_("已抽取样本学生，不能重新抽取样本校。"), code="later_stage_exists")
    _require_locked_frame(cycle, stage)
    previous = active_run(cycle, stage)
    if previous is not None:
        if not replace_existing:
            raise InvalidInput(_("本周期已有该阶段的抽样结果；如需重抽，请选择“重新抽取”。"), code="run_exists")
        _supersede(previous, actor=actor)
    run = _new_run(actor=actor, cycle=cycle, stage=stage, seed=seed, design=design, options=options)
    audit_record(actor=actor, action="sampling.draw_start", object_type="SampleRun", object_id=run.pk,
                 after=_run_after(run))
    return run


def _require_locked_frame(cycle: Cycle, stage: str) -> None:
    """The sample is drawn from the frame the national centre locked (registry review chain: county submits →
    province approves → nation locks): for the county draw every county that has schools, for the school draw the
    sampled counties."""
    if stage == Stage.COUNTY:
        counties = Region.objects.filter(pk__in=School.objects.values("county_id"))
    else:
        county_run = active_run(cycle, Stage.COUNTY)
        counties = Region.objects.filter(pk__in=SampledCounty.objects.filter(run=county_run).values("county_id"))
    locked = Submission.objects.filter(kind=SubmissionKind.REGISTRY, year=cycle.year,
                                       status=SubmissionStatus.LOCKED).values("county_id")
    open_ = counties.exclude(pk__in=locked)
    n_open = open_.count()
    if n_open:
        codes = list(open_.order_by("code").values_list("code", flat=True)[:50])
        raise InvalidInput(
            _("有%(n)d个县（区）的属地学校信息尚未锁定，不能抽样。请先完成审核并锁定抽样框。") % {"n": n_open},
            problems=[Problem(_("属地学校信息未锁定"), field=c) for c in codes], code="frame_not_locked")


@transaction.atomic
def sample_run_execute(*, run_id: int) -> SampleRun:
    """Run a queued county or school draw (the background job). Engine errors mark the run failed."""
    run = SampleRun.objects.select_for_update(of=("self",)).select_related("cycle", "created_by").get(pk=run_id)
    if run.status != RunStatus.QUEUED:
        return run
    design = sample_design()
    opts = run.summary.get("options", {})
    if run.stage == Stage.COUNTY:
        design = replace(design, counties=replace(design.counties, agreement=tuple(opts.get("agreement", ())),
                                                  application=tuple(opts.get("application", ()))))
    if adapters.design_hash(adapters.design_text(design)) != run.design_hash:
        return _fail(run, _("抽样设计在排队期间已改变，请重新抽取。"))
    try:
        with transaction.atomic():
            if run.stage == Stage.COUNTY:
                _execute_counties(run, design)
            else:
                _execute_schools(run, design)
    except InvalidInput as exc:
        return _fail(run, exc.message)
    run.status = RunStatus.DONE
    run.save(update_fields=["status", "frame_hash", "summary"])
    audit_record(actor=run.created_by, action="sampling.draw_done", object_type="SampleRun", object_id=run.pk,
                 before={"status": RunStatus.QUEUED}, after=_run_after(run))
    return run


def _fail(run: SampleRun, message: str) -> SampleRun:
    run.status = RunStatus.FAILED
    run.summary = {**run.summary, "error": message}
    run.save(update_fields=["status", "summary"])
    audit_record(actor=run.created_by, action="sampling.draw_failed", object_type="SampleRun", object_id=run.pk,
                 before={"status": RunStatus.QUEUED}, after={"status": run.status, "error": message})
    return run


def _execute_counties(run: SampleRun, design: SampleDesign) -> None:
    dbf = adapters.school_frame()
    if len(dbf.frame) == 0:
        raise InvalidInput(_("学校名录为空，无法抽样。"), code="empty_frame")
    cf = county_frame(dbf.frame)
    with adapters.engine_errors():
        sample = draw_counties(cf, design, adapters.rng_for(run.seed))
    codes = sample.code.tolist()
    regions = dict((c, (i, p)) for c, i, p in
                   Region.objects.filter(code__in=codes).values_list("code", "id", "path"))
    designated = sample.designated.tolist()
    rows = [
        SampledCounty(run=run, county_id=regions[c][0], path=regions[c][1],
                      participation=designated[k] or CountyParticipation.SAMPLE, pi=float(sample.pi[k]),
                      weight=float(1.0 / sample.pi[k]), certainty=bool(sample.certainty[k]),
                      in_national_estimate=bool(sample.national[k]), sort_pos=int(sample.sort_pos[k]))
        for k, c in enumerate(codes)
    ]
    SampledCounty.objects.bulk_create(rows, batch_size=1000)
    run.frame_hash = dbf.hash
    run.summary = {**run.summary, "counties": len(rows), "national": int(sample.national.sum()),
                   "certainty": int(sample.certainty.sum()), "allocation": sample.allocation,
                   "frame_schools": len(dbf.frame), "frame_counties": len(cf)}


def _execute_schools(run: SampleRun, design: SampleDesign) -> None:
    county_run = active_run(run.cycle, Stage.COUNTY)
    if county_run is None:  # checked when queued; a county redraw in between supersedes it
        raise InvalidInput(_("请先完成样本县抽取。"), code="no_county_run")
    counties = list(county_run.counties.values_list("county__code", "county_id", "pi"))
    county_pi = {code: pi for code, _id, pi in counties}
    dbf = adapters.school_frame()
    with adapters.engine_errors():
        sample = draw_schools(dbf.frame, design, adapters.rng_for(run.seed),
                              counties=np.asarray(list(county_pi), dtype=np.str_))
    idx = sample.index
    pi_c = np.array([county_pi[c] for c in sample.county.tolist()], dtype=np.float64)
    base = 1.0 / (pi_c * sample.pi)
    fields = dict(school_id=dbf.school_id[idx].tolist(), county_id=dbf.county_id[idx].tolist(),
                  path=dbf.path[idx].tolist(), grade=sample.grade.tolist(), role=sample.role.tolist(),
                  pi=sample.pi.tolist(), certainty=sample.certainty.tolist(), base=base.tolist(),
                  enrollment=sample.enrollment.tolist(), sort_pos=sample.sort_pos.tolist())

    def make(k: int) -> SampledSchool:
        role = int(fields["role"][k])
        return SampledSchool(run=run, school_id=fields["school_id"][k], county_id=fields["county_id"][k],
                             path=fields["path"][k], grade=fields["grade"][k], role=ROLE_NAMES[role],
                             pi=fields["pi"][k], certainty=fields["certainty"][k], base_weight=fields["base"][k],
                             enrollment=fields["enrollment"][k], sort_pos=fields["sort_pos"][k],
                             participation=SchoolParticipation.PENDING if role == 0 else SchoolParticipation.RESERVE)

    sampled_rows = np.flatnonzero(sample.role == 0)
    created = SampledSchool.objects.bulk_create([make(int(k)) for k in sampled_rows], batch_size=1000)
    id_of_row = np.full(len(sample), -1, dtype=np.int64)
    id_of_row[sampled_rows] = [s.pk for s in created]
    repl = []
    for k in np.flatnonzero(sample.role > 0).tolist():
        row = make(k)
        row.replaces_id = int(id_of_row[sample.replaces[k]])
        repl.append(row)
    SampledSchool.objects.bulk_create(repl, batch_size=1000)
    run.frame_hash = dbf.hash
    run.summary = {**run.summary, "county_run": county_run.pk, "sampled": len(sampled_rows),
                   "replacements": len(repl), "excluded": int(np.asarray(sample.groups["excluded"]).sum())}


def sample_draw(*, actor: Any, year: int, stage: str, seed: int | None = None, agreement: Sequence[str] = (),
                application: Sequence[str] = (), replace_existing: bool = False) -> SampleRun:
    """Queue a draw and run it now (in-process); the command line, the demo and tests use this."""
    run = sample_draw_start(actor=actor, year=year, stage=stage, seed=seed, agreement=agreement,
                            application=application, replace_existing=replace_existing)
    run = sample_run_execute(run_id=run.pk)
    if run.status == RunStatus.FAILED:
        raise InvalidInput(run.summary.get("error", ""), code="draw_failed")
    return run


# ------------------------------------------------------------------------------------------- participation


def _row_state(row: SampledSchool) -> dict[str, Any]:
    return {"school": row.school.code, "grade": row.grade, "role": row.role, "participation": row.participation,
            "reason": row.participation_reason}


@transaction.atomic
def school_participation_set(*, actor: Any, sampled_school_id: int, participation: str,
                             reason: str = "") -> SampledSchool:
    """Record whether a called-in school takes part. A refusal calls in the first replacement, and a refusing
    first replacement the second one (TIMSS); the replacements are audited too."""
    row = sampled_school_for_write(actor=actor, sampled_school_id=sampled_school_id)
    require_participation_writer(actor=actor)
    if participation not in (SchoolParticipation.PARTICIPATING, SchoolParticipation.REFUSED):
        raise InvalidInput(_("参与情况只能是“参加”或“拒绝参加”。"), code="bad_participation")
    if row.participation == SchoolParticipation.RESERVE:
        raise InvalidInput(_("该替补校尚未启用。"), code="not_called_in")
    if row.participation == participation:
        return row
    if row.students.exists():
        raise InvalidInput(_("该校已抽取样本学生，不能再修改参与情况。"), code="students_drawn")
    if participation == SchoolParticipation.REFUSED and not reason.strip():
        raise InvalidInput(_("请填写拒绝参加的原因。"), code="reason_required")
    if row.participation == SchoolParticipation.REFUSED:
        # Taking back a refusal is possible only while no replacement has been called in for it.
        called = SampledSchool.objects.filter(replaces_id=row.replaces_id or row.pk).exclude(
            participation=SchoolParticipation.RESERVE).exclude(pk=row.pk)
        if called.exists():
            raise InvalidInput(_("已启用替补校，不能撤销拒绝。"), code="replacement_called")
    before = _row_state(row)
    row.participation = participation
    row.participation_reason = reason.strip()[:200]
    row.full_clean()
    row.save(update_fields=["participation", "participation_reason"])
    audit_record(actor=actor, action="sampling.participation_set", object_type="SampledSchool", object_id=row.pk,
                 before=before, after=_row_state(row))
    if participation == SchoolParticipation.REFUSED:
        _call_in_replacement(actor, row)
    return row


def _call_in_replacement(actor: Any, row: SampledSchool) -> None:
    original_id = row.replaces_id or row.pk
    wanted = {SchoolRole.SAMPLED: [SchoolRole.REPLACEMENT_1, SchoolRole.REPLACEMENT_2],
              SchoolRole.REPLACEMENT_1: [SchoolRole.REPLACEMENT_2]}.get(SchoolRole(row.role), [])
    for role in wanted:
        nxt = (SampledSchool.objects.select_for_update().select_related("school")
               .filter(replaces_id=original_id, role=role, participation=SchoolParticipation.RESERVE).first())
        if nxt is None:
            continue
        before = _row_state(nxt)
        nxt.participation = SchoolParticipation.PENDING
        nxt.save(update_fields=["participation"])
        audit_record(actor=actor, action="sampling.replacement_called_in", object_type="SampledSchool",
                     object_id=nxt.pk, before=before, after={**_row_state(nxt), "replaces": row.school.code})
        return


# ------------------------------------------------------------------------------------------- students


def _booklet_plan(cycle: Cycle, grade: int, participation: str) -> list[tuple[str, int]]:
    """(subject code, number of booklets) of the tests the grade sits in this cycle, for the county's type."""
    config = cycle.config
    try:
        subjects = set(config.participation(participation).subjects)
    except ValueError:
        subjects = {s.code for s in config.subjects}
    plan = []
    for inst in config.instruments:
        if inst.kind != "test" or inst.respondent != "student" or not inst.subject:
            continue
        if inst.subject not in subjects or grade not in inst.grades:
            continue
        plan.append((inst.subject, int(inst.booklets or 1)))
    return sorted(set(plan))


@transaction.atomic
def students_draw(*, actor: Any, year: int, school_code: str) -> SampleRun:
    """Draw the 30 students per tested grade of a participating school from its roster, assign booklets per
    subject (spiralled) and test IDs. Once per school and cycle."""
    school = school_access(actor=actor, code=school_code)
    require_school_writer(actor=actor)
    cycle = cycle_for(year)
    school_run = active_run(cycle, Stage.SCHOOL)
    rows = [] if school_run is None else list(
        SampledSchool.objects.select_for_update().filter(run=school_run, school=school)
        .exclude(participation__in=[SchoolParticipation.RESERVE, SchoolParticipation.REFUSED])
        .order_by("grade"))
    if not rows:
        raise NotFound(_("没有找到该样本校。"))
    if SampleRun.objects.filter(cycle=cycle, stage=Stage.STUDENT, school=school, status__in=ACTIVE).exists():
        raise InvalidInput(_("该校已抽取样本学生。"), code="students_drawn")
    grades = [r.grade for r in rows]
    roster = list(Student.objects.filter(school=school, grade__in=grades).order_by("grade", "class_no", "seq", "id")
                  .values_list("id", "grade"))
    ids = np.array([r[0] for r in roster], dtype=np.int64)
    roster_grade = np.array([r[1] for r in roster], dtype=np.int64)
    enrollment = np.array([(roster_grade == g).sum() for g in grades], dtype=np.int64)
    problems = ProblemCollector(file=school.code)
    roster_status = (Submission.objects.filter(kind=SubmissionKind.ROSTER, year=cycle.year, school=school)
                     .values_list("status", flat=True).first())
    if roster_status not in SUBMITTED_OR_LATER:
        problems.add(_("学校名单尚未提交（样本校名单须先提交县级审核）。"), field=_("样本校名单"))
    for g, n in zip(grades, enrollment.tolist(), strict=True):
        if n == 0:
            problems.add(_("%(grade)s年级学生名单尚未上报。") % {"grade": g}, field=f"grade{g}")
    problems.raise_if_any(_("不能抽取样本学生。"))
    design = sample_design()
    seed = school_run.seed if school_run is not None else _new_seed()
    run = _new_run(actor=actor, cycle=cycle, stage=Stage.STUDENT, seed=seed, design=design, school=school)
    rng = adapters.rng_for(seed, int(school.code))
    with adapters.engine_errors():
        sample = draw_students(enrollment, design.students.per_school, rng)
    offsets = np.concatenate(([0], np.cumsum(enrollment)))[:-1]
    student_ids = ids[offsets[sample.school] + sample.position]
    grade = np.asarray(grades, dtype=np.int64)[sample.school]
    first = np.searchsorted(sample.school, sample.school)
    seq = np.arange(len(sample)) - first + 1
    test_ids = make_test_ids(np.full(len(sample), school.code), grade, seq)
    participation = (SampledCounty.objects.filter(run__cycle=cycle, run__status=RunStatus.DONE,
                                                  county_id=school.county_id)
                     .values_list("participation", flat=True).first() or CountyParticipation.SAMPLE)
    booklets: dict[int, dict[str, Any]] = {}
    for g in grades:  # two grades at most; subjects a handful: loops over configuration, not over students
        m = grade == g
        booklets[g] = {subj: assign_booklets(np.zeros(int(m.sum()), dtype=np.int64), n, rng=rng).tolist()
                       for subj, n in _booklet_plan(cycle, g, participation)}
    position_in_grade = seq - 1
    row_by_grade = {r.grade: r for r in rows}
    students = [
        SampledStudent(cycle=cycle, run=run, sampled_school=row_by_grade[int(g)], student_id=int(sid),
                       path=school.path, grade=int(g), seq=int(s), pi=float(p),
                       base_weight=float(row_by_grade[int(g)].base_weight / p),
                       booklets={subj: int(bs[k]) for subj, bs in booklets[int(g)].items()},
                       test_id=str(t))
        for sid, g, s, p, t, k in zip(student_ids.tolist(), grade.tolist(), seq.tolist(), sample.pi.tolist(),
                                      test_ids.tolist(), position_in_grade.tolist(), strict=True)
    ]
    SampledStudent.objects.bulk_create(students, batch_size=1000)
    digest = hashlib.sha256(np.ascontiguousarray(np.stack([ids, roster_grade]), dtype="<i8").tobytes())
    run.frame_hash = "sha256:" + digest.hexdigest()
    run.status = RunStatus.DONE
    run.summary = {**run.summary, "school": school.code, "enrollment": dict(zip(map(str, grades),
                                                                                 enrollment.tolist(), strict=True)),
                   "taken": dict(zip(map(str, grades), sample.taken.tolist(), strict=True))}
    run.save(update_fields=["frame_hash", "status", "summary"])
    audit_record(actor=actor, action="sampling.students_draw", object_type="SampleRun", object_id=run.pk,
                 after={**_run_after(run), "test_ids": test_ids.tolist()})
    return run


# ------------------------------------------------------------------------------------------- test takers

STATUS_LABELS: dict[str, str] = {
    "到考": StudentStatus.PRESENT, "缺考": StudentStatus.ABSENT, "体育免测": StudentStatus.PE_EXEMPT,
    "未报告": StudentStatus.PENDING,
    **{s.value: s.value for s in StudentStatus},
}


def _require_test_takers_editable(cycle: Cycle, school: School) -> None:
    """Through the review chain: only a draft or returned test-taker submission changes."""
    submission_require_editable(kind=SubmissionKind.TEST_TAKERS, year=cycle.year, school=school)


def _all_test_takers_reported(submission: Submission) -> None:
    """Before a school submits its test takers: every sampled student has a status (pre-submit check)."""
    if submission.school_id is None:
        return
    students = SampledStudent.objects.filter(cycle__year=submission.year,
                                             sampled_school__school_id=submission.school_id)
    if not students.exists():
        raise InvalidInput(_("该校尚未抽取样本学生，不能提交测试生信息。"), code="no_students")
    pending = students.filter(status=StudentStatus.PENDING).count()
    if pending:
        raise InvalidInput(_("尚有%(n)s名样本学生未填写测试情况。") % {"n": pending}, code="test_takers_pending")


review.register_submit_check(SubmissionKind.TEST_TAKERS, _all_test_takers_reported)


def test_takers_submit(*, actor: Any, year: int, school_code: str) -> Submission:
    """The school (or its county on its behalf) hands the test takers to the county for review."""
    return submission_submit(actor=actor, kind=SubmissionKind.TEST_TAKERS, year=year, school_code=school_code)


@transaction.atomic
def test_takers_set(*, actor: Any, year: int, school_code: str, statuses: Mapping[str, str],
                    file: str | None = None, rows: Mapping[str, int] | None = None) -> int:
    """Set test-taker statuses (present / absent / PE-exempt) of a school's sampled students, by test ID.
    Every problem is collected (``file`` and ``rows`` name where each test ID came from); nothing changes
    unless all are valid. Returns the number of students whose status changed."""
    school = school_access(actor=actor, code=school_code)
    require_school_writer(actor=actor)
    cycle = cycle_for(year)
    _require_test_takers_editable(cycle, school)
    current = dict(SampledStudent.objects.select_for_update()
                   .filter(cycle=cycle, sampled_school__school=school).values_list("test_id", "status"))
    if not current:
        raise InvalidInput(_("该校尚未抽取样本学生。"), code="no_students")
    problems = ProblemCollector(file=file)
    changes: dict[str, str] = {}
    for tid, label in statuses.items():  # one school's test takers: at most 60
        row = (rows or {}).get(tid)
        status = STATUS_LABELS.get(str(label).strip())
        if tid not in current:
            problems.add(_("测试编号不是本校样本学生的编号。"), row=row, field=_("测试编号"), value=tid)
        elif status is None:
            problems.add(_("测试情况只能填写“到考”“缺考”或“体育免测”。"), row=row, field=_("测试情况"), value=label)
        elif status != current[tid]:
            changes[tid] = status
    problems.raise_if_any(_("测试生信息有误，未做任何修改。"))
    for status in set(changes.values()):
        SampledStudent.objects.filter(cycle=cycle, test_id__in=[t for t, s in changes.items() if s == status]
                                      ).update(status=status)
    audit_record(actor=actor, action="sampling.test_takers_set", object_type="School", object_id=school.code,
                 before={t: current[t] for t in sorted(changes)}, after=dict(sorted(changes.items())))
    return len(changes)


def test_takers_import(*, actor: Any, year: int, school_code: str, file_name: str, data: bytes) -> int:
    """The test-taker sheet (``测试编号``, ``测试情况``) as an Excel upload; precise row errors."""
    from naeq.sampling.exports import read_test_taker_sheet

    school_access(actor=actor, code=school_code)
    require_school_writer(actor=actor)
    if not data:
        raise InvalidInput(_("请选择要上传的文件。"), code="no_file")
    statuses, rows = read_test_taker_sheet(file_name=file_name, data=data)
    return test_takers_set(actor=actor, year=year, school_code=school_code, statuses=statuses, file=file_name,
                           rows=rows)


# ------------------------------------------------------------------------------------------- weights


@transaction.atomic
def weights_compute(*, actor: Any, year: int) -> SampleRun:
    """Non-response adjustment (schools within county × grade, students within school × grade), calibration
    of the students' weights to the frame's enrollment by county and grade, and replicate weights."""
    require_drawer(actor=actor)
    cycle = cycle_for(year)
    school_run = active_run(cycle, Stage.SCHOOL)
    if school_run is None or school_run.status != RunStatus.DONE:
        raise InvalidInput(_("请先完成样本校抽取。"), code="no_school_run")
    design = sample_design()
    sch = list(SampledSchool.objects.filter(run=school_run).values_list(
        "id", "county_id", "grade", "role", "replaces_id", "base_weight", "participation"))
    if not sch:
        raise InvalidInput(_("没有样本校。"), code="no_schools")
    s_id, s_county, s_grade, s_role, s_repl, s_w, s_part = (np.asarray(c, dtype=object) for c in
                                                                   zip(*sch, strict=True))
    s_id = s_id.astype(np.int64)
    pending = int((s_part == SchoolParticipation.PENDING).sum())
    if pending:
        raise InvalidInput(_("尚有%(n)s所学校未确认参与情况。") % {"n": pending}, code="participation_pending")
    original = np.where(s_role == SchoolRole.SAMPLED, s_id, np.where(s_repl == None, -1, s_repl)  # noqa: E711
                        ).astype(np.int64)
    participating = s_part == SchoolParticipation.PARTICIPATING
    is_sampled = s_role == SchoolRole.SAMPLED
    resp = np.isin(s_id[is_sampled], original[participating])
    with adapters.engine_errors():
        adj_sampled = adjust_nonresponse(s_w[is_sampled].astype(np.float64),
                                         (s_county[is_sampled].astype(np.int64), s_grade[is_sampled].astype(np.int64)),
                                         resp)
    # A participating replacement takes the adjusted weight of the school it replaces (row lookups by id, sorted).
    adj_full = np.zeros(len(s_id))
    adj_full[is_sampled] = adj_sampled
    by_id = np.argsort(s_id)
    row_of_original = by_id[np.searchsorted(s_id[by_id], original)]
    school_adj = np.where(participating, adj_full[row_of_original], np.nan)
    # Students of participating schools.
    st = list(SampledStudent.objects.filter(cycle=cycle, sampled_school__run=school_run).values_list(
        "id", "sampled_school_id", "sampled_school__county_id", "grade", "pi", "status"))
    if not st:
        raise InvalidInput(_("尚未抽取样本学生。"), code="no_students")
    t_id, t_school, t_county, t_grade, t_pi, t_status = (np.asarray(c, dtype=object) for c in zip(*st, strict=True))
    t_id, t_school = t_id.astype(np.int64), t_school.astype(np.int64)
    t_county, t_grade, t_pi = t_county.astype(np.int64), t_grade.astype(np.int64), t_pi.astype(np.float64)
    n_pending = int((t_status == StudentStatus.PENDING).sum())
    if n_pending:
        raise InvalidInput(_("尚有%(n)s名样本学生未报告测试情况。") % {"n": n_pending}, code="test_takers_pending")
    w_school = school_adj[by_id[np.searchsorted(s_id[by_id], t_school)]]
    responded = np.isin(t_status.astype(str), [str(s) for s in RESPONDED])
    frame_totals = _frame_totals(np.unique(t_county))
    group = t_county * 10 + t_grade
    with adapters.engine_errors():
        w = adjust_nonresponse(w_school / t_pi, (t_school, t_grade), responded)
        final = calibrate_to_totals(w, group, {int(k): float(v) for k, v in frame_totals.items()})
        # County estimates: schools are the PSUs, paired within each county (the counties share the columns).
        county_rep, county_scheme = replicate_weights(
            final, t_school, scheme=design.replicates.scheme, within=t_county,
            max_zones=design.replicates.max_zones, fay_rho=design.replicates.fay_rho)
        # National and provincial estimates: counties are the PSUs, paired within provinces, on the national
        # weight (the within-county final weight over the county's inclusion probability).
        county_pi, county_national, county_province, county_pos = _county_design(cycle, np.unique(t_county))
        idx = np.searchsorted(np.unique(t_county), t_county)
        national = np.where(county_national[idx], final / county_pi[idx], 0.0)
        national_rep, national_scheme = replicate_weights(
            national, t_county, scheme=design.replicates.scheme, stratum=county_province[idx],
            sort_key=county_pos[idx], max_zones=design.replicates.max_zones, fay_rho=design.replicates.fay_rho)
    previous = active_run(cycle, Stage.WEIGHTS)
    if previous is not None:
        previous.status = RunStatus.SUPERSEDED
        previous.save(update_fields=["status"])
        ReplicateWeights.objects.filter(run=previous).delete()
    run = _new_run(actor=actor, cycle=cycle, stage=Stage.WEIGHTS, seed=school_run.seed, design=design)
    run.frame_hash = school_run.frame_hash
    SampledSchool.objects.filter(run=school_run).update(adjusted_weight=None)
    SampledSchool.objects.bulk_update(
        [SampledSchool(pk=sid, adjusted_weight=value) for sid, value in
         zip(s_id[participating].tolist(), school_adj[participating].tolist(), strict=True)],
        ["adjusted_weight"], batch_size=1000)
    objs = [SampledStudent(pk=i, final_weight=f, national_weight=g)
            for i, f, g in zip(t_id.tolist(), final.tolist(), national.tolist(), strict=True)]
    SampledStudent.objects.bulk_update(objs, ["final_weight", "national_weight"], batch_size=1000)
    ids_bytes = adapters.npy_bytes(t_id)
    for scope, rep_w, rep_scheme in ((ReplicateScope.COUNTY, county_rep, county_scheme),
                                     (ReplicateScope.NATIONAL, national_rep, national_scheme)):
        data = adapters.npy_bytes(rep_w.astype(np.float32))
        ReplicateWeights.objects.create(
            run=run, scope=scope, scheme=rep_scheme.kind, scale=rep_scheme.scale,
            rscales=adapters.npy_bytes(rep_scheme.rscales),
            n_rows=rep_w.shape[0], n_replicates=rep_w.shape[1], data=data, student_ids=ids_bytes,
            sha256=hashlib.sha256(data).hexdigest())
    sums = np.bincount(np.unique(group, return_inverse=True)[1], weights=final)
    run.status = RunStatus.DONE
    run.summary = {**run.summary, "students": len(t_id), "respondents": int(responded.sum()),
                   "schools_participating": int(participating.sum()), "replicates": int(county_rep.shape[1]),
                   "national_replicates": int(national_rep.shape[1]), "scheme": county_scheme.kind,
                   "national_weight_total": float(national.sum()), "weight_total": float(final.sum()),
                   "frame_total": float(sum(frame_totals.values())), "groups": len(sums),
                   "computed_at": timezone.now().isoformat()}
    run.save(update_fields=["frame_hash", "status", "summary"])
    audit_record(actor=actor, action="sampling.weights_compute", object_type="SampleRun", object_id=run.pk,
                 after=_run_after(run))
    return run


def _frame_totals(county_ids: np.ndarray) -> dict[int, int]:
    """Frame enrollment by (county id × 10 + grade) for the given counties: one grouped query."""
    rows = (School.objects.filter(county_id__in=county_ids.tolist()).values("county_id")
            .annotate(g4=Sum("g4_enrollment"), g8=Sum("g8_enrollment")).order_by())
    out: dict[int, int] = {}
    for r in rows:
        out[r["county_id"] * 10 + 4] = int(r["g4"] or 0)
        out[r["county_id"] * 10 + 8] = int(r["g8"] or 0)
    return out


def _county_design(cycle: Cycle, county_ids: np.ndarray) -> tuple[np.ndarray, ...]:
    """For the given county ids (sorted): π of the county, whether it counts in national estimates, its province
    (as an integer code) and its position in the county draw's sort order, from the active county run."""
    county_run = active_run(cycle, Stage.COUNTY)
    rows = {} if county_run is None else {
        c: (pi, nat, path, pos) for c, pi, nat, path, pos in SampledCounty.objects.filter(
            run=county_run, county_id__in=county_ids.tolist()).values_list(
            "county_id", "pi", "in_national_estimate", "path", "sort_pos")}
    missing = [int(c) for c in county_ids if int(c) not in rows]
    if missing:
        raise InvalidInput(_("有样本校所在的县不在当前样本县中，请重新抽取样本校。"), code="county_not_sampled",
                           details={"county_ids": missing[:20]})
    got = [rows[int(c)] for c in county_ids]
    return (np.array([g[0] for g in got], dtype=np.float64), np.array([g[1] for g in got], dtype=bool),
            np.array([int(g[2][:6]) for g in got], dtype=np.int64), np.array([g[3] for g in got], dtype=np.int64))


def replicate_matrix(run: SampleRun, scope: str = ReplicateScope.COUNTY
                     ) -> tuple[np.ndarray, np.ndarray, ReplicateScheme]:
    """(student ids, replicate weights, variance scheme) of a weights run for county or national estimates,
    checking the stored hash."""
    rw = ReplicateWeights.objects.get(run=run, scope=scope)
    if hashlib.sha256(bytes(rw.data)).hexdigest() != rw.sha256:
        raise PermissionDenied(_("重复权重数据校验失败。"))
    empty = np.zeros(0, dtype=np.int64)
    scheme = ReplicateScheme(rw.scheme, rw.scale, adapters.npy_load(rw.rscales), empty, empty, empty)
    return adapters.npy_load(rw.student_ids), adapters.npy_load(rw.data), scheme


# ------------------------------------------------------------------------------------------- demo


def sample_demo(*, actor: Any, county_actor: Any, county_code: str, seed: int = 2024,
                year: int | None = None) -> dict[str, int]:
    """For the demo: lock the registry as loaded and draw counties and schools (if the current cycle has none
    yet), then in one county mark the
    called-in schools as participating, submit their rosters (``county_actor``, a county officer, on the schools'
    behalf) and draw the students of those with rosters. Idempotent."""
    cycle = cycle_for(year)
    if active_run(cycle, Stage.COUNTY) is None:
        # The synthetic registry was loaded by the national centre itself: lock it as loaded.
        frame_lock(actor=actor, year=cycle.year, accept_unreviewed=True)
        sample_draw(actor=actor, year=cycle.year, stage=Stage.COUNTY, seed=seed)
    if active_run(cycle, Stage.SCHOOL) is None:
        sample_draw(actor=actor, year=cycle.year, stage=Stage.SCHOOL, seed=seed)
    school_run = active_run(cycle, Stage.SCHOOL)
    rows = SampledSchool.objects.filter(run=school_run, county__code=county_code)
    for pk in rows.filter(participation=SchoolParticipation.PENDING).values_list("pk", flat=True):
        school_participation_set(actor=actor, sampled_school_id=pk, participation=SchoolParticipation.PARTICIPATING)
    codes = sorted(set(rows.filter(participation=SchoolParticipation.PARTICIPATING, students__isnull=True)
                       .values_list("school__code", flat=True)))
    with_roster = set(Student.objects.filter(school__code__in=codes).values_list("school__code", flat=True)
                      .distinct())
    drawn = 0
    for code in codes:  # one county: about twenty schools
        if code in with_roster and not SampleRun.objects.filter(cycle=cycle, stage=Stage.STUDENT,
                                                                school__code=code, status__in=ACTIVE).exists():
            if not Submission.objects.filter(kind=SubmissionKind.ROSTER, year=cycle.year, school__code=code,
                                             status__in=SUBMITTED_OR_LATER).exists():
                submission_submit(actor=county_actor, kind=SubmissionKind.ROSTER, year=cycle.year, school_code=code)
            students_draw(actor=actor, year=cycle.year, school_code=code)
            drawn += 1
    return {"counties": SampledCounty.objects.filter(run__cycle=cycle, run__status=RunStatus.DONE).count(),
            "schools": SampledSchool.objects.filter(run=school_run).count(), "student_draws": drawn,
            "students": SampledStudent.objects.filter(cycle=cycle).count()}
