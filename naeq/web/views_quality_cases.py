"""调查取证 pages (naeq.quality cases): the case list (filtered, a page at a time, Excel export), a case with its
indicator snapshot, linked pairs, evidence, log and effect on the estimates, and the forms of its actions (assign,
start, note, collect evidence, upload, decide, reopen), and the "open a case" POST from a screened unit.

Each view parses its input, makes one call to a selector or service of :mod:`naeq.quality`, and renders or
redirects. Access is decided in :mod:`naeq.quality.access`: national staff see and decide every case, a province
coordinator sees the cases assigned to them; everyone else gets the same 404 as for a case that does not exist.
Only the actions the actor may take are shown.
"""

from __future__ import annotations

import importlib
import io
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from naeq.core.audit import audit_record
from naeq.core.errors import InvalidInput, NotFound
from naeq.cycles.models import Cycle
from naeq.quality import access, case_selectors, cases
from naeq.quality.effects import case_effect
from naeq.quality.evidence import evidence_read
from naeq.quality.models import DECIDED, CaseState, EvidenceKind
from naeq.quality.selectors import fmt, pair_shown
from naeq.registry.models import Region
from naeq.scaling import access as scaling_access

DECISIONS = (CaseState.CLEARED, CaseState.DATA_FLAGGED, CaseState.DATA_EXCLUDED)
LEVEL_LABELS = {"county": "区县", "province": "省", "nation": "全国"}


def _report(request: HttpRequest, exc: InvalidInput) -> None:
    messages.error(request, exc.message)
    for p in exc.problems[:50]:
        messages.error(request, str(p))


def _int(raw: Any) -> int | None:
    text = str(raw or "").strip()
    return int(text) if text.isdigit() else None


def _link(name: str, *args: Any) -> str | None:
    """A URL of another page (the screening pages are another engineer's), or None while it does not exist."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _meanings() -> tuple[Any, Any]:
    try:
        mod = importlib.import_module("naeq.quality.meanings")
        return mod.label, mod.meaning
    except (ImportError, AttributeError):
        return (lambda name: name), (lambda name: "")


def _back(case_id: int) -> HttpResponse:
    return redirect("web:quality_case", case_id=case_id)


# ------------------------------------------------------------------------------------------------ list


def _require_reader(actor: Any) -> None:
    """The case list exists for national staff and province coordinators (who may be assigned cases); for
    everyone else it does not."""
    from naeq.accounts.jurisdiction import jurisdiction_of
    from naeq.accounts.roles import Role

    if not (access.may_screen(actor=actor) or jurisdiction_of(actor).role == Role.PROVINCE_COORDINATOR):
        raise NotFound(_("没有找到该页面。"))


def _filters(request: HttpRequest) -> dict[str, Any]:
    state = (request.GET.get("state") or "").strip()
    return {"state": state if state in CaseState.values else "", "cycle": _int(request.GET.get("cycle")),
            "county": _int(request.GET.get("county"))}


@require_GET
@login_required
def quality_cases(request: HttpRequest) -> HttpResponse:
    _require_reader(request.user)
    f = _filters(request)
    before = _int(request.GET.get("before"))
    rows, nxt = case_selectors.cases_page(actor=request.user, state=f["state"], cycle_id=f["cycle"],
                                          county_id=f["county"], before=before)
    visible = access.cases_visible(actor=request.user)
    counties = Region.objects.filter(pk__in=visible.values("county_id")).order_by("path")
    cycles = Cycle.objects.filter(pk__in=visible.values("cycle_id")).order_by("-year")
    return render(request, "web/quality/cases.html", {
        "rows": rows, "next": nxt, "before": before, "filters": f, "states": CaseState.choices,
        "counties": counties, "cycles": cycles, "screener": access.may_screen(actor=request.user),
        "screen_home": _link("web:quality_home")})


@require_GET
@login_required
def quality_cases_export(request: HttpRequest) -> HttpResponse:
    """The visible cases as an Excel file (the actor's jurisdiction; audited)."""
    from openpyxl import Workbook

    _require_reader(request.user)
    f = _filters(request)
    head = [_("案件编号"), _("监测年度"), _("监测工具（学科）"), _("层级"), _("区县代码"), _("区县"), _("学校代码"),
            _("学校"), _("标题"), _("状态"), _("调查人"), _("立案时间"), _("决定时间"), _("决定理由")]
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("调查案件"))
    ws.append(head)
    n = 0
    for row in case_selectors.cases_rows(actor=request.user, state=f["state"], cycle_id=f["cycle"],
                                         county_id=f["county"]):
        ws.append(list(row))
        n += 1
    buf = io.BytesIO()
    wb.save(buf)
    audit_record(actor=request.user, action="quality.case_export", object_type="quality.Case", object_id="",
                 after={"filters": f, "rows": n})
    response = HttpResponse(buf.getvalue(), content_type=(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
    response["Content-Disposition"] = "attachment; filename*=UTF-8''quality-cases.xlsx"
    return response


# ------------------------------------------------------------------------------------------------ detail


def _investigators(case: Any) -> list[Any]:
    from naeq.accounts.roles import Role

    users = get_user_model().objects.filter(role__in=[Role.NATIONAL_ADMIN, Role.NATIONAL_ANALYST,
                                                      Role.PROVINCE_COORDINATOR], is_active=True)
    return [u for u in users.order_by("role", "username")[:500] if access.may_be_investigator(user=u, case=case)]


def _indicator_rows(indicators: dict[str, Any]) -> list[dict[str, Any]]:
    label, meaning = _meanings()
    rows = []
    for name, v in (indicators or {}).items():
        v = v or {}
        rows.append({"name": name, "label": label(name), "meaning": meaning(name), "stat": v.get("stat"),
                     "expected": v.get("expected"), "p": v.get("p"), "q": v.get("q"), "n": v.get("n"),
                     "shown": {k: fmt(v.get(k)) for k in ("stat", "expected", "p", "q")}})
    rows.sort(key=lambda r: (r["q"] is None, r["q"] if r["q"] is not None else 1.0))
    return rows


def _state_label(value: str) -> str:
    """A case state's label for the log ("调查中", not "investigating"); "" stays ""."""
    return str(CaseState(value).label) if value in CaseState.values else value


@require_GET
@login_required
def quality_case(request: HttpRequest, case_id: int) -> HttpResponse:
    d = case_selectors.case_detail(actor=request.user, case_id=case_id)
    case = d.case
    user = request.user
    decider = access.may_decide(actor=user)
    investigate = access.may_investigate(actor=user, case=case)
    undecided = case.state not in DECIDED
    persons = cases.case_persons(case)
    effect = case_effect(case, persons)
    effect_rows = [{**r, "label": _(LEVEL_LABELS[r["level"]])} for r in effect.rows()] \
        if effect.before_run else []
    pairs = [{"pair": p, "url": _link("web:quality_pair", p.pk), "shown": pair_shown(p)} for p in d.pairs]
    return render(request, "web/quality/case.html", {
        "case": case, "events": [(e, _state_label(e.from_state), _state_label(e.to_state)) for e in d.events],
        "evidence": d.evidence, "unit": d.unit, "pairs": pairs,
        "indicators": _indicator_rows(case.indicators),
        "unit_shown": {"p": fmt(d.unit.combined_p), "q": fmt(d.unit.combined_q)} if d.unit else {},
        "unit_url": _link("web:quality_unit", d.unit.pk) if d.unit else None,
        "run_url": _link("web:quality_run", case.run_id) if case.run_id else None,
        "n_persons": len(persons), "effect": effect, "effect_rows": effect_rows,
        "can_assign": decider and undecided, "can_start": investigate and case.state == CaseState.OPEN,
        "can_work": investigate and undecided, "can_decide": decider and undecided,
        "can_reopen": decider and not undecided,
        "can_rerun": (case.state == CaseState.DATA_EXCLUDED and effect.before_run is not None
                      and effect.rerun is None and scaling_access.may_calibrate(actor=user)),
        "decisions": [(s, CaseState(s).label) for s in DECISIONS],
        "investigators": _investigators(case) if decider and undecided else [],
        "upload_kind": EvidenceKind.UPLOAD})


@require_GET
@login_required
def quality_case_evidence(request: HttpRequest, case_id: int, evidence_id: int) -> HttpResponse:
    """An uploaded evidence file of a visible case; never cached, never sniffed."""
    ev = case_selectors.evidence_get(actor=request.user, case_id=case_id, evidence_id=evidence_id)
    data = evidence_read(ev.case_id, ev.stored_name) if ev.kind == EvidenceKind.UPLOAD else None
    if data is None:
        raise NotFound(_("没有找到该证据文件。"))
    audit_record(actor=request.user, action="quality.case_evidence_download", object_type="quality.CaseEvidence",
                 object_id=ev.pk, after={"case": ev.case_id, "sha256": ev.sha256})
    response = HttpResponse(data, content_type=ev.content_type or "application/octet-stream")
    ext = ev.stored_name.rsplit(".", 1)[-1]
    inline = ev.content_type in ("application/pdf", "image/png", "image/jpeg")
    response["Content-Disposition"] = f'{"inline" if inline else "attachment"}; filename="evidence-{ev.pk}.{ext}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store, private"
    return response


# ------------------------------------------------------------------------------------------------ actions


@require_POST
@login_required
def quality_case_open(request: HttpRequest, unit_id: int) -> HttpResponse:
    """Open a case on a screened unit (the button of the screening unit page)."""
    try:
        case = cases.case_open(actor=request.user, unit_id=unit_id, title=request.POST.get("title") or None)
    except InvalidInput as exc:
        _report(request, exc)
        back = request.POST.get("next") or ""
        return redirect(back) if back.startswith("/") and not back.startswith("//") else redirect("web:quality_cases")
    messages.success(request, _("已立案：%(number)s。") % {"number": case.number})
    return _back(case.pk)


def _act(request: HttpRequest, case_id: int, call: Any, done: str) -> HttpResponse:
    try:
        call()
    except InvalidInput as exc:
        _report(request, exc)
        return _back(case_id)
    messages.success(request, done)
    return _back(case_id)


@require_POST
@login_required
def quality_case_assign(request: HttpRequest, case_id: int) -> HttpResponse:
    case = access.case_access(actor=request.user, case_id=case_id)
    uid = _int(request.POST.get("investigator"))
    user = get_user_model().objects.filter(pk=uid).first() if uid else None
    return _act(request, case.pk, lambda: cases.case_assign(actor=request.user, case_id=case.pk, investigator=user),
                _("已指派调查人。"))


@require_POST
@login_required
def quality_case_start(request: HttpRequest, case_id: int) -> HttpResponse:
    return _act(request, case_id, lambda: cases.case_start(actor=request.user, case_id=case_id), _("已开始调查。"))


@require_POST
@login_required
def quality_case_note(request: HttpRequest, case_id: int) -> HttpResponse:
    return _act(request, case_id, lambda: cases.case_note(actor=request.user, case_id=case_id,
                                                          text=request.POST.get("text") or ""),
                _("已添加调查记录。"))


@require_POST
@login_required
def quality_case_collect(request: HttpRequest, case_id: int) -> HttpResponse:
    return _act(request, case_id, lambda: cases.evidence_collect(actor=request.user, case_id=case_id),
                _("已收集证据。"))


@require_POST
@login_required
def quality_case_upload(request: HttpRequest, case_id: int) -> HttpResponse:
    f = request.FILES.get("file")
    if f is None:
        access.case_access(actor=request.user, case_id=case_id)
        messages.error(request, _("请选择要上传的文件。"))
        return _back(case_id)
    data = f.read()
    return _act(request, case_id, lambda: cases.evidence_upload(
        actor=request.user, case_id=case_id, file_name=f.name or "", data=data,
        title=request.POST.get("title") or ""), _("已上传材料。"))


@require_POST
@login_required
def quality_case_decide(request: HttpRequest, case_id: int) -> HttpResponse:
    return _act(request, case_id, lambda: cases.case_decide(
        actor=request.user, case_id=case_id, state=request.POST.get("state") or "",
        reason=request.POST.get("reason") or ""), _("已作出决定。"))


@require_POST
@login_required
def quality_case_reopen(request: HttpRequest, case_id: int) -> HttpResponse:
    return _act(request, case_id, lambda: cases.case_reopen(actor=request.user, case_id=case_id,
                                                            reason=request.POST.get("reason") or ""),
                _("已重新调查。"))
