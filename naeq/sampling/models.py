"""The sample of a cycle as database rows: runs, sampled counties, schools and students, replicate weights.

Every draw is a :class:`SampleRun` that records what is needed to reproduce it: the design (text and SHA-256),
the frame's SHA-256, the seed, the code version (``naeq.__version__`` and the engine), who and when. The rows
drawn by a run point at it. Redrawing a stage (allowed only while no later stage depends on it) deletes the
rows of the previous run and keeps that run, marked ``superseded``, as the record of what was done.

Invariants held by the database: one active run per cycle and stage; a county or school appears once per run
(and grade); probabilities lie in (0, 1]; weights are positive; test IDs are unique within a cycle; a
replacement school names the school it replaces, a sampled one does not.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Stage(models.TextChoices):
    COUNTY = "county", _("抽取样本县")
    SCHOOL = "school", _("抽取样本校")
    STUDENT = "student", _("抽取样本学生")
    WEIGHTS = "weights", _("计算权重")


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("进行中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")
    SUPERSEDED = "superseded", _("已被重抽取代")


class SampleRun(models.Model):
    cycle = models.ForeignKey("cycles.Cycle", verbose_name=_("监测周期"), on_delete=models.PROTECT,
                              related_name="sample_runs")
    stage = models.CharField(_("阶段"), max_length=10, choices=Stage.choices)
    # Student runs are per school: the school whose students were drawn (null for the other stages).
    school = models.ForeignKey("registry.School", verbose_name=_("学校"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    design_text = models.TextField(_("抽样设计"))
    design_hash = models.CharField(_("抽样设计SHA-256"), max_length=64)
    frame_hash = models.CharField(_("抽样框SHA-256"), max_length=71)
    seed = models.BigIntegerField(_("随机种子"))
    code_version = models.CharField(_("程序版本"), max_length=100)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("操作人"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("时间"), default=timezone.now)
    status = models.CharField(_("状态"), max_length=12, choices=RunStatus.choices, default=RunStatus.QUEUED)
    summary = models.JSONField(_("摘要"), default=dict, blank=True)

    class Meta:
        verbose_name = _("抽样记录")
        verbose_name_plural = _("抽样记录")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(name="samplerun_design_sha256", condition=Q(design_hash__regex=r"^[0-9a-f]{64}$")),
            models.CheckConstraint(name="samplerun_seed_nonnegative", condition=Q(seed__gte=0)),
            models.CheckConstraint(name="samplerun_school_iff_student_stage",
                                   condition=Q(stage="student", school__isnull=False)
                                   | (~Q(stage="student") & Q(school__isnull=True))),
            models.UniqueConstraint(fields=["cycle", "stage"], name="samplerun_one_active_stage",
                                    condition=Q(status__in=["queued", "running", "done"], school__isnull=True)),
            models.UniqueConstraint(fields=["cycle", "stage", "school"], name="samplerun_one_active_school",
                                    condition=Q(status__in=["queued", "running", "done"], school__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.cycle_id}/{self.stage}#{self.pk}"


class CountyParticipation(models.TextChoices):
    SAMPLE = "sample", _("样本县")
    AGREEMENT = "agreement", _("协议县")
    APPLICATION = "application", _("申请县")


class SampledCounty(models.Model):
    run = models.ForeignKey(SampleRun, on_delete=models.CASCADE, related_name="counties")
    county = models.ForeignKey("registry.Region", verbose_name=_("县（区）"), on_delete=models.PROTECT,
                               related_name="+")
    path = models.CharField(max_length=32, help_text="the county's path, denormalised for jurisdiction queries")
    participation = models.CharField(_("参与类型"), max_length=12, choices=CountyParticipation.choices)
    pi = models.FloatField(_("入样概率"))
    weight = models.FloatField(_("县基础权重"))
    certainty = models.BooleanField(_("必选"), default=False)
    in_national_estimate = models.BooleanField(_("计入全国估计"), default=True)
    sort_pos = models.PositiveIntegerField(_("排序位置"), default=0)

    class Meta:
        verbose_name = _("样本县")
        verbose_name_plural = _("样本县")
        ordering = ["county__code"]
        indexes = [models.Index(fields=["path"], name="sampledcounty_path",
                                opclasses=["varchar_pattern_ops"])]
        constraints = [
            models.UniqueConstraint(fields=["run", "county"], name="sampledcounty_once_per_run"),
            models.CheckConstraint(name="sampledcounty_pi_range", condition=Q(pi__gt=0, pi__lte=1)),
            models.CheckConstraint(name="sampledcounty_weight_positive", condition=Q(weight__gte=1)),
        ]

    def __str__(self) -> str:
        return f"{self.county_id}@{self.run_id}"


class SchoolRole(models.TextChoices):
    SAMPLED = "sampled", _("样本校")
    REPLACEMENT_1 = "replacement_1", _("第一替补校")
    REPLACEMENT_2 = "replacement_2", _("第二替补校")


class SchoolParticipation(models.TextChoices):
    RESERVE = "reserve", _("备用（未启用）")
    PENDING = "pending", _("待确认")
    PARTICIPATING = "participating", _("参加")
    REFUSED = "refused", _("拒绝参加")


class SampledSchool(models.Model):
    run = models.ForeignKey(SampleRun, on_delete=models.CASCADE, related_name="schools")
    school = models.ForeignKey("registry.School", verbose_name=_("学校"), on_delete=models.PROTECT,
                               related_name="+")
    county = models.ForeignKey("registry.Region", verbose_name=_("县（区）"), on_delete=models.PROTECT,
                               related_name="+")
    path = models.CharField(max_length=32, help_text="the county's path, denormalised for jurisdiction queries")
    grade = models.PositiveSmallIntegerField(_("年级"), choices=[(4, _("四年级")), (8, _("八年级"))])
    role = models.CharField(_("角色"), max_length=14, choices=SchoolRole.choices)
    replaces = models.ForeignKey("self", verbose_name=_("替补对象"), null=True, blank=True,
                                 on_delete=models.CASCADE, related_name="replacements")
    pi = models.FloatField(_("县内入样概率"))
    certainty = models.BooleanField(_("必选"), default=False)
    base_weight = models.FloatField(_("学校基础权重"))
    enrollment = models.PositiveIntegerField(_("年级学生数"))
    sort_pos = models.PositiveIntegerField(_("排序位置"), default=0)
    participation = models.CharField(_("参与情况"), max_length=14, choices=SchoolParticipation.choices)
    participation_reason = models.CharField(_("说明"), max_length=200, blank=True)
    adjusted_weight = models.FloatField(_("无回答调整后学校权重"), null=True, blank=True)

    class Meta:
        verbose_name = _("样本校")
        verbose_name_plural = _("样本校")
        ordering = ["county__code", "grade", "sort_pos"]
        indexes = [models.Index(fields=["path"], name="sampledschool_path", opclasses=["varchar_pattern_ops"])]
        constraints = [
            models.UniqueConstraint(fields=["run", "school", "grade"], name="sampledschool_once_per_grade"),
            models.CheckConstraint(name="sampledschool_pi_range", condition=Q(pi__gt=0, pi__lte=1)),
            models.CheckConstraint(name="sampledschool_weight_positive", condition=Q(base_weight__gte=1)),
            models.CheckConstraint(
                name="sampledschool_replaces_iff_replacement",
                condition=(Q(role="sampled", replaces__isnull=True)
                           | Q(role__in=["replacement_1", "replacement_2"], replaces__isnull=False)),
            ),
            models.CheckConstraint(name="sampledschool_not_self", condition=~Q(replaces=F("id"))),
        ]

    def __str__(self) -> str:
        return f"{self.school_id}/{self.grade}/{self.role}"


class StudentStatus(models.TextChoices):
    PENDING = "pending", _("未报告")
    PRESENT = "present", _("到考")
    ABSENT = "absent", _("缺考")
    PE_EXEMPT = "pe_exempt", _("体育免测")


class SampledStudent(models.Model):
    cycle = models.ForeignKey("cycles.Cycle", on_delete=models.PROTECT, related_name="+")
    run = models.ForeignKey(SampleRun, on_delete=models.CASCADE, related_name="students")
    sampled_school = models.ForeignKey(SampledSchool, on_delete=models.CASCADE, related_name="students")
    student = models.ForeignKey("registry.Student", verbose_name=_("学生"), on_delete=models.PROTECT,
                                related_name="+")
    path = models.CharField(max_length=32, help_text="the county's path, denormalised for jurisdiction queries")
    grade = models.PositiveSmallIntegerField(_("年级"))
    seq = models.PositiveSmallIntegerField(_("校内序号"))
    pi = models.FloatField(_("校内入样概率"))
    base_weight = models.FloatField(_("基础权重"))
    final_weight = models.FloatField(_("最终权重"), null=True, blank=True)
    # final_weight / π of the county: the weight for national and provincial estimates. 0 for students of agreement
    # and application counties, which are reported to themselves and stay out of national estimates.
    national_weight = models.FloatField(_("全国估计权重"), null=True, blank=True)
    booklets = models.JSONField(_("题本"), default=dict)
    test_id = models.CharField(_("测试编号"), max_length=14)
    status = models.CharField(_("测试情况"), max_length=10, choices=StudentStatus.choices,
                              default=StudentStatus.PENDING)

    class Meta:
        verbose_name = _("样本学生")
        verbose_name_plural = _("样本学生")
        ordering = ["test_id"]
        indexes = [models.Index(fields=["path"], name="sampledstudent_path", opclasses=["varchar_pattern_ops"])]
        constraints = [
            models.UniqueConstraint(fields=["cycle", "test_id"], name="sampledstudent_test_id_unique"),
            models.UniqueConstraint(fields=["cycle", "student"], name="sampledstudent_once_per_cycle"),
            models.CheckConstraint(name="sampledstudent_pi_range", condition=Q(pi__gt=0, pi__lte=1)),
            models.CheckConstraint(name="sampledstudent_weight_positive", condition=Q(base_weight__gte=1)),
            models.CheckConstraint(name="sampledstudent_final_weight_nonnegative",
                                   condition=Q(final_weight__isnull=True) | Q(final_weight__gte=0)),
            models.CheckConstraint(name="sampledstudent_national_weight_nonnegative",
                                   condition=Q(national_weight__isnull=True) | Q(national_weight__gte=0)),
            models.CheckConstraint(name="sampledstudent_test_id_shape",
                                   condition=Q(test_id__regex=r"^[0-9]{13}[0-9A-Z*]$")),
        ]

    def __str__(self) -> str:
        return self.test_id


class ReplicateScope(models.TextChoices):
    COUNTY = "county", _("县级估计（学校为初级抽样单元）")
    NATIONAL = "national", _("全国及省级估计（县为初级抽样单元）")


class ReplicateWeights(models.Model):
    """The (n_students, R) replicate weights of a weights run for one kind of estimate, as a float32 ``.npy``
    with its SHA-256.

    Two per weights run: ``county`` (schools as PSUs, paired within each county; from ``final_weight``) and
    ``national`` (counties as PSUs, paired within provinces; from ``national_weight``). Rows follow
    ``student_ids`` (an int64 ``.npy``), so the matrix reads back without a join order assumption. ``scale`` and
    ``rscales`` (a float64 ``.npy``) are the variance formula ``scale · Σ_r rscales_r (θ_r − θ)²`` of the
    engine's :class:`~naeq.engines.sampling.replicates.ReplicateScheme`: a zone of three PSUs has replicates with
    factor 2/3, which the scheme's name alone would lose.
    """

    run = models.ForeignKey(SampleRun, on_delete=models.CASCADE, related_name="replicates")
    scope = models.CharField(_("用途"), max_length=10, choices=ReplicateScope.choices, default=ReplicateScope.COUNTY)
    scheme = models.CharField(_("方法"), max_length=10)
    scale = models.FloatField(default=1.0)
    rscales = models.BinaryField(default=b"")
    n_rows = models.PositiveIntegerField()
    n_replicates = models.PositiveIntegerField()
    data = models.BinaryField()
    student_ids = models.BinaryField()
    sha256 = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("重复权重")
        verbose_name_plural = _("重复权重")
        constraints = [
            models.UniqueConstraint(fields=["run", "scope"], name="replicateweights_once_per_scope"),
            models.CheckConstraint(name="replicateweights_sha256", condition=Q(sha256__regex=r"^[0-9a-f]{64}$")),
        ]

    def __str__(self) -> str:
        return f"{self.scheme} {self.n_rows}×{self.n_replicates}"
