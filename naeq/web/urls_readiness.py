"""URLs of the 准备就绪 pages (naeq.readiness), included into naeq.web.urls under the "web" namespace."""

from django.urls import URLPattern, path

from naeq.web import views_readiness as v

urlpatterns: list[URLPattern] = [
    path("readiness/", v.home, name="readiness_home"),
    path("readiness/trainings/", v.trainings, name="readiness_trainings"),
    path("readiness/trainings/new/", v.training_new, name="readiness_training_new"),
    path("readiness/trainings/template.xlsx", v.attendance_template, name="readiness_attendance_template"),
    path("readiness/trainings/<int:event_id>/", v.training_detail, name="readiness_training"),
    path("readiness/trainings/<int:event_id>/import/", v.training_import, name="readiness_training_import"),
    path("readiness/coverage/", v.coverage, name="readiness_coverage"),
    path("readiness/review/", v.queue, name="readiness_queue"),
    path("readiness/checks.xlsx", v.checks_export, name="readiness_checks_export"),
    path("readiness/check/<str:kind>/<str:code>/", v.check, name="readiness_check"),
    path("readiness/check/<str:kind>/<str:code>/submit/", v.check_submit, name="readiness_check_submit"),
    path("readiness/check/<str:kind>/<str:code>/review/", v.check_review, name="readiness_check_review"),
    path("readiness/check/<str:kind>/<str:code>/evidence/", v.evidence_upload, name="readiness_evidence_upload"),
    path("readiness/check/<str:kind>/<str:code>/evidence/<int:evidence_id>/delete/", v.evidence_delete,
         name="readiness_evidence_delete"),
    path("readiness/evidence/<int:evidence_id>/", v.evidence, name="readiness_evidence"),
]
