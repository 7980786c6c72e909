from django.urls import path

from naeq.web import (
    api,
    urls_analysis,
    urls_custody,
    urls_exports,
    urls_incidents,
    urls_marking,
    urls_papercapture,
    urls_pe,
    urls_performance,
    urls_portal,
    urls_quality_cases,
    urls_quality_screen,
    urls_readiness,
    urls_rectification,
    urls_reports,
    urls_scaling,
    urls_staffing,
    urls_timeline,
    views,
    views_dashboard,
    views_registry,
    views_rosters,
    views_scoring,
)
from naeq.web import views_items as items
from naeq.web import views_sampling as sampling
from naeq.web import views_sessions as sessions
from naeq.web import views_take as take

app_name = "web"

urlpatterns = [
    # The online-testing hot path first: every request walks this list in order until a pattern matches.
    path("t/api/attempts/<int:attempt_id>/answers", take.api_answers, name="take_api_answers"),
    path("t/api/attempts/<int:attempt_id>/submit", take.api_submit, name="take_api_submit"),
    path("t/api/ping", take.api_ping, name="take_api_ping"),
    path("t/api/health", take.api_ping, name="take_api_health"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("", views.home, name="home"),
    path("regions/", views.region_list, name="region_list"),
    path("regions/<str:code>/", views.region_detail_page, name="region_detail"),
    path("regions/<str:code>/mailing/", views.county_mailing_edit, name="county_mailing"),
    path("schools/", views.school_list, name="school_list"),
    path("schools/<str:code>/", views.school_detail_page, name="school_detail"),
    path("schools/<str:code>/rosters/", views_rosters.roster_school, name="roster_school"),
    path("schools/<str:code>/rosters/submit/", views_rosters.roster_submit, name="roster_submit"),
    path("schools/<str:code>/rosters/<str:kind>/", views_rosters.roster_upload, name="roster_upload"),
    path("rosters/templates/<str:kind>.<str:fmt>", views_rosters.roster_template, name="roster_template"),
    path("sampling/", sampling.home, name="sampling_home"),
    path("sampling/runs/", sampling.runs, name="sampling_runs"),
    path("sampling/runs/draw/", sampling.draw, name="sampling_draw"),
    path("sampling/runs/weights/", sampling.weights, name="sampling_weights"),
    path("sampling/runs/<int:run_id>/", sampling.run_detail, name="sampling_run"),
    path("sampling/counties/", sampling.counties, name="sampling_counties"),
    path("sampling/counties/export.xlsx", sampling.counties_export, name="sampling_counties_export"),
    path("sampling/counties/<str:code>/", sampling.county_detail, name="sampling_county"),
    path("sampling/counties/<str:code>/export.xlsx", sampling.county_export, name="sampling_county_export"),
    path("sampling/schools/<str:code>/", sampling.school_detail, name="sampling_school"),
    path("sampling/schools/<str:code>/participation/", sampling.school_participation,
         name="sampling_school_participation"),
    path("sampling/schools/<str:code>/students/draw/", sampling.school_students_draw,
         name="sampling_students_draw"),
    path("sampling/schools/<str:code>/students.xlsx", sampling.school_students_export,
         name="sampling_students_export"),
    path("sampling/schools/<str:code>/test-takers.xlsx", sampling.school_test_taker_template,
         name="sampling_test_taker_template"),
    path("sampling/schools/<str:code>/test-takers/", sampling.school_test_takers, name="sampling_test_takers"),
    path("sampling/schools/<str:code>/test-takers/submit/", sampling.school_test_takers_submit,
         name="sampling_test_takers_submit"),
    path("sampling/schools/<str:code>/slips.pdf", sampling.school_slips, name="sampling_slips"),
    path("sampling/schools/<str:code>/notice.pdf", sampling.school_notice, name="sampling_notice"),
    path("registry/", views_registry.registry_home, name="registry_home"),
    path("registry/export.xlsx", views_registry.registry_progress_export, name="registry_progress_export"),
    path("registry/lock/", views_registry.registry_lock, name="registry_lock"),
    path("registry/template.<str:fmt>", views_registry.registry_template, name="registry_template"),
    path("registry/counties/<str:code>/", views_registry.registry_county, name="registry_county"),
    path("registry/counties/<str:code>/upload/", views_registry.registry_upload, name="registry_upload"),
    path("registry/counties/<str:code>/submit/", views_registry.registry_submit, name="registry_submit"),
    path("registry/counties/<str:code>/export.xlsx", views_registry.registry_county_export,
         name="registry_county_export"),
    path("review/", views_registry.review_queue_page, name="review_queue"),
    path("items/", items.bank, name="items_bank"),
    path("items/upload/", items.upload, name="items_upload"),
    path("items/template.xlsx", items.template, name="items_template"),
    path("items/<int:instrument_id>/", items.detail, name="items_detail"),
    path("items/<int:instrument_id>/publish/", items.publish, name="items_publish"),
    path("items/<int:instrument_id>/qti.zip", items.export_qti, name="items_export"),
    path("items/<int:instrument_id>/media/<str:name>", items.media, name="items_media"),
    path("review/<int:submission_id>/", views_registry.review_decide, name="review_decide"),
    path("api/regions/<str:code>/", api.region_get, name="api_region"),
    path("api/schools/", api.school_list, name="api_school_list"),
    path("api/schools/<str:code>/", api.school_get, name="api_school"),
    path("t/attempt/<int:attempt_id>/", take.take, name="take"),
    path("t/attempt/<int:attempt_id>/media/<str:name>", take.take_media, name="take_media"),
    path("t/", sessions.taker_signin, name="taker_signin"),
    path("t/home/", sessions.taker_home, name="taker_home"),
    path("t/start/<str:code>/", sessions.taker_start, name="taker_start"),
    path("t/roles/", sessions.taker_roles, name="taker_roles"),
    path("t/roles/reset/", sessions.taker_role_reset, name="taker_role_reset"),
    path("t/signout/", sessions.taker_signout, name="taker_signout"),
    path("sessions/", sessions.session_list, name="sessions_list"),
    path("sessions/practice/new/", sessions.practice_new, name="session_practice_new"),
    path("sessions/completion/", sessions.completion, name="sessions_completion"),
    path("sessions/resets/", sessions.reset_list, name="sessions_resets"),
    path("sessions/resets/<int:request_id>/decide/", sessions.reset_decide, name="sessions_reset_decide"),
    path("sessions/takers/<int:taker_id>/reset/", sessions.taker_reset_file, name="sessions_taker_reset"),
    path("sessions/<int:session_id>/", sessions.session_detail, name="session_detail"),
    path("sessions/<int:session_id>/open/", sessions.session_open, name="session_open"),
    path("sessions/<int:session_id>/close/", sessions.session_close, name="session_close"),
    path("sessions/<int:session_id>/times/", sessions.session_times, name="session_times"),
    path("sessions/<int:session_id>/incidents/", sessions.session_incident, name="session_incident"),
    path("sessions/<int:session_id>/key/", sessions.session_key, name="session_key"),
    path("sessions/<int:session_id>/credentials/", sessions.session_credentials, name="session_credentials"),
]

# The implementation management pages (issue 5), one module per app, and the dashboard over them.
urlpatterns += [path("implementation/", views_dashboard.implementation, name="implementation"),
                *urls_staffing.urlpatterns, *urls_timeline.urlpatterns, *urls_readiness.urlpatterns,
                *urls_custody.urlpatterns, *urls_incidents.urlpatterns, *urls_portal.urlpatterns]

# Scoring and scaling (issue 6): paper capture, constructed-response marking, the PE field test, calibration runs;
# one hub page over them.
urlpatterns += [path("scoring/", views_scoring.scoring_home, name="scoring_home"),
                *urls_papercapture.urlpatterns, *urls_marking.urlpatterns, *urls_pe.urlpatterns,
                *urls_scaling.urlpatterns]

# Data quality (issue 7): screening runs with their ranked units and suspicious pairs, and investigation cases.
urlpatterns += [*urls_quality_screen.urlpatterns, *urls_quality_cases.urlpatterns]

# Analysis, reports and rectification (issue 8): estimation runs and exports, county/province/national reports,
# problem letters and rectification plans.
urlpatterns += [*urls_analysis.urlpatterns, *urls_reports.urlpatterns, *urls_rectification.urlpatterns]
urlpatterns += urls_exports.urlpatterns  # /exports/: analysts' data exports (docs/exports.md)

# Performance tasks (issue 9): listening items, recorded singing and speaking, the oral room, scanned drawings.
urlpatterns += [*urls_performance.urlpatterns]
