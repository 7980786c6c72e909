"""Background jobs of report batches (see :mod:`naeq.core.jobs`: in-process by default, Celery with REDIS_URL)."""

from __future__ import annotations

from celery import shared_task

from naeq.reports.services import report_batch_execute


@shared_task(name="naeq.reports.generate")
def report_batch_task(*, batch_id: int) -> str:
    """Execute one report batch; returns its final status."""
    return report_batch_execute(batch_id=batch_id)
