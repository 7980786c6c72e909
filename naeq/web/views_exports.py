"""数据导出 (analysts' data exports, naeq.analysis.exports): a form — cycle and subject, format, an optional region
inside the account's jurisdiction, and for the national administrator the identified option — whose answer is a
zip of the student file and its codebook, audited by the export service.

Access is decided in :mod:`naeq.analysis.exports`: national staff, province coordinators and county liaisons, each
within its own jurisdiction; everyone else gets the same 404 as for a page that does not exist. Errors are shown
on the form in Chinese (the service's messages).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from naeq.analysis import exports
from naeq.core.errors import ApplicationError, InvalidInput
from naeq.cycles.models import Cycle

FORMAT_LABELS = (("sav", "SPSS（.sav）"), ("dta", "Stata（.dta）"), ("csv", "CSV"), ("parquet", "Parquet"))


def _context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    scope = exports.export_scope(actor=request.user)  # refuses (404) everyone who may not export
    return {"scope": scope, "subjects": exports.subjects_for(actor=request.user),
            "regions": list(exports.regions_for(actor=request.user).values_list("code", "name", "level")),
            "formats": FORMAT_LABELS, "may_identify": exports.may_identify(actor=request.user),
            "chosen": {"subject": "", "format": "sav", "region": "", "identified": False}, **extra}


@require_http_methods(["GET", "POST"])
@login_required
def exports_home(request: HttpRequest) -> HttpResponseBase:
    if request.method == "GET":
        return render(request, "web/exports/home.html", _context(request))
    ctx = _context(request)
    post = request.POST
    subject = (post.get("subject") or "").strip()
    fmt = (post.get("format") or "").strip()
    region = (post.get("region") or "").strip()
    identified = post.get("identified") == "1"
    ctx["chosen"] = {"subject": subject, "format": fmt, "region": region, "identified": identified}
    try:
        year, _sep, code = subject.partition(":")
        if not year.isdigit() or not code:
            raise InvalidInput(_("请选择监测周期和学科。"), code="no_subject")
        cycle = Cycle.objects.filter(year=int(year)).first()
        if cycle is None:
            raise InvalidInput(_("没有%(year)s年度的监测周期。") % {"year": year}, code="no_cycle")
        name, fh, _result = exports.build_zip(request.user, cycle, code, fmt=fmt, pseudonymise=not identified,
                                                region=region or None)
    except ApplicationError as exc:
        ctx["error"] = exc.message
        ctx["problems"] = [str(p) for p in getattr(exc, "problems", [])[:20]]
        return render(request, "web/exports/home.html", ctx, status=exc.status)
    response = FileResponse(fh, as_attachment=True, filename=name, content_type="application/zip")
    response["Cache-Control"] = "no-store"
    return response
