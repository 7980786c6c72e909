"""监测报告 pages (naeq.reports): the reports home (national staff: the batches with their progress, the start form
and each batch's reports; everyone else: the reports of their jurisdiction), one report shown inside the platform
layout, its PDF download (audited), a batch's status for the progress bars, and re-running a batch.

Each view parses its input, makes one call to a selector or service of :mod:`naeq.reports`, and renders. Access
is decided in :mod:`naeq.reports.access`: a report that does not exist and one the user may not read are the
same 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from naeq.core.errors import InvalidInput, NotFound
from naeq.cycles.models import Cycle
from naeq.registry.models import Region
from naeq.reports import access, selectors, services
from naeq.reports.models import RunStatus
from naeq.reports.render import article_of


def _status(b: Any) -> dict[str, Any]:
    return {"id": b.pk, "status": b.status, "status_label": str(b.get_status_display()),
            "progress": round(b.progress, 3), "stage": b.stage, "finished": b.finished,
            "error": b.error if b.status == RunStatus.FAILED else ""}


@require_GET
@login_required
def reports_home(request: HttpRequest) -> HttpResponse:
    generator = access.may_generate(actor=request.user)
    batches = list(selectors.batch_list(actor=request.user)[:50]) if generator else []
    raw = (request.GET.get("batch") or "").strip()
    batch_id = int(raw) if raw.isdigit() else (batches[0].pk if batches else None)
    reports = (list(selectors.report_list(actor=request.user, batch_id=batch_id)[:1000]) if generator
               else selectors.report_latest(actor=request.user))
    return render(request, "web/reports/home.html", {
        "generator": generator, "batches": batches, "batch_id": batch_id, "reports": reports,
        "cycles": list(Cycle.objects.order_by("-year")) if generator else [],
        "polling": any(not b.finished for b in batches)})


@require_GET
@login_required
def reports_status(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"runs": [_status(b) for b in selectors.batch_list(actor=request.user)[:50]]})


@require_POST
@login_required
def reports_start(request: HttpRequest) -> HttpResponse:
    try:
        access.require_generator(actor=request.user)  # others: 404 before anything is parsed
        raw = (request.POST.get("cycle") or "").strip()
        cycle = Cycle.objects.filter(pk=int(raw)).first() if raw.isdigit() else None
        if cycle is None:
            raise InvalidInput(_("请选择监测周期。"), code="unknown_cycle")
        code = (request.POST.get("region") or "").strip()
        region = Region.objects.filter(code=code).first() if code else None
        if code and region is None:
            raise InvalidInput(_("没有代码为“%(c)s”的地区。") % {"c": code}, code="unknown_region")
        workers = (request.POST.get("workers") or "2").strip()
        batch = services.report_batch_start(actor=request.user, cycle=cycle,
                                            levels=request.POST.getlist("level") or None, region=region,
                                            workers=int(workers) if workers.isdigit() else -1)
    except InvalidInput as exc:
        messages.error(request, exc.message)
        for p in exc.problems[:50]:
            messages.error(request, str(p))
        return redirect("web:reports_home")
    messages.success(request, _("已发起报告批次 #%(id)d。") % {"id": batch.pk})
    return redirect(f"{reverse('web:reports_home')}?batch={batch.pk}")


@require_POST
@login_required
def reports_rerun(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = services.report_batch_rerun(actor=request.user, batch_id=batch_id)
    messages.success(request, _("已按相同估计记录重新生成：批次 #%(id)d。") % {"id": batch.pk})
    return redirect(f"{reverse('web:reports_home')}?batch={batch.pk}")


@require_GET
@login_required
def report(request: HttpRequest, report_id: int) -> HttpResponse:
    rep, data = services.report_file(actor=request.user, report_id=report_id, kind="html")
    style, article = article_of(data.decode("utf-8"))
    return render(request, "web/reports/report.html", {
        # the stored file is our own rendering (every value escaped by the template), never user HTML
        "report": rep, "style": mark_safe(style), "article": mark_safe(article)})


@require_GET
@login_required
def report_pdf(request: HttpRequest, report_id: int) -> HttpResponse:
    rep, data = services.report_file(actor=request.user, report_id=report_id, kind="pdf")
    if not data:
        raise NotFound(_("没有找到该报告。"))
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''report-{rep.batch_id}-{rep.pdf_name}"
    response["Cache-Control"] = "private, no-store"
    return response
