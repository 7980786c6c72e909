"""Background jobs of estimation runs (see :mod:`naeq.core.jobs`: in-process by default, Celery with REDIS_URL)."""

from __future__ import annotations

from celery import shared_task

from naeq.analysis.pe import pe_task
from naeq.analysis.services import estimation_execute

#: the PE indicators' job lives beside its run in naeq.analysis.pe; importing it here registers it with Celery
__all__ = ["estimation_task", "pe_task"]


@shared_task(name="naeq.analysis.estimate")
def estimation_task(*, run_id: int) -> str:
    """Execute one recorded estimation run; returns its final status."""
    return estimation_execute(run_id=run_id)
