"""Reads of the timeline: each milestone's state per unit (stored or derived), the progress table, overdue items,
a unit's timeline and the report review queue. Every read is scoped by :mod:`naeq.timeline.access`.

States are computed for many units at once in a fixed number of queries: the stored manual statuses, the
registry submissions (属地学校信息, 样本校名单, 测试生基本信息), the formal test sessions per school and the reports.

**Overdue** (design, documented in docs/timeline.md): a milestone is overdue when its deadline has passed and the
unit has not done its part — it is not started, a draft, or returned for revision. A submission waiting for the
level above is not the unit's delay and is not overdue.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from naeq.accounts.jurisdiction import jurisdiction_of
from naeq.cycles.models import Cycle
from naeq.delivery.models import SessionKind, SessionStatus, TestSession
from naeq.registry.models import Submission, SubmissionKind, SubmissionStatus
from naeq.timeline import access
from naeq.timeline.config import LEVELS, Milestone, milestones_for
from naeq.timeline.models import REPORT_KIND_OF_LEVEL, MilestoneStatus, Report, ReportAttachment, State
from naeq.timeline.units import Unit, Units

#: States in which the unit still owes the milestone.
OWED = frozenset({State.NOT_STARTED, State.DRAFT, State.RETURNED})
STATE_LABELS = dict(State.choices)

_SUBMISSION_STATE: dict[str, str] = {
    SubmissionStatus.DRAFT: State.NOT_STARTED,
    SubmissionStatus.SUBMITTED: State.SUBMITTED,
    SubmissionStatus.RETURNED: State.RETURNED,
    SubmissionStatus.APPROVED: State.APPROVED,
    SubmissionStatus.LOCKED: State.APPROVED,
}
_DERIVED_KIND = {"registry": SubmissionKind.REGISTRY, "roster": SubmissionKind.ROSTER,
                 "test_takers": SubmissionKind.TEST_TAKERS}


@dataclass(frozen=True)
class Cell:
    """One milestone of one unit."""

    unit: Unit
    milestone: Milestone
    state: str
    overdue: bool
    days_late: int
    status: MilestoneStatus | None = None  # the stored row of a manual milestone
    detail: str = ""  # e.g. "3/4" closed sessions
    late_submitted: bool = False  # a manual milestone submitted after its deadline

    @property
    def state_label(self) -> str:
        return str(STATE_LABELS.get(self.state, self.state))

    @property
    def done(self) -> bool:
        return self.state not in OWED


@dataclass
class Facts:
    """Everything the states of a set of units are computed from (five queries)."""

    statuses: dict[tuple[str, int, int | None], MilestoneStatus] = field(default_factory=dict)
    submissions: dict[tuple[str, int, int | None], str] = field(default_factory=dict)
    sessions: dict[int, tuple[int, int]] = field(default_factory=dict)  # school id -> (closed, total)
    reports: dict[tuple[str, int, int | None], str] = field(default_factory=dict)


def facts_for(cycle: Cycle, *, path: str = "") -> Facts:
    f = Facts()
    for st in MilestoneStatus.objects.filter(cycle=cycle, path__startswith=path).select_related(
            "submitted_by", "reviewed_by"):
        f.statuses[(st.milestone, st.region_id, st.school_id)] = st
    for kind, county_id, school_id, status in (Submission.objects.filter(
            year=cycle.year, county__path__startswith=path).values_list("kind", "county_id", "school_id", "status")):
        f.submissions[(kind, county_id, school_id)] = status
    for row in (TestSession.objects.filter(cycle=cycle, kind=SessionKind.FORMAL, school__isnull=False,
                                           path__startswith=path)
                .values("school_id").annotate(total=Count("id"),
                                              closed=Count("id", filter=Q(status=SessionStatus.CLOSED)))):
        f.sessions[row["school_id"]] = (row["closed"], row["total"])
    for kind, region_id, school_id, state in Report.objects.filter(cycle=cycle, path__startswith=path).values_list(
            "kind", "region_id", "school_id", "state"):
        f.reports[(kind, region_id, school_id)] = state
    return f


def cell_for(unit: Unit, m: Milestone, facts: Facts, today: dt.date) -> Cell:
    status = None
    detail = ""
    if m.derived is None:
        status = facts.statuses.get((m.code, *unit.key))
        state = status.state if status else State.NOT_STARTED
    elif m.derived == "sessions":
        closed, total = facts.sessions.get(unit.school.pk if unit.school else 0, (0, 0))
        state = State.APPROVED if total and closed == total else State.NOT_STARTED
        detail = f"{closed}/{total}"
    elif m.derived == "report":
        state = facts.reports.get((REPORT_KIND_OF_LEVEL[unit.level], *unit.key), State.NOT_STARTED)
    else:
        raw = facts.submissions.get((_DERIVED_KIND[m.derived], *unit.key))
        state = _SUBMISSION_STATE.get(raw, State.NOT_STARTED) if raw else State.NOT_STARTED
    late = (today - m.due).days
    overdue = late > 0 and state in OWED
    late_submitted = bool(status and status.submitted_at and timezone.localdate(status.submitted_at) > m.due)
    return Cell(unit=unit, milestone=m, state=state, overdue=overdue, days_late=late if overdue else 0,
                status=status, detail=detail, late_submitted=late_submitted)


def _scope(actor: Any) -> str:
    j = jurisdiction_of(actor)
    return "" if j.school_id is not None else j.path


# ------------------------------------------------------------------------------------------------ overdue


@dataclass(frozen=True)
class OverdueItem:
    unit: Unit
    milestone: Milestone
    days_late: int
    state: str


def overdue(actor: Any, cycle: Cycle, today: dt.date) -> list[OverdueItem]:
    """The overdue milestones of every unit in the actor's jurisdiction, latest deadline first within the most
    days late. Test takers and anonymous users get an empty list."""
    units = access.units_visible(actor=actor, cycle=cycle)
    if not units.all():
        return []
    return _overdue_of(units, cycle, today, facts_for(cycle, path=_scope(actor)))


def _overdue_of(units: Units, cycle: Cycle, today: dt.date, facts: Facts) -> list[OverdueItem]:
    out = []
    milestones = milestones_for(cycle)
    for unit in units.all():
        for m in milestones:
            if m.level != unit.level or m.due >= today:
                continue
            c = cell_for(unit, m, facts, today)
            if c.overdue:
                out.append(OverdueItem(unit=unit, milestone=m, days_late=c.days_late, state=c.state))
    out.sort(key=lambda i: (-i.days_late, -LEVELS.index(i.unit.level), i.unit.code, i.milestone.code))
    return out


# ------------------------------------------------------------------------------------------------ progress


@dataclass(frozen=True)
class ProgressRow:
    unit: Unit
    cells: list[Cell]
    overdue_below: int  # overdue milestones of the units under this one (a county's schools, ...)

    @property
    def overdue_own(self) -> int:
        return sum(1 for c in self.cells if c.overdue)


@dataclass(frozen=True)
class Progress:
    cycle: Cycle
    level: str  # the level of the rows
    milestones: list[Milestone]
    rows: list[ProgressRow]
    today: dt.date


def progress_rows(units: list[Unit], all_units: Units, cycle: Cycle, facts: Facts, today: dt.date,
                  level: str) -> Progress:
    milestones = [m for m in milestones_for(cycle) if m.level == level]
    # Overdue items counted once per (ancestor path, item level), so a row's count is a dictionary look-up.
    counts: dict[tuple[str, str], int] = {}
    for item in _overdue_of(all_units, cycle, today, facts):
        parts = item.unit.path.split("/")[:-1]
        for n in range(1, len(parts) + 1):
            key = ("/".join(parts[:n]) + "/", item.unit.level)
            counts[key] = counts.get(key, 0) + 1
    rows = []
    for unit in units:
        cells = [cell_for(unit, m, facts, today) for m in milestones]
        lower = LEVELS[:LEVELS.index(unit.level)]
        under = sum(counts.get((unit.path, lvl), 0) for lvl in lower)
        rows.append(ProgressRow(unit=unit, cells=cells, overdue_below=under))
    return Progress(cycle=cycle, level=level, milestones=milestones, rows=rows, today=today)


def overview(*, actor: Any, cycle: Cycle, today: dt.date) -> Progress:
    """The actor's own progress table: provinces for national staff, the province's counties for the province,
    the city's counties for a city viewer, the county's schools for county staff, the own school for school
    staff."""
    j = access.staff(actor)
    units = access.units_visible(actor=actor, cycle=cycle)
    facts = facts_for(cycle, path=_scope(actor))
    if j.school_id is not None:
        return progress_rows(units.schools, units, cycle, facts, today, "school")
    if j.is_national:
        return progress_rows(units.provinces, units, cycle, facts, today, "province")
    if j.level in ("province", "city"):
        return progress_rows(units.counties, units, cycle, facts, today, "county")
    return progress_rows(units.schools, units, cycle, facts, today, "school")


@dataclass(frozen=True)
class UnitTimeline:
    cycle: Cycle
    unit: Unit
    cells: list[Cell]
    children: Progress | None  # a county's schools, a province's counties
    report: Report | None
    may_submit: bool
    may_review: bool
    today: dt.date


def unit_timeline(*, actor: Any, cycle: Cycle, code: str, today: dt.date) -> UnitTimeline:
    """One unit's milestones with deadlines and states, and the table of the units under it."""
    unit = access.unit_access(actor=actor, cycle=cycle, code=code)
    units = access.units_visible(actor=actor, cycle=cycle).filter(lambda u: u.path.startswith(unit.path))
    facts = facts_for(cycle, path=unit.path)
    cells = [cell_for(unit, m, facts, today) for m in milestones_for(cycle) if m.level == unit.level]
    children = None
    if unit.level == "county":
        children = progress_rows([u for u in units.schools if u.region.pk == unit.region.pk], units, cycle, facts,
                                 today, "school")
    elif unit.level == "province":
        children = progress_rows(units.counties, units, cycle, facts, today, "county")
    j = jurisdiction_of(actor)
    report = Report.objects.filter(cycle=cycle, kind=REPORT_KIND_OF_LEVEL[unit.level], region=unit.region,
                                   school=unit.school).first()
    return UnitTimeline(cycle=cycle, unit=unit, cells=cells, children=children, report=report,
                        may_submit=access.may_submit(j, unit), may_review=access.may_review(j, unit), today=today)


# ------------------------------------------------------------------------------------------------ reviews


@dataclass(frozen=True)
class QueueItem:
    unit: Unit
    what: str  # milestone name or report kind label
    milestone: str  # milestone code, "" for a report
    submitted_at: dt.datetime | None


def review_queue(*, actor: Any, cycle: Cycle) -> list[QueueItem]:
    """Submitted milestones and reports the actor reviews."""
    j = access.staff(actor)
    units = access.units_visible(actor=actor, cycle=cycle)
    mine = {u.key: u for u in units.all() if access.may_review(j, u)}
    if not mine:
        return []
    names = {m.code: m.name for m in milestones_for(cycle)}
    out = []
    scope = _scope(actor)
    for st in MilestoneStatus.objects.filter(cycle=cycle, path__startswith=scope, state=State.SUBMITTED):
        unit = mine.get((st.region_id, st.school_id))
        if unit is not None and st.milestone in names:
            out.append(QueueItem(unit=unit, what=names[st.milestone], milestone=st.milestone,
                                 submitted_at=st.submitted_at))
    for rep in Report.objects.filter(cycle=cycle, path__startswith=scope, state=State.SUBMITTED):
        unit = mine.get((rep.region_id, rep.school_id))
        if unit is not None:
            out.append(QueueItem(unit=unit, what=str(rep.get_kind_display()), milestone="",
                                 submitted_at=rep.submitted_at))
    out.sort(key=lambda i: (i.submitted_at or dt.datetime.min.replace(tzinfo=dt.UTC), i.unit.code))
    return out


def reports_visible(*, actor: Any, cycle: Cycle) -> list[tuple[Unit, str]]:
    """(unit, report state) for every unit the actor may read, for the reports list."""
    units = access.units_visible(actor=actor, cycle=cycle)
    facts = facts_for(cycle, path=_scope(actor))
    return [(u, facts.reports.get((REPORT_KIND_OF_LEVEL[u.level], *u.key), State.NOT_STARTED))
            for u in units.all()]


def report_get(*, actor: Any, cycle: Cycle, code: str) -> tuple[Unit, Report | None, bool, bool]:
    """(unit, its report or None, may write it, may review it)."""
    unit = access.unit_access(actor=actor, cycle=cycle, code=code)
    report = (Report.objects.filter(cycle=cycle, kind=REPORT_KIND_OF_LEVEL[unit.level], region=unit.region,
                                    school=unit.school).prefetch_related("attachments").first())
    j = jurisdiction_of(actor)
    return unit, report, access.may_submit(j, unit), access.may_review(j, unit)


def attachment_get(*, actor: Any, cycle: Cycle, code: str, attachment_id: int) -> tuple[ReportAttachment, bytes]:
    """An attachment of a report the actor may read, with its bytes; missing and forbidden alike."""
    from django.utils.translation import gettext as _

    from naeq.core.errors import NotFound
    from naeq.timeline import attachments

    unit = access.unit_access(actor=actor, cycle=cycle, code=code)
    att = ReportAttachment.objects.filter(pk=attachment_id, report__cycle=cycle, report__region=unit.region,
                                          report__school=unit.school).select_related("report").first()
    data = attachments.read(att.report_id, att.stored_name) if att is not None else None
    if att is None or data is None:
        raise NotFound(_("没有找到该附件。"))
    return att, data


def own_unit(*, actor: Any, cycle: Cycle) -> Unit | None:
    """The unit the actor acts for (their school, county or province), or None (city and national staff, or a
    school or county that is not in the sample)."""
    j = access.staff(actor)
    units = access.units_visible(actor=actor, cycle=cycle)
    if j.school_id is not None:
        return next((u for u in units.schools if u.school is not None and u.school.pk == j.school_id), None)
    return next((u for u in [*units.counties, *units.provinces] if u.path == j.path), None)
