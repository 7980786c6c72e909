"""Pages. Each view parses its input, makes one call to a selector or service, and renders (STYLE.md).

Access is decided by :mod:`naeq.registry.access` inside the selectors and services: a missing and a forbidden
object both raise ``NotFound`` (404), a read-only actor writing raises ``PermissionDenied`` (403); both are
rendered by :class:`naeq.core.middleware.ApplicationErrorMiddleware`.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from naeq.core.errors import InvalidInput
from naeq.registry.selectors import (
    county_for_mailing_edit,
    parse_page,
    region_detail,
    region_roots,
    school_detail,
    school_search,
)
from naeq.registry.services import MAILING_FIELDS, county_mailing_update
from naeq.timeline.selectors import overdue
from naeq.web.forms import CountyMailingForm
from naeq.web.selectors import home_for


class LoginView(auth_views.LoginView):
    template_name = "web/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    http_method_names = ["post", "options"]


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    home = home_for(actor=request.user)
    late = overdue(request.user, home.cycle, timezone.localdate()) if home.cycle and not home.is_test_taker else []
    return render(request, "web/home.html", {"home": home, "overdue": late})


@require_GET
@login_required
def region_list(request: HttpRequest) -> HttpResponse:
    return render(request, "web/region_list.html", {"rows": region_roots(actor=request.user)})


@require_GET
@login_required
def region_detail_page(request: HttpRequest, code: str) -> HttpResponse:
    detail = region_detail(actor=request.user, code=code)
    schools = None
    if not detail.children:
        schools = school_search(actor=request.user, county=detail.region,
                                page=parse_page(request.GET.get("page")))
    return render(request, "web/region_detail.html", {"detail": detail, "page": schools})


@require_http_methods(["GET", "POST"])
@login_required
def county_mailing_edit(request: HttpRequest, code: str) -> HttpResponse:
    if request.method == "GET":
        county = county_for_mailing_edit(actor=request.user, code=code)
        form = CountyMailingForm(initial={f: getattr(county, f) for f in MAILING_FIELDS})
        return render(request, "web/county_mailing.html", {"county": county, "form": form})
    form = CountyMailingForm(request.POST)
    if form.is_valid():
        try:
            county = county_mailing_update(actor=request.user, code=code, **form.cleaned_data)
        except InvalidInput as exc:
            form.add_application_error(exc)
        else:
            messages.success(request, _("邮寄信息已保存。"))
            return redirect("web:region_detail", code=county.code)
    county = county_for_mailing_edit(actor=request.user, code=code)
    return render(request, "web/county_mailing.html", {"county": county, "form": form}, status=400)


@require_GET
@login_required
def school_list(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "")[:100]
    page = school_search(actor=request.user, q=q, page=parse_page(request.GET.get("page")))
    return render(request, "web/school_list.html", {"page": page, "q": q})


@require_GET
@login_required
def school_detail_page(request: HttpRequest, code: str) -> HttpResponse:
    return render(request, "web/school_detail.html", {"detail": school_detail(actor=request.user, code=code)})
