"""Custody pages (测试工具保密) and session records (测试情况记录表) under ``/custody/``.

Each view parses its input, makes one call to a selector or service of :mod:`naeq.custody`, and renders. Access
is decided in :mod:`naeq.custody.access` (missing and forbidden both 404; a reader writing gets 403).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from naeq.accounts.jurisdiction import jurisdiction_of
from naeq.core.errors import InvalidInput, NotFound
from naeq.custody import access, exports, selectors, services
from naeq.custody.models import DeviationCategory, EventKind, KeepStatus
from naeq.cycles.models import Cycle
from naeq.sampling.selectors import cycle_for


def _cycle() -> Cycle:
    return cycle_for(None)


def _report(request: HttpRequest, exc: InvalidInput) -> None:
    messages.error(request, exc.message)
    for p in exc.problems[:50]:
        messages.error(request, str(p))


def _parse_dt(raw: str, label: str, tz: dt.tzinfo) -> dt.datetime | None:
    raw = (raw or "").strip().replace("T", " ")
    if not raw:
        return None
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(_("%(label)s格式应为YYYY-MM-DD HH:MM。") % {"label": label}, code="bad_time") from None
    return value if value.tzinfo else value.replace(tzinfo=tz)


def _parse_day(raw: str, label: str) -> dt.date | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(_("%(label)s格式应为YYYY-MM-DD。") % {"label": label}, code="bad_date") from None


def _int_or_none(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if raw.isdigit() else None


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    """County staff go to their ledger, school staff to their school; region staff see every county."""
    j = jurisdiction_of(request.user)
    if not j.is_staff_role:
        raise NotFound(_("没有找到该页面。"))
    if j.school_id is not None:
        return redirect("web:custody_school", code=request.user.school.code)  # type: ignore[union-attr]
    if j.level == "county":
        return redirect("web:custody_ledger", code=j.path.strip("/").split("/")[-1])
    cycle = _cycle()
    now = timezone.now()
    return render(request, "web/custody/home.html", {
        "cycle": cycle, "rows": selectors.county_overview(actor=request.user, cycle=cycle, now=now),
        "alerts": selectors.alerts(request.user, cycle, now)[:200],
        "missing": selectors.records_missing(actor=request.user, cycle=cycle).select_related("school")[:50]})


@require_GET
@login_required
def alerts(request: HttpRequest) -> HttpResponse:
    access.require_region_reader(actor=request.user)
    cycle = _cycle()
    return render(request, "web/custody/alerts.html", {
        "cycle": cycle, "alerts": selectors.alerts(request.user, cycle, timezone.now())})


@require_GET
@login_required
def ledger(request: HttpRequest, code: str) -> HttpResponse:
    cycle = _cycle()
    data = selectors.ledger(actor=request.user, cycle=cycle, county_code=code, now=timezone.now())
    return render(request, "web/custody/ledger.html", {
        "cycle": cycle, "l": data, "kinds": EventKind.choices,
        "keeps": selectors.keep_list(actor=request.user, cycle=cycle).filter(county=data.county),
        "today": timezone.now().astimezone(services.local_tz()).date()})


@require_POST
@login_required
def event_add(request: HttpRequest, code: str) -> HttpResponse:
    access.require_custodian(actor=request.user, code=code)
    p = request.POST
    tz = services.local_tz()
    try:
        seals = {"yes": True, "no": False}.get(p.get("seals_intact") or "")
        services.event_record(
            actor=request.user, cycle=_cycle(), county_code=code, kind=p.get("kind") or "",
            at=_parse_dt(p.get("at") or "", _("时间"), tz), boxes=p.get("boxes"),
            signatory_1=p.get("signatory_1") or "", signatory_2=p.get("signatory_2") or "",
            school_code=p.get("school") or "", test_day=_parse_day(p.get("test_day") or "", _("测试日期")),
            expected_boxes=p.get("expected_boxes"), seal_numbers=p.get("seal_numbers") or "",
            seals_intact=seals, location=p.get("location") or "", tracking_no=p.get("tracking_no") or "",
            issue_id=_int_or_none(p.get("issue")), keep_id=_int_or_none(p.get("keep")), note=p.get("note") or "")
    except InvalidInput as exc:
        _report(request, exc)
    else:
        messages.success(request, _("交接记录已登记。"))
    return redirect("web:custody_ledger", code=code)


@require_GET
@login_required
def ledger_export(request: HttpRequest, code: str) -> HttpResponse:
    data = selectors.ledger(actor=request.user, cycle=_cycle(), county_code=code, now=timezone.now())
    response = HttpResponse(exports.ledger_xlsx(data), content_type=exports.XLSX)
    response["Content-Disposition"] = f'attachment; filename="custody-{data.county.code}.xlsx"'
    return response


@require_GET
@login_required
def school(request: HttpRequest, code: str) -> HttpResponse:
    cycle = _cycle()
    data = selectors.school_custody(actor=request.user, cycle=cycle, school_code=code)
    return render(request, "web/custody/school.html", {
        "cycle": cycle, "s": data, "sessions": [(x, data.recorded.get(x.pk, 0)) for x in data.sessions],
        "can_write_takers": access.may_write_test_takers(actor=request.user)})


@require_POST
@login_required
def records_to_takers(request: HttpRequest, code: str) -> HttpResponse:
    try:
        n = services.records_to_test_takers(actor=request.user, cycle=_cycle(), school_code=code)
    except InvalidInput as exc:
        _report(request, exc)
    else:
        messages.success(request, _("已按测试情况记录表更新测试生信息：到考%(present)s人，缺考%(absent)s人，"
                                    "体育免测%(pe_exempt)s人（其中%(changed)s人有变化）。") % n)
    return redirect("web:custody_school", code=code)


@require_GET
@login_required
def keeps(request: HttpRequest) -> HttpResponse:
    access.require_region_reader(actor=request.user)
    status = request.GET.get("status", "")
    if status not in KeepStatus.values:
        status = ""
    return render(request, "web/custody/keeps.html", {
        "rows": selectors.keep_list(actor=request.user, cycle=_cycle(), status=status)[:500], "status": status,
        "statuses": KeepStatus.choices, "can_decide": access.may_decide_keeps(actor=request.user)})


@require_POST
@login_required
def keep_request(request: HttpRequest, code: str) -> HttpResponse:
    access.require_custodian(actor=request.user, code=code)
    p = request.POST
    try:
        services.keep_request(actor=request.user, cycle=_cycle(), county_code=code, school_code=p.get("school") or "",
                              first_day=_parse_day(p.get("first_day") or "", _("第一天测试日期")),
                              travel_minutes=p.get("travel_minutes"), reason=p.get("reason") or "")
    except InvalidInput as exc:
        _report(request, exc)
    else:
        messages.success(request, _("两天保管申请已提交，请等待审批。"))
    return redirect("web:custody_ledger", code=code)


@require_POST
@login_required
def keep_decide(request: HttpRequest, keep_id: int) -> HttpResponse:
    decision = request.POST.get("decision")
    try:
        if decision not in ("approve", "reject"):
            raise InvalidInput(_("请选择同意或不同意。"), code="bad_decision")
        services.keep_decide(actor=request.user, keep_id=keep_id, approve=decision == "approve",
                             note=request.POST.get("note") or "")
    except InvalidInput as exc:
        _report(request, exc)
    else:
        messages.success(request, _("已审批该申请。"))
    return redirect("web:custody_keeps")


_PERSON_LINE = re.compile(r"^\s*(\S+?)\s*(?:[,，、:：;；\s]\s*(.*))?$")


def _people(raw: str) -> list[dict[str, str]]:
    """One test taker a line: the test ID, then the reason ("2403010101 病假")."""
    out = []
    for line in (raw or "").splitlines():
        if not line.strip():
            continue
        m = _PERSON_LINE.match(line)
        code, reason = (m.group(1), m.group(2) or "") if m else (line.strip(), "")
        out.append({"code": code, "reason": reason.strip()})
    return out


@require_http_methods(["GET", "POST"])
@login_required
def session_record(request: HttpRequest, session_id: int) -> HttpResponse:
    session, records = selectors.session_records(actor=request.user, session_id=session_id)
    can_write = access.may_write_record(actor=request.user, session=session)
    tz = dt.timezone(dt.timedelta(minutes=session.utc_offset_minutes))
    form: dict[str, Any] = {}
    status = 200
    if request.method == "POST":
        access.require_record_writer(actor=request.user, session_id=session_id)
        p = request.POST
        form = {k: p.get(k) or "" for k in ("room", "actual_start", "actual_end", "expected", "present",
                                            "absentees", "pe_exempt")}
        form["deviations"] = list(zip(p.getlist("dev_category"), p.getlist("dev_text"), strict=False))
        try:
            services.record_save(
                actor=request.user, session_id=session_id, room=form["room"],
                actual_start=_parse_dt(form["actual_start"], _("实际开始时间"), tz),
                actual_end=_parse_dt(form["actual_end"], _("实际结束时间"), tz),
                expected=form["expected"], present=form["present"], absentees=_people(form["absentees"]),
                pe_exempt=_people(form["pe_exempt"]),
                deviations=[{"category": c, "text": t} for c, t in form["deviations"]])
        except InvalidInput as exc:
            _report(request, exc)
            status = 400
        else:
            messages.success(request, _("测试情况记录表已保存。"))
            return redirect("web:custody_session_record", session_id=session_id)
    start = session.starts_at.astimezone(tz)
    end = session.ends_at.astimezone(tz) if session.ends_at else None
    return render(request, "web/custody/session_record.html", {
        "s": session, "records": records, "can_write": can_write, "form": form,
        "attendance": selectors.session_attendance(session), "categories": DeviationCategory.choices,
        "category_names": dict(DeviationCategory.choices), "start": start, "end": end,
        "dev_rows": form.get("deviations") or [("", "")] * 3}, status=status)


@require_GET
@login_required
def records_export(request: HttpRequest) -> HttpResponse:
    cycle = _cycle()
    response = HttpResponse(exports.records_xlsx(actor=request.user, cycle=cycle), content_type=exports.XLSX)
    response["Content-Disposition"] = f'attachment; filename="session-records-{cycle.year}.xlsx"'
    return response
