"""Data-quality screening (数据质量甄别) on the platform: recorded screening runs of the three-stage screen, what
they found per county, school, pair and person, and the investigation cases (调查取证) opened from their flags,
with the decisions that flow into estimation.

A :class:`ScreeningRun` is one run of :func:`naeq.engines.forensics.screen.screen` over one instrument's responses
in a cycle, recorded with its inputs' hash, options, seed and code version like a calibration run. Its results are
snapshots: :class:`ScreenedUnit` (a county or school with every indicator's statistic, expectation, p and BH q),
:class:`ScreenedPair` (pairs with p_ω ≤ the report level or flagged, with both answer strings as they were),
:class:`ScreenedPerson` (θ and lz*) and :class:`ScreenedCluster` (connected flagged pairs with the source
candidate). A later change of the data never changes a run: a new run does.

A :class:`Case` is one flagged (or manually reported) county or school under investigation, with an append-only
log (:class:`CaseEvent`), evidence (:class:`CaseEvidence`) and a decision. Decisions are materialised as
:class:`DataMark` rows (one per test taker and instrument): *excluded* data drop out of calibration and
estimation, *flagged* data are kept and marked.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from naeq.core.runs import RecordedRun, run_constraints


class UnitLevel(models.TextChoices):
    COUNTY = "county", _("区县")
    SCHOOL = "school", _("学校")


class ScreeningRun(RecordedRun):
    """One recorded screen of an instrument in a cycle. Its ``summary`` holds the counts (persons, items, pairs,
    flagged units …), the item codes and keys in column order (``items``, ``keys``) that the pairs' answer strings
    follow, and which optional inputs were present."""

    cycle = models.ForeignKey("cycles.Cycle", verbose_name=_("监测周期"), on_delete=models.PROTECT,
                              related_name="screening_runs")
    instrument_code = models.CharField(_("监测工具（学科）"), max_length=60)

    class Meta:
        verbose_name = _("甄别记录")
        verbose_name_plural = _("甄别记录")
        ordering = ["-created_at", "-id"]
        constraints = run_constraints("scrrun")
        indexes = [models.Index(fields=["cycle", "instrument_code", "-created_at"], name="scrrun_cycle_instr")]

    def __str__(self) -> str:
        return f"{self.instrument_code} #{self.pk}"

    def as_audit(self) -> dict[str, Any]:
        return {"cycle": self.cycle_id, "instrument_code": self.instrument_code, "options": self.options,
                "seed": self.seed, "inputs_hash": self.inputs_hash, "code_version": self.code_version,
                "status": self.status}


class ScreenedUnit(models.Model):
    """One county or school of a run. ``indicators`` maps each computable indicator's name to
    ``{"stat", "expected", "p", "q", "n"}`` (floats; NaN stored as null); ``drivers`` names the indicators whose
    BH q-value is at or below the run's FDR, most significant first; ``rank`` orders the run's units of a level by
    combined p (1 = most suspect)."""

    run = models.ForeignKey(ScreeningRun, on_delete=models.CASCADE, related_name="units")
    level = models.CharField(_("层级"), max_length=6, choices=UnitLevel.choices)
    county = models.ForeignKey("registry.Region", verbose_name=_("县（区）"), on_delete=models.PROTECT,
                               related_name="+")
    school = models.ForeignKey("registry.School", verbose_name=_("学校"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    path = models.CharField(max_length=32, help_text="the county's path, denormalised for jurisdiction queries")
    rank = models.PositiveIntegerField(_("排序"))
    n_persons = models.PositiveIntegerField(_("人数"))
    indicators = models.JSONField(_("指标"), default=dict)
    combined_p = models.FloatField(_("综合p值"))
    combined_q = models.FloatField(_("综合q值"))
    flag = models.BooleanField(_("疑似异常"), default=False)
    drivers = models.JSONField(_("主要指标"), default=list, blank=True)

    class Meta:
        verbose_name = _("甄别单位")
        verbose_name_plural = _("甄别单位")
        ordering = ["run_id", "level", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["run", "level", "rank"], name="scrunit_run_level_rank"),
            models.CheckConstraint(name="scrunit_school_level",
                                   condition=Q(level="county", school__isnull=True)
                                   | Q(level="school", school__isnull=False)),
        ]
        indexes = [models.Index(fields=["run", "level", "flag"], name="scrunit_run_flag")]

    def __str__(self) -> str:
        return f"{self.run_id}:{self.level}:{self.school_id or self.county_id}"


class ScreenedPair(models.Model):
    """A reported pair (p_ω ≤ the run's report level, or flagged). ``options_a`` / ``options_b`` are both answer
    strings in the run's item order (``run.summary["items"]``): the option text, ``""`` omitted, ``null`` not
    administered. ``copier`` / ``source`` follow ω's larger direction."""

    run = models.ForeignKey(ScreeningRun, on_delete=models.CASCADE, related_name="pairs")
    county = models.ForeignKey("registry.Region", on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey("registry.School", on_delete=models.PROTECT, related_name="+")
    path = models.CharField(max_length=32)
    person_a = models.ForeignKey("delivery.TestTaker", on_delete=models.PROTECT, related_name="+")
    person_b = models.ForeignKey("delivery.TestTaker", on_delete=models.PROTECT, related_name="+")
    same_room = models.BooleanField(_("同一考场"), default=False)
    common_items = models.PositiveSmallIntegerField(_("共同题数"))
    matches = models.PositiveSmallIntegerField(_("相同作答数"))
    identical_incorrect = models.PositiveSmallIntegerField(_("相同错误数"))
    omega = models.FloatField(_("ω指数"))
    omega_p = models.FloatField(_("ω的p值"))
    omega_p_bonferroni = models.FloatField(_("Bonferroni校正p值"))
    gbt_p = models.FloatField(_("广义二项检验p值"), null=True, blank=True)
    ii_p = models.FloatField(_("相同错误p值"), null=True, blank=True)
    copier = models.ForeignKey("delivery.TestTaker", on_delete=models.PROTECT, related_name="+")
    source = models.ForeignKey("delivery.TestTaker", on_delete=models.PROTECT, related_name="+")
    flag = models.BooleanField(_("疑似抄袭"), default=False)
    cluster = models.PositiveIntegerField(_("相似群组"), null=True, blank=True)
    options_a = models.JSONField(_("作答A"), default=list)
    options_b = models.JSONField(_("作答B"), default=list)

    class Meta:
        verbose_name = _("相似作答对")
        verbose_name_plural = _("相似作答对")
        ordering = ["run_id", "omega_p", "id"]
        constraints = [models.CheckConstraint(name="scrpair_distinct", condition=~Q(person_a=models.F("person_b")))]
        indexes = [models.Index(fields=["run", "school", "omega_p"], name="scrpair_run_school")]

    def __str__(self) -> str:
        return f"{self.run_id}:{self.person_a_id}-{self.person_b_id}"


class ScreenedPerson(models.Model):
    run = models.ForeignKey(ScreeningRun, on_delete=models.CASCADE, related_name="persons", db_index=False)
    test_taker = models.ForeignKey("delivery.TestTaker", on_delete=models.PROTECT, related_name="+",
                                   db_index=False)
    school = models.ForeignKey("registry.School", on_delete=models.PROTECT, related_name="+", db_index=False)
    theta = models.FloatField(_("能力估计θ"))
    lz_star = models.FloatField(_("lz*"), null=True, blank=True)
    lz_p = models.FloatField(_("lz*的p值"), null=True, blank=True)
    cluster = models.PositiveIntegerField(_("相似群组"), null=True, blank=True)

    class Meta:
        verbose_name = _("甄别考生")
        verbose_name_plural = _("甄别考生")
        ordering = ["run_id", "id"]
        constraints = [models.UniqueConstraint(fields=["run", "test_taker"], name="scrperson_run_taker")]
        indexes = [models.Index(fields=["run", "school"], name="scrperson_run_school")]

    def __str__(self) -> str:
        return f"{self.run_id}:{self.test_taker_id}"


class ScreenedCluster(models.Model):
    """Connected flagged pairs: one answer source shared by many (``members`` test-taker ids, source first)."""

    run = models.ForeignKey(ScreeningRun, on_delete=models.CASCADE, related_name="clusters")
    number = models.PositiveIntegerField(_("群组编号"))
    school = models.ForeignKey("registry.School", on_delete=models.PROTECT, related_name="+")
    path = models.CharField(max_length=32)
    size = models.PositiveIntegerField(_("人数"))
    source = models.ForeignKey("delivery.TestTaker", verbose_name=_("疑似来源"), on_delete=models.PROTECT,
                               related_name="+")
    members = models.JSONField(_("成员"), default=list)

    class Meta:
        verbose_name = _("相似作答群组")
        verbose_name_plural = _("相似作答群组")
        ordering = ["run_id", "number"]
        constraints = [models.UniqueConstraint(fields=["run", "number"], name="scrcluster_run_number")]

    def __str__(self) -> str:
        return f"{self.run_id}#{self.number}"


class CaseState(models.TextChoices):
    OPEN = "open", _("待调查")
    INVESTIGATING = "investigating", _("调查中")
    CLEARED = "cleared", _("排除异常")
    DATA_FLAGGED = "data_flagged", _("数据标记")
    DATA_EXCLUDED = "data_excluded", _("数据剔除")


#: States that end an investigation with a decision.
DECIDED = frozenset({CaseState.CLEARED, CaseState.DATA_FLAGGED, CaseState.DATA_EXCLUDED})


class Case(models.Model):
    """One county or school under investigation (调查取证). ``indicators`` is the snapshot of the unit's row of the
    run that flagged it (or empty for a manual case); ``persons`` restricts a decision to some test takers (e.g.
    a cluster of copiers; empty = every test taker of the unit in the instrument)."""

    cycle = models.ForeignKey("cycles.Cycle", verbose_name=_("监测周期"), on_delete=models.PROTECT,
                              related_name="+")
    number = models.CharField(_("案件编号"), max_length=20, unique=True)
    run = models.ForeignKey(ScreeningRun, verbose_name=_("来源甄别记录"), null=True, blank=True,
                            on_delete=models.PROTECT, related_name="cases")
    unit = models.ForeignKey(ScreenedUnit, verbose_name=_("来源甄别单位"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="cases")
    instrument_code = models.CharField(_("监测工具（学科）"), max_length=60)
    level = models.CharField(_("层级"), max_length=6, choices=UnitLevel.choices)
    county = models.ForeignKey("registry.Region", verbose_name=_("县（区）"), on_delete=models.PROTECT,
                               related_name="+")
    school = models.ForeignKey("registry.School", verbose_name=_("学校"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    path = models.CharField(max_length=32)
    title = models.CharField(_("标题"), max_length=200)
    indicators = models.JSONField(_("指标快照"), default=dict, blank=True)
    persons = models.JSONField(_("涉及考生"), default=list, blank=True, help_text="test-taker ids; empty = all")
    state = models.CharField(_("状态"), max_length=14, choices=CaseState.choices, default=CaseState.OPEN)
    investigator = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("调查人"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("立案人"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField(_("立案时间"), default=timezone.now)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("决定人"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(_("决定时间"), null=True, blank=True)
    decision_reason = models.TextField(_("决定理由"), blank=True)

    class Meta:
        verbose_name = _("调查案件")
        verbose_name_plural = _("调查案件")
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.CheckConstraint(name="qcase_state_valid", condition=Q(state__in=CaseState.values)),
            models.CheckConstraint(name="qcase_school_level",
                                   condition=Q(level="county", school__isnull=True)
                                   | Q(level="school", school__isnull=False)),
            models.CheckConstraint(name="qcase_decided_has_reason",
                                   condition=Q(state__in=["open", "investigating"])
                                   | (~Q(decision_reason="") & Q(decided_at__isnull=False))),
        ]
        indexes = [models.Index(fields=["path"], name="qcase_path", opclasses=["varchar_pattern_ops"]),
                   models.Index(fields=["cycle", "state"], name="qcase_cycle_state")]

    def __str__(self) -> str:
        return self.number

    def as_audit(self) -> dict[str, Any]:
        return {"number": self.number, "cycle": self.cycle_id, "run": self.run_id, "level": self.level,
                "county": self.county_id, "school": self.school_id, "instrument_code": self.instrument_code,
                "state": self.state, "investigator": self.investigator_id, "persons": self.persons,
                "decision_reason": self.decision_reason}

    @property
    def decided(self) -> bool:
        return self.state in DECIDED


class EventKind(models.TextChoices):
    OPENED = "opened", _("立案")
    ASSIGNED = "assigned", _("指派调查人")
    STATE = "state", _("状态变更")
    NOTE = "note", _("调查记录")
    EVIDENCE = "evidence", _("添加证据")
    DECIDED = "decided", _("作出决定")
    REOPENED = "reopened", _("重新调查")


class CaseEvent(models.Model):
    """The case's append-only log: who did what when, with the state before and after."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("时间"), default=timezone.now)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("操作人"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("类型"), max_length=10, choices=EventKind.choices)
    from_state = models.CharField(_("原状态"), max_length=14, blank=True)
    to_state = models.CharField(_("新状态"), max_length=14, blank=True)
    text = models.TextField(_("说明"), blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("案件记录")
        verbose_name_plural = _("案件记录")
        ordering = ["case_id", "at", "id"]

    def __str__(self) -> str:
        return f"{self.case_id}:{self.kind}"


class EvidenceKind(models.TextChoices):
    SNAPSHOT = "snapshot", _("统计快照")
    INCIDENT = "incident", _("异常事件报告")
    SESSION_RECORD = "session_record", _("测试情况记录表")
    UPLOAD = "upload", _("上传材料")


class CaseEvidence(models.Model):
    """Evidence of a case: a statistics snapshot (``payload``), a reference to an incident report or session record
    of the same rooms (``ref_type``/``ref_id`` with a ``payload`` copy as it was when attached), or an uploaded file
    (``stored_name`` under the data directory, with its SHA-256)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="evidence")
    kind = models.CharField(_("类型"), max_length=14, choices=EvidenceKind.choices)
    title = models.CharField(_("标题"), max_length=200)
    ref_type = models.CharField(max_length=40, blank=True)
    ref_id = models.CharField(max_length=40, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    stored_name = models.CharField(max_length=80, blank=True)
    original_name = models.CharField(_("文件名"), max_length=200, blank=True)
    content_type = models.CharField(max_length=60, blank=True)
    size = models.PositiveIntegerField(_("大小（字节）"), default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("添加人"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField(_("添加时间"), default=timezone.now)

    class Meta:
        verbose_name = _("案件证据")
        verbose_name_plural = _("案件证据")
        ordering = ["case_id", "added_at", "id"]
        constraints = [
            models.CheckConstraint(name="qevidence_kind_valid", condition=Q(kind__in=EvidenceKind.values)),
            models.CheckConstraint(name="qevidence_upload_has_file",
                                   condition=~Q(kind="upload")
                                   | (~Q(stored_name="") & Q(sha256__regex=r"^[0-9a-f]{64}$"))),
            models.UniqueConstraint(fields=["case", "ref_type", "ref_id"], condition=~Q(ref_type=""),
                                    name="qevidence_ref_once"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id}:{self.kind}:{self.title}"


class MarkKind(models.TextChoices):
    FLAGGED = "flagged", _("标记")
    EXCLUDED = "excluded", _("剔除")


class DataMark(models.Model):
    """A decision's effect on one test taker's data in one instrument: excluded data drop out of calibration and
    estimation; flagged data stay in and carry the mark. Written and removed only by the case decision service."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="marks")
    cycle = models.ForeignKey("cycles.Cycle", on_delete=models.PROTECT, related_name="+", db_index=False)
    instrument_code = models.CharField(max_length=60)
    test_taker = models.ForeignKey("delivery.TestTaker", on_delete=models.PROTECT, related_name="+")
    mark = models.CharField(max_length=8, choices=MarkKind.choices)

    class Meta:
        verbose_name = _("数据处理标记")
        verbose_name_plural = _("数据处理标记")
        constraints = [
            models.UniqueConstraint(fields=["cycle", "instrument_code", "test_taker"], name="datamark_once"),
            models.CheckConstraint(name="datamark_kind_valid", condition=Q(mark__in=MarkKind.values)),
        ]

    def __str__(self) -> str:
        return f"{self.instrument_code}:{self.test_taker_id}:{self.mark}"
