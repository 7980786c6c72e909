"""URLs of the 保密与测试记录 pages (naeq.custody), included into naeq.web.urls under the "web" namespace."""

from django.urls import URLPattern, path

from naeq.web import views_custody as v

urlpatterns: list[URLPattern] = [
    path("custody/", v.home, name="custody_home"),
    path("custody/alerts/", v.alerts, name="custody_alerts"),
    path("custody/records.xlsx", v.records_export, name="custody_records_export"),
    path("custody/keeps/", v.keeps, name="custody_keeps"),
    path("custody/keeps/<int:keep_id>/decide/", v.keep_decide, name="custody_keep_decide"),
    path("custody/counties/<str:code>/", v.ledger, name="custody_ledger"),
    path("custody/counties/<str:code>/events/", v.event_add, name="custody_event_add"),
    path("custody/counties/<str:code>/keeps/", v.keep_request, name="custody_keep_request"),
    path("custody/counties/<str:code>/ledger.xlsx", v.ledger_export, name="custody_ledger_export"),
    path("custody/schools/<str:code>/", v.school, name="custody_school"),
    path("custody/schools/<str:code>/test-takers/", v.records_to_takers, name="custody_records_to_takers"),
    path("custody/sessions/<int:session_id>/record/", v.session_record, name="custody_session_record"),
]
