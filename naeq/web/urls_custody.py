"""URLs of the 保密与测试记录 pages (naeq.custody), included into naeq.web.urls under the "web" namespace."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
