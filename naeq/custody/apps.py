from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustodyConfig(AppConfig):
    name = "naeq.custody"
    verbose_name = _("保密与测试记录")
    default_auto_field = "django.db.models.BigAutoField"
