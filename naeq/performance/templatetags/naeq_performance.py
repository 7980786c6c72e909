"""Template filters of performance tasks for other apps' pages: ``{% load naeq_performance %}`` then
``{% if s|has_recorded_tasks %}`` shows the links to the 耳机与录音 page and the singing/oral room only on sessions
whose instruments have recorded tasks."""

from __future__ import annotations

from django import template

from naeq.delivery.models import TestSession
from naeq.performance.selectors import session_has_recorded_tasks

register = template.Library()


@register.filter
def has_recorded_tasks(session: TestSession) -> bool:
    return session_has_recorded_tasks(session)
