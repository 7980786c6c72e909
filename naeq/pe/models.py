"""The PE field test (学生体育现场测试) in the database: the provincial entry window, exam rooms with their recorder
and reviewer, and one record per sampled student.

Seed 2024-nanchang-city-plan.txt: "学生体育现场测试记录卡为纸笔记录，用于记录学生身高、体重、握力、视力、肺活量、
50米跑、立定跳远、15米折返跑共计8个测试项目的测试数据"; the PE proctors "按要求测试并如实记录学生测试数据，
协助信息员将体育测试数据录入系统中，核查体育测试数据录入的准确性". So the paper card is keyed per exam room by
a recorder and checked by a second person, the reviewer.

Invariants held by the database: one window per province and cycle, closing after it opens; room numbers unique per
school and cycle; the recorder and the reviewer are two different accounts; a confirmed room has a confirmer; one
record per test taker; every value is blank (not entered), −1 (missing) or non-negative.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from naeq.pe.config import FIELDS


class EntryWindow(models.Model):
    """The province-wide entry window set by the provincial coordinator (else the national default applies)."""

    cycle = models.ForeignKey("cycles.Cycle", verbose_name=_("监测周期"), on_delete=models.PROTECT, related_name="+")
    province = models.ForeignKey("registry.Region", verbose_name=_("省份"), on_delete=models.PROTECT,
                                 related_name="+", limit_choices_to={"level": "province"})
    opens_at = models.DateTimeField(_("录入开始时间"))
    closes_at = models.DateTimeField(_("录入截止时间"))
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("设置人"), null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    set_at = models.DateTimeField(_("设置时间"), default=timezone.now)

    class Meta:
        verbose_name = _("体育测试录入时间")
        verbose_name_plural = _("体育测试录入时间")
        constraints = [
            models.UniqueConstraint(fields=["cycle", "province"], name="pe_window_once_per_province"),
            models.CheckConstraint(name="pe_window_closes_after_opens", condition=Q(closes_at__gt=F("opens_at"))),
        ]

    def __str__(self) -> str:
        return f"{self.cycle_id}:{self.province_id}"

    def as_audit(self) -> dict[str, object]:
        return {"cycle": self.cycle_id, "province": self.province_id, "opens_at": self.opens_at.isoformat(),
                "closes_at": self.closes_at.isoformat()}


class RoomStatus(models.TextChoices):
    DRAFT = "draft", _("录入中")
    SUBMITTED = "submitted", _("已提交待审核")
    CONFIRMED = "confirmed", _("已审核锁定")


class ExamRoom(models.Model):
    """One PE exam room (测试场地) of a sample school: its students, its recorder and reviewer, its status."""

    cycle = models.ForeignKey("cycles.Cycle", verbose_name=_("监测周期"), on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey("registry.School", verbose_name=_("学校"), on_delete=models.PROTECT, related_name="+")
    path = models.CharField(max_length=32, help_text="the school's county path, denormalised for jurisdiction")
    number = models.PositiveSmallIntegerField(_("考场号"))
    name = models.CharField(_("考场名称"), max_length=40)
    grade = models.PositiveSmallIntegerField(_("年级"))
    recorder = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("录入员"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("审核员"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("状态"), max_length=10, choices=RoomStatus.choices, default=RoomStatus.DRAFT)
    # Whole-room missing items (equipment failure): item code -> reason.
    missing_items = models.JSONField(_("整场缺测项目"), default=dict, blank=True)
    return_reason = models.CharField(_("退回原因"), max_length=300, blank=True)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("审核人"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    history = models.JSONField(_("操作记录"), default=list, blank=True,
                               help_text='[{"at", "by", "action", "reason"}]')

    class Meta:
        verbose_name = _("体育测试考场")
        verbose_name_plural = _("体育测试考场")
        ordering = ["school_id", "number"]
        indexes = [models.Index(fields=["path"], name="pe_examroom_path", opclasses=["varchar_pattern_ops"]),
                   models.Index(fields=["cycle", "school"], name="pe_examroom_cycle_school")]
        constraints = [
            models.UniqueConstraint(fields=["cycle", "school", "number"], name="pe_examroom_number_unique"),
            models.CheckConstraint(name="pe_examroom_recorder_not_reviewer",
                                   condition=Q(recorder__isnull=True) | Q(reviewer__isnull=True)
                                   | ~Q(recorder=F("reviewer"))),
            models.CheckConstraint(name="pe_examroom_status_valid",
                                   condition=Q(status__in=["draft", "submitted", "confirmed"])),
            models.CheckConstraint(name="pe_examroom_confirmed_has_confirmer",
                                   condition=~Q(status="confirmed") | Q(confirmed_by__isnull=False)),
            models.CheckConstraint(name="pe_examroom_grade", condition=Q(grade__in=[4, 8])),
        ]

    def __str__(self) -> str:
        return f"{self.school_id}/{self.number}"

    @property
    def locked(self) -> bool:
        return self.status == RoomStatus.CONFIRMED

    def as_audit(self) -> dict[str, object]:
        return {"school": self.school_id, "number": self.number, "name": self.name, "grade": self.grade,
                "recorder": self.recorder_id, "reviewer": self.reviewer_id, "status": self.status,
                "missing_items": dict(self.missing_items), "return_reason": self.return_reason}


class Attendance(models.TextChoices):
    PRESENT = "present", _("参测")
    ABSENT = "absent", _("缺考")
    EXEMPT = "exempt", _("体育免测")


def _value_ok(name: str) -> Q:
    return Q(**{f"{name}__isnull": True}) | Q(**{name: -1}) | Q(**{f"{name}__gte": 0})


class PeRecord(models.Model):
    """One sampled student's PE record card, keyed by the room's recorder. Values: blank = not entered, −1 =
    missing, else the measurement in the item's unit."""

    room = models.ForeignKey(ExamRoom, verbose_name=_("考场"), on_delete=models.CASCADE, related_name="records")
    test_taker = models.OneToOneField("delivery.TestTaker", verbose_name=_("测试对象"), on_delete=models.PROTECT,
                                      related_name="pe_record")
    path = models.CharField(max_length=32)
    seq = models.PositiveSmallIntegerField(_("考场内序号"))
    attendance = models.CharField(_("参测情况"), max_length=8, choices=Attendance.choices,
                                  default=Attendance.PRESENT)
    exempt_reason = models.CharField(_("免测原因"), max_length=200, blank=True)
    height = models.FloatField(_("身高"), null=True, blank=True)
    weight = models.FloatField(_("体重"), null=True, blank=True)
    grip_1 = models.FloatField(_("握力第1次"), null=True, blank=True)
    grip_2 = models.FloatField(_("握力第2次"), null=True, blank=True)
    vision_l = models.FloatField(_("左眼视力"), null=True, blank=True)
    vision_r = models.FloatField(_("右眼视力"), null=True, blank=True)
    vc_1 = models.FloatField(_("肺活量第1次"), null=True, blank=True)
    vc_2 = models.FloatField(_("肺活量第2次"), null=True, blank=True)
    run50 = models.FloatField(_("50米跑"), null=True, blank=True)
    jump_1 = models.FloatField(_("立定跳远第1次"), null=True, blank=True)
    jump_2 = models.FloatField(_("立定跳远第2次"), null=True, blank=True)
    jump_3 = models.FloatField(_("立定跳远第3次"), null=True, blank=True)
    shuttle = models.FloatField(_("15米折返跑"), null=True, blank=True)
    updated_at = models.DateTimeField(_("录入时间"), default=timezone.now)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        verbose_name = _("体育测试记录")
        verbose_name_plural = _("体育测试记录")
        ordering = ["room_id", "seq"]
        indexes = [models.Index(fields=["path"], name="pe_record_path", opclasses=["varchar_pattern_ops"])]
        constraints = [
            models.UniqueConstraint(fields=["room", "seq"], name="pe_record_seq_unique"),
            models.CheckConstraint(name="pe_record_attendance_valid",
                                   condition=Q(attendance__in=["present", "absent", "exempt"])),
            *[models.CheckConstraint(name=f"pe_record_{f}_valid", condition=_value_ok(f)) for f in FIELDS],
        ]

    def __str__(self) -> str:
        return f"{self.room_id}:{self.seq}"

    def values(self) -> dict[str, float | None]:
        return {f: getattr(self, f) for f in FIELDS}

    def as_audit(self) -> dict[str, object]:
        return {"test_taker": self.test_taker_id, "attendance": self.attendance, "exempt_reason": self.exempt_reason,
                **self.values()}
