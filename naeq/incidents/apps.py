from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IncidentsConfig(AppConfig):
    name = "naeq.incidents"
    verbose_name = _("应急事件与监督专线")
    default_auto_field = "django.db.models.BigAutoField"
