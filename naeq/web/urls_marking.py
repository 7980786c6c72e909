"""URLs of the 主观题评分 pages (naeq.marking), included into naeq.web.urls under the "web" namespace."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
