"""Reads of naeq.incidents, already scoped to the actor's jurisdiction (access in :mod:`naeq.incidents.access`).

For the dashboards: :func:`incident_counts` and :func:`hotline_counts`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Prefetch, QuerySet
from django.utils import timezone

from naeq.cycles.models import Cycle
from naeq.delivery.models import SessionKind, TestSession
from naeq.incidents import access
from naeq.incidents.config import default_config
from naeq.incidents.models import CaseState, HandlingEntry, HotlineCall, IncidentCase, IncidentReport, Notice
from naeq.registry.models import School


def case_list(*, actor: Any, cycle: Cycle | None = None, grade: str = "", state: str = "",
              level: str = "") -> QuerySet[IncidentCase]:
    qs = access.cases_visible(actor=actor).select_related("county", "school")
    if cycle is not None:
        qs = qs.filter(cycle=cycle)
    if grade in ("1", "2", "3"):
        qs = qs.filter(grade=int(grade))
    if state in CaseState.values:
        qs = qs.filter(state=state)
    if level in ("school", "county", "city", "province"):
        qs = qs.filter(level=level)
    return qs.order_by("-grade", "-occurred_at", "-id")


@dataclass
class CaseView:
    case: IncidentCase
    log: list[HandlingEntry]
    can_write: bool
    can_close: bool
    escalate_to: list[tuple[str, str]]
    overdue_to: str  # the level a deadline of the grade says the case should have reached by now, or ""
    overdue_to_name: str


def case_detail(*, actor: Any, case_id: int) -> CaseView:
    from naeq.incidents.config import LEVEL_NAMES, LEVELS, level_rank

    case = access.case_access(actor=actor, case_id=case_id)
    entries = list(case.log.select_related("by").order_by("at", "id"))
    can_write = case.state != CaseState.CLOSED and access.may_write_case(actor=actor, case=case)
    return CaseView(
        case=case, log=entries, can_write=can_write,
        can_close=can_write and access.may_close_case(actor=actor, case=case),
        escalate_to=[(lv, str(LEVEL_NAMES[lv])) for lv in LEVELS if level_rank(lv) > level_rank(case.level)],
        overdue_to=overdue_level(case), overdue_to_name=str(LEVEL_NAMES.get(overdue_level(case), "")))


def cases_of_incidents(*, actor: Any, incident_ids: list[int]) -> dict[int, IncidentCase]:
    """The cases of session incidents (incident id -> case) among those the actor may see; an incident whose case
    is outside the actor's jurisdiction is simply absent."""
    if not incident_ids:
        return {}
    return {c.incident_id: c for c in access.cases_visible(actor=actor).filter(incident_id__in=incident_ids)
            if c.incident_id is not None}


def overdue_level(case: IncidentCase, now: dt.datetime | None = None) -> str:
    from naeq.incidents.config import level_rank

    if case.state == CaseState.CLOSED:
        return ""
    now = now or timezone.now()
    for d in default_config().grades[case.grade].escalate_within:
        if level_rank(case.level) < level_rank(d.level) and case.occurred_at + dt.timedelta(hours=d.hours) <= now:
            return d.level
    return ""


def notices_for(*, actor: Any, unread_only: bool = False) -> QuerySet[Notice]:
    if not getattr(actor, "is_authenticated", False):
        return Notice.objects.none()
    qs = Notice.objects.filter(recipient=actor).select_related("case")
    return qs.filter(read_at__isnull=True) if unread_only else qs


# ------------------------------------------------------------------------------------------- counts


@dataclass
class Counts:
    by_grade: dict[int, int]
    open_by_grade: dict[int, int]
    by_unit: list[dict[str, Any]]  # {"county": code, "name": ..., "g1": n, "g2": n, "g3": n, "open": n}
    total: int


def incident_counts(actor: Any, cycle: Cycle) -> Counts:
    """Cases of ``cycle`` the actor may see, by grade and by county (the unit a county's dashboard drills into
    is its school: school staff get their one school)."""
    qs = access.cases_visible(actor=actor).filter(cycle=cycle)
    by_grade = {g: 0 for g in (1, 2, 3)}
    open_by_grade = {g: 0 for g in (1, 2, 3)}
    units: dict[str, dict[str, Any]] = {}
    rows = qs.values("county__code", "county__name", "grade", "state").annotate(n=Count("id"))
    for r in rows:
        by_grade[r["grade"]] += r["n"]
        u = units.setdefault(r["county__code"], {"county": r["county__code"], "name": r["county__name"],
                                                  "g1": 0, "g2": 0, "g3": 0, "open": 0})
        u[f"g{r['grade']}"] += r["n"]
        if r["state"] != CaseState.CLOSED:
            open_by_grade[r["grade"]] += r["n"]
            u["open"] += r["n"]
    return Counts(by_grade=by_grade, open_by_grade=open_by_grade,
                  by_unit=sorted(units.values(), key=lambda u: u["county"]), total=sum(by_grade.values()))


def hotline_counts(actor: Any, cycle: Cycle) -> dict[str, Any]:
    """Calls of ``cycle`` the actor may see: by topic, how many are still open, and by county."""
    qs = access.calls_visible(actor=actor).filter(cycle=cycle)
    by_topic: dict[str, int] = defaultdict(int)
    by_county: dict[str, dict[str, Any]] = {}
    open_n = 0
    for r in qs.values("county__code", "county__name", "topic", "closed_at").annotate(n=Count("id")):
        by_topic[r["topic"]] += r["n"]
        c = by_county.setdefault(r["county__code"], {"county": r["county__code"], "name": r["county__name"],
                                                      "total": 0, "open": 0})
        c["total"] += r["n"]
        if r["closed_at"] is None:
            open_n += r["n"]
            c["open"] += r["n"]
    return {"total": sum(by_topic.values()), "open": open_n, "by_topic": dict(by_topic),
            "by_county": sorted(by_county.values(), key=lambda c: c["county"])}


# ------------------------------------------------------------------------------------------- reports


def _local_date(s: TestSession) -> dt.date:
    return (s.starts_at + dt.timedelta(minutes=s.utc_offset_minutes)).astimezone(dt.UTC).date()


def school_test_days(cycle: Cycle, school_ids: list[int] | None = None) -> dict[int, list[dt.date]]:
    """The test days of each school: the local dates of its formal sessions in ``cycle``."""
    qs = TestSession.objects.filter(cycle=cycle, kind=SessionKind.FORMAL, school__isnull=False)
    if school_ids is not None:
        qs = qs.filter(school_id__in=school_ids)
    days: dict[int, set[dt.date]] = defaultdict(set)
    for s in qs.only("school_id", "starts_at", "utc_offset_minutes"):
        assert s.school_id is not None
        days[s.school_id].add(_local_date(s))
    return {k: sorted(v) for k, v in days.items()}


@dataclass
class ReportRow:
    school: School
    test_date: dt.date
    report: IncidentReport | None
    cases: int
    status: str  # "collected", "filed", "due" (today), "missing" (the day is over), "upcoming"


@dataclass
class ReportStatus:
    rows: list[ReportRow]
    counts: dict[str, int] = field(default_factory=dict)


def report_status(*, actor: Any, cycle: Cycle, today: dt.date | None = None) -> ReportStatus:
    """Every (school, test day) in the actor's jurisdiction with its report form: collected, filed, due today,
    missing (the test day is over and nothing was filed) or upcoming."""
    from naeq.accounts.jurisdiction import jurisdiction_of

    j = access.staff(actor)
    today = today or timezone.localdate()
    sessions = TestSession.objects.filter(cycle=cycle, kind=SessionKind.FORMAL, school__isnull=False)
    if j.school_id is not None:
        sessions = sessions.filter(school_id=j.school_id)
    elif not jurisdiction_of(actor).is_national:
        sessions = sessions.filter(path__startswith=j.path)
    school_ids = sorted(set(sessions.values_list("school_id", flat=True)))
    days = school_test_days(cycle, school_ids)
    schools = {s.pk: s for s in School.objects.filter(pk__in=school_ids).select_related("county")}
    reports = {(r.school_id, r.test_date): r for r in IncidentReport.objects.filter(cycle=cycle,
                                                                                   school_id__in=school_ids)}
    case_days: dict[tuple[int, dt.date], int] = defaultdict(int)
    for sid, at in IncidentCase.objects.filter(cycle=cycle, school_id__in=school_ids).values_list("school_id",
                                                                                                  "occurred_at"):
        case_days[(sid, timezone.localtime(at).date())] += 1
    rows = []
    for sid in school_ids:
        for d in days.get(sid, []):
            rep = reports.get((sid, d))
            if rep is not None:
                status = "collected" if rep.collected_at else "filed"
            elif d < today:
                status = "missing"
            elif d == today:
                status = "due"
            else:
                status = "upcoming"
            rows.append(ReportRow(schools[sid], d, rep, case_days.get((sid, d), 0), status))
    rows.sort(key=lambda r: (r.school.county.code, r.school.code, r.test_date))
    counts = {k: 0 for k in ("collected", "filed", "due", "missing", "upcoming")}
    for r in rows:
        counts[r.status] += 1
    return ReportStatus(rows=rows, counts=counts)


def report_form_data(*, actor: Any, school_code: str, test_date: dt.date, cycle: Cycle) -> dict[str, Any]:
    school = access.require_school_reader(actor=actor, school_code=school_code)
    days = school_test_days(cycle, [school.pk]).get(school.pk, [])
    report = (IncidentReport.objects.filter(cycle=cycle, school=school, test_date=test_date)
              .prefetch_related("cases").first())
    cases = list(IncidentCase.objects.filter(cycle=cycle, school=school, occurred_at__date=test_date)
                 .prefetch_related(Prefetch("log", queryset=HandlingEntry.objects.order_by("at", "id"))))
    return {"school": school, "test_date": test_date, "is_test_day": test_date in days, "report": report,
            "cases": cases, "can_file": access.may_file_report(actor=actor, school=school)
            and not (report and report.collected_at)}


# ------------------------------------------------------------------------------------------- hotline


def call_list(*, actor: Any, cycle: Cycle | None = None, topic: str = "", open_only: bool = False,
              ) -> QuerySet[HotlineCall]:
    access.require_hotline_reader(actor=actor)
    qs = access.calls_visible(actor=actor).select_related("county", "school", "handler", "case")
    if cycle is not None:
        qs = qs.filter(cycle=cycle)
    if topic:
        qs = qs.filter(topic=topic)
    if open_only:
        qs = qs.filter(closed_at__isnull=True)
    return qs.order_by("-received_at", "-id")
