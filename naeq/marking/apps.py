from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarkingConfig(AppConfig):
    name = "naeq.marking"
    verbose_name = _("主观题评分")
    default_auto_field = "django.db.models.BigAutoField"
