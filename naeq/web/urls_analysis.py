"""URLs of the analysis pages, included into naeq.web.urls under the "web" namespace."""

from django.urls import URLPattern, path  # noqa: F401

urlpatterns: list[URLPattern] = []
