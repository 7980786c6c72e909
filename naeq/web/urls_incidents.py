"""URLs of the 应急事件与监督专线 pages (naeq.incidents), included into naeq.web.urls under the "web" namespace."""

from django.urls import URLPattern, path

from naeq.web import views_incidents as v

urlpatterns: list[URLPattern] = [
    path("incidents/", v.incident_list, name="incidents_list"),
    path("incidents/new/", v.incident_new, name="incidents_new"),
    path("incidents/notices/", v.notice_list, name="incidents_notices"),
    path("incidents/notices/read/", v.notice_read, name="incidents_notices_read"),
    path("incidents/reports/", v.report_status, name="incidents_reports"),
    path("incidents/reports.xlsx", v.reports_export, name="incidents_reports_export"),
    path("incidents/hotline.xlsx", v.hotline_export, name="incidents_hotline_export"),
    path("incidents/reports/<int:report_id>/collect/", v.report_collect, name="incidents_report_collect"),
    path("incidents/reports/<str:school_code>/<str:date>/", v.report_form, name="incidents_report"),
    path("incidents/hotline/", v.hotline_list, name="incidents_hotline"),
    path("incidents/hotline/new/", v.hotline_new, name="incidents_hotline_new"),
    path("incidents/hotline/<int:call_id>/", v.hotline_detail, name="incidents_hotline_detail"),
    path("incidents/hotline/<int:call_id>/case/", v.hotline_case, name="incidents_hotline_case"),
    path("incidents/<int:case_id>/", v.incident_detail, name="incidents_detail"),
    path("incidents/<int:case_id>/log/", v.incident_log, name="incidents_log"),
    path("incidents/<int:case_id>/escalate/", v.incident_escalate, name="incidents_escalate"),
    path("incidents/<int:case_id>/close/", v.incident_close, name="incidents_close"),
]
