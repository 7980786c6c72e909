"""URLs of the 体育测试 pages (naeq.pe), included into naeq.web.urls under the "web" namespace."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
