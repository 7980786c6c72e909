from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StaffingConfig(AppConfig):
    name = "naeq.staffing"
    verbose_name = _("实施人员")
    default_auto_field = "django.db.models.BigAutoField"
