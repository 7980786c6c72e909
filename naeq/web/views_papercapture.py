"""纸笔作答采集 pages (naeq.papercapture): the overview, the scan upload, a batch's review queue with its resolve
forms and the release to scoring, the keying and reconciliation pages, completion, and the downloads (templates,
card layout, answer cards, booklets).

Each view parses its input, makes one call to a selector or service of :mod:`naeq.papercapture`, and renders.
Access is decided in :mod:`naeq.papercapture.access` (missing and out-of-jurisdiction both 404; a reader writing
gets 403). Booklet PDFs carry secret item content: never cached, every download audited (by the service).
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from naeq.accounts.jurisdiction import jurisdiction_of
from naeq.core.errors import InvalidInput, NotFound
from naeq.cycles.selectors import cycle_for
from naeq.papercapture import access, selectors, services
from naeq.papercapture.importer import template_csv, template_xlsx
from naeq.papercapture.models import KeyedStatus, Resolution


def _year(request: HttpRequest) -> int | None:
    raw = (request.GET.get("year") or request.POST.get("year") or "").strip()
    return int(raw) if raw.isdigit() else None


def _file(data: bytes, name: str, content_type: str, *, secret: bool = False) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{name}"
    if secret:
        response["Cache-Control"] = "no-store, private, max-age=0"
    return response


def _report(request: HttpRequest, exc: InvalidInput) -> None:
    messages.error(request, exc.message)
    for p in exc.problems[:50]:
        messages.error(request, str(p))


@require_GET
@login_required
def paper_home(request: HttpRequest) -> HttpResponse:
    j = access.staff(request.user)
    cycle = cycle_for(_year(request))
    instruments = list(selectors.instrument_list(cycle=cycle))
    batches = list(selectors.batch_list(actor=request.user, cycle=cycle)[:50])
    waiting = list(selectors.keyed_list(actor=request.user, cycle=cycle, status=KeyedStatus.MISMATCH)[:50])
    return render(request, "web/papercapture/home.html", {
        "cycle": cycle, "instruments": instruments, "batches": batches, "waiting": waiting,
        "may_import": j.role in access.IMPORTERS, "may_read_queue": j.role in access.QUEUE_READERS,
        "may_key": j.role in access.KEYERS, "may_reconcile": j.role in access.RECONCILERS,
        "may_booklet": j.role in access.NATIONAL or j.role in access.COUNTY_PRINTERS,
        "county_code": selectors.own_county_code(actor=request.user) if j.role in access.COUNTY_PRINTERS else ""})


@require_GET
@login_required
def paper_template(request: HttpRequest, instrument_id: int, fmt: str) -> HttpResponse:
    inst = access.instrument_get(actor=request.user, instrument_id=instrument_id)
    if fmt not in {"csv", "xlsx", "json"}:
        raise NotFound(_("没有找到该页面。"))
    layout = services.layout_for(inst)
    if fmt == "json":
        return _file(json.dumps(layout.as_dict(), ensure_ascii=False, indent=2).encode(),
                     f"{inst.code}-card-layout.json", "application/json")
    if fmt == "csv":
        return _file(template_csv(layout), f"{inst.code}-scan-template.csv", "text/csv; charset=utf-8")
    return _file(template_xlsx(layout), f"{inst.code}-scan-template.xlsx",
                 "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@never_cache
@require_GET
@login_required
def paper_booklet(request: HttpRequest, instrument_id: int, number: int) -> HttpResponse:
    county = (request.GET.get("county") or "").strip() or None
    pdf, name = services.booklet_print(actor=request.user, instrument_id=instrument_id, number=number,
                                       county_code=county)
    return _file(pdf, name, "application/pdf", secret=True)


@never_cache
@require_GET
@login_required
def paper_cards(request: HttpRequest, instrument_id: int, code: str) -> HttpResponse:
    pdf, name = services.cards_print(actor=request.user, instrument_id=instrument_id, school_code=code)
    return _file(pdf, name, "application/pdf", secret=True)


@require_http_methods(["GET", "POST"])
@login_required
def paper_import(request: HttpRequest, instrument_id: int) -> HttpResponse:
    access.importer(request.user)
    inst = access.instrument_get(actor=request.user, instrument_id=instrument_id)
    error, problems, status = "", [], 200
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise InvalidInput(_("请选择要上传的扫描结果文件（.csv或.xlsx）。"), code="no_file")
            batch = services.batch_import(actor=request.user, cycle=inst.cycle, instrument=inst,
                                          name=upload.name or "scan.csv", data=upload.read())
        except InvalidInput as exc:
            error, problems, status = exc.message, exc.problems, 400
        else:
            messages.success(request, _("已导入%(n)s张答题卡。") % {"n": batch.sheets})
            return redirect("web:paper_batch", batch_id=batch.pk)
    return render(request, "web/papercapture/import.html", {"inst": inst, "error": error, "problems": problems},
                  status=status)


@require_GET
@login_required
def paper_batch(request: HttpRequest, batch_id: int) -> HttpResponse:
    q = selectors.batch_queue(actor=request.user, batch_id=batch_id)
    j = jurisdiction_of(request.user)
    labels = dict(Resolution.choices)
    rows = [(e, [(r, labels[r]) for r in services.ALLOWED[e.kind]]) for e in q.open]
    return render(request, "web/papercapture/batch.html", {
        "q": q, "rows": rows, "may_write": j.role in access.IMPORTERS and q.batch.status != "released"})


@require_POST
@login_required
def paper_resolve(request: HttpRequest, entry_id: int) -> HttpResponse:
    entry = access.entry_get(actor=request.user, entry_id=entry_id)
    try:
        services.entry_resolve(actor=request.user, entry_id=entry_id,
                               resolution=(request.POST.get("resolution") or "").strip(),
                               value=request.POST.get("value") or "")
    except InvalidInput as exc:
        _report(request, exc)
    return redirect("web:paper_batch", batch_id=entry.batch_id)


@require_POST
@login_required
def paper_confirm_missing(request: HttpRequest, batch_id: int) -> HttpResponse:
    try:
        n = services.entries_confirm_missing(actor=request.user, batch_id=batch_id)
    except InvalidInput as exc:
        _report(request, exc)
    else:
        messages.success(request, _("已确认%(n)s个缺失代码（97/99）。") % {"n": n})
    return redirect("web:paper_batch", batch_id=batch_id)


@require_POST
@login_required
def paper_score(request: HttpRequest, batch_id: int) -> HttpResponse:
    try:
        services.batch_release(actor=request.user, batch_id=batch_id)
    except InvalidInput as exc:
        _report(request, exc)
    else:
        messages.success(request, _("已评分并发布该批次。"))
    return redirect("web:paper_batch", batch_id=batch_id)


@require_http_methods(["GET", "POST"])
@login_required
def paper_key(request: HttpRequest, instrument_id: int) -> HttpResponse:
    access.keyer(request.user)
    inst = access.instrument_get(actor=request.user, instrument_id=instrument_id)
    layout = services.layout_for(inst)
    error, problems, status = "", [], 200
    values: dict[str, str] = {}
    if request.method == "POST":
        values = {k: str(request.POST.get(k) or "") for k in ["test_id", "booklet", *(
            f.item for f in layout.bubble_fields)]}
        try:
            card = services.card_key(actor=request.user, instrument=inst, test_id=values["test_id"], fields=values)
        except InvalidInput as exc:
            error, problems, status = exc.message, exc.problems, 400
        else:
            if card.status == KeyedStatus.MISMATCH:
                messages.warning(request, _("两遍录入不一致，已转交第三人核对。"))
            elif card.status == KeyedStatus.RELEASED:
                messages.success(request, _("两遍录入一致，已发布评分。"))
            else:
                messages.success(request, _("第一遍已保存，请由另一名录入员录入第二遍。"))
            return redirect("web:paper_key", instrument_id=inst.pk)
    return render(request, "web/papercapture/key.html", {
        "inst": inst, "layout": layout, "values": values, "error": error, "problems": problems}, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def paper_keyed(request: HttpRequest, keyed_id: int) -> HttpResponse:
    card = access.keyed_get(actor=request.user, keyed_id=keyed_id)
    if request.method == "POST":
        diffs = services.keyed_differences(card)
        choices = {}
        for field, _a, _b in diffs:
            picked = request.POST.get(f"pick_{field}") or ""
            if picked == "other":
                picked = request.POST.get(f"other_{field}") or ""
            if picked != "" or f"pick_{field}" in request.POST:
                choices[field] = picked
        try:
            services.card_reconcile(actor=request.user, keyed_id=keyed_id, choices=choices)
        except InvalidInput as exc:
            _report(request, exc)
        else:
            messages.success(request, _("已核对并发布评分。"))
        return redirect("web:paper_keyed", keyed_id=keyed_id)
    return render(request, "web/papercapture/keyed.html", {
        "card": card, "diffs": services.keyed_differences(card), "passes": list(card.passes.all()),
        "may_reconcile": jurisdiction_of(request.user).role in access.RECONCILERS})


@require_GET
@login_required
def paper_completion(request: HttpRequest, instrument_id: int) -> HttpResponse:
    inst = access.instrument_get(actor=request.user, instrument_id=instrument_id)
    data = selectors.completion(actor=request.user, instrument=inst,
                                county_code=(request.GET.get("county") or "").strip())
    return render(request, "web/papercapture/completion.html", {
        "d": data, "inst": inst, "may_cards": jurisdiction_of(request.user).role in access.CARD_PRINTERS})
