from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "naeq.reports"
    verbose_name = _("监测报告")
    default_auto_field = "django.db.models.BigAutoField"
