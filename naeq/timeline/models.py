"""工作进度: the state of each manual milestone per unit, the completion reports and implementation summaries
with their attachments, and the record of reminders sent.

A *unit* is a sample school, a sample county or a province with sample counties. Rows carry the unit's
materialised ``path`` (a school's is its county's path, as everywhere in naeq), so a jurisdiction is one prefix
query. Derived milestones (registry, rosters, test sessions, reports) are computed, never stored here.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class State(models.TextChoices):
    NOT_STARTED = "not_started", _("未开始")
    DRAFT = "draft", _("草稿")
    SUBMITTED = "submitted", _("待审核")
    APPROVED = "approved", _("已通过")
    RETURNED = "returned", _("已退回")


class UnitLevel(models.TextChoices):
    SCHOOL = "school", _("学校")
    COUNTY = "county", _("县级")
    PROVINCE = "province", _("省级")


_UNIT_SHAPE = (Q(level="school", school__isnull=False) | Q(level__in=["county", "province"], school__isnull=True))


class MilestoneStatus(models.Model):
    """A manual milestone of one unit: marked done by the unit, reviewed by the level above."""

    cycle = models.ForeignKey("cycles.Cycle", verbose_name=_("监测周期"), on_delete=models.PROTECT,
                              related_name="+")
    milestone = models.CharField(_("里程碑"), max_length=40)
    level = models.CharField(_("层级"), max_length=10, choices=UnitLevel.choices)
    region = models.ForeignKey("registry.Region", verbose_name=_("区域"), on_delete=models.PROTECT,
                               related_name="+", help_text="the county (school and county units) or the province")
    school = models.ForeignKey("registry.School", verbose_name=_("学校"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    path = models.CharField(max_length=32)
    state = models.CharField(_("状态"), max_length=12, choices=State.choices, default=State.NOT_STARTED)
    note = models.CharField(_("说明"), max_length=500, blank=True, default="")
    reason = models.CharField(_("退回原因"), max_length=500, blank=True, default="")
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("提交人"), null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    reviewed_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("审核人"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("里程碑状态")
        verbose_name_plural = _("里程碑状态")
        indexes = [models.Index(fields=["cycle", "path"], name="milestonestatus_cycle_path")]
        constraints = [
            models.UniqueConstraint(fields=["cycle", "milestone", "region", "school"], nulls_distinct=False,
                                    name="milestonestatus_once_per_unit"),
            models.CheckConstraint(name="milestonestatus_unit_shape", condition=_UNIT_SHAPE),
            models.CheckConstraint(name="milestonestatus_state",
                                   condition=Q(state__in=["not_started", "submitted", "approved", "returned"])),
            models.CheckConstraint(name="milestonestatus_return_has_reason",
                                   condition=~Q(state="returned") | ~Q(reason="")),
        ]

    def __str__(self) -> str:
        return f"{self.milestone} {self.school_id or self.region_id}"


class ReportKind(models.TextChoices):
    SCHOOL_COMPLETION = "school_completion", _("测试完成情况报告")
    COUNTY_SUMMARY = "county_summary", _("县级实施工作总结")
    PROVINCE_SUMMARY = "province_summary", _("省级实施工作总结")


#: The report each unit level writes.
REPORT_KIND_OF_LEVEL = {"school": ReportKind.SCHOOL_COMPLETION, "county": ReportKind.COUNTY_SUMMARY,
                        "province": ReportKind.PROVINCE_SUMMARY}


class Report(models.Model):
    """A school's completion report (完成情况报告) or a county's / province's implementation summary (实施工作总结):
    text sections from the configuration in :mod:`naeq.timeline.reports`, attachments, and the review chain."""

    cycle = models.ForeignKey("cycles.Cycle", verbose_name=_("监测周期"), on_delete=models.PROTECT,
                              related_name="+")
    kind = models.CharField(_("类别"), max_length=20, choices=ReportKind.choices)
    level = models.CharField(_("层级"), max_length=10, choices=UnitLevel.choices)
    region = models.ForeignKey("registry.Region", verbose_name=_("区域"), on_delete=models.PROTECT,
                               related_name="+")
    school = models.ForeignKey("registry.School", verbose_name=_("学校"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    path = models.CharField(max_length=32)
    sections = models.JSONField(_("内容"), default=dict, blank=True)
    state = models.CharField(_("状态"), max_length=12, choices=State.choices, default=State.DRAFT)
    reason = models.CharField(_("退回原因"), max_length=500, blank=True, default="")
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("提交人"), null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    reviewed_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("审核人"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("完成情况报告与实施工作总结")
        verbose_name_plural = _("完成情况报告与实施工作总结")
        indexes = [models.Index(fields=["cycle", "path"], name="report_cycle_path")]
        constraints = [
            models.UniqueConstraint(fields=["cycle", "kind", "region", "school"], nulls_distinct=False,
                                    name="report_once_per_unit"),
            models.CheckConstraint(name="report_unit_shape", condition=_UNIT_SHAPE),
            models.CheckConstraint(name="report_state",
                                   condition=Q(state__in=["draft", "submitted", "approved", "returned"])),
            models.CheckConstraint(name="report_return_has_reason", condition=~Q(state="returned") | ~Q(reason="")),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.school_id or self.region_id}"


class ReportAttachment(models.Model):
    """A file attached to a report, stored under ``DATA_DIR/timeline-attachments/<report id>/`` (never under
    MEDIA_ROOT: it is served only through a view that checks jurisdiction)."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="attachments")
    name = models.CharField(_("文件名"), max_length=120)
    stored_name = models.CharField(max_length=80, unique=True)
    size = models.PositiveIntegerField(_("大小（字节）"))
    content_type = models.CharField(max_length=80)
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("上传人"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("附件")
        verbose_name_plural = _("附件")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.name


class ReminderSent(models.Model):
    """One reminder e-mail sent to one account on one day: a second run on the same day sends nothing again."""

    cycle = models.ForeignKey("cycles.Cycle", on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField(_("日期"))
    email = models.EmailField(_("电子邮箱"))
    items = models.JSONField(_("提醒事项"), default=list)
    sent_at = models.DateTimeField(_("发送时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("提醒记录")
        verbose_name_plural = _("提醒记录")
        constraints = [models.UniqueConstraint(fields=["cycle", "user", "day"], name="remindersent_once_a_day")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.day}"
