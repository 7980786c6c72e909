"""Background jobs of calibration runs (see :mod:`naeq.core.jobs`: in-process by default, Celery with REDIS_URL)."""

from __future__ import annotations

from celery import shared_task

from naeq.scaling.services import calibration_execute


@shared_task(name="naeq.scaling.calibrate")
def calibration_task(*, run_id: int) -> str:
    """Execute one recorded calibration run; returns its final status."""
    return calibration_execute(run_id=run_id)
