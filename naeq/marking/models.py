"""Constructed-response scoring (主观题评分) as database rows.

* :class:`MarkingSettings` — one row per cycle: the double-scoring share, the check-paper rate, the arbitration
  thresholds, the rule for adjacent scores, and the flag thresholds of the agreement and drift pages.
* :class:`Rubric` — one version of the scoring guide of one rater-scored item (an item of a test instrument with
  no key and a positive ``max_score``): its :class:`ScorePoint` rows (every score 0..max with a descriptor) and
  its :class:`AnchorPaper` rows (exemplar responses with their agreed score). A new version replaces the current
  one; old versions are kept.
* :class:`MarkResponse` — one response to mark, anonymised behind ``code``: the text of an online answer, the
  scanned writing-box image (or drawing) of a paper answer (in the secret store, :mod:`naeq.marking.images`), or
  the accepted take of a recorded singing/speaking task (:class:`naeq.performance.models.Recording`). A check paper
  (validity paper) is a response with an agreed ``check_score`` and no test taker; raters cannot tell them apart.
* :class:`RaterProfile` — a rater account's marking state (senior rater, suspended); :class:`RaterItem` the rater
  groups: which raters mark which item.
* :class:`AssignmentRun` — one random assignment (its seed and parameters recorded); :class:`Assignment` one
  response in one rater's queue. A rater never gets the same response twice (a unique constraint).
* :class:`Arbitration` — a double-scored response whose two scores differ by more than the threshold.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AdjacentRule(models.TextChoices):
    HIGHER = "higher", _("取较高分")
    LOWER = "lower", _("取较低分")
    MEAN = "mean", _("取平均分（四舍五入）")


class MarkingSettings(models.Model):
    """The marking configuration of one cycle (design values; every one is configuration)."""

    cycle = models.OneToOneField("cycles.Cycle", on_delete=models.CASCADE, related_name="marking_settings")
    double_share = models.FloatField(_("双评比例"), default=0.15)
    check_rate = models.FloatField(_("检测卷比例"), default=0.05)
    # A double-scored response goes to arbitration when |a - b| exceeds the threshold: for items of at most
    # ``small_item_max`` points the small threshold (default 0: any difference), otherwise the large one (1).
    small_item_max = models.PositiveSmallIntegerField(_("小分值题满分上限"), default=2)
    threshold_small = models.PositiveSmallIntegerField(_("小分值题仲裁阈值"), default=0)
    threshold_large = models.PositiveSmallIntegerField(_("大分值题仲裁阈值"), default=1)
    adjacent_rule = models.CharField(_("相邻分处理"), max_length=8, choices=AdjacentRule.choices,
                                     default=AdjacentRule.HIGHER)
    min_exact = models.FloatField(_("一致率下限"), default=0.7)
    min_kappa = models.FloatField(_("加权Kappa下限"), default=0.7)
    drift_window = models.PositiveSmallIntegerField(_("检测卷滚动窗口"), default=10)
    drift_min_papers = models.PositiveSmallIntegerField(_("检测卷最少份数"), default=5)
    min_check_accuracy = models.FloatField(_("检测卷准确率下限"), default=0.7)

    class Meta:
        verbose_name = _("评分设置")
        verbose_name_plural = _("评分设置")
        constraints = [
            models.CheckConstraint(name="marking_double_share_range",
                                   condition=Q(double_share__gte=0) & Q(double_share__lte=1)),
            models.CheckConstraint(name="marking_check_rate_range",
                                   condition=Q(check_rate__gte=0) & Q(check_rate__lt=1)),
            models.CheckConstraint(name="marking_thresholds_range",
                                   condition=Q(min_exact__gte=0) & Q(min_exact__lte=1) & Q(min_kappa__gte=-1)
                                   & Q(min_kappa__lte=1) & Q(min_check_accuracy__gte=0)
                                   & Q(min_check_accuracy__lte=1)),
            models.CheckConstraint(name="marking_drift_window_positive", condition=Q(drift_window__gte=1)),
        ]

    def __str__(self) -> str:
        return f"{self.cycle_id}"

    def threshold_for(self, max_score: int) -> int:
        return int(self.threshold_small if max_score <= self.small_item_max else self.threshold_large)

    def as_audit(self) -> dict[str, object]:
        return {f.name: getattr(self, f.attname) for f in self._meta.concrete_fields if f.name != "id"}


class Rubric(models.Model):
    cycle = models.ForeignKey("cycles.Cycle", verbose_name=_("监测周期"), on_delete=models.PROTECT,
                              related_name="+")
    instrument_code = models.CharField(_("工具代码"), max_length=60)
    item_code = models.CharField(_("题目编号"), max_length=40)
    version = models.PositiveIntegerField(_("版本"), default=1)
    max_score = models.PositiveSmallIntegerField(_("满分"))
    is_current = models.BooleanField(_("现行版本"), default=True)
    source = models.CharField(_("来源"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("创建人"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("评分标准")
        verbose_name_plural = _("评分标准")
        ordering = ["instrument_code", "item_code", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["cycle", "instrument_code", "item_code", "version"],
                                    name="rubric_version_unique"),
            models.UniqueConstraint(fields=["cycle", "instrument_code", "item_code"], condition=Q(is_current=True),
                                    name="rubric_one_current"),
            models.CheckConstraint(name="rubric_max_score_positive", condition=Q(max_score__gte=1)),
        ]

    def __str__(self) -> str:
        return f"{self.instrument_code}/{self.item_code} v{self.version}"


class ScorePoint(models.Model):
    rubric = models.ForeignKey(Rubric, on_delete=models.CASCADE, related_name="points")
    score = models.PositiveSmallIntegerField(_("分值"))
    descriptor = models.TextField(_("评分描述"))

    class Meta:
        ordering = ["rubric_id", "score"]
        constraints = [models.UniqueConstraint(fields=["rubric", "score"], name="scorepoint_once")]

    def __str__(self) -> str:
        return f"{self.rubric_id}:{self.score}"


class AnchorPaper(models.Model):
    rubric = models.ForeignKey(Rubric, on_delete=models.CASCADE, related_name="anchors")
    code = models.CharField(_("样卷编号"), max_length=40)
    text = models.TextField(_("样卷内容"))
    score = models.PositiveSmallIntegerField(_("评定分数"))
    note = models.TextField(_("说明"), blank=True)

    class Meta:
        ordering = ["rubric_id", "score", "code"]
        constraints = [models.UniqueConstraint(fields=["rubric", "code"], name="anchorpaper_code_unique")]

    def __str__(self) -> str:
        return self.code


class Source(models.TextChoices):
    ONLINE = "online", _("网络作答")
    PAPER = "paper", _("纸笔扫描")
    CHECK = "check", _("检测卷")


class ResponseStatus(models.TextChoices):
    OPEN = "open", _("评分中")
    ARBITRATION = "arbitration", _("待仲裁")
    FINAL = "final", _("已定分")


class FinalRule(models.TextChoices):
    SINGLE = "single", _("单评")
    AGREED = "agreed", _("双评一致")
    ADJACENT = "adjacent", _("双评相邻")
    ARBITRATED = "arbitrated", _("仲裁")
    OMITTED = "omitted", _("未作答")


class MarkResponse(models.Model):
    cycle = models.ForeignKey("cycles.Cycle", on_delete=models.PROTECT, related_name="+")
    code = models.CharField(_("答卷编号"), max_length=16, unique=True)
    instrument_code = models.CharField(_("工具代码"), max_length=60)
    item_code = models.CharField(_("题目编号"), max_length=40)
    max_score = models.PositiveSmallIntegerField(_("满分"))
    source = models.CharField(_("来源"), max_length=8, choices=Source.choices)
    test_taker = models.ForeignKey("delivery.TestTaker", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    attempt = models.ForeignKey("delivery.Attempt", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+")
    text = models.TextField(_("作答内容"), blank=True)
    image = models.CharField(_("扫描图像"), max_length=40, blank=True)
    # The accepted take of a recorded singing or speaking task (naeq.performance); the rater hears it through
    # the audio view, named by ``code`` only.
    recording = models.OneToOneField("performance.Recording", verbose_name=_("录音"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    check_score = models.PositiveSmallIntegerField(_("检测卷标准分"), null=True, blank=True)
    double = models.BooleanField(_("双评"), default=False)
    status = models.CharField(_("状态"), max_length=12, choices=ResponseStatus.choices,
                              default=ResponseStatus.OPEN)
    final_score = models.PositiveSmallIntegerField(_("最终得分"), null=True, blank=True)
    final_rule = models.CharField(_("定分规则"), max_length=10, choices=FinalRule.choices, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("待评答卷")
        verbose_name_plural = _("待评答卷")
        ordering = ["id"]
        indexes = [models.Index(fields=["cycle", "instrument_code", "item_code", "status"],
                                name="markresponse_item_status")]
        constraints = [
            models.UniqueConstraint(fields=["cycle", "instrument_code", "item_code", "test_taker"],
                                    condition=Q(test_taker__isnull=False), name="markresponse_once_per_taker"),
            models.CheckConstraint(name="markresponse_check_shape",
                                   condition=(Q(source="check", check_score__isnull=False, test_taker__isnull=True)
                                              | (~Q(source="check") & Q(check_score__isnull=True,
                                                                        test_taker__isnull=False)))),
            models.CheckConstraint(name="markresponse_final_shape",
                                   condition=(Q(status="final", final_score__isnull=False) & ~Q(final_rule=""))
                                   | (~Q(status="final") & Q(final_score__isnull=True, final_rule=""))),
            models.CheckConstraint(name="markresponse_final_in_range",
                                   condition=Q(final_score__isnull=True) | Q(final_score__lte=F("max_score"))),
            models.CheckConstraint(name="markresponse_check_in_range",
                                   condition=Q(check_score__isnull=True) | Q(check_score__lte=F("max_score"))),
            models.CheckConstraint(name="markresponse_content",
                                   condition=~Q(text="", image="", recording__isnull=True) | Q(final_rule="omitted")),
        ]

    def __str__(self) -> str:
        return self.code


class RaterProfile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="rater_profile")
    senior = models.BooleanField(_("仲裁评分员"), default=False)
    suspended = models.BooleanField(_("已暂停"), default=False)
    suspended_at = models.DateTimeField(null=True, blank=True)
    suspended_reason = models.CharField(_("暂停原因"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("评分员")
        verbose_name_plural = _("评分员")
        constraints = [models.CheckConstraint(name="raterprofile_suspension_shape",
                                              condition=Q(suspended=False) | Q(suspended_at__isnull=False))]

    def __str__(self) -> str:
        return f"{self.user_id}"


class RaterItem(models.Model):
    """Rater groups: the rater marks this item of the cycle."""

    cycle = models.ForeignKey("cycles.Cycle", on_delete=models.PROTECT, related_name="+")
    instrument_code = models.CharField(max_length=60)
    item_code = models.CharField(max_length=40)
    rater = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering = ["instrument_code", "item_code", "rater_id"]
        constraints = [models.UniqueConstraint(fields=["cycle", "instrument_code", "item_code", "rater"],
                                               name="rateritem_once")]

    def __str__(self) -> str:
        return f"{self.instrument_code}/{self.item_code}:{self.rater_id}"


class AssignmentRun(models.Model):
    cycle = models.ForeignKey("cycles.Cycle", on_delete=models.PROTECT, related_name="+")
    instrument_code = models.CharField(max_length=60)
    item_code = models.CharField(max_length=40)
    seed = models.BigIntegerField(_("随机种子"))
    double_share = models.FloatField()
    check_rate = models.FloatField()
    raters = models.JSONField(default=list)  # rater ids in the order given to the allocator
    responses = models.PositiveIntegerField(default=0)
    assignments = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.instrument_code}/{self.item_code}#{self.pk}"


class AssignmentStatus(models.TextChoices):
    PENDING = "pending", _("待评")
    SCORED = "scored", _("已评")
    FLAGGED = "flagged", _("已提交组长")
    WITHDRAWN = "withdrawn", _("已收回")


class Assignment(models.Model):
    response = models.ForeignKey(MarkResponse, on_delete=models.CASCADE, related_name="assignments")
    rater = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    run = models.ForeignKey(AssignmentRun, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveIntegerField(_("队列位置"))
    status = models.CharField(_("状态"), max_length=10, choices=AssignmentStatus.choices,
                              default=AssignmentStatus.PENDING)
    score = models.PositiveSmallIntegerField(_("评分"), null=True, blank=True)
    skips = models.PositiveSmallIntegerField(default=0)
    flag_note = models.CharField(_("提交说明"), max_length=300, blank=True)
    scored_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("评分任务")
        verbose_name_plural = _("评分任务")
        ordering = ["rater_id", "position"]
        indexes = [models.Index(fields=["rater", "status", "position"], name="assignment_queue")]
        constraints = [
            models.UniqueConstraint(fields=["response", "rater"], name="assignment_never_twice"),
            models.CheckConstraint(name="assignment_score_shape",
                                   condition=(Q(status="scored", score__isnull=False, scored_at__isnull=False)
                                              | (~Q(status="scored") & Q(score__isnull=True)))),
        ]

    def __str__(self) -> str:
        return f"{self.response_id}:{self.rater_id}"


class Arbitration(models.Model):
    response = models.OneToOneField(MarkResponse, on_delete=models.CASCADE, related_name="arbitration")
    scores = models.JSONField(default=list)  # the two raters' scores
    opened_at = models.DateTimeField(default=timezone.now)
    score = models.PositiveSmallIntegerField(_("仲裁分"), null=True, blank=True)
    arbiter = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+")
    note = models.CharField(_("仲裁说明"), max_length=300, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["opened_at", "id"]
        constraints = [models.CheckConstraint(
            name="arbitration_resolved_shape",
            condition=Q(score__isnull=True, resolved_at__isnull=True)
            | Q(score__isnull=False, resolved_at__isnull=False, arbiter__isnull=False))]

    def __str__(self) -> str:
        return f"{self.response_id}"
