"""Reads of report batches and reports, scoped by :mod:`naeq.reports.access`."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from naeq.reports import access
from naeq.reports.models import Report, ReportBatch


def batch_list(*, actor: Any) -> QuerySet[ReportBatch]:
    return access.batches_visible(actor=actor).select_related("cycle", "created_by", "region").order_by(
        "-created_at", "-id")


def batch_get(*, actor: Any, batch_id: int) -> ReportBatch:
    return access.batch_access(actor=actor, batch_id=batch_id)


def report_list(*, actor: Any, batch_id: int | None = None) -> QuerySet[Report]:
    qs = access.reports_visible(actor=actor).select_related("batch", "batch__cycle", "region")
    if batch_id is not None:
        qs = qs.filter(batch_id=batch_id)
    return qs.order_by("-batch__created_at", "-batch_id", "level", "path")


def report_get(*, actor: Any, report_id: int) -> Report:
    return access.report_access(actor=actor, report_id=report_id)


def report_latest(*, actor: Any) -> list[Report]:
    """The newest done report of each unit and cycle the actor may read (a rerun replaces, it does not add)."""
    seen: set[tuple[int, str, str]] = set()
    out = []
    for r in report_list(actor=actor).filter(status="done"):
        key = (r.batch.cycle_id, r.level, r.path)
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out
