"""URLs of the data-quality pages (cases), included into naeq.web.urls under the "web" namespace."""

from django.urls import URLPattern, path

from naeq.web import views_quality_cases as v

urlpatterns: list[URLPattern] = [
    path("quality/cases/", v.quality_cases, name="quality_cases"),
    path("quality/cases/export.xlsx", v.quality_cases_export, name="quality_cases_export"),
    path("quality/units/<int:unit_id>/open-case/", v.quality_case_open, name="quality_case_open"),
    path("quality/cases/<int:case_id>/", v.quality_case, name="quality_case"),
    path("quality/cases/<int:case_id>/assign/", v.quality_case_assign, name="quality_case_assign"),
    path("quality/cases/<int:case_id>/start/", v.quality_case_start, name="quality_case_start"),
    path("quality/cases/<int:case_id>/note/", v.quality_case_note, name="quality_case_note"),
    path("quality/cases/<int:case_id>/collect/", v.quality_case_collect, name="quality_case_collect"),
    path("quality/cases/<int:case_id>/upload/", v.quality_case_upload, name="quality_case_upload"),
    path("quality/cases/<int:case_id>/decide/", v.quality_case_decide, name="quality_case_decide"),
    path("quality/cases/<int:case_id>/reopen/", v.quality_case_reopen, name="quality_case_reopen"),
    path("quality/cases/<int:case_id>/evidence/<int:evidence_id>/", v.quality_case_evidence,
         name="quality_case_evidence"),
]
