from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalysisConfig(AppConfig):
    name = "naeq.analysis"
    verbose_name = _("结果分析")
    default_auto_field = "django.db.models.BigAutoField"
