from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeliveryConfig(AppConfig):
    name = "naeq.delivery"
    label = "delivery"
    verbose_name = _("网络测试系统")
