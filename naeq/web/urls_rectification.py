"""URLs of the rectification pages, included into naeq.web.urls under the "web" namespace."""

from django.urls import URLPattern, path

from naeq.web import views_rectification as v

urlpatterns: list[URLPattern] = [
    path("rectification/", v.rectification_home, name="rectification_home"),
    path("rectification/letters/", v.rectification_letters, name="rectification_letters"),
    path("rectification/letters/draft/", v.rectification_letter_draft, name="rectification_letter_draft"),
    path("rectification/letters/<int:letter_id>/", v.rectification_letter, name="rectification_letter"),
    path("rectification/letters/<int:letter_id>/print/", v.rectification_letter_print,
         name="rectification_letter_print"),
    path("rectification/letters/<int:letter_id>/pdf/", v.rectification_letter_pdf, name="rectification_letter_pdf"),
    path("rectification/letters/<int:letter_id>/issue/", v.rectification_letter_issue,
         name="rectification_letter_issue"),
    path("rectification/problems/<int:problem_id>/edit/", v.rectification_problem_edit,
         name="rectification_problem_edit"),
    path("rectification/problems/<int:problem_id>/plan/", v.rectification_plan_new, name="rectification_plan_new"),
    path("rectification/plans/<int:plan_id>/", v.rectification_plan, name="rectification_plan"),
    path("rectification/plans/<int:plan_id>/edit/", v.rectification_plan_edit, name="rectification_plan_edit"),
    path("rectification/plans/<int:plan_id>/submit/", v.rectification_plan_submit, name="rectification_plan_submit"),
    path("rectification/plans/<int:plan_id>/review/", v.rectification_plan_review, name="rectification_plan_review"),
    path("rectification/plans/<int:plan_id>/update/", v.rectification_plan_update, name="rectification_plan_update"),
    path("rectification/plans/<int:plan_id>/complete/", v.rectification_plan_complete,
         name="rectification_plan_complete"),
    path("rectification/plans/<int:plan_id>/evidence/<int:evidence_id>/", v.rectification_evidence,
         name="rectification_evidence"),
]
