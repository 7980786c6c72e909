"""URLs of the 实施人员 pages (naeq.staffing), included into naeq.web.urls under the "web" namespace."""

from django.urls import URLPattern, path

from naeq.web import views_staffing as v

urlpatterns: list[URLPattern] = [
    path("staffing/", v.staffing_home, name="staffing_home"),
    path("staffing/template.xlsx", v.staffing_template, name="staffing_template"),
    path("staffing/counties/<str:code>/", v.staffing_county, name="staffing_county"),
    path("staffing/counties/<str:code>/people/", v.staffing_person_add, name="staffing_person_add"),
    path("staffing/counties/<str:code>/assign/", v.staffing_assign, name="staffing_assign"),
    path("staffing/counties/<str:code>/import/", v.staffing_import, name="staffing_import"),
    path("staffing/counties/<str:code>/staff.xlsx", v.staffing_county_xlsx, name="staffing_county_xlsx"),
    path("staffing/counties/<str:code>/staff.pdf", v.staffing_county_pdf, name="staffing_county_pdf"),
    path("staffing/counties/<str:code>/badges.pdf", v.staffing_county_badges, name="staffing_county_badges"),
    path("staffing/schools/<str:code>/", v.staffing_school, name="staffing_school"),
    path("staffing/schools/<str:code>/staff.xlsx", v.staffing_school_xlsx, name="staffing_school_xlsx"),
    path("staffing/schools/<str:code>/staff.pdf", v.staffing_school_pdf, name="staffing_school_pdf"),
    path("staffing/schools/<str:code>/badges.pdf", v.staffing_school_badges, name="staffing_school_badges"),
    path("staffing/people/<int:person_id>/", v.staffing_person_edit, name="staffing_person_edit"),
    path("staffing/people/<int:person_id>/delete/", v.staffing_person_delete, name="staffing_person_delete"),
    path("staffing/assignments/<int:assignment_id>/delete/", v.staffing_unassign, name="staffing_unassign"),
]
