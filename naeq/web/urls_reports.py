"""URLs of the reports pages, included into naeq.web.urls under the "web" namespace."""

from django.urls import URLPattern, path

from naeq.web import views_reports as v

urlpatterns: list[URLPattern] = [
    path("reports/", v.reports_home, name="reports_home"),
    path("reports/status.json", v.reports_status, name="reports_status"),
    path("reports/start/", v.reports_start, name="reports_start"),
    path("reports/batches/<int:batch_id>/rerun/", v.reports_rerun, name="reports_rerun"),
    path("reports/<int:report_id>/", v.report, name="report"),
    path("reports/<int:report_id>/pdf", v.report_pdf, name="report_pdf"),
]
