from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QualityConfig(AppConfig):
    name = "naeq.quality"
    verbose_name = _("数据质量甄别")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from naeq.core import exclusions
        from naeq.quality import marks

        exclusions.register(marks.marked)
