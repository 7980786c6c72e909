"""The implementation dashboard (实施监控, issue 5 item 9): for the national centre, a province, a city (read-only)
and a county — completion of the milestones, readiness, incidents by grade, custody alerts, hotline calls and staff
list violations, county by county, each row drilling down into the unit's own pages.

This page only assembles: every figure comes from the app that owns it, through that app's jurisdiction-checked
selector, so a row can only show a county the actor may see. School staff get their own school's links.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from naeq.accounts.jurisdiction import jurisdiction_of
from naeq.core.errors import NotFound, PermissionDenied
from naeq.custody.selectors import alerts as custody_alerts
from naeq.custody.selectors import test_rooms
from naeq.cycles.selectors import cycle_current
from naeq.incidents.selectors import hotline_counts, incident_counts
from naeq.readiness.selectors import readiness_summary
from naeq.registry.models import Region
from naeq.staffing.models import StaffAssignment
from naeq.staffing.rules import violations
from naeq.timeline.selectors import overdue


@dataclass
class CountyRow:
    county: Region
    overdue: int = 0
    schools: int = 0
    checks_approved: int = 0
    trained_complete: int = 0
    county_check: str = ""
    incidents: dict[str, int] = field(default_factory=lambda: {"g1": 0, "g2": 0, "g3": 0, "open": 0})
    alerts: int = 0
    calls: int = 0
    calls_open: int = 0
    staff_violations: int = 0
    staff_entered: bool = False  # whether the county has entered any staff yet (no list: not "194 problems")

    @property
    def readiness_pct(self) -> int:
        return round(100 * self.checks_approved / self.schools) if self.schools else 0


def _rows(actor: Any, cycle: Any, today: Any, now: Any) -> tuple[list[CountyRow], dict[str, Any]]:
    ready = readiness_summary(actor=actor, cycle=cycle)
    rows = {r.county.code: CountyRow(county=r.county, schools=r.schools, checks_approved=r.approved,
                                     trained_complete=r.trained_complete, county_check=r.county_status_label)
            for r in ready}
    late = overdue(actor, cycle, today)
    for item in late:
        county_code = item.unit.region.code if item.unit.level != "province" else ""
        if county_code in rows:
            rows[county_code].overdue += 1
    counts = incident_counts(actor, cycle)
    for u in counts.by_unit:
        if u["county"] in rows:
            rows[u["county"]].incidents = {k: u[k] for k in ("g1", "g2", "g3", "open")}
    alerts = custody_alerts(actor, cycle, now)
    for code, n in Counter(a.county_code for a in alerts).items():
        if code in rows:
            rows[code].alerts = n
    calls = hotline_counts(actor, cycle)
    for c in calls["by_county"]:
        if c["county"] in rows:
            rows[c["county"]].calls, rows[c["county"]].calls_open = c["total"], c["open"]
    entered = set(StaffAssignment.objects.filter(cycle=cycle, county__in=[r.county for r in rows.values()])
                  .values_list("county_id", flat=True).distinct())
    rooms = test_rooms(cycle, county_ids=[r.county.pk for r in rows.values()])
    for row in rows.values():  # every county here came from a jurisdiction-checked selector
        row.staff_entered = row.county.pk in entered
        row.staff_violations = len(violations(cycle, row.county, rooms=rooms)) if row.staff_entered else 0
    ordered = sorted(rows.values(), key=lambda r: r.county.code)
    totals = {
        "overdue": len(late), "incidents": counts.by_grade, "incidents_open": counts.open_by_grade,
        "alerts": len(alerts), "calls": calls["total"], "calls_open": calls["open"],
        "schools": sum(r.schools for r in ordered), "approved": sum(r.checks_approved for r in ordered),
        "staff_violations": sum(r.staff_violations for r in ordered),
        "staff_missing": sum(1 for r in ordered if not r.staff_entered),
    }
    return ordered, {"totals": totals, "late": late[:8], "alerts": alerts[:8]}


@require_GET
@login_required
def implementation(request: HttpRequest) -> HttpResponse:
    j = jurisdiction_of(request.user)
    if not j.is_staff_role:
        raise Http404
    cycle = cycle_current()
    if cycle is None:
        return render(request, "web/implementation/dashboard.html", {"cycle": None})
    today, now = timezone.localdate(), timezone.now()
    school = j.school_id is not None
    try:
        rows, extra = ([], {}) if school else _rows(request.user, cycle, today, now)
        late = overdue(request.user, cycle, today)
    except (NotFound, PermissionDenied):
        raise Http404 from None
    return render(request, "web/implementation/dashboard.html", {
        "cycle": cycle, "rows": rows, **extra, "overdue": late,
        "school_code": getattr(getattr(request.user, "school", None), "code", ""),
        "is_school": school, "is_county": j.level == "county", "today": today,
    })
