from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "naeq.registry"
    label = "registry"
    verbose_name = _("行政区划与学校")

    def ready(self) -> None:
        # The modules that register pre-submit checks with the review chain (naeq.registry.review): importing them
        # here makes the checks hold whatever else the process imported first (pages, CLI, jobs).
        from naeq.registry import rosters, services  # noqa: F401
