from django.urls import path

from naeq.web import api, views

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
    path("api/regions/<str:code>/", api.region_get, name="api_region"),
    path("api/schools/", api.school_list, name="api_school_list"),
    path("api/schools/<str:code>/", api.school_get, name="api_school"),
]
