"""URLs of the 主观题评分 pages (naeq.marking), included into naeq.web.urls under the "web" namespace."""

from django.urls import URLPattern, path

from naeq.web import views_marking as v

urlpatterns: list[URLPattern] = [
    path("marking/", v.marking_home, name="marking_home"),
    path("marking/settings/", v.marking_settings, name="marking_settings"),
    path("marking/rubrics/template.xlsx", v.marking_rubric_template, name="marking_rubric_template"),
    path("marking/rubrics/import/", v.marking_rubric_import, name="marking_rubric_import"),
    path("marking/rubrics/<int:rubric_id>/", v.marking_rubric, name="marking_rubric"),
    path("marking/collect/", v.marking_collect, name="marking_collect"),
    path("marking/paper/", v.marking_paper_import, name="marking_paper_import"),
    path("marking/assign/", v.marking_assign, name="marking_assign"),
    path("marking/queue/", v.marking_queue, name="marking_queue"),
    path("marking/assignments/<int:assignment_id>/", v.marking_assignment, name="marking_assignment"),
    path("marking/responses/<str:code>/image", v.marking_image, name="marking_image"),
    path("marking/responses/<str:code>/audio", v.marking_audio, name="marking_audio"),
    path("marking/collect/recordings/", v.marking_collect_recordings, name="marking_collect_recordings"),
    path("marking/agreement/", v.marking_agreement, name="marking_agreement"),
    path("marking/drift/", v.marking_drift, name="marking_drift"),
    path("marking/raters/", v.marking_raters, name="marking_raters"),
    path("marking/raters/<int:rater_id>/suspend/", v.marking_rater_suspend, name="marking_rater_suspend"),
    path("marking/arbitration/", v.marking_arbitration, name="marking_arbitration"),
    path("marking/arbitration/<int:arbitration_id>/", v.marking_arbitrate, name="marking_arbitrate"),
    path("marking/flags/<int:assignment_id>/return/", v.marking_flag_return, name="marking_flag_return"),
    path("marking/export.csv", v.marking_export, name="marking_export"),
]
