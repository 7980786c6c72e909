"""Test takers of a cycle, generated from its sample: who signs in to the online testing system.

* **Students**: one per sampled student of the cycle's active student runs, with the sample's test ID. Their
  booklets map each student instrument's code to the booklet the sample assigned for the instrument's subject
  (``SampledStudent.booklets`` is keyed by subject code); questionnaires and instruments without a subject take
  booklet 1.
* **Teachers**: the registry's teachers of the sampled grade(s) of every participating sample school, numbered
  ``{school code}T001``, ``T002``, … in a stable order (grade, then registry id). A teacher keeps the number
  once given; teachers added later get the next numbers.
* **Principals**: ``{school code}P001`` for every participating sample school.
* **County managers**: ``{county code}M01`` … ``M05`` per sample county (the count is a keyword argument: the
  seeds do not fix it).

Generation is idempotent: a test ID that exists is left as it is, so running it again adds only what is new.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from naeq.accounts.jurisdiction import jurisdiction_of
from naeq.accounts.roles import Role
from naeq.core.audit import audit_record
from naeq.core.errors import PermissionDenied
from naeq.cycles.models import Cycle
from naeq.delivery.models import Respondent, TestTaker
from naeq.registry.models import Principal, Region, Teacher
from naeq.sampling.models import SampledCounty, SampledSchool, SampledStudent, SampleRun, SchoolParticipation, Stage
from naeq.sampling.selectors import ACTIVE, active_run, cycle_for

DEFAULT_COUNTY_MANAGERS = 5
_BATCH = 2000


def require_generator(actor: Any) -> None:
    """Generation is national configuration work: the national administrator, or the system (CLI, demo)."""
    if actor is None:
        return
    if jurisdiction_of(actor).role != Role.NATIONAL_ADMIN:
        raise PermissionDenied(_("只有国家监测中心管理员可以生成测试对象和测试场次。"))


def participating_schools(cycle: Cycle) -> list[SampledSchool]:
    """The participating rows (school × grade) of the cycle's active school run."""
    run = active_run(cycle, Stage.SCHOOL)
    if run is None:
        return []
    return list(SampledSchool.objects.filter(run=run, participation=SchoolParticipation.PARTICIPATING)
                .select_related("school", "county").order_by("school__code", "grade"))


def sample_counties(cycle: Cycle) -> list[SampledCounty]:
    run = active_run(cycle, Stage.COUNTY)
    if run is None:
        return []
    return list(SampledCounty.objects.filter(run=run).select_related("county").order_by("county__code"))


def student_booklets(cycle: Cycle, by_subject: dict[str, Any]) -> dict[str, int]:
    """Instrument code → booklet number for a student, from the sample's subject → booklet map."""
    out: dict[str, int] = {}
    for inst in cycle.config.instruments:
        if inst.respondent != Respondent.STUDENT:
            continue
        number = by_subject.get(inst.subject) if inst.subject and inst.kind == "test" else None
        out[inst.code] = int(number) if number else 1
    return out


def _students(cycle: Cycle, existing: set[str]) -> list[TestTaker]:
    runs = SampleRun.objects.filter(cycle=cycle, stage=Stage.STUDENT, status__in=ACTIVE)
    rows = (SampledStudent.objects.filter(run__in=runs).exclude(test_id__in=existing)
            .select_related("sampled_school").order_by("test_id"))
    return [TestTaker(cycle=cycle, kind=Respondent.STUDENT, code=s.test_id, county_id=s.sampled_school.county_id,
                      school_id=s.sampled_school.school_id, path=s.path, grade=s.grade,
                      booklets=student_booklets(cycle, s.booklets or {}), sampled_student=s)
            for s in rows.iterator(chunk_size=_BATCH)]


def _teachers(cycle: Cycle, schools: list[SampledSchool]) -> list[TestTaker]:
    grades: dict[int, tuple[SampledSchool, set[int]]] = {}
    for row in schools:
        grades.setdefault(row.school_id, (row, set()))[1].add(row.grade)
    have = {t.teacher_id: t.code for t in TestTaker.objects.filter(cycle=cycle, kind=Respondent.TEACHER)
            .only("teacher_id", "code")}
    taken: dict[str, int] = {}  # school code -> highest teacher number given
    for code in have.values():
        school_code, n = code.split("T", 1)
        taken[school_code] = max(taken.get(school_code, 0), int(n))
    out: list[TestTaker] = []
    teachers = Teacher.objects.filter(school_id__in=list(grades)).order_by("school_id", "grade", "id")
    for t in teachers:
        row, wanted = grades[t.school_id]
        if t.grade not in wanted or t.pk in have:
            continue
        key = row.school.code
        taken[key] = taken.get(key, 0) + 1
        out.append(TestTaker(cycle=cycle, kind=Respondent.TEACHER, code=f"{key}T{taken[key]:03d}",
                             county_id=row.county_id, school_id=row.school_id, path=row.path, grade=t.grade,
                             teacher=t))
    return out


def _principals(cycle: Cycle, schools: list[SampledSchool], existing: set[str]) -> list[TestTaker]:
    out: list[TestTaker] = []
    principals = dict(Principal.objects.filter(school_id__in=[r.school_id for r in schools])
                      .values_list("school_id", "id"))
    seen: set[int] = set()
    for row in schools:
        code = f"{row.school.code}P001"
        if row.school_id in seen or code in existing:
            continue
        seen.add(row.school_id)
        out.append(TestTaker(cycle=cycle, kind=Respondent.PRINCIPAL, code=code, county_id=row.county_id,
                             school_id=row.school_id, path=row.path, principal_id=principals.get(row.school_id)))
    return out


def _county_managers(cycle: Cycle, counties: list[SampledCounty], per_county: int,
                     existing: set[str]) -> list[TestTaker]:
    out: list[TestTaker] = []
    for row in counties:
        county: Region = row.county
        for n in range(1, per_county + 1):
            code = f"{county.code}M{n:02d}"
            if code not in existing:
                out.append(TestTaker(cycle=cycle, kind=Respondent.COUNTY_MANAGER, code=code, county=county,
                                     path=county.path))
    return out


@transaction.atomic
def test_takers_generate(*, actor: Any, year: int | None,
                         county_managers_per_county: int = DEFAULT_COUNTY_MANAGERS) -> dict[str, int]:
    """Create the test takers of the cycle of ``year`` from its sample; returns how many of each kind were
    added (0 everywhere on a re-run)."""
    require_generator(actor)
    cycle = cycle_for(year)
    existing = set(TestTaker.objects.filter(cycle=cycle).values_list("code", flat=True))
    schools = participating_schools(cycle)
    created: dict[str, int] = {}
    for kind, rows in (
        (Respondent.STUDENT, _students(cycle, existing)),
        (Respondent.TEACHER, _teachers(cycle, schools)),
        (Respondent.PRINCIPAL, _principals(cycle, schools, existing)),
        (Respondent.COUNTY_MANAGER, _county_managers(cycle, sample_counties(cycle), county_managers_per_county,
                                                      existing)),
    ):
        TestTaker.objects.bulk_create(rows, batch_size=_BATCH)
        created[str(kind)] = len(rows)
    audit_record(actor=actor, action="delivery.takers_generate", object_type="cycles.Cycle", object_id=cycle.pk,
                 after={"year": cycle.year, "created": created,
                        "county_managers_per_county": county_managers_per_county})
    return created
