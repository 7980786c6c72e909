"""Background jobs: Celery workers over Redis in production, in-process on the embedded default.

Which one runs is decided by settings alone (``REDIS_URL``): without it Celery is configured with
``task_always_eager`` so ``enqueue`` runs the task in the calling process and returns its result; with it the task
goes to the broker and a worker (``celery -A naeq worker``) runs it. Callers never branch on the mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction


@dataclass(frozen=True)
class Enqueued:
    task_id: str
    in_process: bool
    result: Any = None  # set when the job already ran in-process


def jobs_in_process() -> bool:
    return bool(settings.CELERY_TASK_ALWAYS_EAGER)


def enqueue(task: Any, /, **kwargs: Any) -> Enqueued:
    """Run ``task`` (a Celery task) with keyword arguments, in-process or on a worker.

    Inside a transaction the job is sent only after commit (a worker must see the rows the job reads); in-process
    it runs immediately so the caller gets its result.
    """
    if jobs_in_process():
        res = task.apply(kwargs=kwargs)
        return Enqueued(task_id=str(res.id), in_process=True, result=res.get())
    holder: dict[str, str] = {}

    def send() -> None:
        holder["id"] = str(task.apply_async(kwargs=kwargs).id)

    transaction.on_commit(send)
    return Enqueued(task_id=holder.get("id", "pending-commit"), in_process=False)
