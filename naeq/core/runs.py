"""The recorded run: what calibration, screening and estimation runs have in common.

DESIGN.md: an app "stores the result as a *run* with its inputs' hash, parameters, seed and code version, so every
official number reproduces bit for bit". :class:`RecordedRun` holds those fields and the job's state (status,
progress, stage, warnings, timings, summary, error, job id, who started it and when); :func:`run_constraints` the
rules every such table keeps (a done run has its hash and end time, a failed one its error). The job steps that
are the same everywhere — claim a queued run exactly once, move its progress, record a failure, and run the job
body so that no error leaves a run "running" — are :func:`claim`, :func:`set_progress`, :func:`fail` and
:func:`execute`. Each concrete run adds its cycle, its subject and what it was computed from.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from naeq.core.audit import audit_record
from naeq.core.errors import ApplicationError
from naeq.engines.errors import EngineError

log = logging.getLogger(__name__)
R = TypeVar("R", bound="RecordedRun")


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("计算中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")


class RecordedRun(models.Model):
    options = models.JSONField(_("参数"), default=dict, blank=True)
    seed = models.BigIntegerField(_("随机种子"), default=0)
    inputs_hash = models.CharField(_("输入数据SHA-256"), max_length=64, blank=True)
    code_version = models.CharField(_("程序版本"), max_length=100)
    status = models.CharField(_("状态"), max_length=8, choices=RunStatus.choices, default=RunStatus.QUEUED)
    progress = models.FloatField(_("进度"), default=0.0)
    stage = models.CharField(_("当前步骤"), max_length=40, blank=True)
    warnings = models.JSONField(_("警告"), default=list, blank=True)
    timings = models.JSONField(_("耗时（秒）"), default=dict, blank=True)
    summary = models.JSONField(_("摘要"), default=dict, blank=True)
    error = models.TextField(_("错误信息"), blank=True)
    job_id = models.CharField(_("任务编号"), max_length=64, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("发起人"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("发起时间"), default=timezone.now)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def finished(self) -> bool:
        return self.status in (RunStatus.DONE, RunStatus.FAILED)


def run_constraints(prefix: str) -> list[models.BaseConstraint]:
    """The check constraints of a recorded-run table, named ``<prefix>_…``."""
    return [
        models.CheckConstraint(name=f"{prefix}_seed_nonnegative", condition=Q(seed__gte=0)),
        models.CheckConstraint(name=f"{prefix}_progress_0_1", condition=Q(progress__gte=0) & Q(progress__lte=1)),
        models.CheckConstraint(name=f"{prefix}_hash_sha256",
                               condition=Q(inputs_hash="") | Q(inputs_hash__regex=r"^[0-9a-f]{64}$")),
        models.CheckConstraint(name=f"{prefix}_status_valid", condition=Q(status__in=RunStatus.values)),
        models.CheckConstraint(name=f"{prefix}_done_has_hash",
                               condition=~Q(status="done") | (~Q(inputs_hash="") & Q(finished_at__isnull=False))),
        models.CheckConstraint(name=f"{prefix}_failed_has_error", condition=~Q(status="failed") | ~Q(error="")),
    ]


def claim(model: type[RecordedRun], run_id: int, *, stage: str = "gather") -> bool:
    """Move a queued run to running, once: a job delivered twice finds nothing to claim the second time."""
    with transaction.atomic():
        return bool(model._default_manager.filter(pk=run_id, status=RunStatus.QUEUED).update(
            status=RunStatus.RUNNING, started_at=timezone.now(), stage=stage, progress=0.0))


def status_of(model: type[RecordedRun], run_id: int) -> str:
    return str(model._default_manager.filter(pk=run_id).values_list("status", flat=True).first() or "")


def set_progress(model: type[RecordedRun], run_id: int, stage: str, fraction: float) -> None:
    """Record a running run's stage and progress (0–1); a run that is no longer running is left as it is."""
    model._default_manager.filter(pk=run_id, status=RunStatus.RUNNING).update(
        progress=min(max(fraction, 0.0), 1.0), stage=stage[:40])


def started_by(actor: Any) -> Any:
    """The account to record as a run's starter: ``None`` for a system actor without a database row."""
    return actor if getattr(actor, "pk", None) else None


def fail(run: RecordedRun, message: str, *, action: str) -> None:
    """Record ``run`` as failed with ``message`` and audit it as ``action`` (e.g. ``scaling.run_failed``)."""
    model = type(run)
    with transaction.atomic():
        model._default_manager.filter(pk=run.pk).update(status=RunStatus.FAILED, error=message[:4000] or "?",
                                                        finished_at=timezone.now(), stage="failed")
        audit_record(actor=run.created_by, action=action, object_type=model._meta.label, object_id=run.pk,
                     after={"status": RunStatus.FAILED, "error": message[:500]})


def execute(model: type[R], run_id: int, work: Callable[[R], str], *, failed_action: str,
            engine_message: str | None = None, select_related: tuple[str, ...] = ()) -> str:
    """The job of a recorded run: claim it (a run that is not queued is left alone, so a job delivered twice does
    nothing the second time), run ``work`` on it and return its final status. An application error fails the run
    with its message; an engine error too, as ``engine_message % {"e": message}`` when given (else it propagates
    as a bug); any other exception fails it as an internal error and is raised again, so a bug never leaves a run
    "running" forever."""
    if not claim(model, run_id):
        return status_of(model, run_id)
    run = model._default_manager.select_related(*select_related).get(pk=run_id)
    try:
        return work(run)
    except ApplicationError as exc:
        fail(run, str(exc), action=failed_action)
    except EngineError as exc:
        if engine_message is None:
            log.exception("%s %s failed", model.__name__, run_id)
            fail(run, gettext("内部错误：%(e)s") % {"e": type(exc).__name__}, action=failed_action)
            raise
        fail(run, engine_message % {"e": exc.message}, action=failed_action)
    except Exception as exc:
        log.exception("%s %s failed", model.__name__, run_id)
        fail(run, gettext("内部错误：%(e)s") % {"e": type(exc).__name__}, action=failed_action)
        raise
    return RunStatus.FAILED
