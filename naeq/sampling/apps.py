from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SamplingConfig(AppConfig):
    name = "naeq.sampling"
    label = "sampling"
    verbose_name = _("信息上报及抽样")

    def ready(self) -> None:
        # The modules that register pre-submit checks with the review chain (naeq.registry.review): importing them
        # here makes the checks hold whatever else the process imported first (pages, CLI, jobs).
        from naeq.sampling import services  # noqa: F401
