"""Reads of the sample, scoped by :mod:`naeq.sampling.access`.

Every list is one or two queries whatever its length (``select_related`` and grouped aggregates), so the county
progress table for 340 counties costs the same as for one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from naeq.core.errors import InvalidInput, NotFound, PermissionDenied
from naeq.cycles.models import Cycle
from naeq.cycles.selectors import cycle_for
from naeq.registry.models import Submission, SubmissionKind, SubmissionStatus
from naeq.sampling.access import (
    require_national,
    require_region_reader,
    sampled_counties_visible,
    sampled_schools_visible,
    sampled_students_visible,
)
from naeq.sampling.models import (
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

ACTIVE = (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.DONE)
SUBMITTED_OR_LATER = (SubmissionStatus.SUBMITTED, SubmissionStatus.APPROVED, SubmissionStatus.LOCKED)
APPROVED = (SubmissionStatus.APPROVED, SubmissionStatus.LOCKED)


def active_run(cycle: Cycle, stage: str) -> SampleRun | None:
    return SampleRun.objects.filter(cycle=cycle, stage=stage, school__isnull=True, status__in=ACTIVE).first()


def run_list(*, actor: Any, year: int | None = None) -> QuerySet[SampleRun]:
    """Every run of the cycle (national staff only), newest first."""
    require_national(actor=actor)
    cycle = cycle_for(year)
    return (SampleRun.objects.filter(cycle=cycle).select_related("created_by", "school", "cycle")
            .order_by("-created_at", "-id"))


def run_get(*, actor: Any, run_id: int) -> SampleRun:
    require_national(actor=actor)
    run = SampleRun.objects.filter(pk=run_id).select_related("created_by", "cycle", "school").first()
    if run is None:
        raise NotFound(_("没有找到该抽样记录。"))
    return run


def _schools_of_cycle(actor: Any, cycle: Cycle) -> QuerySet[SampledSchool]:
    return sampled_schools_visible(actor=actor).filter(run__cycle=cycle, run__status=RunStatus.DONE)


@dataclass(frozen=True)
class CountyProgress:
    county: SampledCounty
    sampled: int  # schools drawn (role sampled), school × grade
    activated: int  # sampled schools and replacements called in
    participating: int
    refused: int
    rosters: int  # activated schools whose roster submission is submitted or further (the review chain)
    students_drawn: int
    reported: int  # schools whose every sampled student has a test-taker status
    approved: int  # schools whose test-taker submission the province has approved (the review chain)


def county_progress(*, actor: Any, year: int | None = None) -> list[CountyProgress]:
    """One row per sampled county in the actor's jurisdiction: two queries in all."""
    require_region_reader(actor=actor)
    cycle = cycle_for(year)
    counties = list(sampled_counties_visible(actor=actor)
                    .filter(run__cycle=cycle, run__status=RunStatus.DONE).select_related("county")
                    .order_by("county__code"))
    has_roster = Exists(Submission.objects.filter(kind=SubmissionKind.ROSTER, year=cycle.year,
                                                  school_id=OuterRef("school_id"), status__in=SUBMITTED_OR_LATER))
    approved = Exists(Submission.objects.filter(kind=SubmissionKind.TEST_TAKERS, year=cycle.year,
                                                school_id=OuterRef("school_id"), status__in=APPROVED))
    drawn = Exists(SampledStudent.objects.filter(sampled_school_id=OuterRef("pk")))
    pending = Exists(SampledStudent.objects.filter(sampled_school_id=OuterRef("pk"),
                                                   status=StudentStatus.PENDING))
    active = ~Q(participation__in=[SchoolParticipation.RESERVE, SchoolParticipation.REFUSED])
    rows = (_schools_of_cycle(actor, cycle)
            .annotate(has_roster=has_roster, drawn=drawn, pending=pending, tt_approved=approved)
            .values("county_id")
            .annotate(sampled=Count("id", filter=Q(role=SchoolRole.SAMPLED)),
                      activated=Count("id", filter=~Q(participation=SchoolParticipation.RESERVE)),
                      participating=Count("id", filter=Q(participation=SchoolParticipation.PARTICIPATING)),
                      refused=Count("id", filter=Q(participation=SchoolParticipation.REFUSED)),
                      rosters=Count("id", filter=active & Q(has_roster=True)),
                      students_drawn=Count("id", filter=Q(drawn=True)),
                      reported=Count("id", filter=Q(drawn=True, pending=False)),
                      approved=Count("id", filter=Q(drawn=True, tt_approved=True)))
            .order_by())
    by_county: dict[int, dict[str, Any]] = {r["county_id"]: dict(r) for r in rows}
    zero = {"sampled": 0, "activated": 0, "participating": 0, "refused": 0, "rosters": 0, "students_drawn": 0,
            "reported": 0, "approved": 0}
    out = []
    for c in counties:  # one row per sampled county (≤ 340): building the table, not a hot path
        r = by_county.get(c.county_id, zero)
        out.append(CountyProgress(county=c, **{k: r[k] for k in zero}))
    return out


@dataclass(frozen=True)
class CountySample:
    county: SampledCounty
    schools: list[SampledSchool]


def county_sample(*, actor: Any, code: str, year: int | None = None) -> CountySample:
    """A sampled county and its sampled and replacement schools (two queries)."""
    require_region_reader(actor=actor)
    cycle = cycle_for(year)
    county = (sampled_counties_visible(actor=actor)
              .filter(run__cycle=cycle, run__status=RunStatus.DONE, county__code=code)
              .select_related("county").first())
    if county is None:
        raise NotFound(_("没有找到该样本县。"))
    schools = list(_schools_of_cycle(actor, cycle).filter(county_id=county.county_id)
                   .select_related("school", "replaces__school").order_by("grade", "sort_pos", "role"))
    return CountySample(county=county, schools=schools)


@dataclass(frozen=True)
class SchoolSample:
    school_rows: list[SampledSchool]  # the school's rows (one per grade it was drawn or held in reserve for)
    students: list[SampledStudent]
    test_takers: Submission | None  # the school's test-taker submission in the review chain, if started

    @property
    def school(self) -> Any:
        return self.school_rows[0].school


def school_sample(*, actor: Any, code: str, year: int | None = None) -> SchoolSample:
    """A school's sample rows, its sampled students and its test-taker submission (three queries)."""
    cycle = cycle_for(year)
    rows = list(_schools_of_cycle(actor, cycle).filter(school__code=code)
                .select_related("school", "county", "replaces__school").order_by("grade", "role"))
    if not rows:
        raise NotFound(_("没有找到该样本校。"))
    students = list(sampled_students_visible(actor=actor)
                    .filter(cycle=cycle, sampled_school__in=[r.pk for r in rows])
                    .select_related("student").order_by("grade", "seq"))
    submission = Submission.objects.filter(kind=SubmissionKind.TEST_TAKERS, year=cycle.year,
                                           school_id=rows[0].school_id).first()
    return SchoolSample(school_rows=rows, students=students, test_takers=submission)


def sampled_school_for_write(*, actor: Any, sampled_school_id: int) -> SampledSchool:
    """A sampled school row of the active school run, if visible to the actor (the write check is the
    service's)."""
    row = (sampled_schools_visible(actor=actor).filter(pk=sampled_school_id, run__status=RunStatus.DONE,
                                                      run__stage=Stage.SCHOOL)
           .select_related("school", "run", "replaces").first())
    if row is None:
        raise NotFound(_("没有找到该样本校。"))
    return row


@dataclass(frozen=True)
class SchoolDocuments:
    school_name: str
    county_name: str
    rows: list[Any]  # naeq.sampling.documents.SlipRow
    test_time_lines: list[str]
    hotline: str  # the county's supervision hotline (监督专线), "" when the county has not set it


def school_documents(*, actor: Any, code: str, year: int | None = None) -> SchoolDocuments:
    """What the credential slips and the notice board of a school print. They carry names: the school's own staff
    and its county only (:func:`naeq.sampling.access.may_see_names`)."""
    from naeq.cycles.selectors import schedule_for
    from naeq.sampling.access import may_see_names
    from naeq.sampling.documents import SlipRow

    sample = school_sample(actor=actor, code=code, year=year)
    if not may_see_names(actor=actor):
        raise PermissionDenied(_("只有学校和县级账户可以下载带姓名的材料。"))
    cycle = cycle_for(year)
    school = sample.school
    participation = (SampledCounty.objects.filter(run__cycle=cycle, run__status=RunStatus.DONE,
                                                  county_id=school.county_id)
                     .values_list("participation", flat=True).first() or "sample")
    names = {s.code: s.name for s in cycle.config.subjects}
    entries = [e for e in schedule_for(cycle, school_level=school.level, participation=participation,
                                       province_code=school.path[:6])
               if "student" in e.respondents]
    lines = [f"{e.date:%m-%d} {e.start:%H:%M}–{e.end:%H:%M} {e.title}" if e.start and e.end
             else f"{e.date:%m-%d} {e.title}" for e in entries]
    county_name = sample.school_rows[0].county.name
    rows = [SlipRow(test_id=s.test_id, name=s.student.name, sex=s.student.get_sex_display(), school_name=school.name,
                    county_name=county_name, grade=s.grade, class_no=s.student.class_no,
                    booklets={names.get(k, k): v for k, v in sorted(s.booklets.items())}, sessions=lines)
            for s in sample.students]
    return SchoolDocuments(school_name=school.name, county_name=county_name, rows=rows, test_time_lines=lines,
                           hotline=sample.school_rows[0].county.supervision_hotline)


#: The notice board is posted "于测试前一天 … 公示期为 5 天" (2024-nanchang-city-plan.txt 二(二)(6)).
NOTICE_POSTED_BEFORE_DAYS = 1
NOTICE_DAYS = 5


@dataclass(frozen=True)
class PublicNotice:
    """What the public notice-board page of a sample school shows: no names (the plan's list of test takers is
    "预留位置", filled in at the school after check-in), only the facts the school posts at its gate."""

    school_code: str
    school_name: str
    county_name: str
    test_time_lines: list[str]
    hotline: str
    takers: int
    posted_from: date
    posted_until: date


def public_notice(*, code: str, today: date, year: int | None = None) -> PublicNotice:
    """The notice board of a participating sample school, for anyone — but only while it is posted: from the day
    before the school's first test day, for five days. Before and after, and for any school that is not a
    participating sample school, :class:`NotFound` with one message (which schools are sampled is not public
    before the school posts it)."""
    from naeq.cycles.selectors import schedule_for

    not_found = NotFound(_("没有找到该学校的监测公示。"))
    try:
        cycle = cycle_for(year)
    except InvalidInput:
        raise not_found from None
    rows = list(SampledSchool.objects.filter(run__cycle=cycle, run__status=RunStatus.DONE, school__code=code,
                                             participation=SchoolParticipation.PARTICIPATING)
                .select_related("school", "county"))
    if not rows:
        raise not_found
    school, county = rows[0].school, rows[0].county
    participation = (SampledCounty.objects.filter(run__cycle=cycle, run__status=RunStatus.DONE, county_id=county.pk)
                     .values_list("participation", flat=True).first() or "sample")
    entries = [e for e in schedule_for(cycle, school_level=school.level, participation=participation,
                                       province_code=school.path[:6]) if "student" in e.respondents]
    if not entries:
        raise not_found
    first = min(e.date for e in entries)
    posted_from = first - timedelta(days=NOTICE_POSTED_BEFORE_DAYS)
    posted_until = posted_from + timedelta(days=NOTICE_DAYS - 1)
    if not posted_from <= today <= posted_until:
        raise not_found
    lines = [f"{e.date:%m-%d} {e.start:%H:%M}–{e.end:%H:%M} {e.title}" if e.start and e.end
             else f"{e.date:%m-%d} {e.title}" for e in entries]
    takers = SampledStudent.objects.filter(cycle=cycle, sampled_school__in=[r.pk for r in rows]).count()
    return PublicNotice(school_code=school.code, school_name=school.name, county_name=county.name,
                        test_time_lines=lines, hotline=county.supervision_hotline, takers=takers,
                        posted_from=posted_from, posted_until=posted_until)


# ------------------------------------------------------------------------------------------------ screening reads


def student_status_counts(*, cycle: Cycle, grades: list[int]) -> dict[int, dict[str, int]]:
    """Per registry school: the sampled students of the cycle's finished draws (``grades``) by test status
    (``present``, ``absent``, ``pe_exempt``, ``pending``), for the data-quality screen. Unscoped."""
    out: dict[int, dict[str, int]] = {}
    rows = (SampledStudent.objects.filter(cycle=cycle, run__status=RunStatus.DONE, grade__in=grades).order_by()
            .values("sampled_school__school_id", "status").annotate(n=Count("id"))
            .values_list("sampled_school__school_id", "status", "n"))
    for school_id, status, n in rows:
        out.setdefault(int(school_id), {})[str(status)] = int(n)
    return out


def school_roles(*, cycle: Cycle, grades: list[int]) -> dict[int, str]:
    """Per registry school in the cycle's finished school draws (``grades``): its role (``sampled``,
    ``replacement_1``, ``replacement_2``); a school drawn in several roles counts as sampled. Unscoped."""
    out: dict[int, str] = {}
    for school_id, role in (SampledSchool.objects.filter(run__cycle=cycle, run__status=RunStatus.DONE,
                                                         grade__in=grades)
                            .order_by("school_id", "role").values_list("school_id", "role")):
        if out.get(int(school_id)) != SchoolRole.SAMPLED:
            out[int(school_id)] = str(role)
    return out
