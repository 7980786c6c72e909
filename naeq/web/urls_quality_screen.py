"""URLs of the data-quality pages (screen)."""

from django.urls import URLPattern, path  # noqa: F401

urlpatterns: list[URLPattern] = []
