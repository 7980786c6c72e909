"""Monitoring cycles: one row per year, holding the validated configuration file it was loaded from."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from naeq.cycles.config import CycleConfig


class Cycle(models.Model):
    year = models.PositiveSmallIntegerField(_("监测年度"), unique=True)
    name = models.CharField(_("名称"), max_length=100)
    source_name = models.CharField(_("配置文件名"), max_length=200)
    config_text = models.TextField(_("配置文件内容"))
    config_hash = models.CharField(_("配置文件SHA-256"), max_length=64)
    loaded_at = models.DateTimeField(_("载入时间"), default=timezone.now)
    is_current = models.BooleanField(_("当前周期"), default=False)

    class Meta:
        verbose_name = _("监测周期")
        verbose_name_plural = _("监测周期")
        ordering = ["-year"]
        constraints = [
            models.UniqueConstraint(fields=["is_current"], condition=Q(is_current=True), name="cycle_one_current"),
            models.CheckConstraint(name="cycle_year_range", condition=Q(year__gte=2000, year__lte=2100)),
            models.CheckConstraint(name="cycle_hash_sha256", condition=Q(config_hash__regex=r"^[0-9a-f]{64}$")),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.name}"

    @cached_property
    def config(self) -> CycleConfig:
        """The parsed configuration (validated when loaded; parsed again once per instance)."""
        from naeq.cycles.config import parse_text

        return parse_text(self.config_text, file=self.source_name)
