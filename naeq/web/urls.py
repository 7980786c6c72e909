from django.urls import path

from naeq.web import api, views, views_rosters

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
    path("api/regions/<str:code>/", api.region_get, name="api_region"),
    path("api/schools/", api.school_list, name="api_school_list"),
    path("api/schools/<str:code>/", api.school_get, name="api_school"),
]
