"""The performance-task pages for proctors — 耳机与录音 (headset checks and complete recordings of a session) and
the singing/oral room (演唱与口语测试室: groups called in turn, each student's recordings, 再录一次) — and the APIs of
the test client (see docs/performance.md): a play starting, the headset check,
the client's state after a reload, and the chunked, resumable, checksum-verified upload of a recording.

Like the answer API they take the attempt token header (so no CSRF cookie dance, and a cross-site form cannot
call them); unlike it they also require the signed-in test taker's Django session — these are few requests per
student, not the hot path. A missing and a forbidden attempt or recording are the same 404. Every response is
``no-store``; an error is ``{"error": code, "message": Chinese text, ...details}``.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from naeq.core.errors import ApplicationError, InvalidInput, NotFound
from naeq.delivery.access import may_run, session_access
from naeq.delivery.models import Attempt
from naeq.performance import services
from naeq.performance.access import taker_attempt
from naeq.performance.selectors import (
    MAX_GROUP,
    MIN_GROUP,
    attempt_state,
    recording_payload,
    room_view,
    session_headsets,
)

MAX_JSON_BYTES = 4096


def _json(data: dict[str, Any], status: int = 200) -> HttpResponse:
    resp = HttpResponse(json.dumps(data, ensure_ascii=False, separators=(",", ":")),
                        content_type="application/json", status=status)
    resp["Cache-Control"] = "no-store"
    return resp


def _error(exc: ApplicationError) -> HttpResponse:
    if isinstance(exc, NotFound):
        return _json({"error": "not_found"}, 404)  # no message: missing and forbidden alike
    return _json({"error": exc.code, "message": exc.message, **exc.details}, exc.status)


def _attempt(request: HttpRequest, attempt_id: int, *, in_progress: bool = True) -> Attempt:
    return taker_attempt(request.session, request.META.get("HTTP_X_ATTEMPT_TOKEN", ""), attempt_id,
                         in_progress=in_progress)


def _body(request: HttpRequest) -> dict[str, Any]:
    if len(request.body) > MAX_JSON_BYTES:
        raise InvalidInput("body too large", code="bad_body")
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        raise InvalidInput("body is not JSON", code="bad_body") from None
    if not isinstance(data, dict):
        raise InvalidInput("body must be an object", code="bad_body")
    return data


def _method(request: HttpRequest, *allowed: str) -> HttpResponse | None:
    return None if request.method in allowed else _json({"error": "method not allowed"}, 405)


@csrf_exempt
def api_play(request: HttpRequest, attempt_id: int) -> HttpResponse:
    """POST ``{"owner_kind": "item"|"stimulus", "owner": code, "media": file}``: a play is starting."""
    if (wrong := _method(request, "POST")) is not None:
        return wrong
    try:
        attempt = _attempt(request, attempt_id)
        body = _body(request)
        result = services.play_start(attempt=attempt, owner_kind=str(body.get("owner_kind", "")),
                                     owner=str(body.get("owner", "")), media=str(body.get("media", "")))
    except ApplicationError as exc:
        return _error(exc)
    return _json({"ok": True, **result})


@csrf_exempt
def api_headset(request: HttpRequest, attempt_id: int) -> HttpResponse:
    """POST ``{"heard": true|false}``."""
    if (wrong := _method(request, "POST")) is not None:
        return wrong
    try:
        attempt = _attempt(request, attempt_id)
        heard = _body(request).get("heard")
        if not isinstance(heard, bool):
            raise InvalidInput("heard must be true or false", code="bad_body")
        check = services.headset_record(attempt=attempt, heard=heard)
    except ApplicationError as exc:
        return _error(exc)
    return _json({"ok": True, "heard": check.heard, "tries": check.tries})


@csrf_exempt
def api_state(request: HttpRequest, attempt_id: int) -> HttpResponse:
    if (wrong := _method(request, "GET")) is not None:
        return wrong
    try:
        attempt = _attempt(request, attempt_id, in_progress=False)
    except ApplicationError as exc:
        return _error(exc)
    return _json(attempt_state(attempt))


@csrf_exempt
def api_recordings(request: HttpRequest, attempt_id: int) -> HttpResponse:
    """POST ``{"item", "size", "sha256", "mime", "duration_ms"}``: start (or find again) an upload."""
    if (wrong := _method(request, "POST")) is not None:
        return wrong
    try:
        attempt = _attempt(request, attempt_id, in_progress=False)
        body = _body(request)
        rec = services.recording_init(attempt=attempt, item=str(body.get("item", "")), size=body.get("size"),
                                      sha256=body.get("sha256"), mime=body.get("mime"),
                                      duration_ms=body.get("duration_ms", 0))
    except ApplicationError as exc:
        return _error(exc)
    return _json({"ok": True, **recording_payload(rec)})


@csrf_exempt
def api_recording(request: HttpRequest, attempt_id: int, recording_id: int) -> HttpResponse:
    """GET: the upload's status (``received`` is where to resume)."""
    if (wrong := _method(request, "GET")) is not None:
        return wrong
    try:
        attempt = _attempt(request, attempt_id, in_progress=False)
        rec = services.recording_get(attempt=attempt, recording_id=recording_id)
    except ApplicationError as exc:
        return _error(exc)
    return _json(recording_payload(rec))


@csrf_exempt
def api_chunk(request: HttpRequest, attempt_id: int, recording_id: int) -> HttpResponse:
    """POST the raw bytes of one chunk, ``?offset=N``."""
    if (wrong := _method(request, "POST")) is not None:
        return wrong
    try:
        attempt = _attempt(request, attempt_id, in_progress=False)
        raw = request.GET.get("offset", "")
        if not raw.isdigit() or len(raw) > 12:
            raise InvalidInput("offset must be a non-negative integer", code="bad_offset")
        rec = services.recording_chunk(attempt=attempt, recording_id=recording_id, offset=int(raw),
                                       data=request.body)
    except ApplicationError as exc:
        return _error(exc)
    return _json({"ok": True, **recording_payload(rec)})


@csrf_exempt
def api_complete(request: HttpRequest, attempt_id: int, recording_id: int) -> HttpResponse:
    if (wrong := _method(request, "POST")) is not None:
        return wrong
    try:
        attempt = _attempt(request, attempt_id, in_progress=False)
        rec = services.recording_complete(attempt=attempt, recording_id=recording_id)
    except ApplicationError as exc:
        return _error(exc)
    return _json({"ok": True, **recording_payload(rec)})


@require_GET
@login_required
def session_status(request: HttpRequest, session_id: int) -> HttpResponse:
    """耳机与录音: every attempt of a session with its headset check and complete recordings, for whoever may read
    the session (a session the actor cannot see is the same 404 as a missing one)."""
    session = session_access(actor=request.user, session_id=session_id)
    return render(request, "web/performance/session_status.html", {"s": session, "rows": session_headsets(session)})


# ------------------------------------------------------------------------------------------------ the room

ROOM_FILTERS = ("complete", "incomplete")


def _room_context(request: HttpRequest, session_id: int) -> dict[str, Any]:
    session = session_access(actor=request.user, session_id=session_id)
    show = request.GET.get("show", "")
    show = show if show in ROOM_FILTERS else ""
    view = room_view(session=session, can_run=may_run(actor=request.user, session=session), show=show)
    return {"s": session, "v": view, "show": show, "min_group": MIN_GROUP, "max_group": MAX_GROUP}


@require_GET
@login_required
def room(request: HttpRequest, session_id: int) -> HttpResponse:
    """演唱与口语测试室: for whoever may read the session (buttons only for those who run it); others 404."""
    return render(request, "web/performance/room.html", _room_context(request, session_id))


@require_GET
@login_required
@never_cache
def room_live(request: HttpRequest, session_id: int) -> HttpResponse:
    """The room screen's changing part, polled by the page every few seconds (no full reload)."""
    return render(request, "web/performance/_room_live.html", _room_context(request, session_id))


def _back(session_id: int, show: str) -> HttpResponse:
    url = reverse("web:perf_room", args=[session_id])
    return redirect(f"{url}?show={show}" if show in ROOM_FILTERS else url)


@require_POST
@login_required
def room_call(request: HttpRequest, session_id: int) -> HttpResponse:
    """叫下一组 (POST ``group_size``)."""
    try:
        call = services.room_call_next(actor=request.user, session_id=session_id,
                                       group_size=request.POST.get("group_size", ""))
    except InvalidInput as exc:  # not found and not allowed are rendered as 404 / 403 pages
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已叫第 %(n)s 组：%(codes)s。") % {"n": call.group,
                                                                    "codes": "、".join(call.takers)})
    return _back(session_id, request.POST.get("show", ""))


@require_POST
@login_required
def room_rerecord(request: HttpRequest, session_id: int) -> HttpResponse:
    """再录一次 (POST ``attempt``, ``item``, ``reason``): one further take, once per item, with a reason."""
    raw = request.POST.get("attempt", "")
    if not raw.isdigit():
        raise NotFound(_("未找到该作答记录。"))
    item = request.POST.get("item", "")
    try:
        permit = services.room_allow_rerecord(actor=request.user, session_id=session_id, attempt_id=int(raw),
                                              item=item, reason=request.POST.get("reason", ""))
    except InvalidInput as exc:  # not found and not allowed are rendered as 404 / 403 pages
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已允许重录：%(item)s 第 %(take)s 次录音。学生的页面几秒内会出现“开始录音”。")
                         % {"item": permit.item, "take": permit.take})
    return _back(session_id, request.POST.get("show", ""))
