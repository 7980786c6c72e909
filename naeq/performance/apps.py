from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PerformanceConfig(AppConfig):
    name = "naeq.performance"
    verbose_name = _("表现性任务")
    default_auto_field = "django.db.models.BigAutoField"
