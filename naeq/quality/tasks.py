"""Background jobs of screening runs (see :mod:`naeq.core.jobs`: in-process by default, Celery with REDIS_URL)."""

from __future__ import annotations

from celery import shared_task

from naeq.quality.services import screening_execute


@shared_task(name="naeq.quality.screen")
def screening_task(*, run_id: int) -> str:
    """Execute one recorded screening run; returns its final status."""
    return screening_execute(run_id=run_id)
