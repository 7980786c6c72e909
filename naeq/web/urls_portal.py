"""URLs of the public portal (no account needed), included into naeq.web.urls under the "web" namespace."""

from django.urls import URLPattern, path

from naeq.web import views_portal as portal

urlpatterns: list[URLPattern] = [
    path("portal/", portal.portal_home, name="portal_home"),
    path("portal/help/", portal.portal_help, name="portal_help"),
    path("portal/downloads/", portal.portal_downloads, name="portal_downloads"),
    path("portal/downloads/roster-<str:kind>.<str:fmt>", portal.portal_template, name="portal_template"),
    path("portal/notice/<str:code>/", portal.portal_notice, name="portal_notice"),
]
