"""The administrative hierarchy and the school registry.

National centre (implicit root) → province (新疆生产建设兵团 counts as one) → city → county → school.
Every region and school carries a materialised ``path`` of division codes
("650000/", "650000/650100/", "650000/650100/650102/"), so a subtree is one indexed prefix query
(``path LIKE '650000/650100/%'``), never a Python walk.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class RegionLevel(models.TextChoices):
    PROVINCE = "province", _("省级")
    CITY = "city", _("地市级")
    COUNTY = "county", _("县级")


class Region(models.Model):
    code = models.CharField(_("行政区划代码"), max_length=6, unique=True)
    name = models.CharField(_("名称"), max_length=60)
    level = models.CharField(_("层级"), max_length=10, choices=RegionLevel.choices)
    parent = models.ForeignKey("self", verbose_name=_("上级区域"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="children")
    path = models.CharField(max_length=32, unique=True)
    # Province level: runs the schedule on local time (Xinjiang, Tibet, the Corps) with this offset from Beijing.
    local_time_offset_hours = models.SmallIntegerField(_("当地时间与北京时间时差（小时）"), default=0)
    # County mailing details (for instruments sent by confidential post and returned in the original boxes).
    mailing_address = models.CharField(_("邮寄地址"), max_length=200, blank=True)
    postcode = models.CharField(_("邮政编码"), max_length=6, blank=True)
    mailing_recipient = models.CharField(_("收件人"), max_length=60, blank=True)
    mailing_phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    # 监督专线: the county's public supervision hotline, printed on every sample school's notice board (公示栏) as
    # the number to report irregularities to, and staffed on test days (2024 city plan, 测前准备 (9)).
    supervision_hotline = models.CharField(_("监督专线电话"), max_length=20, blank=True, db_default="")

    class Meta:
        verbose_name = _("行政区域")
        verbose_name_plural = _("行政区域")
        ordering = ["code"]
        indexes = [
            models.Index(fields=["path"], name="region_path_like", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["level", "path"], name="region_level_path"),
        ]
        constraints = [
            models.CheckConstraint(name="region_code_6_digits", condition=Q(code__regex=r"^[0-9]{6}$")),
            models.CheckConstraint(
                name="region_parent_by_level",
                condition=(Q(level="province", parent__isnull=True)
                           | Q(level__in=["city", "county"], parent__isnull=False)),
            ),
            models.CheckConstraint(name="region_postcode_digits",
                                   condition=Q(postcode="") | Q(postcode__regex=r"^[0-9]{6}$")),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    @staticmethod
    def path_for(code: str, parent_path: str | None) -> str:
        return f"{parent_path or ''}{code}/"


class SchoolLevel(models.TextChoices):
    PRIMARY = "primary", _("小学")
    JUNIOR = "junior", _("初中")
    NINE_YEAR = "nine_year", _("九年一贯制学校")
    TWELVE_YEAR = "twelve_year", _("十二年一贯制学校")
    COMPLETE_MIDDLE = "complete_middle", _("完全中学")


#: Which tested grades a school of each level can have.
LEVEL_GRADES: dict[str, tuple[int, ...]] = {
    SchoolLevel.PRIMARY: (4,),
    SchoolLevel.JUNIOR: (8,),
    SchoolLevel.NINE_YEAR: (4, 8),
    SchoolLevel.TWELVE_YEAR: (4, 8),
    SchoolLevel.COMPLETE_MIDDLE: (8,),
}


class UrbanRural(models.TextChoices):
    """统计用城乡分类代码 (the statistics bureau's urban–rural classification)."""

    CITY_CORE = "111", _("主城区")
    CITY_FRINGE = "112", _("城乡结合区")
    TOWN_CENTRE = "121", _("镇中心区")
    TOWN_FRINGE = "122", _("镇乡结合区")
    SPECIAL = "123", _("特殊区域")
    TOWNSHIP_CENTRE = "210", _("乡中心区")
    VILLAGE = "220", _("村庄")


def urban_rural_class(code: str) -> str:
    """Collapse the 7 classification codes into the three classes reports use: urban, town, rural."""
    return {"11": "urban", "12": "town"}.get(code[:2], "rural")


class Ownership(models.TextChoices):
    PUBLIC = "public", _("公办")
    PRIVATE = "private", _("民办")


class School(models.Model):
    code = models.CharField(_("学校标识码"), max_length=10, unique=True)
    name = models.CharField(_("学校名称"), max_length=100)
    county = models.ForeignKey(Region, verbose_name=_("所属县（区）"), on_delete=models.PROTECT,
                               related_name="schools", limit_choices_to={"level": RegionLevel.COUNTY})
    path = models.CharField(max_length=32, help_text="the county's path, denormalised for subtree queries")
    level = models.CharField(_("办学类型"), max_length=16, choices=SchoolLevel.choices)
    urban_rural = models.CharField(_("城乡分类"), max_length=3, choices=UrbanRural.choices)
    ownership = models.CharField(_("举办者"), max_length=8, choices=Ownership.choices, default=Ownership.PUBLIC)
    g4_enrollment = models.PositiveIntegerField(_("四年级学生数"), default=0)
    g4_classes = models.PositiveSmallIntegerField(_("四年级班级数"), default=0)
    g8_enrollment = models.PositiveIntegerField(_("八年级学生数"), default=0)
    g8_classes = models.PositiveSmallIntegerField(_("八年级班级数"), default=0)

    class Meta:
        verbose_name = _("学校")
        verbose_name_plural = _("学校")
        ordering = ["code"]
        indexes = [
            models.Index(fields=["path"], name="school_path_like", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["path", "code"], name="school_path_code"),
            models.Index(fields=["name"], name="school_name"),
        ]
        constraints = [
            models.CheckConstraint(name="school_code_10_digits", condition=Q(code__regex=r"^[0-9]{10}$")),
            models.CheckConstraint(name="school_g4_classes_if_students",
                                   condition=Q(g4_enrollment=0) | Q(g4_classes__gt=0)),
            models.CheckConstraint(name="school_g8_classes_if_students",
                                   condition=Q(g8_enrollment=0) | Q(g8_classes__gt=0)),
            models.CheckConstraint(
                name="school_grades_match_level",
                condition=(Q(level__in=["junior", "complete_middle"], g4_enrollment=0)
                           | Q(level="primary", g8_enrollment=0)
                           | Q(level__in=["nine_year", "twelve_year"])),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    @property
    def grades(self) -> tuple[int, ...]:
        return tuple(g for g in LEVEL_GRADES[self.level] if getattr(self, f"g{g}_enrollment") > 0)


class Sex(models.TextChoices):
    MALE = "M", _("男")
    FEMALE = "F", _("女")


class Student(models.Model):
    """A grade-4 or grade-8 student on a school's roster. Generated or uploaded; names are personal data."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="students")
    grade = models.PositiveSmallIntegerField(_("年级"), choices=[(4, _("四年级")), (8, _("八年级"))])
    class_no = models.PositiveSmallIntegerField(_("班级"))
    seq = models.PositiveSmallIntegerField(_("班内序号"))
    name = models.CharField(_("姓名"), max_length=30)
    sex = models.CharField(_("性别"), max_length=1, choices=Sex.choices)
    birth_month = models.CharField(_("出生年月"), max_length=7, help_text="YYYY-MM")

    class Meta:
        verbose_name = _("学生")
        verbose_name_plural = _("学生")
        constraints = [
            models.UniqueConstraint(fields=["school", "grade", "class_no", "seq"], name="student_unique_seat"),
        ]

    def __str__(self) -> str:
        return f"{self.grade}-{self.class_no}-{self.seq}"


class TeacherRole(models.TextChoices):
    HEAD_TEACHER = "head_teacher", _("班主任")
    SUBJECT = "subject", _("学科教师")


class Teacher(models.Model):
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="teachers")
    name = models.CharField(_("姓名"), max_length=30)
    sex = models.CharField(_("性别"), max_length=1, choices=Sex.choices)
    grade = models.PositiveSmallIntegerField(_("任教年级"), choices=[(4, _("四年级")), (8, _("八年级"))])
    subjects = models.CharField(_("任教学科"), max_length=100, blank=True,
                                help_text="comma-separated subject codes from the cycle configuration")
    head_teacher_class = models.PositiveSmallIntegerField(_("班主任班级"), null=True, blank=True)

    class Meta:
        verbose_name = _("教师")
        verbose_name_plural = _("教师")

    def __str__(self) -> str:
        return self.name


class Principal(models.Model):
    school = models.OneToOneField(School, on_delete=models.CASCADE, related_name="principal")
    name = models.CharField(_("姓名"), max_length=30)
    sex = models.CharField(_("性别"), max_length=1, choices=Sex.choices)

    class Meta:
        verbose_name = _("校长")
        verbose_name_plural = _("校长")

    def __str__(self) -> str:
        return self.name


# ------------------------------------------------------------------------------------------------ review chain


class SubmissionKind(models.TextChoices):
    """What a submission carries up the review chain (see :mod:`naeq.registry.review`)."""

    REGISTRY = "registry", _("属地学校信息")
    ROSTER = "roster", _("样本校名单（学生/教师/校长）")
    TEST_TAKERS = "test_takers", _("测试生基本信息")


class SubmissionStatus(models.TextChoices):
    DRAFT = "draft", _("未提交")
    SUBMITTED = "submitted", _("待审核")
    RETURNED = "returned", _("已退回")
    APPROVED = "approved", _("已通过")
    LOCKED = "locked", _("已锁定")


class Submission(models.Model):
    """One unit of uploaded data (a county's registry, a school's rosters, ...) on its way up the review chain.

    ``pending_level`` names the level that must act next: the reviewer while submitted ("county", "province"),
    "nation" for an approved registry awaiting the lock, "" when the submitter holds it (draft, returned) or the
    chain has ended.
    """

    kind = models.CharField(_("类别"), max_length=16, choices=SubmissionKind.choices)
    year = models.PositiveSmallIntegerField(_("监测年度"))
    county = models.ForeignKey(Region, verbose_name=_("县（区）"), on_delete=models.PROTECT,
                               related_name="submissions", limit_choices_to={"level": RegionLevel.COUNTY})
    school = models.ForeignKey(School, verbose_name=_("学校"), null=True, blank=True, on_delete=models.PROTECT,
                               related_name="submissions")
    status = models.CharField(_("状态"), max_length=12, choices=SubmissionStatus.choices,
                              default=SubmissionStatus.DRAFT)
    pending_level = models.CharField(_("待处理层级"), max_length=10, blank=True, default="")
    reason = models.CharField(_("退回原因"), max_length=500, blank=True, default="")
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    updated_by = models.ForeignKey("accounts.User", verbose_name=_("更新人"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("提交")
        verbose_name_plural = _("提交")
        ordering = ["kind", "year", "county__code", "school__code"]
        indexes = [models.Index(fields=["kind", "year", "status"], name="submission_kind_year_status")]
        constraints = [
            # NULL school never collides in a plain unique constraint, so county-level kinds get their own.
            models.UniqueConstraint(fields=["kind", "year", "county"], condition=Q(school__isnull=True),
                                    name="submission_unique_county_level"),
            models.UniqueConstraint(fields=["kind", "year", "county", "school"],
                                    condition=Q(school__isnull=False), name="submission_unique_school_level"),
            models.CheckConstraint(name="submission_school_by_kind",
                                   condition=(Q(kind="registry", school__isnull=True)
                                              | Q(kind__in=["roster", "test_takers"], school__isnull=False))),
            models.CheckConstraint(name="submission_pending_level",
                                   condition=Q(pending_level__in=["", "county", "province", "nation"])),
            models.CheckConstraint(name="submission_year_range", condition=Q(year__gte=2000, year__lte=2100)),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.year} {self.school_id or self.county_id}"

    @property
    def pending_level_label(self) -> str:
        """Who acts next, in words ("" when nobody waits)."""
        labels = {"county": _("县级"), "province": _("省级"), "nation": _("国家监测中心")}
        return str(labels.get(self.pending_level, ""))
