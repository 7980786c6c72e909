from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RectificationConfig(AppConfig):
    name = "naeq.rectification"
    verbose_name = _("问题整改")
    default_auto_field = "django.db.models.BigAutoField"
