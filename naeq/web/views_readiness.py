"""准备就绪 pages (naeq.readiness): trainings and attendance import, the training coverage table, the county and
school self-check forms rendered from the configuration, the review queue and evidence downloads.

Each view parses its input, makes one call to a selector or service of :mod:`naeq.readiness`, and renders. Access
is decided in :mod:`naeq.readiness.access` (missing and forbidden both 404; a reader writing gets 403).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from naeq.core.errors import InvalidInput, NotFound
from naeq.readiness import access, exports, selectors, services
from naeq.readiness.attendance import template_bytes
from naeq.readiness.config import config_for
from naeq.readiness.evidence import evidence_read
from naeq.readiness.models import UnitKind
from naeq.sampling.selectors import cycle_for

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_UPLOAD = 12 * 1024 * 1024


def _report(request: HttpRequest, exc: InvalidInput) -> None:
    messages.error(request, exc.message)
    for p in exc.problems[:50]:
        messages.error(request, str(p))


def _kind(kind: str) -> str:
    if kind not in (UnitKind.SCHOOL, UnitKind.COUNTY):
        raise NotFound(_("没有找到该页面。"))
    return kind


def _upload(request: HttpRequest, name: str) -> tuple[str, bytes]:
    f = request.FILES.get(name)
    if f is None:
        raise InvalidInput(_("请选择要上传的文件。"), code="no_file")
    if f.size is not None and f.size > MAX_UPLOAD:
        raise InvalidInput(_("文件“%(name)s”超过10 MB。") % {"name": f.name}, code="too_large")
    return str(f.name or ""), f.read()


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The overview: per county, school self-checks by status, training coverage, the county's own status."""
    access.staff(request.user)
    cycle = cycle_for(None)
    j = access.jurisdiction_of(request.user)
    if j.school_id is not None:
        school = access.sample_schools(actor=request.user, cycle=cycle).select_related("school").first()
        if school is not None:
            return redirect("web:readiness_check", kind="school", code=school.school.code)
    rows = selectors.readiness_summary(actor=request.user, cycle=cycle)
    return render(request, "web/readiness/home.html", {"cycle": cycle, "rows": rows,
                                                       "is_school": j.school_id is not None})


@require_GET
@login_required
def trainings(request: HttpRequest) -> HttpResponse:
    cycle = cycle_for(None)
    events = selectors.training_list(actor=request.user, cycle=cycle)
    names = config_for(cycle.year).topic_names()
    return render(request, "web/readiness/trainings.html", {
        "cycle": cycle, "events": [(e, [names.get(t, t) for t in e.topics]) for e in events],
        "can_create": access.training_level_of(actor=request.user) is not None})


@require_http_methods(["GET", "POST"])
@login_required
def training_new(request: HttpRequest) -> HttpResponse:
    access.staff(request.user)
    cycle = cycle_for(None)
    if access.training_level_of(actor=request.user) is None:
        from naeq.core.errors import PermissionDenied

        raise PermissionDenied(_("您的账户只能查看培训记录，不能录入。"))
    form = {k: (request.POST.get(k) or "").strip() for k in ("title", "date", "place", "trainer", "materials")}
    chosen = request.POST.getlist("topics")
    errors: list[str] = []
    if request.method == "POST":
        try:
            event = services.training_create(actor=request.user, cycle=cycle, topics=chosen, **form)
        except InvalidInput as exc:
            errors = [str(p) for p in exc.problems] or [exc.message]
        else:
            messages.success(request, _("培训记录已保存，请导入签到表。"))
            return redirect("web:readiness_training", event_id=event.pk)
    return render(request, "web/readiness/training_new.html", {
        "cycle": cycle, "form": form, "chosen": chosen, "errors": errors,
        "topics": config_for(cycle.year).topics}, status=400 if errors else 200)


@require_GET
@login_required
def training_detail(request: HttpRequest, event_id: int) -> HttpResponse:
    detail = selectors.training_detail(actor=request.user, event_id=event_id)
    return render(request, "web/readiness/training_detail.html", {"d": detail, "e": detail.event})


@require_POST
@login_required
def training_import(request: HttpRequest, event_id: int) -> HttpResponse:
    access.require_training_writer(actor=request.user, event_id=event_id)
    try:
        name, data = _upload(request, "file")
        n = services.attendance_import(actor=request.user, event_id=event_id, file_name=name, data=data)
    except InvalidInput as exc:
        _report(request, exc)
    else:
        messages.success(request, _("已导入%(n)d条签到记录。") % {"n": n})
    return redirect("web:readiness_training", event_id=event_id)


@require_GET
@login_required
def attendance_template(request: HttpRequest) -> HttpResponse:
    access.staff(request.user)
    cycle = cycle_for(None)
    response = HttpResponse(template_bytes(config_for(cycle.year)), content_type=XLSX)
    response["Content-Disposition"] = "attachment; filename=\"attendance-template.xlsx\"; " \
                                      "filename*=UTF-8''%E5%9F%B9%E8%AE%AD%E7%AD%BE%E5%88%B0%E8%A1%A8.xlsx"
    return response


@require_GET
@login_required
def coverage(request: HttpRequest) -> HttpResponse:
    cycle = cycle_for(None)
    cov = selectors.coverage(actor=request.user, cycle=cycle)
    rows = [(r, [(p, r.trained[p.code]) for p in cov.posts]) for r in cov.rows]
    return render(request, "web/readiness/coverage.html", {"cycle": cycle, "cov": cov, "rows": rows})


@require_GET
@login_required
def queue(request: HttpRequest) -> HttpResponse:
    """Per-unit status of the school self-checks (and, for region staff, the county self-checks)."""
    j = access.staff(request.user)
    cycle = cycle_for(None)
    status = request.GET.get("status") or ""
    schools = selectors.unit_statuses(actor=request.user, cycle=cycle, kind=UnitKind.SCHOOL)
    counties = selectors.unit_statuses(actor=request.user, cycle=cycle, kind=UnitKind.COUNTY) \
        if j.school_id is None else []
    if status in selectors.STATUSES:
        schools = [u for u in schools if u.status == status]
        counties = [u for u in counties if u.status == status]
    else:
        status = ""
    return render(request, "web/readiness/queue.html", {
        "cycle": cycle, "schools": schools, "counties": counties, "status": status,
        "statuses": [(s, str(label)) for s, label in selectors.CheckStatus.choices]})


def _posted(request: HttpRequest, kind: str, cycle: Any) -> dict[str, dict[str, str]]:
    checklist = config_for(cycle.year).checklists[kind]
    return {i.id: {"value": request.POST.get(f"v_{i.id}", ""), "remedy": request.POST.get(f"r_{i.id}", ""),
                   "remedy_date": request.POST.get(f"d_{i.id}", "")}
            for i in checklist.items if i.type != "evidence"}


@never_cache
@require_http_methods(["GET", "POST"])
@login_required
def check(request: HttpRequest, kind: str, code: str) -> HttpResponse:
    """The self-check form (GET), saving it as a draft (POST)."""
    kind = _kind(kind)
    cycle = cycle_for(None)
    errors: dict[str, list[str]] = {}
    general: list[str] = []
    posted = None
    if request.method == "POST":
        posted = _posted(request, kind, cycle)
        try:
            services.check_save(actor=request.user, cycle=cycle, kind=kind, code=code, raw=posted)
        except InvalidInput as exc:
            general.append(exc.message)
            for p in exc.problems:
                errors.setdefault(p.field or "", []).append(p.reason)
        else:
            messages.success(request, _("自查表已保存。"))
            return redirect("web:readiness_check", kind=kind, code=code)
    view = selectors.check_view(actor=request.user, cycle=cycle, kind=kind, code=code, posted=posted)
    return render(request, "web/readiness/check.html", {
        "v": view, "cycle": cycle, "errors": errors, "general": general, "kind": kind, "code": code},
        status=400 if general else 200)


@require_POST
@login_required
def check_submit(request: HttpRequest, kind: str, code: str) -> HttpResponse:
    kind = _kind(kind)
    try:
        services.check_submit(actor=request.user, cycle=cycle_for(None), kind=kind, code=code)
    except InvalidInput as exc:
        _report(request, exc)
    else:
        messages.success(request, _("自查表已提交，等待审核。"))
    return redirect("web:readiness_check", kind=kind, code=code)


@require_POST
@login_required
def check_review(request: HttpRequest, kind: str, code: str) -> HttpResponse:
    kind = _kind(kind)
    decision = request.POST.get("decision")
    try:
        if decision not in ("approve", "return"):
            raise InvalidInput(_("请选择通过或退回。"), code="bad_decision")
        services.check_review(actor=request.user, cycle=cycle_for(None), kind=kind, code=code,
                              approve=decision == "approve", reason=request.POST.get("reason") or "")
    except InvalidInput as exc:
        _report(request, exc)
    else:
        messages.success(request, _("已通过该自查表。") if decision == "approve" else _("已退回该自查表。"))
    return redirect("web:readiness_check", kind=kind, code=code)


@require_POST
@login_required
def evidence_upload(request: HttpRequest, kind: str, code: str) -> HttpResponse:
    kind = _kind(kind)
    cycle = cycle_for(None)
    access.require_filler(actor=request.user, cycle=cycle, kind=kind, code=code)
    try:
        name, data = _upload(request, "file")
        services.evidence_add(actor=request.user, cycle=cycle, kind=kind, code=code,
                              item_id=request.POST.get("item") or "", file_name=name, data=data)
    except InvalidInput as exc:
        _report(request, exc)
    else:
        messages.success(request, _("佐证材料已上传。"))
    return redirect("web:readiness_check", kind=kind, code=code)


@require_POST
@login_required
def evidence_delete(request: HttpRequest, kind: str, code: str, evidence_id: int) -> HttpResponse:
    kind = _kind(kind)
    try:
        services.evidence_delete(actor=request.user, cycle=cycle_for(None), kind=kind, code=code,
                                 evidence_id=evidence_id)
    except InvalidInput as exc:
        _report(request, exc)
    else:
        messages.success(request, _("佐证材料已删除。"))
    return redirect("web:readiness_check", kind=kind, code=code)


@never_cache
@require_GET
@login_required
def evidence(request: HttpRequest, evidence_id: int) -> HttpResponse:
    """One evidence file, within jurisdiction only; never cached, never sniffed, PDFs and images inline."""
    ev = access.evidence_access(actor=request.user, evidence_id=evidence_id)
    data = evidence_read(ev.selfcheck_id, ev.stored_name)
    if data is None:
        raise NotFound(_("没有找到该佐证材料。"))
    response = HttpResponse(data, content_type=ev.content_type)
    response["Cache-Control"] = "private, no-store, max-age=0"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    ext = ev.stored_name.rsplit(".", 1)[-1]
    response["Content-Disposition"] = f'inline; filename="evidence-{ev.pk}.{ext}"'
    return response


@require_GET
@login_required
def checks_export(request: HttpRequest) -> HttpResponse:
    cycle = cycle_for(None)
    response = HttpResponse(exports.checks_xlsx(actor=request.user, cycle=cycle), content_type=exports.XLSX)
    response["Content-Disposition"] = f'attachment; filename="self-checks-{cycle.year}.xlsx"'
    return response
