from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "naeq.core"
    label = "core"
    verbose_name = "naeq core"
