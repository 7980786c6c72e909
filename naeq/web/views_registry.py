"""Pages of the school registry upload (属地学校信息) and of the review chains.

County officers download the template, upload their county's schools (a table of every error, or what changed),
and submit; province coordinators approve or return (with a reason) what waits in their review queue — the
county's registry and, through the same pages, the rosters and test-taker lists of their schools; the national
centre follows every province and county and locks the frame. City viewers see their counties read-only.

Each view parses its input, makes one call to a selector or service, and renders. Access is decided in
:mod:`naeq.registry.access`: missing and forbidden objects are both 404, a read-only account writing is 403.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from naeq.accounts.jurisdiction import jurisdiction_of
from naeq.accounts.roles import Level
from naeq.core.errors import InvalidInput, NotFound
from naeq.cycles.selectors import cycle_current
from naeq.registry import review
from naeq.registry.imports import (
    HEADERS,
    MAX_BYTES,
    progress_export_xlsx,
    registry_export_xlsx,
    registry_import,
    registry_template_csv,
    registry_template_xlsx,
)
from naeq.registry.models import SubmissionKind, SubmissionStatus
from naeq.registry.selectors import (
    county_registry,
    county_registry_schools,
    review_queue,
    submission_list,
    submission_progress,
)
from naeq.registry.services import frame_lock, submission_review, submission_submit

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Most rows a status list shows (the review queue itself is never cut).
LIST_LIMIT = 500


def _year() -> int:
    cycle = cycle_current()
    if cycle is None:
        raise InvalidInput(_("尚未设置当前监测周期。"))
    return cycle.year


def _staff(request: HttpRequest) -> None:
    if not jurisdiction_of(request.user).is_staff_role:
        raise NotFound(_("没有找到该页面。"))


def _kind(value: str | None) -> str:
    kind = value or SubmissionKind.REGISTRY
    if kind not in SubmissionKind.values:
        raise Http404
    return kind


def _download(data: bytes, name: str, content_type: str = XLSX) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# ------------------------------------------------------------------------------------------------ progress


def _progress_page(request: HttpRequest, *, status: int = 200, **extra: Any) -> HttpResponse:
    _staff(request)
    year = _year()
    region = request.GET.get("region") or None
    rows = submission_progress(actor=request.user, kind=SubmissionKind.REGISTRY, year=year, region_code=region)
    j = jurisdiction_of(request.user)
    may_lock = j.is_national and review.acts_at(j.role, Level.NATION)
    return render(request, "web/registry_progress.html",
                  {"rows": rows, "year": year, "region": region, "statuses": list(SubmissionStatus),
                   "may_lock": may_lock and region is None, "by_province": j.is_national and region is None,
                   **extra}, status=status)


@require_GET
@login_required
def registry_home(request: HttpRequest) -> HttpResponse:
    return _progress_page(request)


@require_GET
@login_required
def registry_progress_export(request: HttpRequest) -> HttpResponse:
    _staff(request)
    year = _year()
    region = request.GET.get("region") or None
    rows = submission_progress(actor=request.user, kind=SubmissionKind.REGISTRY, year=year, region_code=region)
    data = progress_export_xlsx(rows, title=_("属地学校信息审核进度（%(year)s年度）") % {"year": year})
    return _download(data, f"registry-progress-{year}.xlsx")


@require_POST
@login_required
def registry_lock(request: HttpRequest) -> HttpResponse:
    province = request.POST.get("province") or None
    try:
        n = frame_lock(actor=request.user, year=_year(), province_code=province)
    except InvalidInput as exc:
        return _progress_page(request, status=400, lock_error=exc)
    messages.success(request, _("已锁定%(n)d个县（区）的属地学校信息。") % {"n": n})
    return redirect("web:registry_home")


# ------------------------------------------------------------------------------------------------ county


def _county_page(request: HttpRequest, code: str, *, status: int = 200, **extra: Any) -> HttpResponse:
    c = county_registry(actor=request.user, county_code=code, year=_year())
    return render(request, "web/registry_county.html",
                  {"c": c, "headers": list(HEADERS), "max_mb": MAX_BYTES // (1024 * 1024), **extra}, status=status)


@require_GET
@login_required
def registry_county(request: HttpRequest, code: str) -> HttpResponse:
    return _county_page(request, code)


@require_POST
@login_required
def registry_upload(request: HttpRequest, code: str) -> HttpResponse:
    upload = request.FILES.get("file")
    data = upload.read() if upload is not None and (upload.size or 0) <= MAX_BYTES else b""
    name = (upload.name or "upload") if upload is not None else ""
    try:
        result = registry_import(actor=request.user, year=_year(), county_code=code, file_name=name, data=data)
    except InvalidInput as exc:
        error = exc
        if upload is None:
            error = InvalidInput(_("请选择要上传的文件。"))
        elif upload.size and upload.size > MAX_BYTES:
            error = InvalidInput(_("文件超过 %(mb)d MB。") % {"mb": MAX_BYTES // (1024 * 1024)})
        return _county_page(request, code, status=400, upload_error=error)
    return _county_page(request, code, result=result)


@require_POST
@login_required
def registry_submit(request: HttpRequest, code: str) -> HttpResponse:
    try:
        submission_submit(actor=request.user, kind=SubmissionKind.REGISTRY, year=_year(), county_code=code)
    except InvalidInput as exc:
        return _county_page(request, code, status=400, submit_error=exc)
    messages.success(request, _("属地学校信息已提交省级审核。"))
    return redirect("web:registry_county", code=code)


@require_GET
@login_required
def registry_county_export(request: HttpRequest, code: str) -> HttpResponse:
    county, schools = county_registry_schools(actor=request.user, county_code=code)
    return _download(registry_export_xlsx(county=county, schools=schools), f"registry-{county.code}.xlsx")


@require_GET
@login_required
def registry_template(request: HttpRequest, fmt: str) -> HttpResponse:
    if fmt == "xlsx":
        return _download(registry_template_xlsx(), "registry-template.xlsx")
    if fmt == "csv":
        return _download(registry_template_csv(), "registry-template.csv", "text/csv; charset=utf-8")
    raise Http404


# ------------------------------------------------------------------------------------------------ review


def _queue_page(request: HttpRequest, kind: str, *, status: int = 200, **extra: Any) -> HttpResponse:
    _staff(request)
    year = _year()
    queue = list(review_queue(actor=request.user, kind=kind, year=year))
    status_filter = request.GET.get("status") or None
    if status_filter not in SubmissionStatus.values:
        status_filter = None
    listed = list(submission_list(actor=request.user, kind=kind, year=year, status=status_filter)[:LIST_LIMIT])
    kinds = [(k.value, k.label) for k in SubmissionKind]
    return render(request, "web/review_queue.html",
                  {"kind": kind, "kind_label": SubmissionKind(kind).label, "kinds": kinds, "year": year,
                   "queue": queue, "listed": listed, "limit": LIST_LIMIT, "status_filter": status_filter,
                   "statuses": list(SubmissionStatus), "school_kind": kind in review.SCHOOL_KINDS, **extra},
                  status=status)


@require_GET
@login_required
def review_queue_page(request: HttpRequest) -> HttpResponse:
    return _queue_page(request, _kind(request.GET.get("kind")))


@require_POST
@login_required
def review_decide(request: HttpRequest, submission_id: int) -> HttpResponse:
    decision = request.POST.get("decision", "")
    try:
        s = submission_review(actor=request.user, submission_id=submission_id, approve=decision == "approve",
                              reason=request.POST.get("reason", "") if decision != "approve" else "")
    except InvalidInput as exc:
        return _queue_page(request, _kind(request.POST.get("kind")), status=400, review_error=exc,
                           review_id=submission_id)
    if decision == "approve":
        messages.success(request, _("已通过：%(what)s。") % {"what": s.school or s.county})
    else:
        messages.success(request, _("已退回：%(what)s。") % {"what": s.school or s.county})
    return redirect(f"{reverse('web:review_queue')}?kind={s.kind}")
