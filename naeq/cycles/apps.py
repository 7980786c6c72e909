from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CyclesConfig(AppConfig):
    name = "naeq.cycles"
    label = "cycles"
    verbose_name = _("监测周期")
