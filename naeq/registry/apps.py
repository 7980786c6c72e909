from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "naeq.registry"
    label = "registry"
    verbose_name = _("行政区划与学校")
