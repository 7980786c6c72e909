"""Reads of naeq.readiness, scoped through :mod:`naeq.readiness.access`.

``readiness_summary(actor=..., cycle=...)`` is the dashboard feed: one row per sample county in the actor's
jurisdiction with the count of its sample schools in each self-check status, how many have every required post
trained, and the county's own self-check status.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet

from naeq.cycles.models import Cycle
from naeq.readiness import access
from naeq.readiness.config import Checklist, Post, config_for
from naeq.readiness.models import CheckStatus, Evidence, SelfCheck, TrainingAttendance, TrainingEvent, UnitKind
from naeq.readiness.services import completeness_problems, minimums_for, needs_remedy
from naeq.registry.models import Region, School

STATUSES = [s.value for s in CheckStatus]


def training_list(*, actor: Any, cycle: Cycle) -> QuerySet[TrainingEvent]:
    access.staff(actor)
    return (access.trainings_visible(actor=actor).filter(cycle=cycle).select_related("region", "school")
            .annotate(n_rows=Count("attendance"), n_attended=Count("attendance", filter=Q(attendance__attended=True)))
            .order_by("-date", "-id"))


@dataclass(frozen=True)
class TrainingDetail:
    event: TrainingEvent
    rows: list[TrainingAttendance]
    topic_names: list[str]
    post_names: dict[str, str]
    may_write: bool


def training_detail(*, actor: Any, event_id: int) -> TrainingDetail:
    event = access.training_access(actor=actor, event_id=event_id)
    config = config_for(event.cycle.year)
    rows = event.attendance.select_related("school")
    j_school = access.jurisdiction_of(actor).school_id
    if j_school is not None:  # a school sees its own people on a county's attendance sheet, not other schools'
        rows = rows.filter(school_id=j_school)
    elif not access.jurisdiction_of(actor).is_national:
        rows = rows.filter(Q(school__isnull=True) | Q(school__path__startswith=access.jurisdiction_of(actor).path))
    names = config.topic_names()
    return TrainingDetail(event=event, rows=list(rows), topic_names=[names.get(t, t) for t in event.topics],
                          post_names=config.post_names(), may_write=access.may_write_training(actor=actor,
                                                                                              event=event))


@dataclass(frozen=True)
class CoverageRow:
    school: School
    trained: dict[str, int]  # post code -> people trained (attended)
    missing: list[str]  # required post codes nobody was trained for

    @property
    def complete(self) -> bool:
        return not self.missing


@dataclass(frozen=True)
class Coverage:
    posts: tuple[Post, ...]
    rows: list[CoverageRow]

    @property
    def complete(self) -> int:
        return sum(r.complete for r in self.rows)


def _schools(actor: Any, cycle: Cycle) -> list[School]:
    ids = access.sample_schools(actor=actor, cycle=cycle).values("school_id")
    return list(School.objects.filter(pk__in=ids).select_related("county").order_by("path", "code"))


def coverage(*, actor: Any, cycle: Cycle) -> Coverage:
    """For each sample school in the actor's jurisdiction: trained people per required post (three queries)."""
    access.staff(actor)
    posts = config_for(cycle.year).required_posts
    schools = _schools(actor, cycle)
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for r in (TrainingAttendance.objects.filter(event__cycle=cycle, attended=True,
                                                school_id__in=[s.pk for s in schools])
              .values("school_id", "post").annotate(n=Count("id")).order_by()):
        counts[r["school_id"]][r["post"]] = r["n"]
    rows = [CoverageRow(school=s, trained={p.code: counts[s.pk].get(p.code, 0) for p in posts},
                        missing=[p.code for p in posts if not counts[s.pk].get(p.code)]) for s in schools]
    return Coverage(posts=posts, rows=rows)


@dataclass(frozen=True)
class UnitStatus:
    kind: str
    code: str
    name: str
    county_name: str
    status: str
    check: SelfCheck | None

    @property
    def status_label(self) -> str:
        return str(CheckStatus(self.status).label)


def unit_statuses(*, actor: Any, cycle: Cycle, kind: str) -> list[UnitStatus]:
    """Every sample school (or county) in the actor's jurisdiction with its self-check status (two queries)."""
    access.staff(actor)
    checks = access.checks_visible(actor=actor).filter(cycle=cycle, kind=kind)
    if kind == UnitKind.SCHOOL:
        by_school = {c.school_id: c for c in checks}
        return [UnitStatus(kind=kind, code=s.code, name=s.name, county_name=s.county.name,
                           status=by_school[s.pk].status if s.pk in by_school else CheckStatus.NOT_STARTED,
                           check=by_school.get(s.pk)) for s in _schools(actor, cycle)]
    by_county = {c.county_id: c for c in checks}
    ids = access.sample_counties(actor=actor, cycle=cycle).values("county_id")
    counties = Region.objects.filter(pk__in=ids).select_related("parent").order_by("code")
    return [UnitStatus(kind=kind, code=c.code, name=c.name, county_name=c.parent.name if c.parent else "",
                       status=by_county[c.pk].status if c.pk in by_county else CheckStatus.NOT_STARTED,
                       check=by_county.get(c.pk)) for c in counties]


@dataclass(frozen=True)
class ItemView:
    item: Any
    answer: dict[str, Any]
    evidence: list[Evidence]
    minimum: int | None
    remedy_needed: bool


@dataclass(frozen=True)
class CheckView:
    kind: str
    unit: School | Region
    checklist: Checklist
    check: SelfCheck | None
    sections: list[tuple[str, list[ItemView]]]
    may_fill: bool
    may_review: bool
    blocking: list[str] = field(default_factory=list)  # what stops a submission now

    @property
    def status(self) -> str:
        return self.check.status if self.check else CheckStatus.NOT_STARTED

    @property
    def status_label(self) -> str:
        return str(CheckStatus(self.status).label)

    @property
    def editable(self) -> bool:
        return self.may_fill and (self.check is None or self.check.editable)


def check_view(*, actor: Any, cycle: Cycle, kind: str, code: str,
               posted: dict[str, dict[str, str]] | None = None) -> CheckView:
    """A unit's self-check as its page shows it; ``posted`` overlays answers from a form that failed to save."""
    obj = access.unit(actor=actor, cycle=cycle, kind=kind, code=code)
    checklist = config_for(cycle.year).checklists[kind]
    checks = SelfCheck.objects.filter(cycle=cycle, kind=kind).select_related("submitted_by", "reviewed_by")
    check = checks.filter(school=obj).first() if isinstance(obj, School) else checks.filter(county=obj).first()
    evidence: dict[str, list[Evidence]] = defaultdict(list)
    if check is not None:
        for ev in check.evidence.all():
            evidence[ev.item_id].append(ev)
    minimums = minimums_for(cycle, checklist, obj)
    answers = dict(check.answers) if check else {}
    if posted is not None:
        answers = {k: dict(v) for k, v in posted.items()}
    sections = [(name, [ItemView(item=i, answer=answers.get(i.id) or {}, evidence=evidence.get(i.id, []),
                                 minimum=minimums.get(i.id),
                                 remedy_needed=needs_remedy(i, _typed(i, answers.get(i.id) or {}), minimums))
                        for i in items]) for name, items in checklist.sections()]
    blocking = [str(p) for p in completeness_problems(checklist, check.answers, minimums, set(evidence)).problems] \
        if check is not None else []
    return CheckView(kind=kind, unit=obj, checklist=checklist, check=check, sections=sections,
                     may_fill=access.may_fill(actor=actor, kind=kind, unit_obj=obj),
                     may_review=access.may_review(actor=actor, kind=kind, unit_obj=obj), blocking=blocking)


def _typed(item: Any, answer: dict[str, Any]) -> dict[str, Any]:
    value = answer.get("value")
    if item.type == "number" and isinstance(value, str):
        return {**answer, "value": int(value) if value.isdigit() else None}
    return answer


@dataclass(frozen=True)
class CountyReadiness:
    county: Region
    schools: int
    by_status: dict[str, int]  # school self-checks per status (not_started, draft, submitted, returned, approved)
    trained_complete: int  # schools with every required post trained
    county_status: str  # the county's own self-check

    @property
    def county_status_label(self) -> str:
        return str(CheckStatus(self.county_status).label)

    @property
    def approved(self) -> int:
        return self.by_status.get(CheckStatus.APPROVED, 0)


def readiness_summary(*, actor: Any, cycle: Cycle) -> list[CountyReadiness]:
    """Per sample county in the actor's jurisdiction: school self-checks per status, training coverage, the
    county's own self-check status. For dashboards; school staff get their county's row for their school only."""
    access.staff(actor)
    schools = _schools(actor, cycle)
    cov = {r.school.pk: r.complete for r in coverage(actor=actor, cycle=cycle).rows}
    checks = access.checks_visible(actor=actor).filter(cycle=cycle)
    school_status = {c.school_id: c.status for c in checks if c.kind == UnitKind.SCHOOL}
    county_status = {c.county_id: c.status for c in checks if c.kind == UnitKind.COUNTY}
    per: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(STATUSES, 0))
    trained: dict[int, int] = defaultdict(int)
    total: dict[int, int] = defaultdict(int)
    counties: dict[int, Region] = {}
    for s in schools:
        counties[s.county_id] = s.county
        per[s.county_id][school_status.get(s.pk, CheckStatus.NOT_STARTED)] += 1
        trained[s.county_id] += int(cov.get(s.pk, False))
        total[s.county_id] += 1
    if access.jurisdiction_of(actor).school_id is None:
        ids = access.sample_counties(actor=actor, cycle=cycle).values("county_id")
        for c in Region.objects.filter(pk__in=ids):
            counties.setdefault(c.pk, c)
    return [CountyReadiness(county=c, schools=total[c.pk], by_status=dict(per[c.pk]), trained_complete=trained[c.pk],
                            county_status=county_status.get(c.pk, CheckStatus.NOT_STARTED))
            for c in sorted(counties.values(), key=lambda r: r.code)]
