from django.urls import path

from naeq.web import api, views, views_rosters
from naeq.web import views_sampling as sampling

app_name = "web"

urlpatterns = [
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
    path("api/regions/<str:code>/", api.region_get, name="api_region"),
    path("api/schools/", api.school_list, name="api_school_list"),
    path("api/schools/<str:code>/", api.school_get, name="api_school"),
]
