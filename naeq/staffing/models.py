"""People who staff the field test (实施人员) and their posts in a cycle.

A :class:`StaffMember` is a person of one county: a generated name in the demo, gender, phone and at most the last
four characters of the ID card (staff personal data is kept minimal), the school they work at (if any), their
position and the subjects they teach. A :class:`StaffAssignment` puts a person on a post of the role catalogue
(:mod:`naeq.staffing.config`) for a cycle: a county-team post (no school) or a post at one sample school,
optionally on one test day and slot.

Invariants held by the database: a post that allows one person (``single``) has at most one assignment per unit;
badge numbers are unique within a cycle; a slot needs a day. The other rules (counts, conflicts, the chief
proctor's school and subjects) are listed by :mod:`naeq.staffing.rules`, not blocked.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Gender(models.TextChoices):
    MALE = "M", _("男")
    FEMALE = "F", _("女")


class StaffMember(models.Model):
    county = models.ForeignKey("registry.Region", verbose_name=_("所属县（区）"), on_delete=models.PROTECT,
                               related_name="+", limit_choices_to={"level": "county"})
    path = models.CharField(max_length=32, help_text="the county's path, denormalised for jurisdiction queries")
    name = models.CharField(_("姓名"), max_length=40)
    gender = models.CharField(_("性别"), max_length=1, choices=Gender.choices)
    phone = models.CharField(_("手机号"), max_length=11)
    id_last4 = models.CharField(_("身份证后四位"), max_length=4, blank=True)
    home_school = models.ForeignKey("registry.School", verbose_name=_("工作单位（学校）"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    position = models.CharField(_("职务"), max_length=40, blank=True)
    subjects = models.JSONField(_("任教学科"), default=list, blank=True)  # subject codes of the cycle config
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        verbose_name = _("实施人员")
        verbose_name_plural = _("实施人员")
        ordering = ["county_id", "name", "id"]
        indexes = [models.Index(fields=["path"], name="staffmember_path", opclasses=["varchar_pattern_ops"])]
        constraints = [
            models.CheckConstraint(name="staffmember_phone_11_digits", condition=Q(phone__regex=r"^1[0-9]{10}$")),
            models.CheckConstraint(name="staffmember_id_last4",
                                   condition=Q(id_last4="") | Q(id_last4__regex=r"^[0-9]{3}[0-9X]$")),
            models.UniqueConstraint(fields=["county", "name", "phone"], name="staffmember_once_per_county"),
        ]

    def __str__(self) -> str:
        return self.name

    def as_audit(self) -> dict[str, object]:
        return {"county": self.county_id, "name": self.name, "gender": self.gender, "phone": self.phone,
                "id_last4": self.id_last4, "home_school": self.home_school_id, "position": self.position,
                "subjects": list(self.subjects)}


class Slot(models.TextChoices):
    ALL_DAY = "", _("全天")
    MORNING = "am", _("上午")
    AFTERNOON = "pm", _("下午")


class StaffAssignment(models.Model):
    cycle = models.ForeignKey("cycles.Cycle", verbose_name=_("监测周期"), on_delete=models.PROTECT, related_name="+")
    post = models.CharField(_("岗位"), max_length=40)  # a post code of the cycle's role catalogue
    single = models.BooleanField(default=False, help_text="the post allows one person per unit (max 1)")
    county = models.ForeignKey("registry.Region", verbose_name=_("县（区）"), on_delete=models.PROTECT,
                               related_name="+")
    path = models.CharField(max_length=32, help_text="the county's path, denormalised for jurisdiction queries")
    school = models.ForeignKey("registry.School", verbose_name=_("样本校"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(StaffMember, verbose_name=_("人员"), on_delete=models.PROTECT,
                               related_name="assignments")
    day = models.DateField(_("测试日期"), null=True, blank=True)  # None: the whole test period
    slot = models.CharField(_("时段"), max_length=2, choices=Slot.choices, blank=True, default="")
    badge_no = models.CharField(_("胸牌编号"), max_length=20)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("岗位安排")
        verbose_name_plural = _("岗位安排")
        ordering = ["county_id", "school_id", "post", "id"]
        indexes = [models.Index(fields=["path"], name="staffassignment_path", opclasses=["varchar_pattern_ops"]),
                   models.Index(fields=["cycle", "county"], name="staffassignment_cycle_county")]
        constraints = [
            models.UniqueConstraint(fields=["cycle", "school", "post"], condition=Q(single=True, school__isnull=False),
                                    name="staffassignment_single_school_post"),
            models.UniqueConstraint(fields=["cycle", "county", "post"], condition=Q(single=True, school__isnull=True),
                                    name="staffassignment_single_county_post"),
            models.UniqueConstraint(fields=["cycle", "badge_no"], name="staffassignment_badge_unique"),
            models.CheckConstraint(name="staffassignment_slot_needs_day",
                                   condition=Q(slot="") | Q(day__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.post}:{self.person_id}"

    def as_audit(self) -> dict[str, object]:
        return {"cycle": self.cycle_id, "post": self.post, "county": self.county_id, "school": self.school_id,
                "person": self.person_id, "day": self.day.isoformat() if self.day else None, "slot": self.slot,
                "badge_no": self.badge_no}
