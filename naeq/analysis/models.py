"""Estimation runs and their estimates.

An :class:`EstimationRun` is one subject (instrument) of one cycle estimated from one done calibration run (its
plausible values, on the reporting scale) — or, for physical education, the PE records — and the cycle's weights
(the sample run's final weights and its two replicate-weight sets: ``county`` for county estimates, ``national``
for provincial and national ones). Test takers excluded by a data-quality decision are left out, flagged ones kept
and counted. Like every :class:`~naeq.core.runs.RecordedRun` it records its inputs' hash, options, seed and code
version, so its numbers reproduce bit for bit.

An :class:`Estimate` is one number with its standard error for one reporting unit (the nation, a province, a
county) and one group (everyone, or one value of a grouping variable: sex, urban/rural, a background factor …).
Comparisons (county − province, county − nation, girls − boys, urban − rural, this cycle − three years earlier) are
estimates too, with ``statistic = "difference"``, the contrast in ``key`` and their p-value and significance sign.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from naeq.core.runs import RecordedRun, RunStatus, run_constraints

__all__ = ["BalancedCountyResult", "BalancedStatus", "Estimate", "EstimationRun", "RunStatus", "UnitLevel"]


class EstimationRun(RecordedRun):
    cycle = models.ForeignKey("cycles.Cycle", verbose_name=_("监测周期"), on_delete=models.PROTECT,
                              related_name="estimation_runs")
    instrument_code = models.CharField(_("监测工具（学科）"), max_length=60)
    #: null for a run without scale scores: the PE field test's indicators (obesity, vision, fitness rates)
    calibration_run = models.ForeignKey("scaling.CalibrationRun", verbose_name=_("校准记录"), null=True,
                                        blank=True, on_delete=models.PROTECT, related_name="+")
    sample_run = models.ForeignKey("sampling.SampleRun", verbose_name=_("抽样（权重）记录"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    #: the estimation run of the same subject three cycles earlier on the linked scale, for trend estimates
    previous_run = models.ForeignKey("self", verbose_name=_("上一轮同学科估计"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("估计记录")
        verbose_name_plural = _("估计记录")
        ordering = ["-created_at", "-id"]
        constraints = run_constraints("estrun")
        indexes = [models.Index(fields=["cycle", "instrument_code", "-created_at"], name="estrun_cycle_instr")]

    def __str__(self) -> str:
        return f"{self.instrument_code} #{self.pk}"

    def as_audit(self) -> dict[str, Any]:
        return {"cycle": self.cycle_id, "instrument_code": self.instrument_code,
                "calibration_run": self.calibration_run_id, "sample_run": self.sample_run_id,
                "previous_run": self.previous_run_id, "options": self.options, "seed": self.seed,
                "inputs_hash": self.inputs_hash, "code_version": self.code_version, "status": self.status}


class UnitLevel(models.TextChoices):
    NATION = "nation", _("全国")
    PROVINCE = "province", _("省")
    COUNTY = "county", _("县（区）")


class Estimate(models.Model):
    """One estimate. ``group_var`` is ``""`` for all students of the unit, else the grouping variable's name
    (``sex``, ``urban_rural``, ``migrant``, ``disadvantaged``, a background factor such as ``homework_time``) and
    ``group_value`` its value's code. ``statistic`` is one of ``mean``, ``sd``, ``level_share`` (``key`` = the
    level's code), ``at_or_above`` (``key`` = the level's code: the share at that level or above), ``percentile``
    (``key`` = ``p10`` …), ``proportion`` (``key`` = the category), ``between_school_share``, ``diff_rate``
    (校际差异率), ``coef`` (``key`` = the regressor) or ``difference`` (``key`` = the contrast: ``vs_province``,
    ``vs_nation``, ``F-M``, ``urban-rural``, ``trend`` …, with ``p_value`` and ``sign`` = +1 / 0 / −1 for
    significantly above, not significant, significantly below). A suppressed estimate keeps its numbers for the
    analysts but is never printed; ``suppress_reason`` says which rule held it back."""

    run = models.ForeignKey(EstimationRun, on_delete=models.CASCADE, related_name="estimates")
    level = models.CharField(_("层级"), max_length=8, choices=UnitLevel.choices)
    region = models.ForeignKey("registry.Region", verbose_name=_("地区"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    path = models.CharField(max_length=32, blank=True, help_text="the region's path; '' for the nation")
    group_var = models.CharField(_("分组变量"), max_length=40, blank=True)
    group_value = models.CharField(_("分组取值"), max_length=40, blank=True)
    statistic = models.CharField(_("统计量"), max_length=24)
    key = models.CharField(_("细目"), max_length=40, blank=True)
    value = models.FloatField(_("估计值"), null=True, blank=True)
    se = models.FloatField(_("标准误"), null=True, blank=True)
    n = models.PositiveIntegerField(_("学生数"), default=0)
    n_schools = models.PositiveIntegerField(_("学校数"), default=0)
    p_value = models.FloatField(_("p值"), null=True, blank=True)
    sign = models.SmallIntegerField(_("显著性"), null=True, blank=True)
    suppressed = models.BooleanField(_("不予报告"), default=False)
    suppress_reason = models.CharField(_("不予报告原因"), max_length=60, blank=True)
    extra = models.JSONField(_("其他"), default=dict, blank=True)

    class Meta:
        verbose_name = _("估计值")
        verbose_name_plural = _("估计值")
        ordering = ["run_id", "level", "path", "group_var", "group_value", "statistic", "key"]
        constraints = [
            models.UniqueConstraint(fields=["run", "level", "path", "group_var", "group_value", "statistic", "key"],
                                    name="estimate_unique"),
            models.CheckConstraint(name="estimate_nation_no_region",
                                   condition=Q(level="nation", region__isnull=True, path="")
                                   | (~Q(level="nation") & Q(region__isnull=False))),
            models.CheckConstraint(name="estimate_sign_range", condition=Q(sign__isnull=True) | Q(sign__in=[-1, 0, 1])),
            models.CheckConstraint(name="estimate_se_nonnegative", condition=Q(se__isnull=True) | Q(se__gte=0)),
        ]
        indexes = [models.Index(fields=["run", "level", "path"], name="estimate_run_unit"),
                   models.Index(fields=["path"], name="estimate_path", opclasses=["varchar_pattern_ops"])]

    def __str__(self) -> str:
        return f"{self.run_id}:{self.level}:{self.path}:{self.group_var}={self.group_value}:{self.statistic}:{self.key}"


class BalancedStatus(models.TextChoices):
    PASSED = "passed", _("达到")
    FAILED = "failed", _("未达到")
    INSUFFICIENT = "insufficient", _("样本不足，无法判定")


class BalancedCountyResult(models.Model):
    """The high-quality balanced county (优质均衡) check of one county in one evaluation of a cycle: for every
    subject, the county's level (of its mean) and its 校际差异率 against the rule (``rule``: min level, max rate,
    definition), with the evidence (``evidence``: per subject the estimation run, its inputs' hash, mean and SE,
    level, rate and SE, which condition held, suppression). One row per county per evaluation (``evaluated_at``);
    the latest evaluation is the current one."""

    cycle = models.ForeignKey("cycles.Cycle", verbose_name=_("监测周期"), on_delete=models.PROTECT,
                              related_name="+")
    region = models.ForeignKey("registry.Region", verbose_name=_("县（区）"), on_delete=models.PROTECT,
                               related_name="+")
    path = models.CharField(max_length=32)
    status = models.CharField(_("结论"), max_length=12, choices=BalancedStatus.choices)
    rule = models.JSONField(_("判定标准"), default=dict)
    evidence = models.JSONField(_("依据"), default=dict)
    evaluated_at = models.DateTimeField(_("判定时间"))
    evaluated_by = models.ForeignKey("accounts.User", verbose_name=_("判定人"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("优质均衡判定")
        verbose_name_plural = _("优质均衡判定")
        ordering = ["cycle_id", "-evaluated_at", "path"]
        constraints = [
            models.UniqueConstraint(fields=["cycle", "region", "evaluated_at"], name="balanced_once_per_evaluation"),
            models.CheckConstraint(name="balanced_status_valid", condition=Q(status__in=BalancedStatus.values)),
        ]
        indexes = [models.Index(fields=["cycle", "-evaluated_at"], name="balanced_cycle_time")]

    def __str__(self) -> str:
        return f"{self.path}:{self.status}"
