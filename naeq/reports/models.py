"""Report batches and their reports.

A :class:`ReportBatch` is one generation of a cycle's reports from recorded estimation runs (the latest done run of
each subject unless chosen): it records the runs it used with their inputs' hashes, the levels and region asked
for, the options and code version, and — once done — the content hash over every report file. Like every
:class:`~naeq.core.runs.RecordedRun` its ``inputs_hash`` fixes what it was computed from: the same runs and
options give the same HTML bytes and the same PDF bytes (no generation time inside; the body quotes only the
runs' own recorded times), so a rerun's ``content_hash`` equals the first one's.

A :class:`Report` is one unit's report (the nation, a province, a county): an HTML file and a PDF file under
``DATA_DIR/reports/<batch id>/``, with the SHA-256 and size of each and the PDF's page count. Reports hold no
school-level results and rank nothing (docs/reports.md).
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from naeq.analysis.models import UnitLevel
from naeq.core.runs import RecordedRun, RunStatus, run_constraints

__all__ = ["Report", "ReportBatch", "ReportStatus", "RunStatus", "UnitLevel"]


class ReportBatch(RecordedRun):
    cycle = models.ForeignKey("cycles.Cycle", verbose_name=_("监测周期"), on_delete=models.PROTECT,
                              related_name="report_batches")
    runs = models.ManyToManyField("analysis.EstimationRun", verbose_name=_("估计记录"), related_name="+")
    #: run id (as text) -> {"instrument_code", "inputs_hash", "finished_at"}: what the reports were computed from
    run_inputs = models.JSONField(_("估计记录及其输入哈希"), default=dict, blank=True)
    levels = models.JSONField(_("报告层级"), default=list)
    region = models.ForeignKey("registry.Region", verbose_name=_("限定地区"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    content_hash = models.CharField(_("报告内容SHA-256"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("报告批次")
        verbose_name_plural = _("报告批次")
        ordering = ["-created_at", "-id"]
        constraints = [*run_constraints("rbatch"),
                       models.CheckConstraint(name="rbatch_content_sha256",
                                              condition=Q(content_hash="") | Q(content_hash__regex=r"^[0-9a-f]{64}$"))]

    def __str__(self) -> str:
        return f"report batch #{self.pk}"

    def as_audit(self) -> dict[str, Any]:
        return {"cycle": self.cycle_id, "run_inputs": self.run_inputs, "levels": self.levels,
                "region": self.region_id, "options": self.options, "inputs_hash": self.inputs_hash,
                "code_version": self.code_version, "status": self.status, "content_hash": self.content_hash}


class ReportStatus(models.TextChoices):
    PENDING = "pending", _("待生成")
    DONE = "done", _("已生成")
    FAILED = "failed", _("失败")


class Report(models.Model):
    batch = models.ForeignKey(ReportBatch, on_delete=models.CASCADE, related_name="reports")
    level = models.CharField(_("层级"), max_length=8, choices=UnitLevel.choices)
    region = models.ForeignKey("registry.Region", verbose_name=_("地区"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    path = models.CharField(max_length=32, blank=True, help_text="the region's path; '' for the nation")
    title = models.CharField(_("标题"), max_length=200)
    status = models.CharField(_("状态"), max_length=8, choices=ReportStatus.choices, default=ReportStatus.PENDING)
    html_name = models.CharField(max_length=80, blank=True)
    pdf_name = models.CharField(max_length=80, blank=True)
    html_sha256 = models.CharField(_("HTML SHA-256"), max_length=64, blank=True)
    pdf_sha256 = models.CharField(_("PDF SHA-256"), max_length=64, blank=True)
    html_bytes = models.PositiveIntegerField(default=0)
    pdf_bytes = models.PositiveIntegerField(default=0)
    pages = models.PositiveIntegerField(_("页数"), default=0)
    error = models.TextField(_("错误信息"), blank=True)

    class Meta:
        verbose_name = _("监测报告")
        verbose_name_plural = _("监测报告")
        ordering = ["batch_id", "level", "path"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "level", "path"], name="report_unique_unit"),
            models.CheckConstraint(name="report_nation_no_region",
                                   condition=Q(level="nation", region__isnull=True, path="")
                                   | (~Q(level="nation") & Q(region__isnull=False))),
            models.CheckConstraint(name="report_done_has_files",
                                   condition=~Q(status="done") | (Q(html_sha256__regex=r"^[0-9a-f]{64}$")
                                                                  & Q(pdf_sha256__regex=r"^[0-9a-f]{64}$"))),
        ]
        indexes = [models.Index(fields=["path"], name="report_path", opclasses=["varchar_pattern_ops"])]

    def __str__(self) -> str:
        return self.title
