"""JSON API, session-authenticated. One endpoint per read; the same selectors as the pages.

Anonymous callers get 401. A missing and a forbidden object both answer 404 with the same body (rendered by
:class:`naeq.core.middleware.ApplicationErrorMiddleware` for every path under ``/api/``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from naeq.registry.models import Region, School
from naeq.registry.selectors import RegionRow, parse_page, region_detail, school_detail, school_search

View = Callable[..., HttpResponse]
JSON = {"ensure_ascii": False}


def api_login_required(view: View) -> View:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return JsonResponse({"error": {"code": "not_authenticated", "message": _("请先登录。"),
                                           "problems": []}}, status=401)
        return view(request, *args, **kwargs)

    return wrapped


def _region(region: Region) -> dict[str, Any]:
    return {"code": region.code, "name": region.name, "level": region.level}


def _row(row: RegionRow) -> dict[str, Any]:
    return {**_region(row.region), "cities": row.cities, "counties": row.counties, "schools": row.schools,
            "g4_enrollment": row.g4_enrollment, "g8_enrollment": row.g8_enrollment}


def _school(school: School) -> dict[str, Any]:
    return {"code": school.code, "name": school.name, "county": school.county.code, "level": school.level,
            "urban_rural": school.urban_rural, "ownership": school.ownership,
            "g4_enrollment": school.g4_enrollment, "g4_classes": school.g4_classes,
            "g8_enrollment": school.g8_enrollment, "g8_classes": school.g8_classes}


@require_GET
@api_login_required
def region_get(request: HttpRequest, code: str) -> HttpResponse:
    detail = region_detail(actor=request.user, code=code)
    region = detail.region
    body: dict[str, Any] = {
        **_row(detail.counts),
        "parent": region.parent.code if region.parent else None,
        "children": [_row(r) for r in detail.children],
    }
    if region.level == "county":
        body["mailing"] = {"address": region.mailing_address, "postcode": region.postcode,
                           "recipient": region.mailing_recipient, "phone": region.mailing_phone,
                           "supervision_hotline": region.supervision_hotline}
    return JsonResponse(body, json_dumps_params=JSON)


@require_GET
@api_login_required
def school_list(request: HttpRequest) -> HttpResponse:
    page = school_search(actor=request.user, q=request.GET.get("q", "")[:100],
                         page=parse_page(request.GET.get("page")))
    return JsonResponse({"page": page.number, "per_page": page.per_page, "has_next": page.has_next,
                         "results": [_school(s) for s in page.items]}, json_dumps_params=JSON)


@require_GET
@api_login_required
def school_get(request: HttpRequest, code: str) -> HttpResponse:
    detail = school_detail(actor=request.user, code=code)
    r = detail.rosters
    return JsonResponse({**_school(detail.school),
                         "rosters": {"g4_students": r.g4_students, "g8_students": r.g8_students,
                                     "teachers": r.teachers, "head_teachers": r.head_teachers,
                                     "principal": r.has_principal}}, json_dumps_params=JSON)
