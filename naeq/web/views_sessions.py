"""Session pages: the test taker's sign-in, "my tests" and role pick under ``/t/``; the staff session list, proctor
view, practice sessions, completion rates and role reset approvals under ``/sessions/``.

Each view parses its input, makes one call to a selector or service of :mod:`naeq.delivery`, and renders. Access
is decided in :mod:`naeq.delivery.access` (missing and forbidden both 404; a reader writing gets 403). The test
taker's pages use their own plain template without the staff navigation and need no JavaScript.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from naeq.accounts.jurisdiction import jurisdiction_of
from naeq.core.errors import InvalidInput, NotFound
from naeq.custody.selectors import session_record_rooms
from naeq.delivery import selectors, sessions, signin, teacher_roles
from naeq.delivery.access import SCHOOL_RUNNERS, may_approve_resets, session_access
from naeq.delivery.models import Attempt, AttemptStatus, Incident, Respondent, SessionStatus
from naeq.incidents.selectors import cases_of_incidents

# ------------------------------------------------------------------------------------------- test takers


def _client_ip(request: HttpRequest) -> str:
    """The address the sign-in limit counts. Behind a load balancer, set ``NAEQ_SIGNIN_IP_HEADER`` to the header
    the balancer writes the client address into (e.g. ``HTTP_X_REAL_IP``); otherwise the peer address."""
    from django.conf import settings

    header = getattr(settings, "NAEQ_SIGNIN_IP_HEADER", "")
    raw = str((request.META.get(header) if header else None) or request.META.get("REMOTE_ADDR") or "")
    return raw.split(",")[0].strip()


def _signed_in(request: HttpRequest) -> Any:
    return signin.current_taker(request.session)


def _take_url(attempt_id: int) -> str:
    try:
        return reverse("web:take", args=[attempt_id])
    except NoReverseMatch:  # the test-taking page is served by the client module's URL
        return f"/t/attempt/{attempt_id}/"


@never_cache
@require_http_methods(["GET", "POST"])
def taker_signin(request: HttpRequest) -> HttpResponse:
    error = ""
    code = ""
    if request.method == "POST":
        code = (request.POST.get("code") or "").strip()
        try:
            taker, session = signin.taker_sign_in(code=code, key=request.POST.get("key") or "",
                                                  ip=_client_ip(request))
        except InvalidInput as exc:
            error = exc.message
        else:
            request.session.cycle_key()
            request.session[signin.SESSION_KEY] = signin.session_data(taker, session)
            return redirect("web:taker_home")
    elif _signed_in(request) is not None:
        return redirect("web:taker_home")
    return render(request, "web/sessions/taker_signin.html", {"error": error, "code": code},
                  status=400 if error else 200)


@require_POST
def taker_signout(request: HttpRequest) -> HttpResponse:
    request.session.pop(signin.SESSION_KEY, None)
    request.session.cycle_key()
    return redirect("web:taker_signin")


def _my_tests(taker: Any, session: Any) -> list[dict[str, Any]]:
    names = {i.code: i.name for i in taker.cycle.config.instruments}
    attempts = list(Attempt.objects.filter(session=session, test_taker=taker).select_related("instrument")
                    .order_by("number"))
    out = []
    for code in selectors.instruments_for(taker, session):
        mine = [a for a in attempts if a.instrument.code == code] if attempts else []
        last = mine[-1] if mine else None
        out.append({"code": code, "name": names.get(code, code), "attempts": len(mine),
                    "status": last.status if last else "", "in_progress": bool(last and last.status ==
                                                                                AttemptStatus.IN_PROGRESS),
                    "done": bool(last and last.status == AttemptStatus.SUBMITTED)})
    return out


@never_cache
@require_GET
def taker_home(request: HttpRequest) -> HttpResponse:
    current = _signed_in(request)
    if current is None:
        return redirect("web:taker_signin")
    taker, session = current
    if taker.kind == Respondent.TEACHER and not taker.roles_locked and session.kind != "practice":
        return redirect("web:taker_roles")
    return render(request, "web/sessions/taker_home.html", {
        "taker": taker, "session": session, "tests": _my_tests(taker, session),
        "practice": session.kind == "practice",
        "roles": (dict(teacher_roles.role_choices(taker.cycle))
                  if taker.kind == Respondent.TEACHER and taker.roles_locked else {}),
        "pending_reset": taker.reset_requests.filter(status="pending").exists()})


@never_cache
@require_POST
def taker_start(request: HttpRequest, code: str) -> HttpResponse:
    from naeq.delivery.attempts import attempt_start

    current = _signed_in(request)
    if current is None:
        return redirect("web:taker_signin")
    taker, session = current
    if code not in selectors.instruments_for(taker, session):
        raise NotFound(_("没有找到该测试。"))
    try:
        attempt = attempt_start(taker=taker, session=session, instrument_code=code)
    except InvalidInput as exc:
        messages.error(request, exc.message)
        return redirect("web:taker_home")
    return redirect(_take_url(attempt.pk))


@never_cache
@require_http_methods(["GET", "POST"])
def taker_roles(request: HttpRequest) -> HttpResponse:
    current = _signed_in(request)
    if current is None:
        return redirect("web:taker_signin")
    taker, _session = current
    if taker.kind != Respondent.TEACHER:
        raise NotFound(_("没有找到该页面。"))
    choices = teacher_roles.role_choices(taker.cycle)
    error = ""
    if request.method == "POST":
        if not request.POST.get("confirm"):
            error = _("请勾选确认：角色确认后不能自行修改。")
        else:
            try:
                teacher_roles.roles_pick(taker=taker, roles=request.POST.getlist("roles"))
            except InvalidInput as exc:
                error = exc.message
            else:
                return redirect("web:taker_home")
    elif taker.roles_locked:
        return redirect("web:taker_home")
    return render(request, "web/sessions/taker_roles.html", {"taker": taker, "choices": choices, "error": error,
                                                              "picked": request.POST.getlist("roles")},
                  status=400 if error else 200)


@never_cache
@require_POST
def taker_role_reset(request: HttpRequest) -> HttpResponse:
    current = _signed_in(request)
    if current is None:
        return redirect("web:taker_signin")
    taker, _session = current
    try:
        teacher_roles.role_reset_request_file(taker=taker, reason=request.POST.get("reason") or "")
    except InvalidInput as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("重置申请已提交，请等待县级审批。"))
    return redirect("web:taker_home")


# ------------------------------------------------------------------------------------------- staff


def _report(request: HttpRequest, exc: InvalidInput) -> None:
    messages.error(request, exc.message)
    for p in exc.problems[:50]:
        messages.error(request, str(p))


@require_GET
@login_required
def session_list(request: HttpRequest) -> HttpResponse:
    if not jurisdiction_of(request.user).is_staff_role:
        raise NotFound(_("没有找到该页面。"))
    filters = {k: (request.GET.get(k) or "").strip() for k in ("date", "status", "school")}
    qs = selectors.session_list(actor=request.user, date=filters["date"], status=filters["status"],
                                school_code=filters["school"])
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    j = jurisdiction_of(request.user)
    return render(request, "web/sessions/list.html", {
        "page": page, "filters": filters, "statuses": SessionStatus.choices,
        "rows": [(s, selectors.local_start(s), selectors.local_end(s)) for s in page.object_list],
        "can_practice": j.role in SCHOOL_RUNNERS, "region_reader": j.school_id is None,
        "can_approve": may_approve_resets(actor=request.user)})


@require_GET
@login_required
def session_detail(request: HttpRequest, session_id: int) -> HttpResponse:
    view = selectors.proctor_view(actor=request.user, session_id=session_id)
    names = {i.code: i.name for i in view.session.cycle.config.instruments}
    cases = cases_of_incidents(actor=request.user, incident_ids=[i.pk for i in view.incidents])
    return render(request, "web/sessions/detail.html", {
        "v": view, "s": view.session, "instrument_names": [(c, names.get(c, c)) for c in view.session.instruments],
        "incident_cases": [(i, cases.get(i.pk)) for i in view.incidents],
        "record_rooms": session_record_rooms(actor=request.user, session=view.session),
        "categories": Incident.Category.choices, "is_info_officer": jurisdiction_of(request.user).role ==
        "school_info_officer"})


def _parse_local(raw: str, offset_minutes: int, label: str) -> dt.datetime | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        naive = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(_("%(label)s格式应为YYYY-MM-DD HH:MM。") % {"label": label}, code="bad_time") from None
    if naive.tzinfo is not None:
        return naive
    return naive.replace(tzinfo=dt.timezone(dt.timedelta(minutes=offset_minutes)))


def _session_action(request: HttpRequest, session_id: int, action: Any, ok: str) -> HttpResponse:
    try:
        action()
    except InvalidInput as exc:
        _report(request, exc)
    else:
        messages.success(request, ok)
    return redirect("web:session_detail", session_id=session_id)


@require_POST
@login_required
def session_open(request: HttpRequest, session_id: int) -> HttpResponse:
    return _session_action(request, session_id, lambda: sessions.session_open(actor=request.user,
                                                                               session_id=session_id),
                           _("场次已开启。"))


@require_POST
@login_required
def session_close(request: HttpRequest, session_id: int) -> HttpResponse:
    force = bool(request.POST.get("force"))
    return _session_action(request, session_id, lambda: sessions.session_close(
        actor=request.user, session_id=session_id, force=force), _("场次已结束。"))


@require_POST
@login_required
def session_times(request: HttpRequest, session_id: int) -> HttpResponse:
    session = session_access(actor=request.user, session_id=session_id)

    def act() -> None:
        start = _parse_local(request.POST.get("actual_start") or "", session.utc_offset_minutes, _("实际开考时间"))
        end = _parse_local(request.POST.get("actual_end") or "", session.utc_offset_minutes, _("实际结束时间"))
        sessions.session_record_times(actor=request.user, session_id=session_id, actual_start=start,
                                      actual_end=end)

    return _session_action(request, session_id, act, _("已记录实际时间。"))


@require_POST
@login_required
def session_incident(request: HttpRequest, session_id: int) -> HttpResponse:
    def act() -> None:
        raw = request.POST.get("grade") or ""
        if raw not in ("1", "2", "3"):
            raise InvalidInput(_("应急事件级别只能是Ⅰ、Ⅱ或Ⅲ级。"), code="bad_grade")
        sessions.incident_record(actor=request.user, session_id=session_id,
                                 category=request.POST.get("category") or "", grade=int(raw),
                                 description=request.POST.get("description") or "")

    return _session_action(request, session_id, act, _("应急事件已记录。"))


@require_POST
@login_required
def session_key(request: HttpRequest, session_id: int) -> HttpResponse:
    return _session_action(request, session_id, lambda: sessions.session_key_regenerate(
        actor=request.user, session_id=session_id), _("已生成新的登录码。"))


@require_GET
@login_required
def session_credentials(request: HttpRequest, session_id: int) -> HttpResponse:
    session, rows = selectors.credentials(actor=request.user, session_id=session_id)
    return render(request, "web/sessions/credentials.html", {
        "s": session, "rows": rows, "start": selectors.local_start(session)})


@require_http_methods(["GET", "POST"])
@login_required
def practice_new(request: HttpRequest) -> HttpResponse:
    j = jurisdiction_of(request.user)
    if not j.is_staff_role or j.school_id is None:
        raise NotFound(_("没有找到该页面。"))
    from naeq.sampling.selectors import cycle_for

    cycle = cycle_for(None)
    if request.method == "POST":
        grade_raw = request.POST.get("grade") or ""
        try:
            s = sessions.practice_session_create(
                actor=request.user, school_id=j.school_id, instrument_codes=request.POST.getlist("instruments"),
                grade=int(grade_raw) if grade_raw.isdigit() else None,
                respondent=request.POST.get("respondent") or Respondent.STUDENT,
                title=request.POST.get("title") or "")
        except InvalidInput as exc:
            _report(request, exc)
        else:
            messages.success(request, _("练习场次已创建。"))
            return redirect("web:session_detail", session_id=s.pk)
    from naeq.delivery.access import require_practice_creator

    require_practice_creator(actor=request.user, school_id=j.school_id)
    instruments = [(i.code, i.name, i.respondent) for i in cycle.config.instruments
                   if any(m in sessions.ONLINE_MODES for m in i.delivery.values())]
    return render(request, "web/sessions/practice_new.html", {"instruments": instruments, "cycle": cycle})


@require_GET
@login_required
def completion(request: HttpRequest) -> HttpResponse:
    data = selectors.completion(actor=request.user, region_code=(request.GET.get("region") or "").strip())
    return render(request, "web/sessions/completion.html", {"c": data})


@require_GET
@login_required
def reset_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "pending")
    if status not in ("pending", "approved", "rejected", ""):
        status = "pending"
    qs = selectors.reset_request_list(actor=request.user, status=status)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "web/sessions/resets.html", {
        "page": page, "status": status, "can_decide": may_approve_resets(actor=request.user)})


@require_POST
@login_required
def reset_decide(request: HttpRequest, request_id: int) -> HttpResponse:
    decision = request.POST.get("decision")
    try:
        if decision not in ("approve", "reject"):
            raise InvalidInput(_("请选择批准或驳回。"), code="bad_decision")
        teacher_roles.role_reset_decide(actor=request.user, request_id=request_id, approve=decision == "approve")
    except InvalidInput as exc:
        _report(request, exc)
    else:
        messages.success(request, _("已处理该申请。"))
    return redirect("web:sessions_resets")


@require_POST
@login_required
def taker_reset_file(request: HttpRequest, taker_id: int) -> HttpResponse:
    back = request.POST.get("session") or ""
    try:
        teacher_roles.role_reset_request_file_for(actor=request.user, taker_id=taker_id,
                                                  reason=request.POST.get("reason") or "")
    except InvalidInput as exc:
        _report(request, exc)
    else:
        messages.success(request, _("重置申请已提交，请等待县级审批。"))
    if back.isdigit():
        return redirect("web:session_detail", session_id=int(back))
    return redirect("web:sessions_list")
