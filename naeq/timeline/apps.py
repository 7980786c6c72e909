from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TimelineConfig(AppConfig):
    name = "naeq.timeline"
    verbose_name = _("工作进度")
    default_auto_field = "django.db.models.BigAutoField"
