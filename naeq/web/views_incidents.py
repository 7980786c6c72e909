"""应急事件与监督专线 pages: the incident list and case detail (handling log, escalate, close), standalone case
entry, the in-app notices, the school incident report form and the county's collection status, and the county
supervision hotline's call log.

Each view parses its input, makes one call to a selector or service of :mod:`naeq.incidents`, and renders. Access
is decided in :mod:`naeq.incidents.access` (missing and forbidden both 404; a reader writing gets 403).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from naeq.accounts.jurisdiction import jurisdiction_of
from naeq.core.errors import InvalidInput, NotFound
from naeq.cycles.selectors import cycle_current
from naeq.incidents import access, exports, selectors, services
from naeq.incidents.config import LEVEL_NAMES, default_config
from naeq.incidents.models import CallerType, CallTopic, CaseState


def _report(request: HttpRequest, exc: InvalidInput) -> None:
    messages.error(request, exc.message)
    for p in exc.problems[:50]:
        messages.error(request, str(p))


def _grade(raw: str) -> int:
    if raw not in ("1", "2", "3"):
        raise InvalidInput(_("应急事件级别只能是1、2或3级。"), code="bad_grade")
    return int(raw)


def _when(raw: str) -> dt.datetime | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(_("时间格式应为YYYY-MM-DD HH:MM。"), code="bad_time") from None
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def _date(raw: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise NotFound(_("没有找到该页面。")) from None


# ------------------------------------------------------------------------------------------- cases


@require_GET
@login_required
def incident_list(request: HttpRequest) -> HttpResponse:
    access.staff(request.user)
    filters = {k: (request.GET.get(k) or "").strip() for k in ("grade", "state", "level")}
    cycle = cycle_current()
    qs = selectors.case_list(actor=request.user, cycle=cycle, **filters)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    counts = selectors.incident_counts(request.user, cycle) if cycle else None
    return render(request, "web/incidents/list.html", {
        "page": page, "filters": filters, "states": CaseState.choices, "levels": list(LEVEL_NAMES.items()),
        "counts": counts, "can_open": access.may_open_case(actor=request.user),
        "region_reader": jurisdiction_of(request.user).school_id is None,
        "unread": selectors.notices_for(actor=request.user, unread_only=True).count(),
        "grades": [default_config().grades[g] for g in (3, 2, 1)]})


@require_http_methods(["GET", "POST"])
@login_required
def incident_new(request: HttpRequest) -> HttpResponse:
    j = access.staff(request.user)
    if not access.may_open_case(actor=request.user):
        from naeq.core.errors import PermissionDenied

        raise PermissionDenied(_("您的账户不能登记应急事件。"))
    form = {k: (request.POST.get(k) or "").strip() for k in ("county", "school", "category", "grade",
                                                             "occurred_at", "description")}
    if request.method == "POST":
        try:
            case = services.case_open(actor=request.user, county_code=form["county"], school_code=form["school"],
                                      category=form["category"], grade=_grade(form["grade"]),
                                      occurred_at=_when(form["occurred_at"]), description=form["description"])
        except InvalidInput as exc:
            _report(request, exc)
        else:
            messages.success(request, _("应急事件已登记。"))
            return redirect("web:incidents_detail", case_id=case.pk)
    from naeq.registry.models import Region, School

    if j.school_id is not None:
        schools = list(School.objects.filter(pk=j.school_id))
        counties: list[Any] = []
    else:
        region_qs = Region.objects.filter(level="county")
        school_qs = School.objects.all()
        if not j.is_national:
            region_qs = region_qs.filter(path__startswith=j.path)
            school_qs = school_qs.filter(path__startswith=j.path)
        counties = list(region_qs.order_by("code")[:500])
        schools = list(school_qs.order_by("code")[:2000])
    return render(request, "web/incidents/new.html", {
        "form": form, "counties": counties, "schools": schools,
        "categories": default_config().category_choices()},
        status=400 if request.method == "POST" else 200)


@require_GET
@login_required
def incident_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    view = selectors.case_detail(actor=request.user, case_id=case_id)
    return render(request, "web/incidents/detail.html", {
        "v": view, "c": view.case, "level_names": LEVEL_NAMES, "violations": default_config().violation_choices(),
        "escalations": list(view.case.escalations.all()), "findings": list(view.case.findings.all())})


def _case_action(request: HttpRequest, case_id: int, action: Any, ok: str) -> HttpResponse:
    try:
        action()
    except InvalidInput as exc:
        _report(request, exc)
    else:
        messages.success(request, ok)
    return redirect("web:incidents_detail", case_id=case_id)


@require_POST
@login_required
def incident_log(request: HttpRequest, case_id: int) -> HttpResponse:
    return _case_action(request, case_id, lambda: services.case_log(
        actor=request.user, case_id=case_id, text=request.POST.get("text") or ""), _("处置记录已添加。"))


@require_POST
@login_required
def incident_escalate(request: HttpRequest, case_id: int) -> HttpResponse:
    return _case_action(request, case_id, lambda: services.case_escalate(
        actor=request.user, case_id=case_id, to_level=request.POST.get("to_level") or "",
        reason=request.POST.get("reason") or ""), _("已上报。"))


@require_POST
@login_required
def incident_close(request: HttpRequest, case_id: int) -> HttpResponse:
    return _case_action(request, case_id, lambda: services.case_close(
        actor=request.user, case_id=case_id, summary=request.POST.get("summary") or "",
        violation=request.POST.get("violation") or "", finding_note=request.POST.get("finding_note") or "",
        unit_is_school=request.POST.get("unit") != "county"), _("应急事件已办结。"))


@require_GET
@login_required
def notice_list(request: HttpRequest) -> HttpResponse:
    access.staff(request.user)
    page = Paginator(selectors.notices_for(actor=request.user), 50).get_page(request.GET.get("page"))
    return render(request, "web/incidents/notices.html", {"page": page})


@require_POST
@login_required
def notice_read(request: HttpRequest) -> HttpResponse:
    access.staff(request.user)
    services.notices_mark_read(actor=request.user)
    return redirect("web:incidents_notices")


# ------------------------------------------------------------------------------------------- reports


def _cycle() -> Any:
    cycle = cycle_current()
    if cycle is None:
        raise InvalidInput(_("尚未设置当前监测周期。"), code="no_cycle")
    return cycle


@require_GET
@login_required
def report_status(request: HttpRequest) -> HttpResponse:
    access.staff(request.user)
    status = selectors.report_status(actor=request.user, cycle=_cycle())
    return render(request, "web/incidents/reports.html", {
        "s": status, "is_county_officer": jurisdiction_of(request.user).role in access.COUNTY_OFFICERS})


@require_http_methods(["GET", "POST"])
@login_required
def report_form(request: HttpRequest, school_code: str, date: str) -> HttpResponse:
    test_date = _date(date)
    cycle = _cycle()
    failed = False
    if request.method == "POST":
        try:
            services.report_file(actor=request.user, school_code=school_code, test_date=test_date,
                                 no_incident=request.POST.get("no_incident") == "1",
                                 handling=request.POST.get("handling") or "",
                                 signed_by=request.POST.get("signed_by") or "", cycle=cycle)
        except InvalidInput as exc:
            _report(request, exc)
            failed = True
        else:
            messages.success(request, _("应急事件情况报告表已提交。"))
            return redirect("web:incidents_report", school_code=school_code, date=date)
    data = selectors.report_form_data(actor=request.user, school_code=school_code, test_date=test_date,
                                      cycle=cycle)
    if not data["is_test_day"]:
        raise NotFound(_("没有找到该页面。"))
    rep = data["report"]
    form = {"no_incident": request.POST.get("no_incident") == "1" if failed else bool(rep and rep.no_incident),
            "handling": request.POST.get("handling", "") if failed else (rep.handling if rep else ""),
            "signed_by": request.POST.get("signed_by", "") if failed else (rep.signed_by if rep else "")}
    return render(request, "web/incidents/report_form.html", {**data, "form": form},
                  status=400 if failed else 200)


@require_POST
@login_required
def report_collect(request: HttpRequest, report_id: int) -> HttpResponse:
    try:
        services.report_collect(actor=request.user, report_id=report_id)
    except InvalidInput as exc:
        _report(request, exc)
    else:
        messages.success(request, _("已收取该报告表。"))
    return redirect("web:incidents_reports")


# ------------------------------------------------------------------------------------------- hotline


@require_GET
@login_required
def hotline_list(request: HttpRequest) -> HttpResponse:
    topic = request.GET.get("topic") or ""
    topic = topic if topic in CallTopic.values else ""
    open_only = request.GET.get("open") == "1"
    cycle = cycle_current()
    qs = selectors.call_list(actor=request.user, cycle=cycle, topic=topic, open_only=open_only)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    keeper = access.may_keep_hotline(actor=request.user)
    county = access.require_hotline_keeper(actor=request.user) if keeper else None
    return render(request, "web/incidents/hotline.html", {
        "page": page, "topic": topic, "open_only": open_only, "topics": CallTopic.choices, "keeper": keeper,
        "county": county, "counts": selectors.hotline_counts(request.user, cycle) if cycle else None})


@require_http_methods(["GET", "POST"])
@login_required
def hotline_new(request: HttpRequest) -> HttpResponse:
    county = access.require_hotline_keeper(actor=request.user)
    form = {k: (request.POST.get(k) or "").strip() for k in ("received_at", "caller_type", "caller_phone", "topic",
                                                             "summary", "school")}
    if request.method == "POST":
        try:
            call = services.call_record(actor=request.user, received_at=_when(form["received_at"]) or timezone.now(),
                                        caller_type=form["caller_type"], caller_phone=form["caller_phone"],
                                        topic=form["topic"], summary=form["summary"], school_code=form["school"])
        except InvalidInput as exc:
            _report(request, exc)
        else:
            messages.success(request, _("来电已登记。"))
            return redirect("web:incidents_hotline_detail", call_id=call.pk)
    from naeq.registry.models import School

    return render(request, "web/incidents/hotline_new.html", {
        "form": form, "county": county, "caller_types": CallerType.choices, "topics": CallTopic.choices,
        "schools": list(School.objects.filter(county=county).order_by("code"))},
        status=400 if request.method == "POST" else 200)


@require_http_methods(["GET", "POST"])
@login_required
def hotline_detail(request: HttpRequest, call_id: int) -> HttpResponse:
    if request.method == "POST":
        try:
            services.call_handle(actor=request.user, call_id=call_id, result=request.POST.get("result") or "",
                                 close=request.POST.get("close") == "1")
        except InvalidInput as exc:
            _report(request, exc)
        else:
            messages.success(request, _("处理结果已保存。"))
        return redirect("web:incidents_hotline_detail", call_id=call_id)
    access.require_hotline_reader(actor=request.user)
    call = access.call_access(actor=request.user, call_id=call_id)
    return render(request, "web/incidents/hotline_detail.html", {
        "call": call, "keeper": access.may_keep_hotline(actor=request.user),
        "categories": default_config().category_choices()})


@require_POST
@login_required
def hotline_case(request: HttpRequest, call_id: int) -> HttpResponse:
    try:
        case = services.call_to_case(actor=request.user, call_id=call_id, category=request.POST.get("category") or "",
                                     grade=_grade(request.POST.get("grade") or ""))
    except InvalidInput as exc:
        _report(request, exc)
        return redirect("web:incidents_hotline_detail", call_id=call_id)
    messages.success(request, _("已转为应急事件。"))
    return redirect("web:incidents_detail", case_id=case.pk)


@require_GET
@login_required
def reports_export(request: HttpRequest) -> HttpResponse:
    cycle = _cycle()
    response = HttpResponse(exports.reports_xlsx(actor=request.user, cycle=cycle), content_type=exports.XLSX)
    response["Content-Disposition"] = f'attachment; filename="incident-reports-{cycle.year}.xlsx"'
    return response


@require_GET
@login_required
def hotline_export(request: HttpRequest) -> HttpResponse:
    cycle = _cycle()
    response = HttpResponse(exports.calls_xlsx(actor=request.user, cycle=cycle), content_type=exports.XLSX)
    response["Content-Disposition"] = f'attachment; filename="hotline-{cycle.year}.xlsx"'
    return response
