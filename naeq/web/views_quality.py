"""数据质量甄别 pages (naeq.quality screening): the run list with the start form (the page polls the runs' progress)
and re-run, a run's ranked counties and schools with the indicators that drove each flag in plain words and a
chart, the Excel export of the ranked lists, one county or school with every indicator, its schools or its pairs,
clusters and misfitting test takers and the button that opens a case, and one pair's answer strings side by side.

Each view parses its input, makes one call to a selector or service of :mod:`naeq.quality`, and renders. Access
is decided in :mod:`naeq.quality.access`: screening results show item keys and minors' answer strings, so national
staff only; everyone else gets the same 404 as for a run that does not exist. A province coordinator, who may be
assigned cases, is sent from the screening home to the case list (their only way into the data).
"""

from __future__ import annotations

import io
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from naeq.accounts.jurisdiction import jurisdiction_of
from naeq.accounts.roles import Role
from naeq.core.audit import audit_record
from naeq.core.errors import InvalidInput
from naeq.cycles.models import Cycle
from naeq.quality import access, charts, selectors, services
from naeq.quality.models import UnitLevel
from naeq.scaling.models import RunStatus

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Options of the start form, passed to services.clean_options as text (it names every bad one).
FORM_OPTIONS = ("alpha_pairs", "fdr", "pair_scope", "pair_report_p", "roster_days")


def _report(request: HttpRequest, exc: InvalidInput) -> None:
    messages.error(request, exc.message)
    for p in exc.problems[:50]:
        messages.error(request, str(p))


def _status(run: Any) -> dict[str, Any]:
    return {"id": run.pk, "status": run.status, "status_label": str(run.get_status_display()),
            "progress": round(run.progress, 3), "stage": run.stage, "finished": run.finished,
            "error": run.error if run.status == RunStatus.FAILED else ""}


def _level_label(level: str) -> str:
    return str(UnitLevel(level).label)


# ------------------------------------------------------------------------------------------------ runs


@require_GET
@login_required
def quality_home(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not access.may_screen(actor=user) and jurisdiction_of(user).role == Role.PROVINCE_COORDINATOR:
        return redirect("web:quality_cases")
    runs = list(selectors.run_list(actor=user)[:100])
    return render(request, "web/quality/runs.html", {
        "runs": runs, "instruments": selectors.instruments_for_screening(actor=user),
        "defaults": services.DEFAULTS, "polling": any(not r.finished for r in runs)})


@require_GET
@login_required
def quality_runs_status(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"runs": [_status(r) for r in selectors.run_statuses(actor=request.user)]})


def _form_options(post: Any) -> dict[str, Any]:
    opts: dict[str, Any] = {k: post.get(k).strip() for k in FORM_OPTIONS if (post.get(k) or "").strip()}
    opts["exact_tests"] = "true" if post.get("exact_tests") else "false"
    pe = (post.get("pe_tests") or "").strip()
    if post.get("no_pe"):
        opts["pe_tests"] = ""
    elif pe:
        opts["pe_tests"] = pe
    return opts


@require_POST
@login_required
def quality_start(request: HttpRequest) -> HttpResponse:
    raw = (request.POST.get("instrument") or "").strip()
    cycle_id, _sep, code = raw.partition(":")
    seed_raw = (request.POST.get("seed") or "").strip()
    try:
        access.require_screener(actor=request.user)  # national staff only: others 404 before any other reason
        if not cycle_id.isdigit() or not code:
            raise InvalidInput(_("请选择要甄别的测试卷。"), code="no_instrument")
        if not seed_raw.isdigit():
            raise InvalidInput(_("随机种子应为非负整数。"), code="bad_seed")
        cycle = Cycle.objects.filter(pk=int(cycle_id)).first()
        if cycle is None:
            raise InvalidInput(_("没有该监测周期。"), code="unknown_cycle")
        run = services.screening_start(actor=request.user, cycle=cycle, instrument_code=code, seed=int(seed_raw),
                                       options=_form_options(request.POST))
    except InvalidInput as exc:
        _report(request, exc)
        return redirect("web:quality_home")
    messages.success(request, _("已发起甄别 #%(id)d。") % {"id": run.pk})
    return redirect("web:quality_run", run_id=run.pk)


@require_POST
@login_required
def quality_rerun(request: HttpRequest, run_id: int) -> HttpResponse:
    try:
        run = services.screening_rerun(actor=request.user, run_id=run_id)
    except InvalidInput as exc:
        _report(request, exc)
        return redirect("web:quality_run", run_id=run_id)
    messages.success(request, _("已按相同参数与种子重新甄别：#%(id)d。") % {"id": run.pk})
    return redirect("web:quality_run", run_id=run.pk)


# ------------------------------------------------------------------------------------------------ one run


@require_GET
@login_required
def quality_run(request: HttpRequest, run_id: int) -> HttpResponse:
    raw = request.GET.get("level") or ""
    level = raw if raw in UnitLevel.values else UnitLevel.COUNTY.value
    flagged = request.GET.get("flagged") == "1"
    run, units = selectors.run_units(actor=request.user, run_id=run_id, level=level, flagged_only=flagged)
    done = run.status == RunStatus.DONE
    page = Paginator(units if done else units.none(), selectors.PAGE).get_page(request.GET.get("page"))
    points, n_units = selectors.chart_points(run, level) if done else ([], 0)
    return render(request, "web/quality/run.html", {
        "run": run, "summary": run.summary or {}, "status": _status(run), "level": level,
        # as pairs: the gather's counts include one named "items", which a template's .items would read
        "sources": sorted((k, v) for k, v in ((run.summary or {}).get("sources") or {}).items() if v),
        "level_label": _level_label(level), "flagged": flagged, "page": page,
        "rows": selectors.unit_rows(run, page.object_list), "levels": UnitLevel.choices,
        "filter_query": urlencode({"level": level, **({"flagged": "1"} if flagged else {})}),
        "chart_svg": charts.ranked_svg(points, n_units=n_units, level_label=_level_label(level)) if points else "",
        "fdr": (run.options or {}).get("fdr"), "alpha_pairs": (run.options or {}).get("alpha_pairs")})


@require_GET
@login_required
def quality_run_export(request: HttpRequest, run_id: int) -> HttpResponse:
    """The ranked counties and schools as an Excel workbook (one sheet per level; audited as an export)."""
    from openpyxl import Workbook

    run = selectors.run_get(actor=request.user, run_id=run_id)
    if run.status != RunStatus.DONE:
        messages.error(request, _("只有已完成的甄别记录可以导出（当前：%(s)s）。") % {"s": run.get_status_display()})
        return redirect("web:quality_run", run_id=run.pk)
    wb = Workbook(write_only=True)
    counts: dict[str, int] = {}
    for level in (UnitLevel.COUNTY.value, UnitLevel.SCHOOL.value):
        _run, head, rows = selectors.export_rows(actor=request.user, run_id=run.pk, level=level)
        ws = wb.create_sheet(_level_label(level))
        ws.append(head)
        n = 0
        for row in rows:
            ws.append(row)
            n += 1
        counts[level] = n
    buf = io.BytesIO()
    wb.save(buf)
    audit_record(actor=request.user, action="quality.run_export", object_type="quality.ScreeningRun",
                 object_id=run.pk, after={"format": "xlsx", "rows": counts})
    response = HttpResponse(buf.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''screening-{run.pk}.xlsx"
    return response


# ------------------------------------------------------------------------------------------------ unit, pair


@require_GET
@login_required
def quality_unit(request: HttpRequest, unit_id: int) -> HttpResponse:
    d = selectors.unit_detail(actor=request.user, unit_id=unit_id)
    return render(request, "web/quality/unit.html", {
        "d": d, "run": d.run, "unit": d.unit, "level_label": _level_label(d.unit.level),
        "can_open": d.run.status == RunStatus.DONE and d.open_case is None,
        "misfit_p": selectors.MISFIT_P, "fdr": (d.run.options or {}).get("fdr")})


@require_GET
@login_required
def quality_pair(request: HttpRequest, pair_id: int) -> HttpResponse:
    d = selectors.pair_detail(actor=request.user, pair_id=pair_id)
    return render(request, "web/quality/pair.html", {"d": d, "run": d.run, "pair": d.pair,
                                                     "alpha_pairs": (d.run.options or {}).get("alpha_pairs")})
