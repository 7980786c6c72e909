"""Paper capture (纸笔作答采集) as database rows.

* A :class:`ScanBatch` is one imported file of scanned answer-card results for one instrument. Its
  :class:`ScanCard` rows are the sheets of the file (one per answer card), each with the marks read per item.
* A :class:`ReviewEntry` is one problem of a sheet that needs a human (unknown or duplicate test ID, a booklet
  number that differs from the assigned one or cannot be read, a multiple mark 97, a blank 99, a mark on an item
  not in the booklet). Nothing of a batch is scored while one of its entries is open.
* A :class:`KeyedCard` is a card keyed by hand twice (:class:`KeyingPass`, two different operators) and reconciled
  field by field by a third person.
* A :class:`PaperResponse` is one scored paper response (test taker, instrument, item, code, score): what a
  released batch or a reconciled keyed card gives the scaling layer.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class BatchStatus(models.TextChoices):
    REVIEW = "review", _("待复核")
    READY = "ready", _("可评分")
    RELEASED = "released", _("已评分发布")


class ScanBatch(models.Model):
    """One imported scan file. ``path`` is the importing actor's jurisdiction path ("" for national): the batch
    holds only test takers inside it and is seen only by staff standing over it."""

    cycle = models.ForeignKey("cycles.Cycle", verbose_name=_("监测周期"), on_delete=models.PROTECT, related_name="+")
    instrument = models.ForeignKey("delivery.Instrument", verbose_name=_("监测工具"), on_delete=models.PROTECT,
                                   related_name="+")
    path = models.CharField(max_length=32, blank=True)
    label = models.CharField(_("扫描批次"), max_length=200)
    source = models.CharField(_("来源文件"), max_length=200)
    sha256 = models.CharField(_("文件SHA-256"), max_length=64)
    sheets = models.PositiveIntegerField(_("答题卡张数"), default=0)
    status = models.CharField(_("状态"), max_length=10, choices=BatchStatus.choices, default=BatchStatus.REVIEW)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("导入人"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("导入时间"), default=timezone.now)
    released_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("发布人"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    released_at = models.DateTimeField(_("评分发布时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("扫描批次")
        verbose_name_plural = _("扫描批次")
        ordering = ["-uploaded_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["instrument", "sha256"], name="scanbatch_file_once"),
            models.CheckConstraint(name="scanbatch_released_has_time",
                                   condition=~Q(status="released") | Q(released_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.label}"


class ScanCard(models.Model):
    """One scanned sheet. ``marks`` are the read marks per item column as in the file ("A", "AB", ""); ``values``
    the resolved marks (set by review; "97" and "99" once confirmed). ``test_taker`` and ``booklet`` are null
    until known; ``discarded`` sheets (a blank spare card, a duplicate) are never scored."""

    batch = models.ForeignKey(ScanBatch, on_delete=models.CASCADE, related_name="cards")
    row = models.PositiveIntegerField(_("文件行号"))
    scanner_batch = models.CharField(_("扫描批号"), max_length=40)
    sheet = models.PositiveIntegerField(_("张号"))
    test_id_read = models.CharField(_("识别的测试编号"), max_length=40, blank=True)
    booklet_read = models.CharField(_("识别的题本号"), max_length=20, blank=True)
    test_taker = models.ForeignKey("delivery.TestTaker", verbose_name=_("测试对象"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    path = models.CharField(max_length=32, blank=True, help_text="the test taker's school path, once known")
    booklet = models.PositiveSmallIntegerField(_("题本号"), null=True, blank=True)
    marks = models.JSONField(_("识别结果"), default=dict, blank=True)
    values = models.JSONField(_("复核后结果"), default=dict, blank=True)
    discarded = models.BooleanField(_("已作废"), default=False)

    class Meta:
        verbose_name = _("答题卡")
        verbose_name_plural = _("答题卡")
        ordering = ["batch_id", "row"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "scanner_batch", "sheet"], name="scancard_sheet_once"),
            models.UniqueConstraint(fields=["batch", "row"], name="scancard_row_once"),
        ]

    def __str__(self) -> str:
        return f"{self.scanner_batch}/{self.sheet}"


class EntryKind(models.TextChoices):
    UNKNOWN_TEST_ID = "unknown_test_id", _("未知测试编号")
    DUPLICATE_TEST_ID = "duplicate_test_id", _("重复测试编号")
    BOOKLET_MISMATCH = "booklet_mismatch", _("题本号与分配不符")
    BOOKLET_UNREADABLE = "booklet_unreadable", _("题本号无法识别")
    MULTIPLE_MARKS = "multiple_marks", _("多涂或无效涂点（97）")
    BLANK = "blank", _("未作答（99）")
    NOT_IN_BOOKLET = "not_in_booklet", _("非本题本题目有涂点")


#: Card-level entries (the test ID or booklet) come before item-level ones: an item's check depends on the booklet.
CARD_KINDS = frozenset({EntryKind.UNKNOWN_TEST_ID, EntryKind.DUPLICATE_TEST_ID, EntryKind.BOOKLET_MISMATCH,
                        EntryKind.BOOKLET_UNREADABLE})


class Resolution(models.TextChoices):
    ACCEPT = "accept", _("采用识别值")
    CORRECT = "correct", _("更正为")
    CONFIRM_MISSING = "confirm", _("确认缺失代码")
    FIX_TEST_ID = "fix_test_id", _("更正测试编号")
    USE_ASSIGNED = "use_assigned", _("采用分配的题本号")
    DISCARD = "discard", _("作废该答题卡")


class ReviewEntry(models.Model):
    card = models.ForeignKey(ScanCard, on_delete=models.CASCADE, related_name="entries")
    batch = models.ForeignKey(ScanBatch, on_delete=models.CASCADE, related_name="entries")
    kind = models.CharField(_("问题"), max_length=20, choices=EntryKind.choices)
    item = models.CharField(_("题目"), max_length=40, blank=True)
    scanned = models.CharField(_("识别值"), max_length=40, blank=True)
    detail = models.CharField(_("说明"), max_length=300, blank=True)
    resolution = models.CharField(_("处理方式"), max_length=12, choices=Resolution.choices, blank=True)
    value = models.CharField(_("处理结果"), max_length=40, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("处理人"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    resolved_at = models.DateTimeField(_("处理时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("复核问题")
        verbose_name_plural = _("复核问题")
        ordering = ["batch_id", "card_id", "id"]
        indexes = [models.Index(fields=["batch", "resolved_at"], name="reviewentry_open")]
        constraints = [
            models.CheckConstraint(name="reviewentry_resolved_together",
                                   condition=(Q(resolution="") & Q(resolved_at__isnull=True))
                                   | (~Q(resolution="") & Q(resolved_at__isnull=False))),
            models.UniqueConstraint(fields=["card", "kind", "item"], name="reviewentry_once"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.item}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class KeyedStatus(models.TextChoices):
    FIRST = "first", _("已录入一遍")
    MISMATCH = "mismatch", _("两遍不一致，待核对")
    RELEASED = "released", _("已核对发布")


class KeyedCard(models.Model):
    """A card keyed by hand twice. ``final`` is the released field values (``booklet`` and each item's mark) once
    both passes agree or a third person has reconciled every differing field."""

    cycle = models.ForeignKey("cycles.Cycle", on_delete=models.PROTECT, related_name="+")
    instrument = models.ForeignKey("delivery.Instrument", on_delete=models.PROTECT, related_name="+")
    test_taker = models.ForeignKey("delivery.TestTaker", on_delete=models.PROTECT, related_name="+")
    path = models.CharField(max_length=32)
    status = models.CharField(_("状态"), max_length=10, choices=KeyedStatus.choices, default=KeyedStatus.FIRST)
    final = models.JSONField(_("核对结果"), null=True, blank=True)
    reconciled_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("核对人"), null=True, blank=True,
                                      on_delete=models.PROTECT, related_name="+")
    released_at = models.DateTimeField(_("发布时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("双录答题卡")
        verbose_name_plural = _("双录答题卡")
        ordering = ["test_taker_id"]
        constraints = [
            models.UniqueConstraint(fields=["instrument", "test_taker"], name="keyedcard_once"),
            models.CheckConstraint(name="keyedcard_released_has_final",
                                   condition=~Q(status="released") | (Q(final__isnull=False)
                                                                      & Q(released_at__isnull=False))),
        ]

    def __str__(self) -> str:
        return f"{self.instrument_id}/{self.test_taker_id}"


class KeyingPass(models.Model):
    card = models.ForeignKey(KeyedCard, on_delete=models.CASCADE, related_name="passes")
    number = models.PositiveSmallIntegerField(_("第几遍"))
    operator = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("录入人"), on_delete=models.PROTECT,
                                 related_name="+")
    fields = models.JSONField(_("录入内容"), help_text='{"booklet": "2", "<item>": "A", ...}')
    keyed_at = models.DateTimeField(_("录入时间"), default=timezone.now)

    class Meta:
        verbose_name = _("录入遍次")
        verbose_name_plural = _("录入遍次")
        ordering = ["card_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["card", "number"], name="keyingpass_number_once"),
            models.UniqueConstraint(fields=["card", "operator"], name="keyingpass_two_operators"),
            models.CheckConstraint(name="keyingpass_one_or_two", condition=Q(number__in=[1, 2])),
        ]

    def __str__(self) -> str:
        return f"{self.card_id}#{self.number}"


class PaperResponse(models.Model):
    """One scored paper response. ``code`` is the answer as delivery codes it ("A", ``["A","C"]`` as compact JSON,
    "99" omitted, "97" out of range / multiple marks, "" for a writing-box item); ``score`` null for items not
    scored objectively (constructed responses, scored by raters in naeq.marking)."""

    class Source(models.TextChoices):
        SCAN = "scan", _("扫描")
        KEYED = "keyed", _("双录")

    cycle = models.ForeignKey("cycles.Cycle", on_delete=models.PROTECT, related_name="+")
    test_taker = models.ForeignKey("delivery.TestTaker", on_delete=models.PROTECT, related_name="+")
    instrument = models.ForeignKey("delivery.Instrument", on_delete=models.PROTECT, related_name="+")
    path = models.CharField(max_length=32)
    booklet = models.PositiveSmallIntegerField(_("题本号"))
    item = models.CharField(_("题目"), max_length=40)
    code = models.CharField(_("作答代码"), max_length=200, blank=True)
    score = models.FloatField(_("得分"), null=True, blank=True)
    source = models.CharField(_("来源"), max_length=6, choices=Source.choices)
    batch = models.ForeignKey(ScanBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    keyed = models.ForeignKey(KeyedCard, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    scored_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("纸笔作答得分")
        verbose_name_plural = _("纸笔作答得分")
        ordering = ["instrument_id", "test_taker_id", "id"]
        indexes = [models.Index(fields=["path"], name="paperresponse_path", opclasses=["varchar_pattern_ops"]),
                   models.Index(fields=["cycle", "instrument"], name="paperresponse_cycle_inst")]
        constraints = [
            models.UniqueConstraint(fields=["instrument", "test_taker", "item"], name="paperresponse_once"),
            models.CheckConstraint(name="paperresponse_score_nonnegative",
                                   condition=Q(score__isnull=True) | Q(score__gte=0)),
            models.CheckConstraint(name="paperresponse_one_source",
                                   condition=(Q(source="scan") & Q(batch__isnull=False) & Q(keyed__isnull=True))
                                   | (Q(source="keyed") & Q(keyed__isnull=False) & Q(batch__isnull=True))),
        ]

    def __str__(self) -> str:
        return f"{self.test_taker_id}/{self.item}={self.code}"
