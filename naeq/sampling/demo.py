"""Demo: the whole sample of the demo cycle, so that the demo reaches weights (and with them estimates and reports).

:func:`naeq.sampling.services.sample_demo` draws the counties and schools and takes one county (the demo county)
through participation and the student draw, as a county officer would in the UI. :func:`sample_demo_complete`
then does the same for every other sampled county, through the same services, and computes the weights:

* participation of every called-in school: a few (about 3 %, drawn with the demo seed) refuse with a reason, which
  calls in their first replacement (:func:`~naeq.sampling.services.school_participation_set`), and the called-in
  replacements take part;
* the rosters of the synthetic registry are submitted by a county liaison of each county on the schools' behalf
  (one account per county, ``demo_liaison_<county code>``, with no usable password: nobody signs in with it), and
  the students are drawn (:func:`~naeq.sampling.services.students_draw`);
* test-taker statuses: about 4 % of the sampled students absent, the others present
  (:func:`~naeq.sampling.services.test_takers_set`, as the county reports them after the test days);
* :func:`~naeq.sampling.services.weights_compute` (non-response adjustment, calibration, replicate weights).

Idempotent: schools already decided, schools already drawn, students already reported and a weights run that
covers every sampled student are left as they are; a second run adds nothing.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from django.contrib.auth import get_user_model

from naeq.accounts.roles import Role
from naeq.accounts.services import user_create
from naeq.core.errors import InvalidInput
from naeq.registry.models import Region, Student, Submission, SubmissionKind
from naeq.registry.services import submission_submit
from naeq.sampling.models import (
    SampledSchool,
    SampledStudent,
    SampleRun,
    SchoolParticipation,
    SchoolRole,
    Stage,
    StudentStatus,
)
from naeq.sampling.selectors import ACTIVE, SUBMITTED_OR_LATER, active_run, cycle_for
from naeq.sampling.services import (
    school_participation_set,
    students_draw,
    test_takers_set,
    weights_compute,
)

#: Share of the originally sampled schools that refuse (each calls in its first replacement).
REFUSAL_SHARE = 0.03
#: Share of the sampled students reported absent.
ABSENT_SHARE = 0.04
REFUSAL_REASONS = ("学校当周承担地方统一考试，申请不参加。", "学校校舍维修，测试当周停课。",
                   "学校所在乡镇交通中断，无法按时组织测试。")
LIAISON_PREFIX = "demo_liaison_"


def _liaison(county: Region) -> Any:
    """The county liaison who submits the county's rosters on the schools' behalf (created once, no password)."""
    username = f"{LIAISON_PREFIX}{county.code}"
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        user = user_create(actor=None, username=username, password=None, role=Role.COUNTY_LIAISON, region=county,
                           display_name=f"{county.name}县级联络员（演示）")
    return user


def _decide_participation(actor: Any, rows: Any, rng: np.random.Generator) -> int:
    """Participation of every called-in school still pending; returns the number of refusals recorded."""
    refused = 0
    while True:  # a refusal calls in a replacement, pending in its turn: at most three rounds
        pending = list(rows.filter(participation=SchoolParticipation.PENDING).order_by("county__code", "grade",
                                                                                       "school__code", "pk")
                       .values_list("pk", "role"))
        if not pending:
            return refused
        for pk, role in pending:
            if role == SchoolRole.SAMPLED and rng.random() < REFUSAL_SHARE:
                reason = REFUSAL_REASONS[int(rng.integers(len(REFUSAL_REASONS)))]
                school_participation_set(actor=actor, sampled_school_id=pk,
                                         participation=SchoolParticipation.REFUSED, reason=reason)
                refused += 1
            else:
                school_participation_set(actor=actor, sampled_school_id=pk,
                                         participation=SchoolParticipation.PARTICIPATING)


def sample_demo_complete(*, actor: Any, seed: int = 2024, year: int | None = None) -> dict[str, Any]:
    """Participation, rosters, student draws and test-taker statuses in every sampled county, then the weights.
    Returns what was done (all 0 and ``weights`` "exists" on a re-run)."""
    cycle = cycle_for(year)
    school_run = active_run(cycle, Stage.SCHOOL)
    if school_run is None:
        raise InvalidInput("演示需要先抽取样本校。", code="no_school_run")
    rng = np.random.default_rng([seed, 0xC1C1E])
    rows = SampledSchool.objects.filter(run=school_run)
    refused = _decide_participation(actor, rows, rng)
    taking = rows.filter(participation=SchoolParticipation.PARTICIPATING)
    drawn_codes = set(SampleRun.objects.filter(cycle=cycle, stage=Stage.STUDENT, status__in=ACTIVE)
                      .values_list("school__code", flat=True))
    todo = sorted(set(taking.exclude(school__code__in=drawn_codes).values_list("school__code", "school__county_id")))
    with_roster = set(Student.objects.filter(school__code__in=[c for c, _ in todo]).values_list("school__code",
                                                                                                flat=True).distinct())
    submitted = set(Submission.objects.filter(kind=SubmissionKind.ROSTER, year=cycle.year,
                                              status__in=SUBMITTED_OR_LATER).values_list("school__code", flat=True))
    counties = {r.pk: r for r in Region.objects.filter(pk__in={c for _, c in todo})}
    drawn = 0
    for code, county_id in todo:  # every participating school of the sample: under a thousand on a province
        if code not in with_roster:
            continue
        if code not in submitted:
            submission_submit(actor=_liaison(counties[county_id]), kind=SubmissionKind.ROSTER, year=cycle.year,
                              school_code=code)
        students_draw(actor=actor, year=cycle.year, school_code=code)
        drawn += 1
    reported = 0
    pending = (SampledStudent.objects.filter(cycle=cycle, sampled_school__run=school_run,
                                             status=StudentStatus.PENDING)
               .order_by("sampled_school__school__code", "test_id")
               .values_list("sampled_school__school__code", "test_id"))
    by_school: dict[str, list[str]] = {}
    for code, test_id in pending:
        by_school.setdefault(code, []).append(test_id)
    for code, test_ids in sorted(by_school.items()):
        absent = rng.random(len(test_ids)) < ABSENT_SHARE
        statuses = {t: (StudentStatus.ABSENT if a else StudentStatus.PRESENT)
                    for t, a in zip(test_ids, absent.tolist(), strict=True)}
        try:
            reported += test_takers_set(actor=actor, year=cycle.year, school_code=code, statuses=statuses)
        except InvalidInput as exc:
            if exc.code != "submission_not_editable":
                raise
    weights = active_run(cycle, Stage.WEIGHTS)
    n_students = SampledStudent.objects.filter(cycle=cycle, sampled_school__run=school_run).count()
    if weights is not None and (weights.summary or {}).get("students") == n_students:
        state = "exists"
    else:
        weights = weights_compute(actor=actor, year=cycle.year)
        state = "computed"
    return {"refused": refused, "student_draws": drawn, "reported": reported, "students": n_students,
            "weights": state, "weights_run": weights.pk}
