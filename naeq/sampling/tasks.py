"""Background jobs of the sample: the national county and school draws (a national draw reads the whole
registry, so the page queues it and shows the run's progress)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from naeq.core.jobs import Enqueued, enqueue
from naeq.sampling.models import SampleRun
from naeq.sampling.services import sample_draw_start, sample_run_execute


@shared_task(name="naeq.sampling.run_execute")
def sample_run_execute_task(run_id: int) -> dict[str, object]:
    """Run a queued draw by id; returns its status and summary (so it crosses a broker)."""
    run = sample_run_execute(run_id=run_id)
    return {"run_id": run.pk, "status": run.status, "summary": run.summary}


def sample_draw_enqueue(*, actor: Any, year: int, stage: str, seed: int | None = None,
                        agreement: tuple[str, ...] = (), application: tuple[str, ...] = (),
                        replace_existing: bool = False) -> tuple[SampleRun, Enqueued]:
    """Record the queued run (audited, access-checked) and send it to the job queue."""
    run = sample_draw_start(actor=actor, year=year, stage=stage, seed=seed, agreement=agreement,
                            application=application, replace_existing=replace_existing)
    job = enqueue(sample_run_execute_task, run_id=run.pk)
    return run, job
