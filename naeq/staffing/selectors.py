"""Reads of staff lists, scoped by :mod:`naeq.staffing.access`.

The sample schools of a county are those of the cycle's finished school draw that take part (sampled schools and
activated replacements, not refused or reserve ones): those are the units that need staff.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from naeq.cycles.models import Cycle
from naeq.cycles.selectors import cycle_for
from naeq.registry.models import Region, School
from naeq.staffing.access import assignments_visible, county_access, people_visible, school_access
from naeq.staffing.config import Catalogue, catalogue_for
from naeq.staffing.documents import StaffLine
from naeq.staffing.models import StaffAssignment, StaffMember
from naeq.staffing.rules import Violation, violations
from naeq.staffing.units import is_sample_school, sample_schools


@dataclass(frozen=True)
class PostRow:
    post_code: str
    post_name: str
    min: int
    max: int | None
    sent_by: str
    people: list[StaffAssignment]
    editable: bool

    @property
    def short(self) -> bool:
        return len(self.people) < self.min

    @property
    def over(self) -> bool:
        return self.max is not None and len(self.people) > self.max


@dataclass(frozen=True)
class SchoolSummary:
    school: School
    assigned: int
    needed: int
    violations: int


@dataclass(frozen=True)
class CountyStaff:
    cycle: Cycle
    county: Region
    catalogue: Catalogue
    team: list[PostRow]
    schools: list[SchoolSummary]
    violations: list[Violation]
    people: QuerySet[StaffMember]


@dataclass(frozen=True)
class SchoolStaff:
    cycle: Cycle
    school: School
    catalogue: Catalogue
    rows: list[PostRow]
    violations: list[Violation]
    people: list[StaffMember]  # who may be assigned here (the county's people the actor can see)
    is_sample: bool


def _rows(catalogue: Catalogue, level: str, assignments: list[StaffAssignment], editable: Any) -> list[PostRow]:
    return [PostRow(post_code=p.code, post_name=p.name, min=p.min, max=p.max, sent_by=p.sent_by,
                    people=[a for a in assignments if a.post == p.code], editable=editable(p))
            for p in catalogue.posts_at(level)]


def county_staff(*, actor: Any, code: str, year: int | None = None,
                 rooms: Mapping[tuple[int, dt.date], int] | None = None) -> CountyStaff:
    from naeq.staffing.access import may_edit_county

    county = county_access(actor=actor, code=code)
    cycle = cycle_for(year)
    catalogue = catalogue_for(cycle.year)
    team = list(StaffAssignment.objects.filter(cycle=cycle, county=county, school__isnull=True)
                .select_related("person").order_by("post", "id"))
    editable = may_edit_county(actor=actor, county=county)
    found = violations(cycle, county, rooms=rooms)
    schools = sample_schools(cycle, county)
    counts: dict[int, int] = {}
    for sid in StaffAssignment.objects.filter(cycle=cycle, county=county, school__isnull=False).values_list(
            "school_id", flat=True):
        counts[sid] = counts.get(sid, 0) + 1
    needed = sum(p.min for p in catalogue.posts_at("school"))
    summaries = [SchoolSummary(school=s, assigned=counts.get(s.pk, 0), needed=needed,
                               violations=sum(1 for v in found if v.school_id == s.pk)) for s in schools]
    return CountyStaff(cycle=cycle, county=county, catalogue=catalogue,
                       team=_rows(catalogue, "county", team, lambda p: editable), schools=summaries,
                       violations=found,
                       people=people_visible(actor=actor).filter(county=county).select_related("home_school"))


def school_staff(*, actor: Any, code: str, year: int | None = None,
                 rooms: Mapping[tuple[int, dt.date], int] | None = None) -> SchoolStaff:
    from naeq.staffing.access import may_edit_post

    school = school_access(actor=actor, code=code)
    cycle = cycle_for(year)
    catalogue = catalogue_for(cycle.year)
    assigned = list(StaffAssignment.objects.filter(cycle=cycle, school=school)
                    .select_related("person", "person__home_school").order_by("post", "id"))
    found = [v for v in violations(cycle, school.county, rooms=rooms) if v.school_id == school.pk]
    people = list(people_visible(actor=actor).filter(county_id=school.county_id).select_related("home_school")
                  .order_by("name", "id"))
    return SchoolStaff(cycle=cycle, school=school, catalogue=catalogue,
                       rows=_rows(catalogue, "school", assigned,
                                  lambda p: may_edit_post(actor=actor, post=p, county=school.county, school=school)),
                       violations=found, people=people, is_sample=is_sample_school(cycle, school))


def badge_rows(*, actor: Any, cycle: Cycle, county: Region, school: School | None = None) -> list[StaffAssignment]:
    """Assignments to print, in badge-number order; already scoped by the caller's access check."""
    qs = assignments_visible(actor=actor).filter(cycle=cycle, county=county)
    if school is not None:
        qs = qs.filter(school=school)
    return list(qs.select_related("person", "school", "county", "person__home_school").order_by("badge_no"))


def staff_lines(rows: list[StaffAssignment], catalogue: Catalogue) -> list[StaffLine]:
    """Printable lines, in catalogue post order within each unit (county team first)."""
    order = {p.code: i for i, p in enumerate(catalogue.posts)}
    rows = sorted(rows, key=lambda a: (a.school.code if a.school else "", order.get(a.post, 999), a.badge_no))
    out = []
    for a in rows:
        post = catalogue.post(a.post)
        out.append(StaffLine(
            badge_no=a.badge_no, post=post.name if post else a.post, name=a.person.name,
            gender=a.person.get_gender_display(), phone=a.person.phone,
            unit=a.school.name if a.school else f"{a.county.name}{_('实施工作领导小组')}",
            home=a.person.home_school.name if a.person.home_school else (a.person.position or ""),
            day=(a.day.isoformat() + (f" {a.get_slot_display()}" if a.slot else "")) if a.day else _("全程")))
    return out
