"""Problem letters and rectification plans (整改).

Seed (collected-county-and-school-plans.txt, 篇四): the Ministry's inspection office
"直接将监测中发现的主要问题发函至各省政府办公厅，且只列问题不谈经验，要求制订整改方案、限期整改". So a
:class:`ProblemLetter` is one province's letter of one cycle, listing :class:`Problem` rows only — each
resting on one :class:`~naeq.analysis.models.Estimate`, with the evidence that makes it a problem. A letter is
drafted and edited by national staff and, once issued, never changes (the services refuse; the
number 监测函〔年〕N号 is given at issue).

A :class:`RectificationPlan` answers one problem for one responsible unit (the province or one of its counties):
整改目标 (the target indicator, its baseline from the estimate and a target value), 整改措施 (measures), 整改时限
(deadline), and the responsible department (明确整改主体责任). It moves ``draft → submitted → approved | returned``
(returned plans are edited and submitted again), ``approved → in_progress`` with the first progress update
(:class:`PlanUpdate`, with evidence files) and ``→ completed``. The supervising level reviews
(:class:`PlanReview`): the nation the province's plans, the province its counties' plans (督导部门及时跟进).
Overdue is derived, never stored (:mod:`naeq.rectification.alerts`).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class LetterStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    ISSUED = "issued", _("已发函")


class ProblemLetter(models.Model):
    cycle = models.ForeignKey("cycles.Cycle", verbose_name=_("监测周期"), on_delete=models.PROTECT,
                              related_name="problem_letters")
    province = models.ForeignKey("registry.Region", verbose_name=_("省份"), on_delete=models.PROTECT,
                                 related_name="problem_letters")
    path = models.CharField(max_length=32)
    number = models.CharField(_("文号"), max_length=40, blank=True)
    title = models.CharField(_("标题"), max_length=200)
    status = models.CharField(_("状态"), max_length=8, choices=LetterStatus.choices, default=LetterStatus.DRAFT)
    #: the rules' configuration the problems were derived with, and the runs they read
    rules = models.JSONField(_("问题认定规则"), default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("起草人"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("起草时间"), default=timezone.now)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("发函人"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField(_("发函时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("问题函")
        verbose_name_plural = _("问题函")
        ordering = ["-cycle__year", "path"]
        constraints = [
            models.UniqueConstraint(fields=["cycle", "province"], name="letter_one_per_province"),
            models.UniqueConstraint(fields=["number"], condition=~Q(number=""), name="letter_number_unique"),
            models.CheckConstraint(name="letter_status_valid", condition=Q(status__in=LetterStatus.values)),
            models.CheckConstraint(name="letter_issued_complete",
                                   condition=Q(status="draft", number="", issued_at__isnull=True)
                                   | (Q(status="issued") & ~Q(number="") & Q(issued_at__isnull=False))),
        ]

    def __str__(self) -> str:
        return self.number or f"{self.title}（{self.get_status_display()}）"

    @property
    def issued(self) -> bool:
        return self.status == LetterStatus.ISSUED

    def as_audit(self) -> dict[str, Any]:
        return {"cycle": self.cycle_id, "province": self.province_id, "number": self.number, "title": self.title,
                "status": self.status, "issued_at": self.issued_at}


class Problem(models.Model):
    letter = models.ForeignKey(ProblemLetter, on_delete=models.CASCADE, related_name="problems")
    seq = models.PositiveSmallIntegerField(_("序号"))
    instrument_code = models.CharField(_("监测工具（学科）"), max_length=60)
    rule = models.CharField(_("认定规则"), max_length=40)
    #: the unit the problem is about: the province, or one of its counties (between-school differences)
    region = models.ForeignKey("registry.Region", verbose_name=_("涉及地区"), on_delete=models.PROTECT,
                               related_name="+")
    path = models.CharField(max_length=32)
    estimate = models.ForeignKey("analysis.Estimate", verbose_name=_("依据的估计值"), on_delete=models.PROTECT,
                                 related_name="+")
    indicator = models.CharField(_("指标"), max_length=120)
    value = models.FloatField(_("指标值"), null=True, blank=True)
    comparison = models.CharField(_("比较"), max_length=200)
    #: the indicator a plan should move: statistic / group / key of the unit's own estimate, and which way is better
    target_statistic = models.CharField(max_length=24)
    target_group_var = models.CharField(max_length=40, blank=True)
    target_group_value = models.CharField(max_length=40, blank=True)
    target_key = models.CharField(max_length=40, blank=True)
    better = models.SmallIntegerField(_("改进方向"), default=1, help_text="+1: higher is better; -1: lower is better")
    evidence = models.JSONField(_("证据"), default=dict, blank=True)
    text = models.TextField(_("问题表述"))

    class Meta:
        verbose_name = _("问题")
        verbose_name_plural = _("问题")
        ordering = ["letter_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["letter", "seq"], name="problem_seq_unique"),
            models.CheckConstraint(name="problem_better_sign", condition=Q(better__in=[-1, 1])),
        ]

    def __str__(self) -> str:
        return f"{self.letter_id}#{self.seq} {self.indicator}"


class PlanState(models.TextChoices):
    DRAFT = "draft", _("草稿")
    SUBMITTED = "submitted", _("已提交待审核")
    RETURNED = "returned", _("已退回修改")
    APPROVED = "approved", _("已审核通过")
    IN_PROGRESS = "in_progress", _("整改中")
    COMPLETED = "completed", _("已完成")


EDITABLE = (PlanState.DRAFT, PlanState.RETURNED)
UNDER_WAY = (PlanState.APPROVED, PlanState.IN_PROGRESS)


class RectificationPlan(models.Model):
    problem = models.ForeignKey(Problem, verbose_name=_("问题"), on_delete=models.PROTECT, related_name="plans")
    unit = models.ForeignKey("registry.Region", verbose_name=_("整改责任单位"), on_delete=models.PROTECT,
                             related_name="+")
    path = models.CharField(max_length=32)
    department = models.CharField(_("牵头部门"), max_length=120)
    instrument_code = models.CharField(_("监测工具（学科）"), max_length=60)
    target_statistic = models.CharField(_("目标指标"), max_length=24)
    target_group_var = models.CharField(max_length=40, blank=True)
    target_group_value = models.CharField(max_length=40, blank=True)
    target_key = models.CharField(max_length=40, blank=True)
    indicator = models.CharField(_("目标指标名称"), max_length=120)
    better = models.SmallIntegerField(_("改进方向"), default=1)
    baseline = models.FloatField(_("基线值"), null=True, blank=True)
    baseline_se = models.FloatField(_("基线标准误"), null=True, blank=True)
    baseline_estimate = models.ForeignKey("analysis.Estimate", verbose_name=_("基线估计值"), null=True, blank=True,
                                          on_delete=models.PROTECT, related_name="+")
    target_value = models.FloatField(_("目标值"))
    deadline = models.DateField(_("整改时限"))
    measures = models.JSONField(_("整改措施"), default=list)
    state = models.CharField(_("状态"), max_length=12, choices=PlanState.choices, default=PlanState.DRAFT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("填报人"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("填报时间"), default=timezone.now)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    approved_at = models.DateTimeField(_("审核通过时间"), null=True, blank=True)
    completed_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("整改方案")
        verbose_name_plural = _("整改方案")
        ordering = ["deadline", "id"]
        constraints = [
            models.CheckConstraint(name="plan_state_valid", condition=Q(state__in=PlanState.values)),
            models.CheckConstraint(name="plan_better_sign", condition=Q(better__in=[-1, 1])),
            models.CheckConstraint(name="plan_completed_has_time",
                                   condition=~Q(state="completed") | Q(completed_at__isnull=False)),
        ]
        indexes = [models.Index(fields=["path"], name="plan_path", opclasses=["varchar_pattern_ops"])]

    def __str__(self) -> str:
        return f"{self.unit.name}：{self.indicator}"

    def as_audit(self) -> dict[str, Any]:
        return {"problem": self.problem_id, "unit": self.unit_id, "department": self.department,
                "target": [self.target_statistic, self.target_group_var, self.target_group_value, self.target_key],
                "baseline": self.baseline, "target_value": self.target_value, "deadline": self.deadline,
                "measures": self.measures, "state": self.state}


class PlanUpdate(models.Model):
    plan = models.ForeignKey(RectificationPlan, on_delete=models.CASCADE, related_name="updates")
    text = models.TextField(_("进展情况"))
    percent = models.PositiveSmallIntegerField(_("完成比例（%）"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("填报人"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("填报时间"), default=timezone.now)

    class Meta:
        verbose_name = _("整改进展")
        verbose_name_plural = _("整改进展")
        ordering = ["plan_id", "created_at", "id"]
        constraints = [models.CheckConstraint(name="update_percent_0_100", condition=Q(percent__lte=100))]

    def __str__(self) -> str:
        return f"{self.plan_id}: {self.percent}%"


class PlanEvidence(models.Model):
    update = models.ForeignKey(PlanUpdate, on_delete=models.CASCADE, related_name="files")
    stored_name = models.CharField(max_length=60)
    original_name = models.CharField(_("文件名"), max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField(_("大小"))
    sha256 = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("整改佐证材料")
        verbose_name_plural = _("整改佐证材料")
        ordering = ["update_id", "id"]

    def __str__(self) -> str:
        return self.original_name


class ReviewDecision(models.TextChoices):
    APPROVE = "approve", _("通过")
    RETURN = "return", _("退回修改")


class PlanReview(models.Model):
    plan = models.ForeignKey(RectificationPlan, on_delete=models.CASCADE, related_name="reviews")
    decision = models.CharField(_("审核意见"), max_length=8, choices=ReviewDecision.choices)
    comment = models.TextField(_("说明"), blank=True)
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("审核人"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("审核时间"), default=timezone.now)

    class Meta:
        verbose_name = _("整改方案审核")
        verbose_name_plural = _("整改方案审核")
        ordering = ["plan_id", "at", "id"]
        constraints = [
            models.CheckConstraint(name="review_decision_valid", condition=Q(decision__in=ReviewDecision.values)),
            models.CheckConstraint(name="review_return_has_comment", condition=~Q(decision="return") | ~Q(comment="")),
        ]

    def __str__(self) -> str:
        return f"{self.plan_id}: {self.decision}"
