"""应急事件 and 监督专线 as database rows.

* :class:`IncidentCase` — one incident being handled: made at once from a session's
  :class:`naeq.delivery.models.Incident` (one-to-one), or standalone for events outside a session (a county-level
  leak, a report on the hotline) pointing at the county and optionally a school. It carries its current level
  (school → county → city → province) and state (open → handling → closed).
* :class:`HandlingEntry` — the append-only handling log: who, when, what was done, escalated to whom.
* :class:`Escalation` — each move up the chain (at once by grade, by hand, or overdue).
* :class:`Finding` — an accountability finding recorded at closing (violation code, unit, note).
* :class:`Notice` — the in-app notice list (a copy also goes by e-mail).
* :class:`IncidentReport` — the school's 应急事件情况报告表 per test day, collected by the county.
* :class:`HotlineCall` — the county supervision hotline's call log on test days.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class CaseLevel(models.TextChoices):
    SCHOOL = "school", _("样本校")
    COUNTY = "county", _("县级")
    CITY = "city", _("地市级")
    PROVINCE = "province", _("省级")


class CaseState(models.TextChoices):
    OPEN = "open", _("待处置")
    HANDLING = "handling", _("处置中")
    CLOSED = "closed", _("已办结")


class CaseSource(models.TextChoices):
    SESSION = "session", _("场次记录")
    MANUAL = "manual", _("直接登记")
    HOTLINE = "hotline", _("监督专线")


class IncidentCase(models.Model):
    cycle = models.ForeignKey("cycles.Cycle", verbose_name=_("监测周期"), on_delete=models.PROTECT, related_name="+")
    incident = models.OneToOneField("delivery.Incident", verbose_name=_("场次应急事件"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="case")
    county = models.ForeignKey("registry.Region", verbose_name=_("县（区）"), on_delete=models.PROTECT,
                               related_name="+")
    school = models.ForeignKey("registry.School", verbose_name=_("学校"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    path = models.CharField(max_length=32, help_text="the county's path, denormalised for jurisdiction queries")
    source = models.CharField(_("来源"), max_length=8, choices=CaseSource.choices)
    category = models.CharField(_("类别"), max_length=20, help_text="a category code of the incident configuration")
    grade = models.PositiveSmallIntegerField(_("级别"), choices=[(1, "1"), (2, "2"), (3, "3")])
    occurred_at = models.DateTimeField(_("发生时间"))
    description = models.TextField(_("情况说明"))
    level = models.CharField(_("当前层级"), max_length=8, choices=CaseLevel.choices, default=CaseLevel.SCHOOL)
    state = models.CharField(_("状态"), max_length=8, choices=CaseState.choices, default=CaseState.OPEN)
    opened_at = models.DateTimeField(_("登记时间"), default=timezone.now)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("登记人"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("办结人"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    closing_summary = models.TextField(_("处置结果"), blank=True)

    class Meta:
        verbose_name = _("应急事件处置")
        verbose_name_plural = _("应急事件处置")
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["path"], name="incidentcase_path", opclasses=["varchar_pattern_ops"]),
                   models.Index(fields=["cycle", "grade", "state"], name="incidentcase_grade_state")]
        constraints = [
            models.CheckConstraint(name="incidentcase_grade_1_3", condition=Q(grade__gte=1, grade__lte=3)),
            models.CheckConstraint(name="incidentcase_closed_iff_time",
                                   condition=Q(state="closed", closed_at__isnull=False)
                                   | (~Q(state="closed") & Q(closed_at__isnull=True))),
            models.CheckConstraint(name="incidentcase_session_source",
                                   condition=Q(source="session", incident__isnull=False)
                                   | (~Q(source="session") & Q(incident__isnull=True))),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.category} {self.grade}"

    @property
    def category_name(self) -> str:
        from naeq.incidents.config import default_config

        c = default_config().category(self.category)
        return c.name if c else self.category

    @property
    def grade_name(self) -> str:
        from naeq.incidents.config import grade_name

        return grade_name(self.grade)


class AppendOnly(models.Model):
    """Rows that are written once: saving an existing row or deleting one raises."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and type(self)._default_manager.filter(pk=self.pk).exists():
            raise ValueError(f"{type(self).__name__} is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError(f"{type(self).__name__} is append-only")


class EntryKind(models.TextChoices):
    RECORD = "record", _("登记")
    ACTION = "action", _("处置")
    ESCALATE = "escalate", _("上报")
    CLOSE = "close", _("办结")


class HandlingEntry(AppendOnly):
    case = models.ForeignKey(IncidentCase, on_delete=models.CASCADE, related_name="log")
    at = models.DateTimeField(_("时间"), default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("处置人"), null=True, blank=True,
                           on_delete=models.PROTECT, related_name="+")
    by_label = models.CharField(_("处置人"), max_length=150)
    kind = models.CharField(_("类型"), max_length=8, choices=EntryKind.choices)
    text = models.TextField(_("处置情况"))
    to_level = models.CharField(_("上报至"), max_length=8, choices=CaseLevel.choices, blank=True)

    class Meta:
        verbose_name = _("处置记录")
        verbose_name_plural = _("处置记录")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.case_id}:{self.kind}@{self.at:%Y-%m-%d %H:%M}"


class Escalation(AppendOnly):
    class How(models.TextChoices):
        AT_ONCE = "at_once", _("按级别立即上报")
        BY_HAND = "by_hand", _("手动上报")
        OVERDUE = "overdue", _("超时自动上报")

    case = models.ForeignKey(IncidentCase, on_delete=models.CASCADE, related_name="escalations")
    at = models.DateTimeField(_("时间"), default=timezone.now)
    from_level = models.CharField(_("原层级"), max_length=8, choices=CaseLevel.choices)
    to_level = models.CharField(_("上报至"), max_length=8, choices=CaseLevel.choices)
    how = models.CharField(_("方式"), max_length=8, choices=How.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                           related_name="+")
    reason = models.CharField(_("理由"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("上报记录")
        verbose_name_plural = _("上报记录")
        ordering = ["at", "id"]
        constraints = [models.CheckConstraint(name="escalation_moves", condition=~Q(from_level=models.F("to_level")))]

    def __str__(self) -> str:
        return f"{self.case_id}:{self.from_level}->{self.to_level}"


class Finding(AppendOnly):
    case = models.ForeignKey(IncidentCase, on_delete=models.CASCADE, related_name="findings")
    violation = models.CharField(_("责任追究情形"), max_length=20)
    county = models.ForeignKey("registry.Region", verbose_name=_("责任单位（县）"), on_delete=models.PROTECT,
                               related_name="+")
    school = models.ForeignKey("registry.School", verbose_name=_("责任单位（学校）"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    note = models.TextField(_("认定说明"))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                           related_name="+")
    at = models.DateTimeField(_("认定时间"), default=timezone.now)

    class Meta:
        verbose_name = _("责任认定")
        verbose_name_plural = _("责任认定")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.case_id}:{self.violation}"

    @property
    def violation_name(self) -> str:
        from naeq.incidents.config import default_config

        v = default_config().violation(self.violation)
        return v.name if v else self.violation


class Notice(models.Model):
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    case = models.ForeignKey(IncidentCase, on_delete=models.CASCADE, related_name="notices")
    at = models.DateTimeField(_("时间"), default=timezone.now)
    text = models.CharField(_("内容"), max_length=500)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)
    emailed = models.BooleanField(_("已发邮件"), default=False)

    class Meta:
        verbose_name = _("事件通知")
        verbose_name_plural = _("事件通知")
        ordering = ["-at", "-id"]
        constraints = [models.UniqueConstraint(fields=["recipient", "case", "text"], name="notice_once")]

    def __str__(self) -> str:
        return self.text[:40]


class IncidentReport(models.Model):
    """应急事件情况报告表: one per sample school per test day (2023-dongli-district-rules.txt 样本校职责 (4):
    "提交样本校应急事件情况报告表"), signed by the school head, collected by the county."""

    cycle = models.ForeignKey("cycles.Cycle", on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey("registry.School", verbose_name=_("学校"), on_delete=models.PROTECT, related_name="+")
    county = models.ForeignKey("registry.Region", verbose_name=_("县（区）"), on_delete=models.PROTECT,
                               related_name="+")
    path = models.CharField(max_length=32)
    test_date = models.DateField(_("测试日期"))
    no_incident = models.BooleanField(_("无应急事件"))
    handling = models.TextField(_("处置情况说明"), blank=True)
    signed_by = models.CharField(_("校长签名"), max_length=60)
    cases = models.ManyToManyField(IncidentCase, verbose_name=_("应急事件"), blank=True, related_name="reports")
    filed_at = models.DateTimeField(_("填报时间"), default=timezone.now)
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    collected_at = models.DateTimeField(_("县级收取时间"), null=True, blank=True)
    collected_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")

    class Meta:
        verbose_name = _("应急事件情况报告表")
        verbose_name_plural = _("应急事件情况报告表")
        ordering = ["test_date", "school__code"]
        indexes = [models.Index(fields=["path"], name="incidentreport_path", opclasses=["varchar_pattern_ops"])]
        constraints = [
            models.UniqueConstraint(fields=["cycle", "school", "test_date"], name="incidentreport_once"),
            models.CheckConstraint(name="incidentreport_handling_unless_none",
                                   condition=Q(no_incident=True) | ~Q(handling="")),
        ]

    def __str__(self) -> str:
        return f"{self.school_id}@{self.test_date}"


class CallerType(models.TextChoices):
    PARENT = "parent", _("家长")
    TEACHER = "teacher", _("教师")
    PUBLIC = "public", _("社会公众")
    ANONYMOUS = "anonymous", _("匿名")


class CallTopic(models.TextChoices):
    COMPLAINT = "complaint", _("投诉")
    VIOLATION = "violation", _("违规举报")
    QUESTION = "question", _("咨询")


class HotlineCall(models.Model):
    """One call to the county's 监督专线 (2024-nanchang-city-plan.txt (9): "测试当天，安排熟悉监测组织实施工作的
    人员值守并做电话记录"). No ID number is ever stored; the phone is optional and masked in lists."""

    cycle = models.ForeignKey("cycles.Cycle", on_delete=models.PROTECT, related_name="+")
    county = models.ForeignKey("registry.Region", verbose_name=_("县（区）"), on_delete=models.PROTECT,
                               related_name="+")
    path = models.CharField(max_length=32)
    school = models.ForeignKey("registry.School", verbose_name=_("涉及学校"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField(_("来电时间"))
    caller_type = models.CharField(_("来电人类型"), max_length=10, choices=CallerType.choices)
    caller_phone = models.CharField(_("来电号码"), max_length=20, blank=True)
    topic = models.CharField(_("来电类别"), max_length=10, choices=CallTopic.choices)
    summary = models.TextField(_("来电内容摘要"))
    handler = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("接听人"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+")
    result = models.TextField(_("处理结果"), blank=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    case = models.OneToOneField(IncidentCase, verbose_name=_("转为应急事件"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="hotline_call")

    class Meta:
        verbose_name = _("监督专线来电")
        verbose_name_plural = _("监督专线来电")
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["path"], name="hotlinecall_path", opclasses=["varchar_pattern_ops"])]
        constraints = [
            models.CheckConstraint(name="hotlinecall_phone_digits",
                                   condition=Q(caller_phone="") | Q(caller_phone__regex=r"^[0-9+\-]{5,20}$")),
            models.CheckConstraint(name="hotlinecall_closed_with_result",
                                   condition=Q(closed_at__isnull=True) | ~Q(result="")),
        ]

    def __str__(self) -> str:
        return f"{self.county_id}:{self.topic}@{self.received_at:%Y-%m-%d %H:%M}"

    @property
    def masked_phone(self) -> str:
        p = self.caller_phone
        if not p:
            return ""
        return p[:3] + "*" * max(len(p) - 5, 1) + p[-2:] if len(p) > 5 else "*" * len(p)
