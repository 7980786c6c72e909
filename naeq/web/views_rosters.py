"""Roster pages of a sampled school: the state of its three lists, template downloads, uploads with the row-level
error table or what changed, and the submit step of the ROSTER review chain (school → county → province).

Each view parses its input, makes one call to a service or selector, and renders. Access is decided in
:mod:`naeq.registry.rosters` (uploads) and :mod:`naeq.registry.services` (submission), through
:mod:`naeq.registry.access`: missing and forbidden schools are both 404, a read-only account writing is 403.
The county's review queue is the generic review page of the registry's submissions.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from naeq.core.errors import InvalidInput
from naeq.cycles.models import Cycle
from naeq.cycles.selectors import cycle_current
from naeq.registry.models import SubmissionKind
from naeq.registry.rosters import (
    HEADERS,
    KIND_LABELS,
    MAX_BYTES,
    ROSTER_KINDS,
    RosterImportResult,
    roster_import,
    roster_overview,
    roster_template_csv,
    roster_template_xlsx,
)
from naeq.registry.services import submission_submit

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _cycle() -> Cycle:
    cycle = cycle_current()
    if cycle is None:
        raise InvalidInput(_("尚未设置当前监测周期，暂不能处理名单。"))
    return cycle


def _page(request: HttpRequest, code: str, *, status: int = 200, **extra: Any) -> HttpResponse:
    cycle = _cycle()
    overview = roster_overview(actor=request.user, school_code=code, year=cycle.year)
    parts = [{"kind": k, "label": KIND_LABELS[k], "headers": HEADERS[k], "counts": overview.counts[k]}
             for k in ROSTER_KINDS]
    return render(request, "web/roster_school.html",
                  {"o": overview, "cycle": cycle, "parts": parts, "max_mb": MAX_BYTES // (1024 * 1024), **extra},
                  status=status)


@require_GET
@login_required
def roster_school(request: HttpRequest, code: str) -> HttpResponse:
    return _page(request, code)


@require_POST
@login_required
def roster_upload(request: HttpRequest, code: str, kind: str) -> HttpResponse:
    if kind not in ROSTER_KINDS:
        raise Http404
    cycle = _cycle()
    upload = request.FILES.get("file")
    if upload is None:
        return _page(request, code, status=400, upload_kind=kind,
                     upload_error=InvalidInput(_("请选择要上传的文件。")))
    if upload.size is not None and upload.size > MAX_BYTES:
        return _page(request, code, status=400, upload_kind=kind,
                     upload_error=InvalidInput(_("文件超过 %(mb)d MB。") % {"mb": MAX_BYTES // (1024 * 1024)}))
    subjects = {s.code: s.name for s in cycle.config.subjects}
    try:
        result: RosterImportResult = roster_import(
            actor=request.user, year=cycle.year, school_code=code, kind=kind, file_name=upload.name or "upload",
            data=upload.read(), subjects=subjects)
    except InvalidInput as exc:
        return _page(request, code, status=400, upload_kind=kind, upload_error=exc)
    return _page(request, code, upload_kind=kind, result=result)


@require_POST
@login_required
def roster_submit(request: HttpRequest, code: str) -> HttpResponse:
    cycle = _cycle()
    try:
        submission_submit(actor=request.user, kind=SubmissionKind.ROSTER, year=cycle.year, school_code=code)
    except InvalidInput as exc:
        return _page(request, code, status=400, submit_error=exc)
    messages.success(request, _("名单已提交县级审核。"))
    return redirect("web:roster_school", code=code)


@require_GET
@login_required
def roster_template(request: HttpRequest, kind: str, fmt: str) -> HttpResponse:
    return template_response(kind, fmt)


def template_response(kind: str, fmt: str) -> HttpResponse:
    """A blank roster template (no data) as a download; also served by the public portal."""
    if kind not in ROSTER_KINDS or fmt not in ("xlsx", "csv"):
        raise Http404
    if fmt == "xlsx":
        response = HttpResponse(roster_template_xlsx(kind), content_type=XLSX)
    else:
        response = HttpResponse(roster_template_csv(kind), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="roster-{kind}.{fmt}"'
    return response
