"""URLs of the performance-task pages and APIs, included into naeq.web.urls under the "web" namespace."""

from django.urls import URLPattern, path  # noqa: F401

urlpatterns: list[URLPattern] = []
