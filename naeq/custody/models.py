"""Instrument custody (测试工具保密) and session records (测试情况记录表).

Seeds (the authority):

* 2024-nanchang-city-plan.txt, 测前准备 (8):
  "确保监测工具到达后，由专人及时领取，并由专车运送至样本县、申报县教育局保密室
  （保密用全木或全铁皮箱，不用玻璃橱柜，双人双锁，防止监测工具泄漏）";
  "现场测试期间，安排专人在县教育局保密室按日期发放监测工具箱并做好发放记录。
  样本校领取监测工具须遵循“当天领取，当天送回”的原则";
  "车程超过2小时的样本校，经县级实施工作领导小组审查同意后，可领取两天的监测工具";
  "测试结束，样本县、申报县收齐所有监测工具后，分校将监测工具放入原监测工具箱内，
  并组织专人专车按照指定的邮寄方式办理回邮手续".
* 2024-nanchang-city-plan.txt, 工作要求:
  "提前联系机要部门做好工具接收准备，确保监测工具通过机要部门送达后……安排专人值守，做好交接登记".
* collected-county-and-school-plans.txt:
  "9月29日前，按要求在规定时间内，由保密工作组负责完成监测工具的回邮工作";
  "样本校按照要求上传测试情况记录表、测试完成情况".

:class:`CustodyEvent` is the chain of custody: append-only (``save`` refuses an update, ``delete`` refuses, and the
database triggers of :mod:`naeq.custody.triggers` refuse UPDATE and DELETE). :class:`TwoDayKeep` is the approval of
the two-day exception. :class:`SessionRecord` is one room's 测试情况记录表 of one test session.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(Exception):
    """A programming error: something tried to change or remove a custody event."""


class EventKind(models.TextChoices):
    RECEIVED = "received", _("接收（机要送达）")
    STORED = "stored", _("入保密室")
    ISSUED = "issued", _("发放给样本校")
    RETURNED = "returned", _("样本校送回")
    MAILED = "mailed", _("原箱回邮")


TWO_SIGNATURES = (EventKind.RECEIVED, EventKind.STORED, EventKind.ISSUED, EventKind.RETURNED)


class CustodyEvent(models.Model):
    """One step of the chain of custody of a county's instrument boxes. Never changed, never removed: a mistake is
    answered by a later event and its note."""

    cycle = models.ForeignKey("cycles.Cycle", verbose_name=_("监测周期"), on_delete=models.PROTECT, related_name="+")
    county = models.ForeignKey("registry.Region", verbose_name=_("县（区）"), on_delete=models.PROTECT,
                               related_name="+")
    path = models.CharField(max_length=32, help_text="the county's path, denormalised for jurisdiction queries")
    school = models.ForeignKey("registry.School", verbose_name=_("学校"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("环节"), max_length=10, choices=EventKind.choices)
    at = models.DateTimeField(_("时间"))
    boxes = models.PositiveIntegerField(_("箱数"))
    expected_boxes = models.PositiveIntegerField(_("应到箱数（清单）"), null=True, blank=True)
    test_day = models.DateField(_("测试日期"), null=True, blank=True)
    seal_numbers = models.CharField(_("封条号"), max_length=300, blank=True)
    seals_intact = models.BooleanField(_("封条完好"), null=True, blank=True)
    location = models.CharField(_("存放位置"), max_length=100, blank=True)
    tracking_no = models.CharField(_("邮寄单号"), max_length=40, blank=True)
    signatory_1 = models.CharField(_("签字人一"), max_length=40, blank=True)
    signatory_2 = models.CharField(_("签字人二"), max_length=40, blank=True)
    issue = models.ForeignKey("self", verbose_name=_("对应发放记录"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="returns")
    keep = models.ForeignKey("TwoDayKeep", verbose_name=_("两天保管审批"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="issues")
    note = models.CharField(_("备注"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("登记人"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(_("登记时间"), default=timezone.now)

    class Meta:
        verbose_name = _("保密交接记录")
        verbose_name_plural = _("保密交接记录")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["path"], name="custodyevent_path", opclasses=["varchar_pattern_ops"]),
                   models.Index(fields=["cycle", "county", "kind"], name="custodyevent_county_kind")]
        constraints = [
            models.CheckConstraint(name="custodyevent_boxes_positive", condition=Q(boxes__gt=0)),
            models.CheckConstraint(
                name="custodyevent_two_signatures",
                condition=~Q(kind__in=[k.value for k in TWO_SIGNATURES])
                | (~Q(signatory_1="") & ~Q(signatory_2="") & ~Q(signatory_1=F("signatory_2")))),
            models.CheckConstraint(
                name="custodyevent_school_events",
                condition=(Q(kind__in=["issued", "returned"], school__isnull=False)
                           | (~Q(kind__in=["issued", "returned"]) & Q(school__isnull=True)))),
            models.CheckConstraint(name="custodyevent_issue_has_day",
                                   condition=~Q(kind="issued") | Q(test_day__isnull=False)),
            models.CheckConstraint(name="custodyevent_return_links_issue",
                                   condition=(Q(kind="returned", issue__isnull=False, seals_intact__isnull=False)
                                              | (~Q(kind="returned") & Q(issue__isnull=True)))),
            models.CheckConstraint(name="custodyevent_mail_tracking",
                                   condition=~Q(kind="mailed") | ~Q(tracking_no="")),
            models.UniqueConstraint(fields=["issue"], condition=Q(kind="returned"), name="custodyevent_one_return"),
        ]

    def __str__(self) -> str:
        return f"{self.county_id}:{self.kind}:{self.boxes}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None or kwargs.get("force_update"):
            raise AppendOnlyError("custody events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnlyError("custody events are append-only")


class KeepStatus(models.TextChoices):
    PENDING = "pending", _("待审批")
    APPROVED = "approved", _("已同意")
    REJECTED = "rejected", _("不同意")


class TwoDayKeep(models.Model):
    """A county's request that a school more than two hours away keep two days of instruments
    ("车程超过2小时的样本校，经县级实施工作领导小组审查同意后，可领取两天的监测工具", 2024-nanchang-city-plan.txt),
    and its decision."""

    cycle = models.ForeignKey("cycles.Cycle", verbose_name=_("监测周期"), on_delete=models.PROTECT, related_name="+")
    county = models.ForeignKey("registry.Region", verbose_name=_("县（区）"), on_delete=models.PROTECT,
                               related_name="+")
    path = models.CharField(max_length=32)
    school = models.ForeignKey("registry.School", verbose_name=_("学校"), on_delete=models.PROTECT,
                               related_name="+")
    first_day = models.DateField(_("第一天测试日期"))
    travel_minutes = models.PositiveSmallIntegerField(_("单程车程（分钟）"))
    reason = models.CharField(_("理由"), max_length=300)
    status = models.CharField(_("状态"), max_length=10, choices=KeepStatus.choices, default=KeepStatus.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("申请人"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(_("申请时间"), default=timezone.now)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("审批人"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    decision_note = models.CharField(_("审批意见"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("两天保管申请")
        verbose_name_plural = _("两天保管申请")
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(name="twodaykeep_over_two_hours", condition=Q(travel_minutes__gt=120)),
            models.UniqueConstraint(fields=["cycle", "school", "first_day"], name="twodaykeep_once",
                                    condition=Q(status__in=["pending", "approved"])),
            models.CheckConstraint(name="twodaykeep_decided",
                                   condition=Q(status="pending") | Q(decided_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.school_id}:{self.first_day}:{self.status}"


class DeviationCategory(models.TextChoices):
    LATE_START = "late_start", _("推迟开考")
    OVERTIME = "overtime", _("超时或提前结束")
    ROOM = "room", _("测试场地变更")
    STAFF = "staff", _("工作人员变动")
    EQUIPMENT = "equipment", _("设备或网络故障")
    INSTRUMENT = "instrument", _("测试工具问题")
    STUDENT = "student", _("学生情况")
    OTHER = "other", _("其他")


class SessionRecord(models.Model):
    """One room's 测试情况记录表 of one test session: actual times, attendance, absentees and PE-exempt students (by
    test ID, with a reason), deviations. Entered by the school's session runners; corrected in place, audited."""

    session = models.ForeignKey("delivery.TestSession", verbose_name=_("测试场次"), on_delete=models.PROTECT,
                                related_name="+")
    path = models.CharField(max_length=32)
    room = models.CharField(_("测试教室"), max_length=40)
    actual_start = models.DateTimeField(_("实际开始时间"))
    actual_end = models.DateTimeField(_("实际结束时间"))
    expected = models.PositiveSmallIntegerField(_("应到人数"))
    present = models.PositiveSmallIntegerField(_("实到人数"))
    absentees = models.JSONField(_("缺考学生"), default=list, blank=True,
                                 help_text='[{"code": test ID, "reason": text}]')
    pe_exempt = models.JSONField(_("体育免测学生"), default=list, blank=True,
                                 help_text='[{"code": test ID, "reason": text}]')
    deviations = models.JSONField(_("异常情况"), default=list, blank=True,
                                  help_text='[{"category": DeviationCategory, "text": text}]')
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("填报人"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(_("填报时间"), default=timezone.now)

    class Meta:
        verbose_name = _("测试情况记录表")
        verbose_name_plural = _("测试情况记录表")
        ordering = ["session_id", "room"]
        indexes = [models.Index(fields=["path"], name="sessionrecord_path", opclasses=["varchar_pattern_ops"])]
        constraints = [
            models.UniqueConstraint(fields=["session", "room"], name="sessionrecord_once_per_room"),
            models.CheckConstraint(name="sessionrecord_present_le_expected",
                                   condition=Q(present__lte=F("expected"))),
            models.CheckConstraint(name="sessionrecord_end_after_start",
                                   condition=Q(actual_end__gt=F("actual_start"))),
        ]

    def __str__(self) -> str:
        return f"{self.session_id}:{self.room}"
