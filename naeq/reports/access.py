"""The only place that decides who may generate reports and who may read which report.

National centre staff (administrator, analyst) generate batches and read every report. A province coordinator
reads its province's report and its counties'; a city viewer its counties'; a county liaison or county education
manager only its own county's. Nobody else reads any report (school staff, inspectors, test takers, raters), and
nobody below the nation reads the national report. A report that does not exist and one the actor may not read
give the same :class:`NotFound`.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from naeq.accounts.jurisdiction import jurisdiction_of
from naeq.accounts.roles import Role
from naeq.core.errors import NotFound
from naeq.reports.models import Report, ReportBatch, ReportStatus

GENERATORS = frozenset({Role.NATIONAL_ADMIN, Role.NATIONAL_ANALYST})
#: Roles below the nation that read the reports of their jurisdiction.
REGIONAL_READERS = frozenset({Role.PROVINCE_COORDINATOR, Role.CITY_VIEWER, Role.COUNTY_LIAISON,
                              Role.COUNTY_MANAGER})


def may_generate(*, actor: Any) -> bool:
    j = jurisdiction_of(actor)
    if not j.is_national:
        return False
    return j.role in GENERATORS


def require_generator(*, actor: Any) -> None:
    if not may_generate(actor=actor):
        raise NotFound(_("没有找到该页面。"))


def batches_visible(*, actor: Any) -> QuerySet[ReportBatch]:
    if not may_generate(actor=actor):
        return ReportBatch.objects.none()
    return ReportBatch.objects.all()


def batch_access(*, actor: Any, batch_id: int) -> ReportBatch:
    batch = batches_visible(actor=actor).select_related("cycle", "created_by", "region").filter(pk=batch_id).first()
    if batch is None:
        raise NotFound(_("没有找到该报告批次。"))
    return batch


def reports_visible(*, actor: Any) -> QuerySet[Report]:
    """Done reports the actor may read (national staff: every report, also pending and failed ones)."""
    if may_generate(actor=actor):
        return Report.objects.all()
    j = jurisdiction_of(actor)
    if j.role not in REGIONAL_READERS:
        return Report.objects.none()
    if j.school_id is not None or not j.path:
        return Report.objects.none()
    return Report.objects.filter(Q(path__startswith=j.path) & ~Q(level="nation"), status=ReportStatus.DONE)


def report_access(*, actor: Any, report_id: int) -> Report:
    report = reports_visible(actor=actor).select_related("batch", "batch__cycle", "region").filter(
        pk=report_id).first()
    if report is None:
        raise NotFound(_("没有找到该报告。"))
    return report
