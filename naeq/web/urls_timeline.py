"""URLs of the 工作进度 pages (naeq.timeline), included into naeq.web.urls under the "web" namespace."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
