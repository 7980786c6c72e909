"""The scoring hub (评分与量尺, issue 6): one page over paper capture, constructed-response marking, the PE field
test and calibration runs. It only assembles links; each section is the owning app's template, which decides from
the actor's jurisdiction what it offers."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from naeq.accounts.jurisdiction import jurisdiction_of
from naeq.accounts.roles import Role
from naeq.core.errors import NotFound

SECTIONS = ("papercapture", "marking", "pe", "scaling")


@login_required
@require_GET
def scoring_home(request: HttpRequest) -> HttpResponse:
    j = jurisdiction_of(request.user)
    if not (j.is_staff_role or j.role == Role.RATER):
        raise NotFound(_("没有找到该页面。"))
    return render(request, "web/scoring/home.html", {
        "j": j, "sections": [f"web/scoring/_{s}.html" for s in SECTIONS]})
