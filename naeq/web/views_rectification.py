"""问题整改 pages (naeq.rectification): the dashboard per level, the problem letters (list, letter with its problems,
national staff's draft / edit / issue forms, a print view, the PDF download), a plan created from a problem, a plan
with its updates, reviews and next-cycle value, the review / update / submit / complete forms, and evidence
downloads.

Each view parses its input, makes one call to a selector or service of :mod:`naeq.rectification`, and renders or
redirects. Access is decided in :mod:`naeq.rectification.access`; a letter or plan the actor may not see is the
same 404 as one that does not exist. Only the actions the actor may take are shown.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from naeq.accounts.jurisdiction import jurisdiction_of
from naeq.core.audit import audit_record
from naeq.core.errors import InvalidInput, NotFound
from naeq.cycles.models import Cycle
from naeq.rectification import access, selectors, services
from naeq.rectification.models import EDITABLE, UNDER_WAY, PlanState, ReviewDecision
from naeq.registry.models import Region


def _report(request: HttpRequest, exc: InvalidInput) -> None:
    messages.error(request, exc.message)
    for p in exc.problems[:20]:
        messages.error(request, str(p))


def _require_reader(actor: Any) -> None:
    if not access.may_read(actor=actor):
        raise NotFound(_("没有找到该页面。"))


def _state_chart(by_state: dict[str, int]) -> str:
    """Horizontal bars of the plans by state, as inline SVG (text is the page's font, so Chinese renders)."""
    rows = [(str(PlanState(s).label), n) for s, n in by_state.items()]
    top = max([n for _l, n in rows] + [1])
    h = 26 * len(rows) + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="520" height="{h}" '
             f'viewBox="0 0 520 {h}" aria-label="{escape(_("整改方案状态分布"))}">']
    for i, (label, n) in enumerate(rows):
        y = 8 + 26 * i
        w = round(330 * n / top)
        parts.append(f'<text x="120" y="{y + 14}" text-anchor="end" font-size="13">{escape(label)}</text>'
                     f'<rect x="128" y="{y}" width="{w}" height="18" fill="#3867a6"></rect>'
                     f'<text x="{134 + w}" y="{y + 14}" font-size="13">{n}</text>')
    parts.append("</svg>")
    return "".join(parts)


@require_GET
@login_required
def rectification_home(request: HttpRequest) -> HttpResponse:
    _require_reader(request.user)
    d = selectors.dashboard(actor=request.user)
    j = jurisdiction_of(request.user)
    return render(request, "web/rectification/home.html", {
        "d": d, "chart": _state_chart(d.by_state), "states": [(s, PlanState(s).label, d.by_state[s])
                                                              for s in PlanState.values],
        "level": j.level, "plans": selectors.plan_list(actor=request.user)[:200],
        "can_draft": access.may_draft(actor=request.user)})


@require_GET
@login_required
def rectification_letters(request: HttpRequest) -> HttpResponse:
    _require_reader(request.user)
    drafter = access.may_draft(actor=request.user)
    return render(request, "web/rectification/letters.html", {
        "letters": selectors.letter_list(actor=request.user), "can_draft": drafter,
        "cycles": Cycle.objects.order_by("-year") if drafter else [],
        "provinces": Region.objects.filter(level="province").order_by("code") if drafter else []})


@require_POST
@login_required
def rectification_letter_draft(request: HttpRequest) -> HttpResponse:
    if not access.may_draft(actor=request.user):
        raise NotFound(_("没有找到该页面。"))
    cid = str(request.POST.get("cycle") or "").strip()
    cycle = Cycle.objects.filter(pk=int(cid)).first() if cid.isdigit() else None
    province = Region.objects.filter(level="province", code=str(request.POST.get("province") or "")).first()
    if cycle is None or province is None:
        messages.error(request, _("请选择监测周期和省份。"))
        return redirect("web:rectification_letters")
    try:
        letter = services.letter_draft(actor=request.user, cycle=cycle, province=province)
    except InvalidInput as exc:
        _report(request, exc)
        return redirect("web:rectification_letters")
    messages.success(request, _("已起草问题函。"))
    return redirect("web:rectification_letter", letter_id=letter.pk)


def _letter_context(request: HttpRequest, letter_id: int) -> dict[str, Any]:
    letter = access.letter_access(actor=request.user, letter_id=letter_id)
    problems = list(letter.problems.select_related("region", "estimate").order_by("seq"))
    drafter = access.may_draft(actor=request.user)
    j = jurisdiction_of(request.user)
    can_plan = letter.issued and j.role in access.WRITERS.values()
    return {"letter": letter, "problems": problems, "can_edit": drafter and not letter.issued,
            "can_plan": can_plan}


@require_GET
@login_required
def rectification_letter(request: HttpRequest, letter_id: int) -> HttpResponse:
    return render(request, "web/rectification/letter.html", _letter_context(request, letter_id))


@require_GET
@login_required
def rectification_letter_print(request: HttpRequest, letter_id: int) -> HttpResponse:
    """The letter as it is sent: number, addressee, the problems and the request — and nothing else."""
    return render(request, "web/rectification/letter_print.html", _letter_context(request, letter_id))


@require_GET
@login_required
def rectification_letter_pdf(request: HttpRequest, letter_id: int) -> HttpResponse:
    """The letter and its annex (problems with indicator, evidence numbers and rule) as PDF; the same access as the
    letter's page; audited."""
    letter, data = services.letter_download(actor=request.user, letter_id=letter_id)
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="letter-{letter.pk}.pdf"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store, private"
    return response


def _letter_act(request: HttpRequest, letter_id: int, call: Any, done: str) -> HttpResponse:
    try:
        call()
    except InvalidInput as exc:
        _report(request, exc)
    else:
        messages.success(request, done)
    return redirect("web:rectification_letter", letter_id=letter_id)


@require_POST
@login_required
def rectification_letter_issue(request: HttpRequest, letter_id: int) -> HttpResponse:
    letter = access.letter_access(actor=request.user, letter_id=letter_id)
    if not access.may_draft(actor=request.user):
        raise NotFound(_("没有找到该页面。"))
    return _letter_act(request, letter.pk, lambda: services.letter_issue(actor=request.user, letter_id=letter.pk),
                       _("问题函已发出。"))


@require_POST
@login_required
def rectification_problem_edit(request: HttpRequest, problem_id: int) -> HttpResponse:
    problem = access.problem_access(actor=request.user, problem_id=problem_id)
    if not access.may_draft(actor=request.user):
        raise NotFound(_("没有找到该页面。"))
    if request.POST.get("remove"):
        return _letter_act(request, problem.letter_id,
                           lambda: services.problem_remove(actor=request.user, problem_id=problem.pk),
                           _("已删除该问题。"))
    return _letter_act(request, problem.letter_id, lambda: services.problem_edit(
        actor=request.user, problem_id=problem.pk, text=request.POST.get("text") or ""), _("已修改问题表述。"))


def _writable_units(actor: Any, problem: Any) -> list[Region]:
    j = jurisdiction_of(actor)
    if problem.region.level == "county":
        units = [problem.region]
    else:
        units = [problem.letter.province, *Region.objects.filter(level="county",
                                                                 path__startswith=problem.letter.path)]
    return [u for u in units if j.path and access.may_write_plan_for(actor=actor, unit=u)]


@require_http_methods(["GET", "POST"])
@login_required
def rectification_plan_new(request: HttpRequest, problem_id: int) -> HttpResponse:
    problem = access.problem_access(actor=request.user, problem_id=problem_id)
    units = _writable_units(request.user, problem) if problem.letter.issued else []
    if not units:
        raise NotFound(_("没有找到该页面。"))
    form = {"department": "", "target_value": "", "deadline": "", "measures": "", "unit": str(units[0].pk)}
    if request.method == "POST":
        form = {k: str(request.POST.get(k) or "") for k in form}
        unit = next((u for u in units if str(u.pk) == form["unit"]), None)
        if unit is None:
            messages.error(request, _("请选择整改责任单位。"))
        else:
            try:
                plan = services.plan_create(actor=request.user, problem_id=problem.pk, unit=unit,
                                            department=form["department"], target_value=form["target_value"],
                                            deadline=form["deadline"], measures=form["measures"])
            except InvalidInput as exc:
                _report(request, exc)
            else:
                messages.success(request, _("已保存整改方案草稿。"))
                return redirect("web:rectification_plan", plan_id=plan.pk)
    baselines = {u.pk: services.baseline_for(problem, u) for u in units}
    return render(request, "web/rectification/plan_new.html", {
        "problem": problem, "units": [(u, baselines[u.pk]) for u in units], "form": form})


@require_GET
@login_required
def rectification_plan(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = access.plan_access(actor=request.user, plan_id=plan_id)
    writer = access.may_write_plan_for(actor=request.user, unit=plan.unit)
    updates = list(plan.updates.prefetch_related("files").select_related("created_by"))
    return render(request, "web/rectification/plan.html", {
        "plan": plan, "updates": updates, "reviews": plan.reviews.select_related("reviewer"),
        "next": selectors.next_cycle_value(plan),
        "can_edit": writer and plan.state in EDITABLE, "can_update": writer and plan.state in UNDER_WAY,
        "can_complete": writer and plan.state == PlanState.IN_PROGRESS,
        "can_review": plan.state == PlanState.SUBMITTED and access.may_review(actor=request.user, plan=plan),
        "decisions": ReviewDecision.choices, "measures_text": "\n".join(plan.measures)})


def _plan_act(request: HttpRequest, plan_id: int, call: Any, done: str) -> HttpResponse:
    access.plan_access(actor=request.user, plan_id=plan_id)
    try:
        call()
    except InvalidInput as exc:
        _report(request, exc)
    else:
        messages.success(request, done)
    return redirect("web:rectification_plan", plan_id=plan_id)


@require_POST
@login_required
def rectification_plan_edit(request: HttpRequest, plan_id: int) -> HttpResponse:
    p = request.POST
    return _plan_act(request, plan_id, lambda: services.plan_edit(
        actor=request.user, plan_id=plan_id, department=p.get("department"), target_value=p.get("target_value"),
        deadline=p.get("deadline"), measures=p.get("measures")), _("已修改整改方案。"))


@require_POST
@login_required
def rectification_plan_submit(request: HttpRequest, plan_id: int) -> HttpResponse:
    return _plan_act(request, plan_id, lambda: services.plan_submit(actor=request.user, plan_id=plan_id),
                     _("已提交审核。"))


@require_POST
@login_required
def rectification_plan_review(request: HttpRequest, plan_id: int) -> HttpResponse:
    return _plan_act(request, plan_id, lambda: services.plan_review(
        actor=request.user, plan_id=plan_id, decision=request.POST.get("decision") or "",
        comment=request.POST.get("comment") or ""), _("已审核。"))


@require_POST
@login_required
def rectification_plan_update(request: HttpRequest, plan_id: int) -> HttpResponse:
    files = [(f.name or "", f.read()) for f in request.FILES.getlist("files")]
    return _plan_act(request, plan_id, lambda: services.plan_update_add(
        actor=request.user, plan_id=plan_id, text=request.POST.get("text") or "",
        percent=request.POST.get("percent") or "", files=files), _("已填报整改进展。"))


@require_POST
@login_required
def rectification_plan_complete(request: HttpRequest, plan_id: int) -> HttpResponse:
    return _plan_act(request, plan_id, lambda: services.plan_complete(actor=request.user, plan_id=plan_id),
                     _("整改已完成。"))


@require_GET
@login_required
def rectification_evidence(request: HttpRequest, plan_id: int, evidence_id: int) -> HttpResponse:
    """An evidence file of a visible plan; never cached, never sniffed; audited."""
    ev, data = services.evidence_get(actor=request.user, plan_id=plan_id, evidence_id=evidence_id)
    audit_record(actor=request.user, action="rectification.evidence_download",
                 object_type="rectification.PlanEvidence", object_id=ev.pk, after={"plan": plan_id,
                                                                                  "sha256": ev.sha256})
    response = HttpResponse(data, content_type=ev.content_type or "application/octet-stream")
    ext = ev.stored_name.rsplit(".", 1)[-1]
    inline = ev.content_type in ("application/pdf", "image/png", "image/jpeg")
    response["Content-Disposition"] = f'{"inline" if inline else "attachment"}; filename="evidence-{ev.pk}.{ext}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store, private"
    return response
