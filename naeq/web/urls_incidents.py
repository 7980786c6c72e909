"""URLs of the 应急事件与监督专线 pages (naeq.incidents), included into naeq.web.urls under the "web" namespace."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
