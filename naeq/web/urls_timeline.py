"""URLs of the 工作进度 pages (naeq.timeline), included into naeq.web.urls under the "web" namespace."""

from django.urls import URLPattern, path

from naeq.web import views_timeline as v

urlpatterns: list[URLPattern] = [
    path("timeline/", v.home, name="timeline_home"),
    path("timeline/reviews/", v.reviews, name="timeline_reviews"),
    path("timeline/units/<str:code>/", v.unit, name="timeline_unit"),
    path("timeline/units/<str:code>/<str:milestone>/submit/", v.milestone_submit, name="timeline_milestone_submit"),
    path("timeline/units/<str:code>/<str:milestone>/review/", v.milestone_review, name="timeline_milestone_review"),
    path("timeline/reports/<str:code>/", v.report, name="timeline_report"),
    path("timeline/reports/<str:code>/review/", v.report_review, name="timeline_report_review"),
    path("timeline/reports/<str:code>/attachments/", v.attachment_add, name="timeline_attachment_add"),
    path("timeline/reports/<str:code>/attachments/<int:attachment_id>/", v.attachment,
         name="timeline_attachment"),
    path("timeline/reports/<str:code>/attachments/<int:attachment_id>/remove/", v.attachment_remove,
         name="timeline_attachment_remove"),
]
