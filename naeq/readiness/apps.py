from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReadinessConfig(AppConfig):
    name = "naeq.readiness"
    verbose_name = _("准备就绪")
    default_auto_field = "django.db.models.BigAutoField"
