"""Reads of naeq.custody, already scoped to the actor's jurisdiction (:mod:`naeq.custody.access`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

from naeq.core.errors import NotFound
from naeq.custody import alerts as alerts_mod
from naeq.custody.access import (
    counties_visible,
    county_access,
    events_visible,
    keeps_visible,
    may_keep_ledger,
    record_session_access,
    records_visible,
    school_access,
)
from naeq.custody.alerts import Alert
from naeq.custody.models import CustodyEvent, EventKind, KeepStatus, SessionRecord, TwoDayKeep
from naeq.custody.services import on_hand
from naeq.cycles.models import Cycle
from naeq.delivery.access import sessions_visible
from naeq.delivery.models import TestSession
from naeq.registry.models import Region, School


def alerts(actor: Any, cycle: Cycle, now: dt.datetime) -> list[Alert]:
    """The custody alerts of every county in the actor's jurisdiction (county staff and above; school staff and
    test takers get none)."""
    return alerts_mod.compute(cycle, counties_visible(actor=actor).order_by("code"), now)


@dataclass
class Ledger:
    county: Region
    events: list[CustodyEvent]
    alerts: list[Alert]
    on_hand: int
    open_issues: list[CustodyEvent]
    keeps_approved: list[TwoDayKeep]
    schools: list[School]
    can_write: bool
    totals: dict[str, int] = field(default_factory=dict)


def ledger(*, actor: Any, cycle: Cycle, county_code: str, now: dt.datetime) -> Ledger:
    county = county_access(actor=actor, code=county_code)
    events = list(CustodyEvent.objects.filter(cycle=cycle, county=county).select_related(
        "school", "recorded_by", "issue", "keep").order_by("at", "id"))
    returned = {e.issue_id for e in events if e.kind == EventKind.RETURNED}
    totals: dict[str, int] = {k: 0 for k in EventKind.values}
    for e in events:
        totals[e.kind] += e.boxes
    return Ledger(
        county=county, events=events, alerts=alerts_mod.compute(cycle, [county], now), on_hand=on_hand(cycle, county),
        open_issues=[e for e in events if e.kind == EventKind.ISSUED and e.pk not in returned],
        keeps_approved=list(TwoDayKeep.objects.filter(cycle=cycle, county=county, status=KeepStatus.APPROVED)
                            .select_related("school")),
        schools=list(School.objects.filter(county=county).order_by("code")),
        can_write=may_keep_ledger(actor=actor, county=county), totals=totals)


@dataclass(frozen=True)
class CountyRow:
    county: Region
    received: int
    issued: int
    returned: int
    mailed: int
    alerts: int


def county_overview(*, actor: Any, cycle: Cycle, now: dt.datetime) -> list[CountyRow]:
    """One row per county in the jurisdiction that has custody events, with box totals and alert counts."""
    counties = list(counties_visible(actor=actor).filter(
        pk__in=CustodyEvent.objects.filter(cycle=cycle).values("county_id")).order_by("code"))
    sums: dict[int, dict[str, int]] = {}
    for cid, kind, n in (CustodyEvent.objects.filter(cycle=cycle, county__in=counties)
                         .values("county_id", "kind").annotate(n=Sum("boxes"))
                         .values_list("county_id", "kind", "n")):
        sums.setdefault(cid, {})[kind] = n or 0
    counts: dict[str, int] = {}
    for a in alerts_mod.compute(cycle, counties, now):
        counts[a.county_code] = counts.get(a.county_code, 0) + 1
    return [CountyRow(county=c, received=sums.get(c.pk, {}).get("received", 0),
                      issued=sums.get(c.pk, {}).get("issued", 0), returned=sums.get(c.pk, {}).get("returned", 0),
                      mailed=sums.get(c.pk, {}).get("mailed", 0), alerts=counts.get(c.code, 0)) for c in counties]


@dataclass
class SchoolCustody:
    school: School
    events: list[CustodyEvent]
    keeps: list[TwoDayKeep]
    sessions: list[TestSession]
    recorded: dict[int, int]  # session id -> number of room records


def school_custody(*, actor: Any, cycle: Cycle, school_code: str) -> SchoolCustody:
    """What a school received and returned, its two-day keeps, and its sessions with their record counts."""
    school = school_access(actor=actor, code=school_code)
    sessions = list(sessions_visible(actor=actor).filter(cycle=cycle, school=school, kind="formal")
                    .order_by("starts_at", "id"))
    recorded = dict(SessionRecord.objects.filter(session__in=sessions).values("session_id")
                    .annotate(n=Count("id")).values_list("session_id", "n"))
    return SchoolCustody(
        school=school,
        events=list(CustodyEvent.objects.filter(cycle=cycle, school=school).select_related("issue", "keep")
                    .order_by("at", "id")),
        keeps=list(TwoDayKeep.objects.filter(cycle=cycle, school=school)), sessions=sessions, recorded=recorded)


def keep_list(*, actor: Any, cycle: Cycle, status: str = "") -> QuerySet[TwoDayKeep]:
    qs = keeps_visible(actor=actor).filter(cycle=cycle).select_related("school", "county", "requested_by",
                                                                       "decided_by")
    return qs.filter(status=status) if status else qs


def event_list(*, actor: Any, cycle: Cycle) -> QuerySet[CustodyEvent]:
    return events_visible(actor=actor).filter(cycle=cycle)


def session_records(*, actor: Any, session_id: int) -> tuple[TestSession, list[SessionRecord]]:
    session = record_session_access(actor=actor, session_id=session_id)
    return session, list(records_visible(actor=actor).filter(session=session).order_by("room"))


def session_record_rooms(*, actor: Any, session: TestSession) -> list[str] | None:
    """The rooms of the session's 测试情况记录表 the actor may read, or None when the session has no records form
    (county sessions) or the actor may not see it."""
    if session.school_id is None:
        return None
    try:
        record_session_access(actor=actor, session_id=session.pk)
    except NotFound:
        return None
    return list(records_visible(actor=actor).filter(session=session).order_by("room").values_list("room", flat=True))


def test_rooms(cycle: Cycle, *, county_id: int | None = None, school_id: int | None = None,
               county_ids: list[int] | None = None) -> dict[tuple[int, dt.date], int]:
    """The number of distinct test rooms per (school id, local test day) named in the 测试情况记录表 of the formal
    student sessions of a county or a school: for the staffing rule "one proctor per test room". No actor: only
    counts, handed by the web layer to a jurisdiction-checked staffing selector."""
    from naeq.custody.services import local_date

    qs = SessionRecord.objects.filter(session__cycle=cycle, session__kind="formal", session__respondent="student")
    if county_id is not None:
        qs = qs.filter(session__county_id=county_id)
    if school_id is not None:
        qs = qs.filter(session__school_id=school_id)
    if county_ids is not None:
        qs = qs.filter(session__county_id__in=county_ids)
    seen: dict[tuple[int, dt.date], set[str]] = {}
    for sid, starts, room in qs.values_list("session__school_id", "session__starts_at", "room"):
        seen.setdefault((sid, local_date(starts)), set()).add(room)
    return {k: len(v) for k, v in seen.items()}


def test_rooms_of(*, year: int | None, county_code: str = "", school_code: str = ""
                  ) -> dict[tuple[int, dt.date], int]:
    """:func:`test_rooms` of the county or school with this code in the cycle of ``year`` (default: current)."""
    from naeq.cycles.selectors import cycle_current

    cycle = Cycle.objects.filter(year=year).first() if year is not None else cycle_current()
    if cycle is None:
        return {}
    if county_code:
        county = Region.objects.filter(code=county_code).values_list("pk", flat=True).first()
        return test_rooms(cycle, county_id=county) if county is not None else {}
    school = School.objects.filter(code=school_code).values_list("pk", flat=True).first()
    return test_rooms(cycle, school_id=school) if school is not None else {}


def session_attendance(session: TestSession) -> dict[str, Any]:
    """The attendance of a session summed over its rooms' 测试情况记录表, for the test-taker information the school
    reports after the test (sampling issue). No actor: the caller has already decided access to ``session``.

    Returns ``{"rooms", "expected", "present", "absent", "absentees": [{"code", "reason", "room"}],
    "pe_exempt": [{"code", "reason", "room"}], "deviations": [{"category", "text", "room"}], "complete"}`` where
    ``complete`` is True when at least one room is recorded.
    """
    records = list(SessionRecord.objects.filter(session=session).order_by("room"))
    out: dict[str, Any] = {"rooms": len(records), "expected": 0, "present": 0, "absent": 0, "absentees": [],
                           "pe_exempt": [], "deviations": [], "complete": bool(records)}
    for r in records:
        out["expected"] += r.expected
        out["present"] += r.present
        out["absent"] += len(r.absentees)
        out["absentees"] += [{**a, "room": r.room} for a in r.absentees]
        out["pe_exempt"] += [{**p, "room": r.room} for p in r.pe_exempt]
        out["deviations"] += [{**d, "room": r.room} for d in r.deviations]
    return out


def records_missing(*, actor: Any, cycle: Cycle) -> QuerySet[TestSession]:
    """Closed formal school sessions in the jurisdiction without any 测试情况记录表."""
    return (sessions_visible(actor=actor).filter(cycle=cycle, kind="formal", school__isnull=False, status="closed")
            .filter(~Q(pk__in=SessionRecord.objects.values("session_id"))))


def session_rooms(*, cycle: Cycle) -> dict[int, list[str]]:
    """Per test session of the cycle: the rooms of its 测试情况记录表 (sorted), for the data-quality screen."""
    out: dict[int, list[str]] = {}
    for session_id, room in (SessionRecord.objects.filter(session__cycle=cycle).order_by("session_id", "room")
                             .values_list("session_id", "room")):
        out.setdefault(int(session_id), []).append(str(room))
    return out
