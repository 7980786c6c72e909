"""The only place that decides who may see or change training records and self-checks.

From the seeds (2024-nanchang-city-plan.txt; DOMAIN.md "Field operations"): the county organises the trainings
("开展测试程序与工作规范培训") and a school its own ("组织本校监测工作人员培训", 2023-dongli-district-rules.txt);
the school fills its self-check ("参照《样本校测试准备工作自查清单》对本校各项测试准备工作进行自查") and the county
checks it ("逐校核查"); the county fills its own list ("参照《县级测试准备工作自查清单》完成对本县测试准备情况的自查")
and the province reviews counties (审核). City accounts view and supervise, they do not submit (2023 briefing);
national staff read everything. So:

* **Read** (lists, coverage, self-checks, evidence): staff roles within their jurisdiction — a school's staff
  (head, information officer, inspector, chief proctor) their own school; county, city and province staff their
  region; national staff everything. School staff do not see county self-checks.
* **Record trainings**: province coordinator (province level), county liaison and information officer (county
  level), school head and information officer (school level), each in their own unit.
* **Fill and submit a school self-check**: the school's head and information officer.
* **Review a school self-check; fill and submit the county's**: the county's liaison and information officer.
* **Review a county self-check**: the province coordinator.

Missing and out-of-jurisdiction objects raise :class:`NotFound` with the same message; a reader trying to write
gets :class:`PermissionDenied`.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from naeq.accounts.jurisdiction import Jurisdiction, jurisdiction_of
from naeq.accounts.roles import Role
from naeq.core.errors import NotFound, PermissionDenied
from naeq.cycles.models import Cycle
from naeq.readiness.models import Evidence, SelfCheck, TrainingEvent, TrainingLevel, UnitKind
from naeq.registry.models import Region, School
from naeq.sampling.models import RunStatus, SampledCounty, SampledSchool, SchoolParticipation

SCHOOL_FILLERS = frozenset({Role.SCHOOL_HEAD, Role.SCHOOL_INFO_OFFICER})
COUNTY_OFFICERS = frozenset({Role.COUNTY_LIAISON, Role.COUNTY_INFO_OFFICER})
PROVINCE_REVIEWERS = frozenset({Role.PROVINCE_COORDINATOR})
#: Who records a training of each level (in their own unit).
TRAINING_WRITERS: dict[str, frozenset[str]] = {
    TrainingLevel.PROVINCE: PROVINCE_REVIEWERS,
    TrainingLevel.COUNTY: COUNTY_OFFICERS,
    TrainingLevel.SCHOOL: SCHOOL_FILLERS,
}


def staff(actor: Any) -> Jurisdiction:
    j = jurisdiction_of(actor)
    if not j.is_staff_role:
        raise NotFound(_("没有找到该页面。"))
    return j


def _scoped(qs: QuerySet[Any], j: Jurisdiction, *, school_field: str = "school_id") -> QuerySet[Any]:
    if not j.is_staff_role:
        return qs.none()
    if j.school_id is not None:
        return qs.filter(**{school_field: j.school_id})
    if j.is_national:
        return qs
    return qs.filter(path__startswith=j.path)


def sample_schools(*, actor: Any, cycle: Cycle) -> QuerySet[SampledSchool]:
    """The active sampled schools (not reserve, not refused) of ``cycle`` the actor may see."""
    qs = SampledSchool.objects.filter(run__cycle=cycle, run__status=RunStatus.DONE).exclude(
        participation__in=[SchoolParticipation.RESERVE, SchoolParticipation.REFUSED])
    return _scoped(qs, jurisdiction_of(actor))


def sample_counties(*, actor: Any, cycle: Cycle) -> QuerySet[SampledCounty]:
    """The sampled counties of ``cycle`` the actor may see (none for school staff)."""
    j = jurisdiction_of(actor)
    if j.school_id is not None:
        return SampledCounty.objects.none()
    return _scoped(SampledCounty.objects.filter(run__cycle=cycle, run__status=RunStatus.DONE), j)


def trainings_visible(*, actor: Any) -> QuerySet[TrainingEvent]:
    """Trainings the actor may read. A school's staff see their school's trainings and the county's and
    province's trainings above them (where their staff were trained)."""
    j = jurisdiction_of(actor)
    if not j.is_staff_role:
        return TrainingEvent.objects.none()
    if j.school_id is not None:
        above = Q(school__isnull=True) & (Q(path=j.path) | Q(level=TrainingLevel.PROVINCE,
                                                            path=j.path.split("/", 1)[0] + "/"))
        return TrainingEvent.objects.filter(Q(school_id=j.school_id) | above)
    if j.is_national:
        return TrainingEvent.objects.all()
    # A county or city sees its subtree and the province's own trainings.
    return TrainingEvent.objects.filter(Q(path__startswith=j.path) | Q(level=TrainingLevel.PROVINCE,
                                                                        path=j.path.split("/", 1)[0] + "/"))


def training_access(*, actor: Any, event_id: int) -> TrainingEvent:
    event = trainings_visible(actor=actor).select_related("region", "school", "cycle").filter(pk=event_id).first()
    if event is None:
        raise NotFound(_("没有找到该培训记录。"))
    return event


def may_write_training(*, actor: Any, event: TrainingEvent) -> bool:
    j = jurisdiction_of(actor)
    if j.role not in TRAINING_WRITERS.get(event.level, frozenset()):
        return False
    if event.level == TrainingLevel.SCHOOL:
        return j.school_id == event.school_id
    return j.school_id is None and j.path == event.path


def require_training_writer(*, actor: Any, event_id: int) -> TrainingEvent:
    event = training_access(actor=actor, event_id=event_id)
    if not may_write_training(actor=actor, event=event):
        raise PermissionDenied(_("您的账户只能查看该培训记录，不能修改。"))
    return event


def training_level_of(*, actor: Any) -> str | None:
    """The level of training the actor records (their own unit's), or None for readers."""
    j = jurisdiction_of(actor)
    for level, roles in TRAINING_WRITERS.items():
        if j.role in roles:
            return str(level)
    return None


# ------------------------------------------------------------------------------------------- self-check units


def school_unit(*, actor: Any, cycle: Cycle, code: str) -> School:
    """A sample school of ``cycle`` the actor may read."""
    sampled = sample_schools(actor=actor, cycle=cycle).filter(school__code=code).select_related(
        "school", "school__county").first()
    if sampled is None:
        raise NotFound(_("没有找到该样本校。"))
    return sampled.school


def county_unit(*, actor: Any, cycle: Cycle, code: str) -> Region:
    """A sample county of ``cycle`` the actor may read."""
    sampled = sample_counties(actor=actor, cycle=cycle).filter(county__code=code).select_related("county").first()
    if sampled is None:
        raise NotFound(_("没有找到该样本县。"))
    return sampled.county


def unit(*, actor: Any, cycle: Cycle, kind: str, code: str) -> School | Region:
    if kind == UnitKind.SCHOOL:
        return school_unit(actor=actor, cycle=cycle, code=code)
    if kind == UnitKind.COUNTY:
        return county_unit(actor=actor, cycle=cycle, code=code)
    raise NotFound(_("没有找到该页面。"))


def may_fill(*, actor: Any, kind: str, unit_obj: School | Region) -> bool:
    """Whether the actor fills and submits the self-check of ``unit_obj`` (assumed visible)."""
    j = jurisdiction_of(actor)
    if kind == UnitKind.SCHOOL:
        return j.role in SCHOOL_FILLERS and j.school_id == unit_obj.pk
    return j.role in COUNTY_OFFICERS and j.school_id is None and j.path == unit_obj.path


def may_review(*, actor: Any, kind: str, unit_obj: School | Region) -> bool:
    """Whether the actor reviews the self-check of ``unit_obj``: the county its schools, the province its
    counties."""
    j = jurisdiction_of(actor)
    if kind == UnitKind.SCHOOL:
        return j.role in COUNTY_OFFICERS and j.school_id is None and j.path == unit_obj.path
    return j.role in PROVINCE_REVIEWERS and unit_obj.path.startswith(j.path)


def require_filler(*, actor: Any, cycle: Cycle, kind: str, code: str) -> School | Region:
    obj = unit(actor=actor, cycle=cycle, kind=kind, code=code)
    if not may_fill(actor=actor, kind=kind, unit_obj=obj):
        raise PermissionDenied(_("您的账户只能查看该自查表，不能填写或提交。"))
    return obj


def require_reviewer(*, actor: Any, cycle: Cycle, kind: str, code: str) -> School | Region:
    obj = unit(actor=actor, cycle=cycle, kind=kind, code=code)
    if not may_review(actor=actor, kind=kind, unit_obj=obj):
        raise PermissionDenied(_("您的账户不能审核该自查表。"))
    return obj


def checks_visible(*, actor: Any) -> QuerySet[SelfCheck]:
    j = jurisdiction_of(actor)
    qs = _scoped(SelfCheck.objects.all(), j)
    if j.school_id is not None:
        qs = qs.filter(kind=UnitKind.SCHOOL)
    return qs


def evidence_access(*, actor: Any, evidence_id: int) -> Evidence:
    """An evidence file whose self-check the actor may read."""
    ev = Evidence.objects.filter(pk=evidence_id, selfcheck__in=checks_visible(actor=actor)).select_related(
        "selfcheck").first()
    if ev is None:
        raise NotFound(_("没有找到该佐证材料。"))
    return ev
