"""主观题评分 pages (naeq.marking): the organiser's overview and settings, rubric pages and import, collecting
online responses and importing scanned paper responses, assignment runs, the rater's queue (one response at a
time), agreement and drift statistics, the arbitration queue, rater suspension and the final-score export.

Each view parses its input, makes one call to a selector or service of :mod:`naeq.marking`, and renders. Access is
decided in :mod:`naeq.marking.access` (missing and forbidden both 404; a reader writing gets 403).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from naeq.core.errors import InvalidInput
from naeq.marking import access, images, recordings, selectors, services
from naeq.marking.models import AdjacentRule, MarkingSettings
from naeq.marking.workbook import rubric_template
from naeq.registry.models import Region
from naeq.sampling.selectors import cycle_for
from naeq.scaling import selectors as scaling_selectors


def _cycle(request: HttpRequest) -> Any:
    raw = (request.GET.get("year") or request.POST.get("year") or "").strip()
    return cycle_for(int(raw) if raw.isdigit() else None)


def _report(request: HttpRequest, exc: InvalidInput) -> None:
    messages.error(request, exc.message)
    for p in exc.problems[:50]:
        messages.error(request, str(p))


def _item(request: HttpRequest) -> tuple[str, str]:
    raw = (request.POST.get("item") or "").strip()
    inst, _sep, item = raw.partition("/")
    return inst, item


@require_GET
@login_required
def marking_home(request: HttpRequest) -> HttpResponse:
    if access.rater_profile(request.user) is not None:
        return redirect("web:marking_queue")
    cycle = _cycle(request)
    rows = selectors.item_overview(actor=request.user, cycle=cycle)
    return render(request, "web/marking/home.html", {
        "cycle": cycle, "rows": rows, "organiser": access.is_organiser(request.user),
        "settings": services.settings_for(cycle)})


@require_http_methods(["GET", "POST"])
@login_required
def marking_settings(request: HttpRequest) -> HttpResponse:
    access.require_reader(actor=request.user)
    cycle = _cycle(request)
    if request.method == "POST":
        values = {f: request.POST.get(f, "") for f in services.SETTING_FIELDS if f in request.POST}
        try:
            services.settings_update(actor=request.user, cycle=cycle, **values)
        except InvalidInput as exc:
            _report(request, exc)
        else:
            messages.success(request, _("评分设置已保存。"))
        return redirect("web:marking_settings")
    cfg = services.settings_for(cycle)
    fields = [(f, getattr(MarkingSettings._meta.get_field(f), "verbose_name", f), getattr(cfg, f))
              for f in services.SETTING_FIELDS if f != "adjacent_rule"]
    return render(request, "web/marking/settings.html", {
        "cycle": cycle, "cfg": cfg, "fields": fields, "rules": AdjacentRule.choices,
        "organiser": access.is_organiser(request.user)})


@require_GET
@login_required
def marking_rubric_template(request: HttpRequest) -> HttpResponse:
    access.require_reader(actor=request.user)
    cycle = _cycle(request)
    items = [(i, q, round(it.max_score), it.stem) for (i, q), it in services.rater_scored_items(cycle).items()]
    response = HttpResponse(rubric_template(items), content_type=(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
    response["Content-Disposition"] = "attachment; filename*=UTF-8''rubric-template.xlsx"
    return response


@require_http_methods(["GET", "POST"])
@login_required
def marking_rubric_import(request: HttpRequest) -> HttpResponse:
    access.require_reader(actor=request.user)
    cycle = _cycle(request)
    context: dict[str, Any] = {"cycle": cycle}
    if request.method == "POST":
        access.require_organiser(actor=request.user)
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise InvalidInput(_("请选择要上传的Excel文件。"), code="no_file")
            result = services.rubric_import(actor=request.user, cycle=cycle, data=upload.read(),
                                            filename=upload.name or "rubric.xlsx")
        except InvalidInput as exc:
            context.update(error=exc.message, problems=exc.problems)
        else:
            messages.success(request, _("已导入%(n)s道题的评分标准、%(c)s份检测卷。") % {
                "n": len(result.rubrics), "c": result.checks})
            return redirect("web:marking_home")
    return render(request, "web/marking/rubric_import.html", context, status=400 if "error" in context else 200)


@require_http_methods(["GET", "POST"])
@login_required
def marking_rubric(request: HttpRequest, rubric_id: int) -> HttpResponse:
    rubric = selectors.rubric_detail(actor=request.user, rubric_id=rubric_id)
    if request.method == "POST":
        access.require_organiser(actor=request.user)
        points = {s: request.POST.get(f"point_{s}", "") for s in range(rubric.max_score + 1)}
        anchors = [{"code": a.code, "text": a.text, "score": a.score, "note": a.note} for a in rubric.anchors.all()]
        try:
            new = services.rubric_save(actor=request.user, cycle=rubric.cycle, instrument_code=rubric.instrument_code,
                                       item_code=rubric.item_code, points=points, anchors=anchors, source="web")
        except InvalidInput as exc:
            _report(request, exc)
            return redirect("web:marking_rubric", rubric_id=rubric.pk)
        messages.success(request, _("已保存评分标准第%(v)s版。") % {"v": new.version})
        return redirect("web:marking_rubric", rubric_id=new.pk)
    return render(request, "web/marking/rubric.html", {
        "rubric": rubric, "organiser": access.is_organiser(request.user)})


@require_POST
@login_required
def marking_collect(request: HttpRequest) -> HttpResponse:
    access.require_organiser(actor=request.user)
    try:
        c = services.responses_collect(actor=request.user, cycle=_cycle(request))
    except InvalidInput as exc:
        _report(request, exc)
    else:
        messages.success(request, _("新增待评%(n)s份，未作答记0分%(o)s份。") % {"n": c.created, "o": c.omitted})
    return redirect("web:marking_home")


@require_http_methods(["GET", "POST"])
@login_required
def marking_paper_import(request: HttpRequest) -> HttpResponse:
    access.require_reader(actor=request.user)
    cycle = _cycle(request)
    context: dict[str, Any] = {"cycle": cycle}
    if request.method == "POST":
        access.require_organiser(actor=request.user)
        manifest, archive = request.FILES.get("manifest"), request.FILES.get("images")
        try:
            if manifest is None or archive is None:
                raise InvalidInput(_("请选择扫描清单和图像压缩包。"), code="no_file")
            n = services.paper_import(actor=request.user, cycle=cycle, manifest=manifest.read(),
                                      manifest_name=manifest.name or "manifest.csv", archive=archive.read(),
                                      archive_name=archive.name or "images.zip")
        except InvalidInput as exc:
            context.update(error=exc.message, problems=exc.problems)
        else:
            messages.success(request, _("已导入扫描答卷%(n)s份。") % {"n": n})
            return redirect("web:marking_home")
    return render(request, "web/marking/paper_import.html", context, status=400 if "error" in context else 200)


@require_POST
@login_required
def marking_assign(request: HttpRequest) -> HttpResponse:
    access.require_organiser(actor=request.user)
    inst, item = _item(request)
    raw_seed = (request.POST.get("seed") or "").strip()
    try:
        if not raw_seed.lstrip("-").isdigit():
            raise InvalidInput(_("随机种子应为整数。"), code="bad_seed")
        run = services.assign(actor=request.user, cycle=_cycle(request), instrument_code=inst, item_code=item,
                              seed=int(raw_seed))
    except InvalidInput as exc:
        _report(request, exc)
    else:
        messages.success(request, _("已分配%(n)s份答卷，共%(a)s项评分任务（随机种子%(s)s）。") % {
            "n": run.responses, "a": run.assignments, "s": run.seed})
    return redirect("web:marking_home")


@require_GET
@login_required
def marking_queue(request: HttpRequest) -> HttpResponse:
    view = selectors.queue_next(actor=request.user)
    return render(request, "web/marking/queue.html", {"q": view, "r": view.assignment.response if view.assignment
                                                       else None,
                                                       "scores": range(view.assignment.response.max_score + 1)
                                                       if view.assignment else []})


@require_POST
@login_required
def marking_assignment(request: HttpRequest, assignment_id: int) -> HttpResponse:
    access.assignment_access(actor=request.user, assignment_id=assignment_id)
    action = request.POST.get("action") or "score"
    try:
        if action == "skip":
            services.assignment_skip(actor=request.user, assignment_id=assignment_id)
        elif action == "flag":
            services.assignment_flag(actor=request.user, assignment_id=assignment_id,
                                     note=request.POST.get("note") or "")
            messages.success(request, _("已提交组长处理。"))
        else:
            raw = (request.POST.get("score") or "").strip()
            if not raw.isdigit():
                raise InvalidInput(_("请选择分数。"), code="bad_score")
            services.score_submit(actor=request.user, assignment_id=assignment_id, score=int(raw))
    except InvalidInput as exc:
        _report(request, exc)
    return redirect("web:marking_queue")


@require_GET
@login_required
def marking_image(request: HttpRequest, code: str) -> HttpResponse:
    r = access.response_image_access(actor=request.user, code=code)
    data = images.image_read(r.cycle_id, r.image)
    if data is None:
        return HttpResponse(status=404)
    response = HttpResponse(data, content_type=images.image_content_type(r.image))
    response["Cache-Control"] = "no-store, private"
    return response


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@require_GET
@login_required
def marking_audio(request: HttpRequest, code: str) -> HttpResponse:
    """The recording of a response, for the rater who has it in their queue (or an arbiter during arbitration):
    named by the response code only, never cached, one byte range at a time for the player's seeking."""
    r, data = recordings.recording_for_rater(actor=request.user, code=code)
    mime = r.recording.mime if r.recording is not None else ""
    content_type = mime.split(";")[0].strip() if mime.startswith("audio/") else "audio/webm"
    status, body, start, end = 200, data, 0, len(data) - 1
    m = _RANGE.match(request.headers.get("Range", "").strip())
    if m and (m.group(1) or m.group(2)):
        size = len(data)
        if m.group(1):
            start, end = int(m.group(1)), int(m.group(2) or size - 1)
        else:
            start, end = max(size - int(m.group(2)), 0), size - 1
        end = min(end, size - 1)
        if start > end:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            response["Cache-Control"] = "no-store, private"
            return response
        status, body = 206, data[start:end + 1]
    response = HttpResponse(body, content_type=content_type, status=status)
    if status == 206:
        response["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "no-store, private"
    ext = {"audio/wav": "wav", "audio/ogg": "ogg"}.get(content_type, "webm")
    response["Content-Disposition"] = f'inline; filename="{r.code}.{ext}"'
    return response


@require_POST
@login_required
def marking_collect_recordings(request: HttpRequest) -> HttpResponse:
    access.require_organiser(actor=request.user)
    try:
        c = recordings.recordings_collect(actor=request.user, cycle=_cycle(request))
    except InvalidInput as exc:
        _report(request, exc)
    else:
        messages.success(request, _("新增待评录音%(n)s份，仍在上传%(p)s份。") % {"n": c.created, "p": c.pending})
    return redirect("web:marking_home")


@require_http_methods(["GET", "POST"])
@login_required
def marking_raters(request: HttpRequest) -> HttpResponse:
    access.require_reader(actor=request.user)
    cycle = _cycle(request)
    if request.method == "POST":
        access.require_organiser(actor=request.user)
        p = request.POST
        try:
            region = Region.objects.filter(code=(p.get("province") or "").strip(), level="province").first()
            if region is None:
                raise InvalidInput(_("请选择评分员所在的省。"), code="bad_province")
            items = [tuple(v.split("/", 1)) for v in p.getlist("items") if "/" in v]
            user = services.rater_add(actor=request.user, cycle=cycle, username=(p.get("username") or "").strip(),
                                      password=p.get("password") or None, region=region,
                                      display_name=(p.get("display_name") or "").strip(),
                                      items=[(i, q) for i, q in items], senior=p.get("senior") == "1")
        except InvalidInput as exc:
            _report(request, exc)
        else:
            messages.success(request, _("已创建评分员%(u)s。") % {"u": user.username})
        return redirect("web:marking_raters")
    return render(request, "web/marking/raters.html", {
        "cycle": cycle, "rows": selectors.rater_list(actor=request.user, cycle=cycle),
        "organiser": access.is_organiser(request.user),
        "provinces": Region.objects.filter(level="province").order_by("code"),
        "items": [f"{i}/{q}" for i, q in services.rater_scored_items(cycle)]})


@require_GET
@login_required
def marking_agreement(request: HttpRequest) -> HttpResponse:
    cycle = _cycle(request)
    return render(request, "web/marking/agreement.html", {
        "cycle": cycle, "items": selectors.agreement_by_item(actor=request.user, cycle=cycle),
        "raters": selectors.agreement_by_rater(actor=request.user, cycle=cycle),
        "severity": selectors.rater_severity(actor=request.user, cycle=cycle),
        "facets": scaling_selectors.latest_rater_effects(actor=request.user, cycle=cycle),
        "cfg": services.settings_for(cycle)})


@require_GET
@login_required
def marking_drift(request: HttpRequest) -> HttpResponse:
    cycle = _cycle(request)
    return render(request, "web/marking/drift.html", {
        "cycle": cycle, "rows": selectors.drift(actor=request.user, cycle=cycle),
        "cfg": services.settings_for(cycle), "organiser": access.is_organiser(request.user)})


@require_POST
@login_required
def marking_rater_suspend(request: HttpRequest, rater_id: int) -> HttpResponse:
    access.require_organiser(actor=request.user)
    try:
        if request.POST.get("action") == "reinstate":
            services.rater_reinstate(actor=request.user, rater_id=rater_id)
            messages.success(request, _("已恢复该评分员。"))
        else:
            n = services.rater_suspend(actor=request.user, rater_id=rater_id, reason=request.POST.get("reason") or "")
            messages.success(request, _("已暂停该评分员，收回未完成任务%(n)s项。") % {"n": n})
    except InvalidInput as exc:
        _report(request, exc)
    return redirect("web:marking_drift")


@require_GET
@login_required
def marking_arbitration(request: HttpRequest) -> HttpResponse:
    cycle = _cycle(request)
    queue = selectors.arbitration_queue(actor=request.user, cycle=cycle)
    flagged = selectors.flagged_list(actor=request.user, cycle=cycle)
    rubrics = {}
    for arb in queue:
        key = (arb.response.instrument_code, arb.response.item_code)
        if key not in rubrics:
            rubrics[key] = selectors.rubric_for(arb.response)
    rows = [(arb, rubrics[(arb.response.instrument_code, arb.response.item_code)],
             range(arb.response.max_score + 1)) for arb in queue]
    return render(request, "web/marking/arbitration.html", {"cycle": cycle, "rows": rows, "flagged": flagged})


@require_POST
@login_required
def marking_arbitrate(request: HttpRequest, arbitration_id: int) -> HttpResponse:
    access.arbitration_access(actor=request.user, arbitration_id=arbitration_id)
    raw = (request.POST.get("score") or "").strip()
    try:
        if not raw.isdigit():
            raise InvalidInput(_("请选择仲裁分。"), code="bad_score")
        r = services.arbitrate(actor=request.user, arbitration_id=arbitration_id, score=int(raw),
                               note=request.POST.get("note") or "")
    except InvalidInput as exc:
        _report(request, exc)
    else:
        messages.success(request, _("答卷%(c)s已定分：%(s)s分。") % {"c": r.code, "s": r.final_score})
    return redirect("web:marking_arbitration")


@require_POST
@login_required
def marking_flag_return(request: HttpRequest, assignment_id: int) -> HttpResponse:
    services.flag_return(actor=request.user, assignment_id=assignment_id)
    messages.success(request, _("已退回评分员继续评分。"))
    return redirect("web:marking_arbitration")


class _Echo:
    def write(self, value: str) -> str:
        return value


@require_GET
@login_required
def marking_export(request: HttpRequest) -> StreamingHttpResponse:
    rows = selectors.export_rows(actor=request.user, cycle=_cycle(request),
                                 instrument_code=(request.GET.get("instrument") or None))
    first = next(rows)  # runs the access check before the response starts
    writer = csv.writer(_Echo())

    def stream() -> Iterator[str]:
        yield "\ufeff" + writer.writerow(first)
        for row in rows:
            yield writer.writerow(row)

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = "attachment; filename*=UTF-8''marking-scores.csv"
    return response

