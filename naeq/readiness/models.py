"""Readiness (准备就绪): training records and the county and school self-checks with their review chain.

* :class:`TrainingEvent` — a training held by a province, a county or a school (2024-nanchang-city-plan.txt (6):
  "开展测试程序与工作规范培训……针对不同类别工作人员的专项培训可分批分类进行"); its :class:`TrainingAttendance`
  rows say who (post, school) attended.
* :class:`SelfCheck` — one unit's (a sample school's or a sample county's) answers to the configured self-check
  list, with its status in the review chain school → county → province. No row means "not started".
* :class:`Evidence` — a photo or PDF attached to an evidence item, stored under ``DATA_DIR/readiness-evidence``.

Every row carries the county's ``path`` so jurisdiction is one prefix query.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class TrainingLevel(models.TextChoices):
    PROVINCE = "province", _("省级")
    COUNTY = "county", _("县级")
    SCHOOL = "school", _("校级")


class TrainingEvent(models.Model):
    cycle = models.ForeignKey("cycles.Cycle", verbose_name=_("监测周期"), on_delete=models.PROTECT,
                              related_name="+")
    level = models.CharField(_("培训层级"), max_length=10, choices=TrainingLevel.choices)
    region = models.ForeignKey("registry.Region", verbose_name=_("组织单位"), on_delete=models.PROTECT,
                               related_name="+")
    school = models.ForeignKey("registry.School", verbose_name=_("学校"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    path = models.CharField(max_length=32, help_text="the organising region's path (a school's county path)")
    title = models.CharField(_("培训名称"), max_length=100)
    topics = models.JSONField(_("培训内容"), default=list)
    date = models.DateField(_("培训日期"))
    place = models.CharField(_("培训地点"), max_length=100)
    trainer = models.CharField(_("培训人"), max_length=60)
    materials = models.CharField(_("培训材料"), max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("培训记录")
        verbose_name_plural = _("培训记录")
        ordering = ["-date", "-id"]
        indexes = [models.Index(fields=["cycle", "path"], name="training_cycle_path")]
        constraints = [
            models.CheckConstraint(name="training_school_iff_school_level",
                                   condition=Q(level="school", school__isnull=False)
                                   | (~Q(level="school") & Q(school__isnull=True))),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.title}"


class TrainingAttendance(models.Model):
    event = models.ForeignKey(TrainingEvent, on_delete=models.CASCADE, related_name="attendance")
    person_name = models.CharField(_("姓名"), max_length=40)
    post = models.CharField(_("岗位"), max_length=40)
    school = models.ForeignKey("registry.School", verbose_name=_("学校"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    attended = models.BooleanField(_("是否参加"), default=True)
    note = models.CharField(_("备注"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("培训签到")
        verbose_name_plural = _("培训签到")
        ordering = ["event", "school__code", "post", "person_name"]
        constraints = [
            models.UniqueConstraint(fields=["event", "person_name", "post", "school"],
                                    name="attendance_once_per_event"),
        ]

    def __str__(self) -> str:
        return f"{self.person_name}/{self.post}@{self.event_id}"


class UnitKind(models.TextChoices):
    SCHOOL = "school", _("样本校")
    COUNTY = "county", _("样本县")


class CheckStatus(models.TextChoices):
    NOT_STARTED = "not_started", _("未开始")  # never stored: no row
    DRAFT = "draft", _("草稿")
    SUBMITTED = "submitted", _("已提交")
    RETURNED = "returned", _("已退回")
    APPROVED = "approved", _("已通过")


class SelfCheck(models.Model):
    cycle = models.ForeignKey("cycles.Cycle", verbose_name=_("监测周期"), on_delete=models.PROTECT,
                              related_name="+")
    kind = models.CharField(_("单位类型"), max_length=10, choices=UnitKind.choices)
    county = models.ForeignKey("registry.Region", verbose_name=_("县（区）"), on_delete=models.PROTECT,
                               related_name="+")
    school = models.ForeignKey("registry.School", verbose_name=_("学校"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    path = models.CharField(max_length=32, help_text="the county's path")
    status = models.CharField(_("状态"), max_length=12, choices=CheckStatus.choices, default=CheckStatus.DRAFT)
    # item id -> {"value": ..., "remedy": "...", "remedy_date": "YYYY-MM-DD"}
    answers = models.JSONField(_("自查情况"), default=dict)
    updated_at = models.DateTimeField(_("更新时间"), default=timezone.now)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    reviewed_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    return_reason = models.CharField(_("退回理由"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("测试准备工作自查")
        verbose_name_plural = _("测试准备工作自查")
        ordering = ["path", "kind", "school__code"]
        indexes = [models.Index(fields=["cycle", "path"], name="selfcheck_cycle_path")]
        constraints = [
            models.UniqueConstraint(fields=["cycle", "school"], condition=Q(kind="school"),
                                    name="selfcheck_once_per_school"),
            models.UniqueConstraint(fields=["cycle", "county"], condition=Q(kind="county"),
                                    name="selfcheck_once_per_county"),
            models.CheckConstraint(name="selfcheck_school_iff_school_kind",
                                   condition=Q(kind="school", school__isnull=False)
                                   | Q(kind="county", school__isnull=True)),
            models.CheckConstraint(name="selfcheck_stored_status",
                                   condition=Q(status__in=["draft", "submitted", "returned", "approved"])),
            models.CheckConstraint(name="selfcheck_returned_has_reason",
                                   condition=~Q(status="returned") | ~Q(return_reason="")),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.school_id or self.county_id}@{self.cycle_id}"

    @property
    def editable(self) -> bool:
        return self.status in (CheckStatus.DRAFT, CheckStatus.RETURNED)


class Evidence(models.Model):
    selfcheck = models.ForeignKey(SelfCheck, on_delete=models.CASCADE, related_name="evidence")
    item_id = models.CharField(_("自查项"), max_length=40)
    stored_name = models.CharField(max_length=80, unique=True)
    original_name = models.CharField(_("文件名"), max_length=200)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField(_("大小（字节）"))
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    uploaded_at = models.DateTimeField(_("上传时间"), default=timezone.now)

    class Meta:
        verbose_name = _("自查佐证材料")
        verbose_name_plural = _("自查佐证材料")
        ordering = ["selfcheck", "item_id", "uploaded_at", "id"]
        constraints = [
            models.CheckConstraint(name="evidence_sha256", condition=Q(sha256__regex=r"^[0-9a-f]{64}$")),
        ]

    def __str__(self) -> str:
        return f"{self.item_id}:{self.original_name}"
