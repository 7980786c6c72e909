"""The online testing system (网络测试系统) as database rows.

Three groups:

* **The item bank.** An :class:`Instrument` is one version of one instrument of a cycle's configuration (its
  ``code`` is the configuration's instrument code). It holds :class:`Stimulus` rows (shared stimuli of units),
  :class:`Item` rows and :class:`Booklet` rows (ordered blocks). Item content and keys are secret: they reach
  only a signed-in test taker inside an open session window, and only national staff can export them.
* **Sessions and test takers.** A :class:`TestSession` is one sitting of a schedule entry at one sample school
  (or, for county managers, one county). A :class:`Respondent` is anyone who signs in to take something: a
  sampled student (with the sample's test ID), a teacher, a principal or a county manager (with IDs generated
  here). Nobody has a personal password: a test ID plus the session's key signs in.
* **Attempts and answers.** An :class:`Attempt` is one respondent taking one instrument in one session. Its
  :class:`Answer` rows are written by the hot path (:mod:`naeq.delivery.hotpath`) with one upsert per batch that
  keeps the higher sequence number; submission flips the attempt's status under a row lock, so it wins any race
  with a late save.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# ------------------------------------------------------------------------------------------------ item bank


class InstrumentKind(models.TextChoices):
    TEST = "test", _("测试卷")
    QUESTIONNAIRE = "questionnaire", _("问卷")


class InstrumentStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PUBLISHED = "published", _("已发布")
    RETIRED = "retired", _("已停用")


class Instrument(models.Model):
    """One version of a cycle's instrument in the item bank. Only a published version is delivered; publishing a
    new version retires the previous one (attempts keep pointing at the version they were given)."""

    cycle = models.ForeignKey("cycles.Cycle", verbose_name=_("监测周期"), on_delete=models.PROTECT,
                              related_name="instruments")
    code = models.CharField(_("工具代码"), max_length=60, help_text="the cycle configuration's instrument code")
    version = models.PositiveIntegerField(_("版本"), default=1)
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类别"), max_length=14, choices=InstrumentKind.choices)
    status = models.CharField(_("状态"), max_length=10, choices=InstrumentStatus.choices,
                              default=InstrumentStatus.DRAFT)
    time_limit_minutes = models.PositiveSmallIntegerField(_("作答时限（分钟）"), null=True, blank=True)
    shuffle_pages = models.BooleanField(_("页面随机排序"), default=False)
    source = models.CharField(_("来源文件"), max_length=200, blank=True)
    sha256 = models.CharField(_("内容SHA-256"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("导入时间"), default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("导入人"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("监测工具")
        verbose_name_plural = _("监测工具")
        ordering = ["cycle_id", "code", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["cycle", "code", "version"], name="instrument_version_unique"),
            models.UniqueConstraint(fields=["cycle", "code"], name="instrument_one_published",
                                    condition=Q(status="published")),
        ]

    def __str__(self) -> str:
        return f"{self.code} v{self.version}"


class Stimulus(models.Model):
    """A shared stimulus (a unit's reading passage, chart, picture or recording) shown above its items."""

    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="stimuli")
    code = models.CharField(_("材料编号"), max_length=40)
    title = models.CharField(_("标题"), max_length=200, blank=True)
    body = models.TextField(_("材料内容"), blank=True)
    # [{"kind": "image" | "audio", "file": "<name in the media store>", "alt": "..."}]
    media = models.JSONField(_("图片与音频"), default=list, blank=True)

    class Meta:
        verbose_name = _("共享材料")
        verbose_name_plural = _("共享材料")
        constraints = [models.UniqueConstraint(fields=["instrument", "code"], name="stimulus_code_unique")]

    def __str__(self) -> str:
        return self.code


class ItemType(models.TextChoices):
    SINGLE = "single", _("单选题")
    MULTIPLE = "multiple", _("多选题")
    TRUE_FALSE = "true_false", _("判断题")
    LIKERT = "likert", _("量表题")
    MATRIX = "matrix", _("矩阵（表格）题")
    NUMERIC = "numeric", _("数值填空题")
    TEXT = "text", _("文本填空题")
    SINGLE_TEXT = "single_text", _("单选+填空题")
    RANKING = "ranking", _("排序题")
    SLIDER = "slider", _("滑块题")
    OPEN = "open", _("开放题（屏幕呈现、纸笔作答）")


#: Missing codes of the questionnaire platform: 99 omitted (shown, not answered), 97 out of range.
MISSING_OMITTED = 99
MISSING_OUT_OF_RANGE = 97


class Item(models.Model):
    """One item. ``options`` are ``[{"value": "A", "label": "…"}]`` (choice, Likert, matrix columns);
    ``rows`` are the statements of a matrix or the things to rank; ``key`` is the scoring key of an objective
    item (secret; null for questionnaire items and open items scored by raters); ``constraints`` hold the
    item type's limits (``min``/``max``/``decimals`` for numeric and slider, ``max_length`` for text,
    ``min_choices``/``max_choices`` for multiple choice). ``show_if`` is the conditional display rule
    ``{"item": code, "in": [values]}``; ``skip`` is a skip rule ``{"in": [values], "to_screen": n}``."""

    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="items")
    code = models.CharField(_("题目编号"), max_length=40)
    seq = models.PositiveIntegerField(_("顺序"))
    block = models.CharField(_("题块"), max_length=20, default="Q")
    screen = models.PositiveIntegerField(_("屏号"), default=1)
    type = models.CharField(_("题型"), max_length=12, choices=ItemType.choices)
    stem = models.TextField(_("题干"))
    options = models.JSONField(_("选项"), default=list, blank=True)
    rows = models.JSONField(_("子题（行）"), default=list, blank=True)
    key = models.JSONField(_("答案"), null=True, blank=True)
    max_score = models.FloatField(_("满分"), default=0)
    constraints = models.JSONField(_("作答限制"), default=dict, blank=True)
    show_if = models.JSONField(_("显示条件"), null=True, blank=True)
    skip = models.JSONField(_("跳转规则"), null=True, blank=True)
    stimulus = models.ForeignKey(Stimulus, verbose_name=_("共享材料"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="items")
    media = models.JSONField(_("图片与音频"), default=list, blank=True)
    required = models.BooleanField(_("必答"), default=False)
    # The indicator hierarchy every item carries.
    dimension = models.CharField(_("维度"), max_length=100, blank=True)
    indicator_1 = models.CharField(_("一级指标"), max_length=100, blank=True)
    indicator_2 = models.CharField(_("二级指标"), max_length=100, blank=True)
    indicator_3 = models.CharField(_("三级指标"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("题目")
        verbose_name_plural = _("题目")
        ordering = ["instrument_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["instrument", "code"], name="item_code_unique"),
            models.UniqueConstraint(fields=["instrument", "seq"], name="item_seq_unique"),
            models.CheckConstraint(name="item_max_score_nonnegative", condition=Q(max_score__gte=0)),
        ]

    def __str__(self) -> str:
        return self.code


class Booklet(models.Model):
    """A booklet (题本) of a test: its blocks in order. A questionnaire has one booklet of its one block."""

    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="booklets")
    number = models.PositiveSmallIntegerField(_("题本号"))
    blocks = models.JSONField(_("题块顺序"), default=list)

    class Meta:
        verbose_name = _("题本")
        verbose_name_plural = _("题本")
        ordering = ["instrument_id", "number"]
        constraints = [models.UniqueConstraint(fields=["instrument", "number"], name="booklet_number_unique")]

    def __str__(self) -> str:
        return f"{self.instrument_id}/{self.number}"


# ------------------------------------------------------------------------------------------------ sessions


class Respondent(models.TextChoices):
    STUDENT = "student", _("学生")
    TEACHER = "teacher", _("教师")
    PRINCIPAL = "principal", _("校长")
    COUNTY_MANAGER = "county_manager", _("县级教育管理人员")


class SessionKind(models.TextChoices):
    PRACTICE = "practice", _("练习")
    FORMAL = "formal", _("正式")


class SessionStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("未开始")
    OPEN = "open", _("进行中")
    CLOSED = "closed", _("已结束")


class TestSession(models.Model):
    """One sitting: a schedule entry at one sample school and school level (``school`` null for a county-level
    window such as the county manager questionnaire). ``starts_at``/``ends_at`` are aware datetimes of the
    scheduled window, already shifted to local time where the region runs on it (``utc_offset_minutes`` is the
    offset the times were written in). ``ends_at`` is null for "until everyone has finished".

    ``key`` is what test takers type with their test ID: for a formal session it is the test key (测试密钥) the
    chief proctor announces when the session opens; for a practice session a login code that may be printed."""

    cycle = models.ForeignKey("cycles.Cycle", verbose_name=_("监测周期"), on_delete=models.PROTECT,
                              related_name="test_sessions")
    county = models.ForeignKey("registry.Region", verbose_name=_("县（区）"), on_delete=models.PROTECT,
                               related_name="+")
    school = models.ForeignKey("registry.School", verbose_name=_("学校"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    path = models.CharField(max_length=32, help_text="the county's path, denormalised for jurisdiction queries")
    level = models.CharField(_("学段"), max_length=8, help_text="configuration level: primary / middle / county")
    grade = models.PositiveSmallIntegerField(_("年级"), null=True, blank=True)
    respondent = models.CharField(_("作答对象"), max_length=16, choices=Respondent.choices)
    kind = models.CharField(_("类型"), max_length=10, choices=SessionKind.choices, default=SessionKind.FORMAL)
    title = models.CharField(_("名称"), max_length=100)
    instruments = models.JSONField(_("监测工具"), default=list, help_text="instrument codes")
    starts_at = models.DateTimeField(_("开始时间"))
    ends_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    utc_offset_minutes = models.SmallIntegerField(_("时区偏移（分钟）"), default=480)
    local_time = models.BooleanField(_("使用当地时间"), default=False)
    code = models.CharField(_("场次号"), max_length=12, unique=True)
    key = models.CharField(_("登录码/测试密钥"), max_length=12)
    status = models.CharField(_("状态"), max_length=10, choices=SessionStatus.choices,
                              default=SessionStatus.SCHEDULED)
    opened_at = models.DateTimeField(_("开启时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("关闭时间"), null=True, blank=True)
    actual_start = models.DateTimeField(_("实际开考时间"), null=True, blank=True)
    actual_end = models.DateTimeField(_("实际结束时间"), null=True, blank=True)
    notes = models.TextField(_("备注"), blank=True)

    class Meta:
        verbose_name = _("测试场次")
        verbose_name_plural = _("测试场次")
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["path"], name="testsession_path", opclasses=["varchar_pattern_ops"]),
                   models.Index(fields=["cycle", "school", "status"], name="testsession_school_status")]
        constraints = [
            models.UniqueConstraint(fields=["cycle", "county", "school", "level", "grade", "kind", "respondent",
                                            "starts_at", "title"],
                                    name="testsession_once", nulls_distinct=False),
            models.CheckConstraint(name="testsession_ends_after_start",
                                   condition=Q(ends_at__isnull=True) | Q(ends_at__gt=models.F("starts_at"))),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class Incident(models.Model):
    """An incident recorded in a session (应急事件), graded 1–3; grade 3 goes to the city at once."""

    class Category(models.TextChoices):
        POWER = "power", _("停电")
        NETWORK = "network", _("网络中断")
        WEATHER = "weather", _("高温、暴雨等天气")
        ILLNESS = "illness", _("学生身体不适")
        INSTRUMENT = "instrument", _("工具或系统错误")
        IMPERSONATION = "impersonation", _("替考")
        CHEATING = "cheating", _("作弊")
        OTHER = "other", _("其他")

    session = models.ForeignKey(TestSession, on_delete=models.CASCADE, related_name="incidents")
    at = models.DateTimeField(_("发生时间"), default=timezone.now)
    category = models.CharField(_("类别"), max_length=14, choices=Category.choices)
    grade = models.PositiveSmallIntegerField(_("级别"), default=1, choices=[(1, "Ⅰ"), (2, "Ⅱ"), (3, "Ⅲ")])
    description = models.TextField(_("情况说明"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("记录人"), null=True,
                                    on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(_("记录时间"), default=timezone.now)

    class Meta:
        verbose_name = _("应急事件")
        verbose_name_plural = _("应急事件")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.session_id}:{self.category}"


class TestTaker(models.Model):
    """Anyone who signs in to take a test or questionnaire in a cycle. ``code`` is the test ID typed at sign-in:
    a sampled student's test ID from the sample; ``{school code}T{nnn}`` for teachers, ``{school code}P001`` for
    principals, ``{county code}M{nnnnnnn}`` for county managers (generated here). ``roles`` are the teacher's
    chosen roles (``head_teacher`` and ``subject:<code>``) with ``roles_locked`` once chosen: a wrong pick is
    reset only through an approved :class:`RoleResetRequest`."""

    cycle = models.ForeignKey("cycles.Cycle", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("作答对象"), max_length=16, choices=Respondent.choices)
    code = models.CharField(_("测试编号"), max_length=16)
    county = models.ForeignKey("registry.Region", verbose_name=_("县（区）"), on_delete=models.PROTECT,
                               related_name="+")
    school = models.ForeignKey("registry.School", verbose_name=_("学校"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    path = models.CharField(max_length=32)
    grade = models.PositiveSmallIntegerField(_("年级"), null=True, blank=True)
    booklets = models.JSONField(_("题本"), default=dict, blank=True, help_text="instrument code → booklet number")
    sampled_student = models.OneToOneField("sampling.SampledStudent", null=True, blank=True,
                                           on_delete=models.CASCADE, related_name="test_taker")
    teacher = models.ForeignKey("registry.Teacher", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="+")
    principal = models.ForeignKey("registry.Principal", null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="+")
    roles = models.JSONField(_("所任角色"), default=list, blank=True)
    roles_locked = models.BooleanField(_("角色已确认"), default=False)

    class Meta:
        verbose_name = _("测试对象")
        verbose_name_plural = _("测试对象")
        ordering = ["code"]
        indexes = [models.Index(fields=["path"], name="testtaker_path", opclasses=["varchar_pattern_ops"])]
        constraints = [models.UniqueConstraint(fields=["cycle", "code"], name="testtaker_code_unique")]

    def __str__(self) -> str:
        return self.code


class RoleResetRequest(models.Model):
    """A teacher's request to reset a wrong role pick; the county (or above) approves or rejects it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待审批")
        APPROVED = "approved", _("已批准")
        REJECTED = "rejected", _("已驳回")

    test_taker = models.ForeignKey(TestTaker, on_delete=models.CASCADE, related_name="reset_requests")
    roles_before = models.JSONField(_("原角色"), default=list)
    reason = models.CharField(_("理由"), max_length=300)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.PENDING)
    requested_at = models.DateTimeField(_("申请时间"), default=timezone.now)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("审批人"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("角色重置申请")
        verbose_name_plural = _("角色重置申请")
        ordering = ["-requested_at"]
        constraints = [models.UniqueConstraint(fields=["test_taker"], name="roleresetrequest_one_pending",
                                               condition=Q(status="pending"))]

    def __str__(self) -> str:
        return f"{self.test_taker_id}:{self.status}"


# ------------------------------------------------------------------------------------------------ attempts


class AttemptStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", _("作答中")
    SUBMITTED = "submitted", _("已提交")


class Attempt(models.Model):
    """One test taker taking one instrument version in one session. Formal sessions allow one attempt per
    instrument; practice sessions allow more (``number`` counts them)."""

    session = models.ForeignKey(TestSession, on_delete=models.PROTECT, related_name="attempts")
    test_taker = models.ForeignKey(TestTaker, on_delete=models.PROTECT, related_name="attempts")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="attempts")
    booklet = models.PositiveSmallIntegerField(_("题本号"), null=True, blank=True)
    number = models.PositiveSmallIntegerField(_("第几次作答"), default=1)
    status = models.CharField(_("状态"), max_length=12, choices=AttemptStatus.choices,
                              default=AttemptStatus.IN_PROGRESS)
    page_order = models.JSONField(_("页面顺序"), default=list, blank=True)
    started_at = models.DateTimeField(_("开始时间"), default=timezone.now)
    last_saved_at = models.DateTimeField(_("最近保存"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    score = models.FloatField(_("客观题得分"), null=True, blank=True)
    scored_at = models.DateTimeField(_("评分时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("作答记录")
        verbose_name_plural = _("作答记录")
        ordering = ["session_id", "test_taker_id", "instrument_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["session", "test_taker", "instrument", "number"],
                                    name="attempt_number_unique"),
            models.UniqueConstraint(fields=["session", "test_taker", "instrument"],
                                    name="attempt_one_in_progress", condition=Q(status="in_progress")),
            models.CheckConstraint(name="attempt_submitted_has_time",
                                   condition=Q(status="in_progress") | Q(submitted_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.test_taker_id}/{self.instrument_id}#{self.number}"


class Answer(models.Model):
    """The latest answer to one item of an attempt. ``value`` is the client's JSON text; ``seq`` the client's
    per-item sequence number: a write with a lower or equal ``seq`` never replaces a stored one.
    Written only by :mod:`naeq.delivery.hotpath` (raw SQL upsert)."""

    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="answers", db_index=False)
    item = models.CharField(max_length=40)
    value = models.TextField()
    seq = models.BigIntegerField()
    saved_at = models.DateTimeField()

    class Meta:
        verbose_name = _("作答")
        verbose_name_plural = _("作答")
        constraints = [models.UniqueConstraint(fields=["attempt", "item"], name="answer_attempt_item")]

    def __str__(self) -> str:
        return f"{self.attempt_id}:{self.item}"


class ItemScore(models.Model):
    """The scored response to one item after submission: the coded value (with 99 omitted / 97 out of range)
    and the score of an objective item (null for questionnaire items and items scored by raters)."""

    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="item_scores", db_index=False)
    item = models.CharField(max_length=40)
    code = models.TextField(_("编码"), blank=True)
    score = models.FloatField(_("得分"), null=True, blank=True)

    class Meta:
        verbose_name = _("题目得分")
        verbose_name_plural = _("题目得分")
        constraints = [models.UniqueConstraint(fields=["attempt", "item"], name="itemscore_attempt_item")]

    def __str__(self) -> str:
        return f"{self.attempt_id}:{self.item}"
