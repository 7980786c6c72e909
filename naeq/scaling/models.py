"""Calibration runs (量尺校准记录): one recorded IRT calibration of an instrument's scores in a cycle, with its
inputs' hash, model, options, seed and code version, and the results it produced.

Results are stored compactly: one row per item (:class:`CalibrationItem`) and one per test taker
(:class:`CalibrationPerson`: EAP/WLE with SEs and the plausible values as a float array), so pages and exports
stream and paginate them by key. Summaries for the charts (test information, score distributions by booklet)
are kept in the run's ``summary``.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from naeq.core.runs import RecordedRun, RunStatus, run_constraints

# RunStatus is re-exported: the scaling, quality and analysis code name it from here.
__all__ = ["CalibrationItem", "CalibrationPerson", "CalibrationRun", "RunStatus"]


class CalibrationRun(RecordedRun):
    cycle = models.ForeignKey("cycles.Cycle", verbose_name=_("监测周期"), on_delete=models.PROTECT,
                              related_name="calibration_runs")
    instrument_code = models.CharField(_("监测工具（学科）"), max_length=60)
    model_spec = models.CharField(_("模型"), max_length=40, help_text="dichotomous/polytomous default, e.g. 2pl/gpcm")
    seed = models.BigIntegerField(_("随机种子"))

    class Meta:
        verbose_name = _("校准记录")
        verbose_name_plural = _("校准记录")
        ordering = ["-created_at", "-id"]
        constraints = run_constraints("calrun")
        indexes = [models.Index(fields=["cycle", "instrument_code", "-created_at"], name="calrun_cycle_instr")]

    def __str__(self) -> str:
        return f"{self.instrument_code} #{self.pk}"

    def as_audit(self) -> dict[str, Any]:
        return {"cycle": self.cycle_id, "instrument_code": self.instrument_code, "model_spec": self.model_spec,
                "options": self.options, "seed": self.seed, "inputs_hash": self.inputs_hash,
                "code_version": self.code_version, "status": self.status}


class CalibrationItem(models.Model):
    """One item's estimated (or anchored) parameters in a run, with SEs, classical statistics, fit and DIF."""

    run = models.ForeignKey(CalibrationRun, on_delete=models.CASCADE, related_name="items")
    seq = models.PositiveIntegerField(_("顺序"))
    item = models.CharField(_("题目编号"), max_length=40)
    model = models.CharField(_("模型"), max_length=5)
    n_categories = models.PositiveSmallIntegerField(_("类别数"))
    anchored = models.BooleanField(_("锚题（参数固定）"), default=False)
    a = models.FloatField(_("区分度 a"))
    a_se = models.FloatField(_("a 标准误"), null=True, blank=True)
    c = models.FloatField(_("猜测参数 c"), default=0.0)
    c_se = models.FloatField(_("c 标准误"), null=True, blank=True)
    b = models.JSONField(_("难度（阶梯）b"), default=list)
    b_se = models.JSONField(_("b 标准误"), default=list)
    n_responses = models.PositiveIntegerField(_("作答数"))
    mean_score = models.FloatField(_("平均得分率"), null=True, blank=True)
    fit = models.JSONField(_("拟合"), default=dict, blank=True)
    fit_flag = models.BooleanField(_("拟合不佳"), default=False)
    dif = models.JSONField(_("项目功能差异"), default=dict, blank=True)
    dif_flag = models.BooleanField(_("DIF（C类）"), default=False)

    class Meta:
        verbose_name = _("题目参数")
        verbose_name_plural = _("题目参数")
        ordering = ["run_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["run", "item"], name="calitem_run_item"),
            models.UniqueConstraint(fields=["run", "seq"], name="calitem_run_seq"),
            models.CheckConstraint(name="calitem_models",
                                   condition=Q(model__in=["rasch", "2pl", "3pl", "pcm", "gpcm"])),
            models.CheckConstraint(name="calitem_categories", condition=Q(n_categories__gte=2)),
            models.CheckConstraint(name="calitem_c_range", condition=Q(c__gte=0) & Q(c__lt=1)),
        ]

    def __str__(self) -> str:
        return f"{self.run_id}:{self.item}"


class CalibrationPerson(models.Model):
    """One test taker's estimates in a run (θ on the calibration metric; PVs the same)."""

    run = models.ForeignKey(CalibrationRun, on_delete=models.CASCADE, related_name="persons", db_index=False)
    test_taker = models.ForeignKey("delivery.TestTaker", on_delete=models.PROTECT, related_name="+",
                                   db_index=False)
    booklet = models.PositiveSmallIntegerField(_("题本号"), null=True, blank=True)
    n_items = models.PositiveSmallIntegerField(_("作答题数"))
    raw_score = models.PositiveIntegerField(_("原始分"))
    max_score = models.PositiveIntegerField(_("可得满分"))
    eap = models.FloatField(_("EAP"))
    eap_se = models.FloatField(_("EAP 标准误"))
    wle = models.FloatField(_("WLE"), null=True, blank=True)
    wle_se = models.FloatField(_("WLE 标准误"), null=True, blank=True)
    pvs = models.JSONField(_("似真值"), default=list, blank=True)

    class Meta:
        verbose_name = _("考生估计值")
        verbose_name_plural = _("考生估计值")
        ordering = ["run_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "test_taker"], name="calperson_run_taker"),
            models.CheckConstraint(name="calperson_raw_le_max", condition=Q(raw_score__lte=models.F("max_score"))),
        ]
        indexes = [models.Index(fields=["run", "id"], name="calperson_run_page")]  # key pagination and export

    def __str__(self) -> str:
        return f"{self.run_id}:{self.test_taker_id}"
