"""URLs of the 实施人员 pages (naeq.staffing), included into naeq.web.urls under the "web" namespace."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
