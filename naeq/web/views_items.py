"""Item bank pages (题库), national staff only: the bank of a cycle, upload (workbook + optional media zip),
template download, publish, QTI export, an instrument's items with a content preview and its media.

Everybody else gets 404 (missing and forbidden look the same). Pages showing item content or media, and the
export, are sent with ``Cache-Control: no-store``: item content is secret.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from naeq.core.errors import InvalidInput, NotFound, PermissionDenied
from naeq.cycles.models import Cycle
from naeq.cycles.selectors import cycle_current, cycle_get
from naeq.delivery.items import (
    instrument_export_qti,
    instrument_get,
    instrument_import,
    instrument_list,
    instrument_publish,
    may_see_bank,
    may_write_bank,
    media_load,
    online_instruments,
    workbook_write,
)
from naeq.delivery.items.excel import ITEM_HEADERS
from naeq.delivery.media import media_content_type, media_read
from naeq.delivery.models import ItemType

MAX_BYTES = 20 * 1024 * 1024
MAX_MEDIA_BYTES = 200 * 1024 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _secret(response: HttpResponse) -> HttpResponse:
    add_never_cache_headers(response)
    patch_cache_control(response, no_store=True, private=True)
    return response


def _cycle(request: HttpRequest) -> Cycle:
    raw = request.GET.get("year") or request.POST.get("year") or ""
    if raw:
        if not raw.isdigit() or len(raw) != 4:
            raise InvalidInput(_("年度必须是四位数字。"), code="bad_year")
        cycle = cycle_get(year=int(raw))
    else:
        cycle = cycle_current()
    if cycle is None:
        raise NotFound(_("没有找到该页面。"))
    return cycle


def _bank(request: HttpRequest, *, upload_error: InvalidInput | None = None, status: int = 200) -> HttpResponse:
    if not may_see_bank(request.user):
        raise NotFound(_("没有找到该页面。"))
    cycle = _cycle(request)
    rows = list(instrument_list(actor=request.user, year=cycle.year).prefetch_related("booklets"))
    configured = online_instruments(cycle)
    present = {r.code for r in rows}
    return _secret(render(request, "web/items/bank.html", {
        "cycle": cycle, "rows": rows, "may_write": may_write_bank(request.user), "upload_error": upload_error,
        "missing": [c for c in configured if c.code not in present], "max_mb": MAX_BYTES // (1024 * 1024),
        "headers": ITEM_HEADERS}, status=status))


@require_GET
@login_required
def bank(request: HttpRequest) -> HttpResponse:
    return _bank(request)


@require_POST
@login_required
def upload(request: HttpRequest) -> HttpResponse:
    if not may_see_bank(request.user):
        raise NotFound(_("没有找到该页面。"))
    if not may_write_bank(request.user):  # access before input: the analyst is refused whatever is sent
        raise PermissionDenied(_("只有国家监测中心管理员可以导入和发布题目。"))
    cycle = _cycle(request)
    workbook, media = request.FILES.get("file"), request.FILES.get("media")
    try:
        if workbook is None:
            raise InvalidInput(_("请选择题目工作簿（.xlsx）。"), code="no_file")
        if (workbook.size or 0) > MAX_BYTES:
            raise InvalidInput(_("工作簿超过 %(mb)d MB。") % {"mb": MAX_BYTES // (1024 * 1024)}, code="too_large")
        if media is not None and (media.size or 0) > MAX_MEDIA_BYTES:
            raise InvalidInput(_("媒体压缩包超过 %(mb)d MB。") % {"mb": MAX_MEDIA_BYTES // (1024 * 1024)},
                               code="too_large")
        files = media_load(data=media.read(), file_name=media.name or "media.zip") if media is not None else {}
        inst = instrument_import(actor=request.user, year=cycle.year, data=workbook.read(),
                                 file_name=workbook.name or "items.xlsx", media=files)
    except InvalidInput as exc:
        return _bank(request, upload_error=exc, status=400)
    return redirect("web:items_detail", instrument_id=inst.pk)


@require_GET
@login_required
def template(request: HttpRequest) -> HttpResponse:
    if not may_see_bank(request.user):
        raise NotFound(_("没有找到该页面。"))
    response = HttpResponse(workbook_write(), content_type=XLSX)
    response["Content-Disposition"] = 'attachment; filename="naeq-items-template.xlsx"'
    return response


@require_GET
@login_required
def detail(request: HttpRequest, instrument_id: int) -> HttpResponse:
    inst = instrument_get(actor=request.user, instrument_id=instrument_id)
    items = list(inst.items.select_related("stimulus").order_by("seq"))
    labels = dict(ItemType.choices)
    return _secret(render(request, "web/items/detail.html", {
        "inst": inst, "items": items, "stimuli": list(inst.stimuli.order_by("code")),
        "booklets": list(inst.booklets.all()), "labels": labels, "may_write": may_write_bank(request.user)}))


@require_POST
@login_required
def publish(request: HttpRequest, instrument_id: int) -> HttpResponse:
    inst = instrument_get(actor=request.user, instrument_id=instrument_id)
    instrument_publish(actor=request.user, instrument_id=inst.pk)
    return redirect("web:items_detail", instrument_id=inst.pk)


@require_GET
@login_required
def export_qti(request: HttpRequest, instrument_id: int) -> HttpResponse:
    inst = instrument_get(actor=request.user, instrument_id=instrument_id)
    data = instrument_export_qti(actor=request.user, instrument_id=inst.pk)
    response = HttpResponse(data, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{inst.code}-v{inst.version}-qti3.zip"'
    return _secret(response)


@require_GET
@login_required
def media(request: HttpRequest, instrument_id: int, name: str) -> HttpResponse:
    inst = instrument_get(actor=request.user, instrument_id=instrument_id)
    try:
        data = media_read(inst, name)
    except InvalidInput as exc:
        raise NotFound(_("没有找到该页面。")) from exc
    if data is None:
        raise NotFound(_("没有找到该页面。"))
    response = HttpResponse(data, content_type=media_content_type(name))
    response["X-Content-Type-Options"] = "nosniff"
    return _secret(response)
