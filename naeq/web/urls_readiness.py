"""URLs of the 准备就绪 pages (naeq.readiness), included into naeq.web.urls under the "web" namespace."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
