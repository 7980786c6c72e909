"""工作进度 pages (naeq.timeline): the overview table, a unit's timeline (mark done, review), the completion report
/ implementation summary forms with attachments, and the review queue.

Each view parses its input, makes one call to a selector or service of :mod:`naeq.timeline`, and renders. Access
is decided in :mod:`naeq.timeline.access` (missing and forbidden both 404; a reader writing gets 403).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from naeq.core.errors import InvalidInput, NotFound
from naeq.cycles.models import Cycle
from naeq.cycles.selectors import cycle_current
from naeq.timeline import access, selectors, services
from naeq.timeline.models import REPORT_KIND_OF_LEVEL
from naeq.timeline.reports import SECTIONS


def _cycle() -> Cycle:
    cycle = cycle_current()
    if cycle is None:
        raise NotFound(_("尚未设置当前监测周期。"))
    return cycle


def _report(request: HttpRequest, exc: InvalidInput) -> None:
    messages.error(request, exc.message)
    for p in exc.problems[:50]:
        messages.error(request, p.reason if not p.field else f"{p.field}: {p.reason}")


def _act(request: HttpRequest, action: Any, ok: str, to: str, code: str) -> HttpResponse:
    try:
        action()
    except InvalidInput as exc:
        _report(request, exc)
    else:
        messages.success(request, ok)
    return redirect(to, code=code)


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    access.staff(request.user)
    cycle = _cycle()
    today = timezone.localdate()
    return render(request, "web/timeline/home.html", {
        "p": selectors.overview(actor=request.user, cycle=cycle, today=today),
        "overdue": selectors.overdue(request.user, cycle, today),
        "own": selectors.own_unit(actor=request.user, cycle=cycle),
        "queue": selectors.review_queue(actor=request.user, cycle=cycle)})


@require_GET
@login_required
def unit(request: HttpRequest, code: str) -> HttpResponse:
    cycle = _cycle()
    today = timezone.localdate()
    t = selectors.unit_timeline(actor=request.user, cycle=cycle, code=code, today=today)
    return render(request, "web/timeline/unit.html", {"t": t, "report_kind": REPORT_KIND_OF_LEVEL[t.unit.level]})


@require_POST
@login_required
def milestone_submit(request: HttpRequest, code: str, milestone: str) -> HttpResponse:
    cycle = _cycle()
    return _act(request, lambda: services.milestone_submit(
        actor=request.user, cycle=cycle, unit_code=code, milestone=milestone, note=request.POST.get("note") or ""),
        _("已标记完成，等待上级审核。"), "web:timeline_unit", code)


@require_POST
@login_required
def milestone_review(request: HttpRequest, code: str, milestone: str) -> HttpResponse:
    cycle = _cycle()
    decision = request.POST.get("decision") or ""
    return _act(request, lambda: services.milestone_review(
        actor=request.user, cycle=cycle, unit_code=code, milestone=milestone, decision=decision,
        reason=request.POST.get("reason") or ""),
        _("已通过。") if decision == "approve" else _("已退回。"), "web:timeline_unit", code)


@require_GET
@login_required
def reviews(request: HttpRequest) -> HttpResponse:
    access.staff(request.user)
    cycle = _cycle()
    return render(request, "web/timeline/reviews.html", {
        "queue": selectors.review_queue(actor=request.user, cycle=cycle),
        "reports": selectors.reports_visible(actor=request.user, cycle=cycle)})


@require_http_methods(["GET", "POST"])
@login_required
def report(request: HttpRequest, code: str) -> HttpResponse:
    cycle = _cycle()
    unit, rep, can_write, can_review = selectors.report_get(actor=request.user, cycle=cycle, code=code)
    kind = REPORT_KIND_OF_LEVEL[unit.level]
    if request.method == "POST":
        sections = {s.code: request.POST.get(s.code) or "" for s in SECTIONS[kind]}
        try:
            services.report_save(actor=request.user, cycle=cycle, unit_code=code, sections=sections)
            if request.POST.get("submit"):
                services.report_submit(actor=request.user, cycle=cycle, unit_code=code)
        except InvalidInput as exc:
            _report(request, exc)
        else:
            messages.success(request, _("报告已提交，等待上级审核。") if request.POST.get("submit") else _("已保存。"))
        return redirect("web:timeline_report", code=code)
    editable = can_write and (rep is None or rep.state in ("draft", "returned"))
    values = rep.sections if rep else {}
    return render(request, "web/timeline/report.html", {
        "unit": unit, "r": rep, "kind_label": kind.label, "editable": editable, "can_review": can_review,
        "sections": [(s, values.get(s.code, "")) for s in SECTIONS[kind]],
        "attachments": list(rep.attachments.all()) if rep else []})


@require_POST
@login_required
def report_review(request: HttpRequest, code: str) -> HttpResponse:
    cycle = _cycle()
    decision = request.POST.get("decision") or ""
    return _act(request, lambda: services.report_review(
        actor=request.user, cycle=cycle, unit_code=code, decision=decision, reason=request.POST.get("reason") or ""),
        _("已通过。") if decision == "approve" else _("已退回修改。"), "web:timeline_report", code)


@require_POST
@login_required
def attachment_add(request: HttpRequest, code: str) -> HttpResponse:
    cycle = _cycle()
    upload = request.FILES.get("file")

    def act() -> None:
        if upload is None:
            access.require_submitter(actor=request.user, cycle=cycle, code=code)
            raise InvalidInput(_("请选择要上传的文件。"), code="no_file")
        if upload.size and upload.size > 10 * 1024 * 1024:
            raise InvalidInput(_("文件“%(name)s”超过10 MB。") % {"name": upload.name}, code="bad_attachment")
        services.attachment_add(actor=request.user, cycle=cycle, unit_code=code, name=upload.name or "",
                                data=upload.read())

    return _act(request, act, _("附件已上传。"), "web:timeline_report", code)


@require_POST
@login_required
def attachment_remove(request: HttpRequest, code: str, attachment_id: int) -> HttpResponse:
    cycle = _cycle()
    return _act(request, lambda: services.attachment_remove(actor=request.user, cycle=cycle, unit_code=code,
                                                            attachment_id=attachment_id),
                _("附件已删除。"), "web:timeline_report", code)


@require_GET
@login_required
def attachment(request: HttpRequest, code: str, attachment_id: int) -> HttpResponse:
    cycle = _cycle()
    att, data = selectors.attachment_get(actor=request.user, cycle=cycle, code=code, attachment_id=attachment_id)
    response = HttpResponse(data, content_type=att.content_type)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quote(att.name)}"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")
