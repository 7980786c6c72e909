from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "naeq.core"
    label = "core"
    verbose_name = "naeq core"

    def ready(self) -> None:
        # Make naeq's Celery app the current one, so @shared_task binds to it (broker from settings).
        import naeq.celery  # noqa: F401
