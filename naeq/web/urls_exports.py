"""URLs of the analysts' data exports (naeq.web.views_exports), included into naeq.web.urls under "web"."""

from django.urls import URLPattern, path

from naeq.web import views_exports

urlpatterns: list[URLPattern] = [path("exports/", views_exports.exports_home, name="exports_home")]
