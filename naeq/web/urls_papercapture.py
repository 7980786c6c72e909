"""URLs of the 纸笔作答采集 pages (naeq.papercapture), included into naeq.web.urls under the "web" namespace."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
