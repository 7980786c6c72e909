"""量尺校准 pages (naeq.scaling): the run list with the start form (the page polls the runs' progress), a run's
results (item parameters with SEs, fit and DIF flags, test information and score distributions by booklet as
charts, person estimate summary), the person estimates a page at a time, the downloads, and re-running a run.

Each view parses its input, makes one call to a selector or service of :mod:`naeq.scaling`, and renders. Access
is decided in :mod:`naeq.scaling.access`: national staff only; everyone else gets the same 404 as for a run that
does not exist.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from naeq.core.errors import InvalidInput, NotFound
from naeq.cycles.models import Cycle
from naeq.scaling import charts, exports, outputs, selectors, services
from naeq.scaling.models import RunStatus
from naeq.scaling.options import DEFAULTS


def _report(request: HttpRequest, exc: InvalidInput) -> None:
    messages.error(request, exc.message)
    for p in exc.problems[:50]:
        messages.error(request, str(p))


def _status(run: Any) -> dict[str, Any]:
    return {"id": run.pk, "status": run.status, "status_label": str(run.get_status_display()),
            "progress": round(run.progress, 3), "stage": run.stage, "finished": run.finished,
            "error": run.error if run.status == RunStatus.FAILED else ""}


@require_GET
@login_required
def scaling_runs(request: HttpRequest) -> HttpResponse:
    instruments = selectors.instruments_for_calibration(actor=request.user)
    runs = list(selectors.run_list(actor=request.user)[:100])
    return render(request, "web/scaling/runs.html", {
        "runs": runs, "instruments": instruments, "defaults": DEFAULTS,
        "polling": any(not r.finished for r in runs)})


@require_GET
@login_required
def scaling_runs_status(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"runs": [_status(r) for r in selectors.run_statuses(actor=request.user)]})


def _form_options(post: Any) -> dict[str, Any]:
    opts: dict[str, Any] = {"model": post.get("model") or None, "poly_model": post.get("poly_model") or None,
                            "n_quad": post.get("n_quad") or None, "n_pv": post.get("n_pv") or None,
                            "cuts": post.get("cuts") or "", "dif": post.getlist("dif"),
                            "group_by": "grade" if post.get("group_by") == "grade" else "",
                            "prior_a": post.get("prior_a") or None, "prior_b": post.get("prior_b") or None}
    if post.get("prior_c") is not None:
        opts["prior_c"] = post.get("prior_c") or None
    return opts


@require_POST
@login_required
def scaling_start(request: HttpRequest) -> HttpResponse:
    raw = (request.POST.get("instrument") or "").strip()
    cycle_id, _sep, code = raw.partition(":")
    seed_raw = (request.POST.get("seed") or "").strip()
    try:
        selectors.instruments_for_calibration(actor=request.user)  # national staff only: others 404 first
        if not cycle_id.isdigit() or not code:
            raise InvalidInput(_("请选择要校准的监测工具。"), code="no_instrument")
        if not seed_raw.isdigit():
            raise InvalidInput(_("随机种子应为非负整数。"), code="bad_seed")
        cycle = Cycle.objects.filter(pk=int(cycle_id)).first()
        if cycle is None:
            raise InvalidInput(_("没有该监测周期。"), code="unknown_cycle")
        run = services.calibration_start(actor=request.user, cycle=cycle, instrument_code=code, seed=int(seed_raw),
                                         options=_form_options(request.POST))
    except InvalidInput as exc:
        _report(request, exc)
        return redirect("web:scaling_runs")
    messages.success(request, _("已发起校准 #%(id)d。") % {"id": run.pk})
    return redirect("web:scaling_run", run_id=run.pk)


@require_POST
@login_required
def scaling_rerun(request: HttpRequest, run_id: int) -> HttpResponse:
    try:
        run = services.calibration_rerun(actor=request.user, run_id=run_id)
    except InvalidInput as exc:
        _report(request, exc)
        return redirect("web:scaling_run", run_id=run_id)
    messages.success(request, _("已按相同数据、参数与种子重新校准：#%(id)d。") % {"id": run.pk})
    return redirect("web:scaling_run", run_id=run.pk)


@require_GET
@login_required
def scaling_run(request: HttpRequest, run_id: int) -> HttpResponse:
    run, items = selectors.run_items(actor=request.user, run_id=run_id)
    rows = list(items) if run.status == RunStatus.DONE else []
    dif_vars = sorted({v for r in rows for v in r.dif})
    summary = run.summary or {}
    return render(request, "web/scaling/run.html", {
        "run": run, "items": rows, "dif_vars": dif_vars, "summary": summary,
        "kmax": max((r.n_categories for r in rows), default=2) - 1,
        "info_svg": charts.test_information_svg(summary) if rows else "",
        "booklet_svg": charts.booklet_scores_svg(summary) if rows else "",
        "status": _status(run)})


@require_GET
@login_required
def scaling_run_status(request: HttpRequest, run_id: int) -> JsonResponse:
    return JsonResponse(_status(selectors.run_get(actor=request.user, run_id=run_id)))


@require_GET
@login_required
def scaling_persons(request: HttpRequest, run_id: int) -> HttpResponse:
    after_raw = (request.GET.get("after") or "0").strip()
    after = int(after_raw) if after_raw.isdigit() else 0
    run, rows, nxt = selectors.run_persons_page(actor=request.user, run_id=run_id, after=after)
    return render(request, "web/scaling/persons.html", {"run": run, "rows": rows, "next": nxt, "after": after})


def _attachment(response: HttpResponse | StreamingHttpResponse, name: str) -> Any:
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{name}"
    return response


@require_GET
@login_required
def scaling_items_download(request: HttpRequest, run_id: int, fmt: str) -> HttpResponse:
    run, items = selectors.run_items(actor=request.user, run_id=run_id)
    if fmt not in ("csv", "xlsx"):
        raise NotFound(_("没有找到该页面。"))
    head, body = exports.item_table(items)
    name = f"calibration-{run.pk}-items.{fmt}"
    if fmt == "csv":
        return _attachment(HttpResponse(outputs.csv_text(head, body), content_type="text/csv; charset=utf-8"), name)
    return _attachment(HttpResponse(exports.item_xlsx(head, body), content_type=(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")), name)


@require_GET
@login_required
def scaling_persons_download(request: HttpRequest, run_id: int) -> StreamingHttpResponse:
    """Person estimates as CSV, streamed; test takers by test ID only (pseudonymised)."""
    run, rows = selectors.run_persons_stream(actor=request.user, run_id=run_id)
    return _attachment(StreamingHttpResponse(exports.person_lines(run, rows), content_type="text/csv; charset=utf-8"),
                       f"calibration-{run.pk}-persons.csv")
