from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScalingConfig(AppConfig):
    name = "naeq.scaling"
    verbose_name = _("量尺与等级")
    default_auto_field = "django.db.models.BigAutoField"
