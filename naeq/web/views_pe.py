"""体育测试 pages (naeq.pe): completion at every level with drill-down and Excel export, the school's exam rooms,
the entry grid of a room (draft, submit, Excel template and import, whole-room missing items), review (confirm,
return), the county's audited unlock, the provincial entry window, and the derived indicators.

Each view parses its input, makes one call to a selector or service of :mod:`naeq.pe`, and renders. Access is
decided in :mod:`naeq.pe.access` (missing and out-of-jurisdiction both 404; a reader writing gets 403).
"""

from __future__ import annotations

import datetime as dt
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
from naeq.cycles.selectors import cycle_for
from naeq.pe import access, documents, selectors, services
from naeq.pe.config import FIELDS, items_config, standard
from naeq.pe.models import Attendance
from naeq.registry.models import Region, School


def _year(request: HttpRequest) -> int | None:
    raw = (request.GET.get("year") or request.POST.get("year") or "").strip()
    return int(raw) if raw.isdigit() else None


def _report(request: HttpRequest, exc: InvalidInput) -> None:
    messages.error(request, exc.message)
    for p in exc.problems[:60]:
        messages.error(request, p.reason if not p.file else str(p))


def _file(data: bytes, name: str) -> HttpResponse:
    response = HttpResponse(data, content_type=documents.XLSX)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{name}"
    return response


def _int(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if raw.isdigit() else None


@require_GET
@login_required
def pe_home(request: HttpRequest) -> HttpResponse:
    j = jurisdiction_of(request.user)
    if not j.is_staff_role:
        raise NotFound(_("没有找到该页面。"))
    if j.school_id is not None:
        code = School.objects.filter(pk=j.school_id).values_list("code", flat=True).first()
        if code is None:
            raise NotFound(_("没有找到该学校。"))
        return redirect("web:pe_school", code=code)
    if not j.is_national:
        code = Region.objects.filter(path=j.path).values_list("code", flat=True).first()
        if code is None:
            raise NotFound(_("没有找到该地区。"))
        return redirect("web:pe_region", code=code)
    data = selectors.completion(actor=request.user, cycle=cycle_for(_year(request)), region=None)
    return render(request, "web/pe/completion.html", {"c": data, "items": items_config().items})


@require_GET
@login_required
def pe_region(request: HttpRequest, code: str) -> HttpResponse:
    region = access.region_access(actor=request.user, code=code)
    data = selectors.completion(actor=request.user, cycle=cycle_for(_year(request)), region=region)
    return render(request, "web/pe/completion.html", {
        "c": data, "items": items_config().items,
        "may_set_window": region.level == "province" and access.may_set_window(actor=request.user, province=region)})


def _completion_sheet(data: selectors.Completion, title: str) -> bytes:
    items = items_config().items
    header = [_("代码"), _("名称"), _("应测人数"), _("已编考场"), _("已录入"), _("免测"), _("缺考"),
              *[_("%(item)s缺测") % {"item": i.name} for i in items], _("考场数"), _("待审核"), _("已锁定")]
    rows = [[r.code, r.name, r.expected, r.in_rooms, r.entered, r.exempt, r.absent,
             *[r.missing.get(i.code, 0) for i in items], r.rooms, r.submitted, r.confirmed]
            for r in [*data.rows, data.total]]
    return documents.completion_xlsx(title=title, header=header, rows=rows)


@require_GET
@login_required
def pe_completion_xlsx(request: HttpRequest) -> HttpResponse:
    code = (request.GET.get("region") or "").strip()
    cycle = cycle_for(_year(request))
    if code:
        region = access.region_access(actor=request.user, code=code)
        data = selectors.completion(actor=request.user, cycle=cycle, region=region)
        name = region.name
    else:
        if not jurisdiction_of(request.user).is_national:
            raise NotFound(_("没有找到该页面。"))
        data = selectors.completion(actor=request.user, cycle=cycle, region=None)
        name = _("全国")
    title = _("%(name)s %(cycle)s 体育测试完成情况") % {"name": name, "cycle": cycle.name}
    return _file(_completion_sheet(data, title), f"pe-completion-{code or 'national'}.xlsx")


@require_GET
@login_required
def pe_indicators(request: HttpRequest) -> HttpResponse:
    code = (request.GET.get("region") or "").strip()
    cycle = cycle_for(_year(request))
    region = access.region_access(actor=request.user, code=code) if code else None
    if region is None and not jurisdiction_of(request.user).is_national:
        raise NotFound(_("没有找到该页面。"))
    rows, total = selectors.indicator_rows(actor=request.user, cycle=cycle, region=region)
    std = standard()
    items = [(code_, std.item_names.get(code_, code_),
              any(t.published for (i, _g, _s), t in std.tables.items() if i == code_))
             for code_ in sorted({k[0] for k in std.tables})]
    return render(request, "web/pe/indicators.html", {
        "cycle": cycle, "region": region, "rows": rows, "total": total, "items": items, "std": std,
        "tables": sorted(std.tables.items())})


@require_GET
@login_required
def pe_school(request: HttpRequest, code: str) -> HttpResponse:
    school = access.school_access(actor=request.user, code=code)
    cycle = cycle_for(_year(request))
    data = selectors.school_completion(actor=request.user, cycle=cycle, school=school)
    manage = access.may_manage_rooms(actor=request.user, school=school)
    rooms = {str(r.pk): r for r in access.rooms_visible(actor=request.user).filter(cycle=cycle, school=school)
             .select_related("recorder", "reviewer")}
    return render(request, "web/pe/school.html", {
        "c": data, "school": school, "manage": manage, "rooms": rooms, "items": items_config().items,
        "accounts": list(access.entry_accounts(school=school)) if manage else [],
        "county_reader": jurisdiction_of(request.user).school_id is None})


@require_POST
@login_required
def pe_rooms_generate(request: HttpRequest, code: str) -> HttpResponse:
    school = access.school_access(actor=request.user, code=code)
    access.require_room_manager(actor=request.user, school=school)
    try:
        made = services.rooms_generate(actor=request.user, cycle=cycle_for(_year(request)), school=school,
                                       size=_int(request.POST.get("size")) or services.ROOM_SIZE)
    except InvalidInput as exc:
        _report(request, exc)
    else:
        messages.success(request, _("已编排%(n)s个考场。") % {"n": len(made)})
    return redirect("web:pe_school", code=school.code)


@require_POST
@login_required
def pe_room_staff(request: HttpRequest, room_id: int) -> HttpResponse:
    room = access.room_access(actor=request.user, room_id=room_id)
    access.require_room_manager(actor=request.user, school=room.school)
    try:
        services.room_update(actor=request.user, room_id=room.pk, name=request.POST.get("name"),
                             recorder_id=_int(request.POST.get("recorder")),
                             reviewer_id=_int(request.POST.get("reviewer")))
    except InvalidInput as exc:
        _report(request, exc)
    else:
        messages.success(request, _("已保存考场%(name)s。") % {"name": room.name})
    return redirect("web:pe_school", code=room.school.code)


def _grid_data(request: HttpRequest) -> dict[str, dict[str, Any]]:
    """The grid's POST: fields named ``v-<test ID>-<field>``, ``att-<test ID>``, ``reason-<test ID>``."""
    data: dict[str, dict[str, Any]] = {}
    for key, value in request.POST.items():
        if key.startswith("v-"):
            code, _sep, f = key[2:].rpartition("-")
            if f in FIELDS:
                data.setdefault(code, {})[f] = value
        elif key.startswith("att-"):
            data.setdefault(key[4:], {})["attendance"] = value
        elif key.startswith("reason-"):
            data.setdefault(key[7:], {})["exempt_reason"] = value
    return data


def _show(v: float | None, decimals: int = 1) -> str:
    """A stored value as the card shows it: blank, -1, or with the item's decimals (vision 5.0, not 5)."""
    if v is None:
        return ""
    return "-1" if v == -1 else f"{v:.{decimals}f}"


def _grid_rows(grid: selectors.RoomGrid, posted: Any) -> list[dict[str, Any]]:
    """The grid as rows of cells; after a refused save the typed values are shown again (nothing was saved)."""
    cfg = items_config()
    att = dict(Attendance.choices)
    missing_fields = {f.code for i in cfg.items if i.code in grid.room.missing_items for f in i.fields}
    rows = []
    for r in grid.records:
        code = r.test_taker.code
        errors = {f.field: f.reason for f in grid.by_code.get(code, []) if f.blocking}
        ss = r.test_taker.sampled_student
        cells = []
        for f in FIELDS:
            name = cfg.field_name(f)
            shown = _show(getattr(r, f), getattr(cfg.item_of_field(f), "decimals", 1))
            value = posted.get(f"v-{code}-{f}", shown) if posted is not None else shown
            cells.append({"field": f, "name": name, "value": value, "locked": f in missing_fields,
                          "error": errors.get(name, "")})
        rows.append({"pk": r.pk, "seq": r.seq, "code": code, "sex": ss.student.get_sex_display() if ss else "",
                     "attendance": r.attendance, "attendance_label": att.get(r.attendance, r.attendance),
                     "exempt_reason": r.exempt_reason, "upstream": r.exempt_reason.startswith(
                         (services.UPSTREAM_RECORD, services.UPSTREAM_SAMPLING)), "cells": cells,
                     "errors": bool(errors)})
    return rows


@require_http_methods(["GET", "POST"])
@login_required
def pe_room(request: HttpRequest, room_id: int) -> HttpResponse:
    room = access.room_access(actor=request.user, room_id=room_id)
    status = 200
    if request.method == "POST":
        access.require_recorder(actor=request.user, room=room)
        submit = request.POST.get("action") == "submit"
        try:
            n, findings = services.entry_save(actor=request.user, room_id=room.pk, data=_grid_data(request),
                                              submit=submit)
        except InvalidInput as exc:
            _report(request, exc)
            status = 400
        else:
            blocking = sum(f.blocking for f in findings)
            if submit:
                messages.success(request, _("已提交，等待审核员审核。"))
            elif blocking:
                messages.warning(request, _("已保存%(n)s名学生的成绩；有%(b)s处超出范围或未录入，提交前请改正。") % {
                    "n": n, "b": blocking})
            else:
                messages.success(request, _("已保存%(n)s名学生的成绩。") % {"n": n})
            return redirect("web:pe_room", room_id=room.pk)
    grid = selectors.room_grid(actor=request.user, room_id=room.pk)
    cfg = items_config()
    opens, closes, source = services.window_for(room.cycle, services.province_of(room.path))
    return render(request, "web/pe/room.html", {
        "g": grid, "room": grid.room, "items": cfg.items, "rows": _grid_rows(grid, request.POST if status == 400
                                                                              else None),
        "columns": [{"field": f, "name": cfg.field_name(f), "unit": getattr(cfg.item_of_field(f), "unit", "")}
                    for f in FIELDS],
        "missing": [(getattr(cfg.item(k), "name", k), r) for k, r in grid.room.missing_items.items()],
        "editable": access.is_recorder(actor=request.user, room=room) and room.status == "draft",
        "reviewer": access.is_reviewer(actor=request.user, room=room) and room.status == "submitted",
        "may_unlock": access.may_unlock(actor=request.user, room=room) and room.locked,
        "manage": access.may_manage_rooms(actor=request.user, school=room.school) and room.status == "draft",
        "attendance": Attendance.choices, "window": (opens, closes, source), "now": timezone.now(),
        "county_reader": jurisdiction_of(request.user).school_id is None}, status=status)


@require_POST
@login_required
def pe_room_missing(request: HttpRequest, room_id: int) -> HttpResponse:
    room = access.room_access(actor=request.user, room_id=room_id)
    access.require_recorder(actor=request.user, room=room)
    try:
        services.missing_item_set(actor=request.user, room_id=room.pk, item=request.POST.get("item") or "",
                                  reason=request.POST.get("reason") or "", clear=request.POST.get("clear") == "1")
    except InvalidInput as exc:
        _report(request, exc)
    else:
        messages.success(request, _("已更新整场缺测项目。"))
    return redirect("web:pe_room", room_id=room.pk)


@require_POST
@login_required
def pe_room_review(request: HttpRequest, room_id: int) -> HttpResponse:
    room = access.room_access(actor=request.user, room_id=room_id)
    access.require_reviewer(actor=request.user, room=room)
    try:
        if request.POST.get("action") == "return":
            services.room_return(actor=request.user, room_id=room.pk, reason=request.POST.get("reason") or "")
            messages.success(request, _("已退回录入员修改。"))
        else:
            services.room_confirm(actor=request.user, room_id=room.pk)
            messages.success(request, _("已审核确认，考场成绩已锁定。"))
    except InvalidInput as exc:
        _report(request, exc)
    return redirect("web:pe_room", room_id=room.pk)


@require_POST
@login_required
def pe_room_unlock(request: HttpRequest, room_id: int) -> HttpResponse:
    room = access.room_access(actor=request.user, room_id=room_id)
    access.require_unlocker(actor=request.user, room=room)
    try:
        services.room_unlock(actor=request.user, room_id=room.pk, reason=request.POST.get("reason") or "")
    except InvalidInput as exc:
        _report(request, exc)
    else:
        messages.success(request, _("已解锁，录入员可以更正成绩。"))
    return redirect("web:pe_room", room_id=room.pk)


@require_GET
@login_required
def pe_room_template(request: HttpRequest, room_id: int) -> HttpResponse:
    grid = selectors.room_grid(actor=request.user, room_id=room_id)
    room = grid.room
    att: dict[str, str] = {Attendance.PRESENT: _("参测"), Attendance.ABSENT: _("缺考"), Attendance.EXEMPT: _("免测")}
    rows = []
    for r in grid.records:
        ss = r.test_taker.sampled_student
        sex = ss.student.get_sex_display() if ss is not None else ""
        rows.append({"seq": r.seq, "code": r.test_taker.code, "sex": sex, "attendance": att[r.attendance],
                     "exempt_reason": r.exempt_reason, **r.values()})
    title = _("%(school)s %(room)s 体育测试成绩录入表") % {"school": room.school.name, "room": room.name}
    data = documents.room_template(title=title, room_number=room.number, rows=rows, missing_items=room.missing_items)
    return _file(data, f"pe-room-{room.school.code}-{room.number}.xlsx")


@require_POST
@login_required
def pe_room_import(request: HttpRequest, room_id: int) -> HttpResponse:
    room = access.room_access(actor=request.user, room_id=room_id)
    access.require_recorder(actor=request.user, room=room)
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise InvalidInput(_("请选择要上传的Excel文件。"), code="no_file")
        n, findings = services.entry_import(actor=request.user, room_id=room.pk, file_name=upload.name or "upload.xlsx",
                                            data=upload.read())
    except InvalidInput as exc:
        _report(request, exc)
    else:
        blocking = sum(f.blocking for f in findings)
        messages.success(request, _("已导入%(n)s名学生的成绩。") % {"n": n})
        if blocking:
            messages.warning(request, _("有%(b)s处超出范围或未录入，提交前请改正。") % {"b": blocking})
    return redirect("web:pe_room", room_id=room.pk)


@require_POST
@login_required
def pe_record_move(request: HttpRequest, record_id: int) -> HttpResponse:
    try:
        rec = services.record_move(actor=request.user, record_id=record_id,
                                   room_id=_int(request.POST.get("room")) or 0)
    except InvalidInput as exc:
        _report(request, exc)
        back = _int(request.POST.get("back"))
        if back:
            return redirect("web:pe_room", room_id=back)
        raise
    messages.success(request, _("已调整考场。"))
    return redirect("web:pe_room", room_id=rec.room_id)


def _parse_dt(raw: str | None, label: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat((raw or "").strip())
    except ValueError:
        raise InvalidInput(_("%(label)s格式应为 YYYY-MM-DD HH:MM。") % {"label": label},
                           code="invalid_datetime") from None
    return timezone.make_aware(value) if timezone.is_naive(value) else value


@require_http_methods(["GET", "POST"])
@login_required
def pe_window(request: HttpRequest, code: str) -> HttpResponse:
    province = access.region_access(actor=request.user, code=code)
    if province.level != "province":
        raise NotFound(_("没有找到该地区。"))
    cycle = cycle_for(_year(request))
    if request.method == "POST":
        access.require_window_setter(actor=request.user, province=province)
        try:
            services.window_set(actor=request.user, cycle=cycle, province=province,
                                opens_at=_parse_dt(request.POST.get("opens_at"), _("录入开始时间")),
                                closes_at=_parse_dt(request.POST.get("closes_at"), _("录入截止时间")))
        except InvalidInput as exc:
            _report(request, exc)
        else:
            messages.success(request, _("已设置本省体育测试成绩录入时间。"))
        return redirect("web:pe_window", code=province.code)
    opens, closes, source = services.window_for(cycle, province)
    return render(request, "web/pe/window.html", {
        "province": province, "cycle": cycle, "opens": opens, "closes": closes, "source": source,
        "editable": access.may_set_window(actor=request.user, province=province),
        "test_day": services.pe_test_day(cycle)})
