"""估计结果 pages (naeq.analysis): the estimation runs with the start form (the page polls the runs' progress), one
run's national, provincial and county tables (mean with SE, level shares, 校际差异率, comparisons marked ▲▼ when
significant, suppressed numbers shown as — with a footnote), and the balanced-county evaluation.

Each view parses its input, makes one call to a selector or service of :mod:`naeq.analysis`, and renders. Access
is decided in :mod:`naeq.analysis.access`: national staff see everything and start runs, a province coordinator
its province and counties, a county liaison its county; everyone else the same 404 as for a page that does not
exist. No school-level number exists to show.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from naeq.analysis import access, balanced, services
from naeq.analysis.models import RunStatus, UnitLevel
from naeq.core.errors import InvalidInput
from naeq.cycles.models import Cycle
from naeq.registry.models import Region
from naeq.scaling.models import CalibrationRun

PAGE = 50
COLUMNS = (("mean", ""), ("sd", ""), ("at_or_above", "II"), ("at_or_above", "III"), ("at_or_above", "IV"),
           ("diff_rate", ""), ("difference", "vs_province"), ("difference", "vs_nation"), ("difference", "F-M"),
           ("difference", "urban-rural"), ("difference", "migrant-nonmigrant"), ("difference", "disadvantaged-other"),
           ("difference", "trend"))


def _report(request: HttpRequest, exc: InvalidInput) -> None:
    messages.error(request, exc.message)
    for p in exc.problems[:50]:
        messages.error(request, str(p))


def _status(run: Any) -> dict[str, Any]:
    return {"id": run.pk, "status": run.status, "status_label": str(run.get_status_display()),
            "progress": round(run.progress, 3), "stage": run.stage, "finished": run.finished,
            "error": run.error if run.status == RunStatus.FAILED else ""}


def _subjects() -> list[tuple[int, int, str]]:
    """(cycle id, year, instrument code) of the subjects with a finished calibration run."""
    done = CalibrationRun.objects.filter(status=RunStatus.DONE).values_list(
        "cycle_id", "cycle__year", "instrument_code").distinct()
    return sorted(set(done), key=lambda t: (-t[1], t[2]))


@require_GET
@login_required
def analysis_home(request: HttpRequest) -> HttpResponse:
    access.require_reader(actor=request.user)
    runs = list(access.runs_visible(actor=request.user).select_related("cycle", "created_by")
                .order_by("-created_at", "-id")[:100])
    estimator = access.may_estimate(actor=request.user)
    return render(request, "web/analysis/runs.html", {
        "runs": runs, "subjects": _subjects() if estimator else [], "estimator": estimator,
        "defaults": services.DEFAULTS, "polling": any(not r.finished for r in runs)})


@require_GET
@login_required
def analysis_runs_status(request: HttpRequest) -> JsonResponse:
    access.require_reader(actor=request.user)
    runs = access.runs_visible(actor=request.user).order_by("-created_at", "-id")[:100]
    return JsonResponse({"runs": [_status(r) for r in runs]})


def _float_or_none(raw: str, name: str) -> float | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise InvalidInput(_("“%(name)s”应为数字。") % {"name": name}, code="bad_number") from None


@require_POST
@login_required
def analysis_start(request: HttpRequest) -> HttpResponse:
    raw = (request.POST.get("subject") or "").strip()
    cycle_id, _sep, code = raw.partition(":")
    try:
        access.require_estimator(actor=request.user)  # national staff only: others 404 before any other reason
        if not cycle_id.isdigit() or not code:
            raise InvalidInput(_("请选择要估计的学科。"), code="no_subject")
        cycle = Cycle.objects.filter(pk=int(cycle_id)).first()
        if cycle is None:
            raise InvalidInput(_("没有该监测周期。"), code="unknown_cycle")
        opts: dict[str, Any] = {}
        for name in ("min_n", "min_schools"):
            v = _float_or_none(request.POST.get(name, ""), name)
            if v is not None:
                opts[name] = int(v) if v == int(v) else v
        for name in ("max_cv", "link_error"):
            v = _float_or_none(request.POST.get(name, ""), name)
            if v is not None:
                opts[name] = v
        prev_raw = (request.POST.get("previous_run") or "").strip()
        prev = int(prev_raw) if prev_raw.isdigit() else None
        run = services.estimation_start(actor=request.user, cycle=cycle, instrument_code=code, previous_run=prev,
                                        options=opts)
    except InvalidInput as exc:
        _report(request, exc)
        return redirect("web:analysis_home")
    messages.success(request, _("已发起估计 #%(id)d。") % {"id": run.pk})
    return redirect("web:analysis_run", run_id=run.pk)


#: Decimals of each column: scores with one, shares and the rate with three.
DIGITS = (1, 1, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1)


def _cell(e: Any, k: int) -> dict[str, Any]:
    """What a table cell shows: '' for no estimate, '—' for a suppressed one, else value (SE) and ▲▼."""
    if e is None:
        return {"text": "", "se": "", "mark": "", "cls": ""}
    if e.suppressed or e.value is None:
        return {"text": "—", "se": "", "mark": "", "cls": "supp"}
    d = DIGITS[k]
    mark = {1: "▲", -1: "▼"}.get(e.sign or 0, "") if e.statistic == "difference" else ""
    return {"text": f"{e.value:.{d}f}", "se": "" if e.se is None or COLUMNS[k][0] == "sd" else f"({e.se:.{d}f})",
            "mark": mark, "cls": {"▲": "sig-up", "▼": "sig-down"}.get(mark, "")}


def _table(qs: Any, level: str) -> list[dict[str, Any]]:
    """One row per unit: its label, n and the cells of :data:`COLUMNS` (the Estimate or None)."""
    by: dict[str, dict[tuple[str, str], Any]] = {}
    for e in qs.filter(level=level, group_var=""):
        if (e.statistic, e.key) in COLUMNS:
            by.setdefault(e.path, {})[(e.statistic, e.key)] = e
    names = dict(Region.objects.filter(path__in=list(by)).values_list("path", "name"))
    codes = dict(Region.objects.filter(path__in=list(by)).values_list("path", "code"))
    rows = []
    for path in sorted(by):
        cells = by[path]
        mean = cells.get(("mean", ""))
        rows.append({"path": path, "name": names.get(path, _("全国") if level == UnitLevel.NATION else path),
                     "code": codes.get(path, ""), "n": mean.n if mean else 0,
                     "n_schools": mean.n_schools if mean else 0,
                     "cells": [_cell(cells.get(c), k) for k, c in enumerate(COLUMNS)]})
    return rows


@require_GET
@login_required
def analysis_run(request: HttpRequest, run_id: int) -> HttpResponse:
    run = access.run_access(actor=request.user, run_id=run_id)
    qs = access.estimates_visible(actor=request.user, run=run)
    done = run.status == RunStatus.DONE
    counties = _table(qs, UnitLevel.COUNTY) if done else []
    page = Paginator(counties, PAGE).get_page(request.GET.get("page"))
    tables = {"nation": _table(qs, UnitLevel.NATION) if done else [],
              "province": _table(qs, UnitLevel.PROVINCE) if done else []}
    any_suppressed = done and qs.filter(suppressed=True, group_var="").exists()
    return render(request, "web/analysis/run.html", {
        "run": run, "done": done, "tables": tables, "page": page, "any_suppressed": any_suppressed,
        "estimator": access.may_estimate(actor=request.user), "columns": COLUMNS})


@require_POST
@login_required
def analysis_rerun(request: HttpRequest, run_id: int) -> HttpResponse:
    try:
        run = services.estimation_rerun(actor=request.user, run_id=run_id)
    except InvalidInput as exc:
        _report(request, exc)
        return redirect("web:analysis_run", run_id=run_id)
    messages.success(request, _("已按相同参数重新估计：#%(id)d。") % {"id": run.pk})
    return redirect("web:analysis_run", run_id=run.pk)


@require_GET
@login_required
def analysis_balanced(request: HttpRequest) -> HttpResponse:
    access.require_reader(actor=request.user)
    cycles = list(Cycle.objects.order_by("-year"))
    raw = request.GET.get("cycle") or ""
    cycle = next((c for c in cycles if str(c.year) == raw), None) or next(
        (c for c in cycles if getattr(c, "is_current", False)), cycles[0] if cycles else None)
    results = list(balanced.results_visible(actor=request.user, cycle=cycle)) if cycle else []
    subjects = sorted({code for r in results for code in r.evidence.get("subjects", {})})
    rows = [{"r": r, "subjects": [r.evidence.get("subjects", {}).get(s) for s in subjects]} for r in results]
    return render(request, "web/analysis/balanced.html", {
        "cycle": cycle, "cycles": cycles, "rows": rows, "subjects": subjects,
        "rule": results[0].rule if results else balanced.DEFAULT_RULE})
