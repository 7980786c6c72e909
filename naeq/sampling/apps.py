from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SamplingConfig(AppConfig):
    name = "naeq.sampling"
    label = "sampling"
    verbose_name = _("信息上报及抽样")
