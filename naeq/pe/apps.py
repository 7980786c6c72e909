from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PeConfig(AppConfig):
    name = "naeq.pe"
    verbose_name = _("体育测试")
    default_auto_field = "django.db.models.BigAutoField"
