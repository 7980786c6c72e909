"""Celery application: used only when REDIS_URL is set (see naeq.core.jobs)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "naeq.settings")
app = Celery("naeq")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
