from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PapercaptureConfig(AppConfig):
    name = "naeq.papercapture"
    verbose_name = _("纸笔作答采集")
    default_auto_field = "django.db.models.BigAutoField"
