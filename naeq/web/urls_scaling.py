"""URLs of the 量尺与等级 pages (naeq.scaling), included into naeq.web.urls under the "web" namespace."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
