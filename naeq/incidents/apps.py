from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IncidentsConfig(AppConfig):
    name = "naeq.incidents"
    verbose_name = _("应急事件与监督专线")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # An incident recorded in a session (naeq.delivery, proctor view) becomes a case at once, in the same
        # transaction, so a grade-3 incident reaches the city and the province without anyone pressing a button
        # (2023-dongli-district-rules.txt 五: "须第一时间报市级实施工作领导小组").
        from django.db.models.signals import post_save

        from naeq.delivery.models import Incident

        post_save.connect(_incident_saved, sender=Incident, dispatch_uid="naeq.incidents.case_from_incident")


def _incident_saved(sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if created and not raw:
        from naeq.incidents.services import case_from_incident

        case_from_incident(incident=instance)
