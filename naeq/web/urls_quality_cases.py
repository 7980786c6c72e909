"""URLs of the data-quality pages (cases)."""

from django.urls import URLPattern, path  # noqa: F401

urlpatterns: list[URLPattern] = []
