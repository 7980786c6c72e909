"""The test-taking page, its media, and the hot-path answer API (see docs/online-client.md).

The page (``GET /t/attempt/<id>/``) is for the signed-in test taker whose attempt it is, while the attempt's
session accepts work (open, inside its window); anyone else, and anyone outside the window, gets 404 — a missing
and a forbidden attempt look the same. Item content is never cached (``no-store``) and never in a URL.

The API views (``/t/api/...``) are deliberately thin: an attempt token header (no cookie, no session, no user,
so no CSRF), ``json.loads``, one call into :mod:`naeq.delivery.hotpath`, a JSON response built after commit.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from naeq.core.errors import ApplicationError
from naeq.delivery import hotpath
from naeq.delivery.attempts import attempt_content
from naeq.delivery.media import media_content_type, media_path
from naeq.delivery.models import Attempt, AttemptStatus
from naeq.delivery.scoring import finish_submission
from naeq.delivery.sessions import session_accepts
from naeq.delivery.signin import current_taker
from naeq.delivery.tokens import attempt_from_token, attempt_token
from naeq.performance.itemsettings import record_kind

log = logging.getLogger(__name__)

NO_STORE = "no-store, private"


def _no_store(resp: HttpResponse) -> HttpResponse:
    resp["Cache-Control"] = NO_STORE
    resp["Pragma"] = "no-cache"
    resp["Expires"] = "0"
    return resp


# ------------------------------------------------------------------------------------------------ the page


def _my_attempt(request: HttpRequest, attempt_id: int) -> Attempt:
    """The signed-in test taker's attempt ``attempt_id`` in an accepting session, else 404."""
    signed_in = current_taker(request.session)
    if signed_in is None:
        raise Http404
    taker, session = signed_in
    attempt = (Attempt.objects.select_related("instrument", "session", "test_taker")
               .filter(pk=attempt_id, test_taker=taker, session=session).first())
    if attempt is None or not session_accepts(attempt.session):
        raise Http404
    return attempt


def _my_tests_url() -> str:
    try:
        return reverse("web:taker_home")
    except NoReverseMatch:
        return "/"


#: Labels of the client, translated here and handed to the script (the script has no strings of its own).
def client_labels() -> dict[str, str]:
    return {
        "saved": _("已保存"), "unsaved": _("未保存"), "saving": _("保存中"), "offline": _("离线"),
        "prev": _("上一页"), "next": _("下一页"), "submit": _("提交"), "flag": _("标记待检查"),
        "flagged": _("已标记"), "page": _("第 %(n)s 页"), "of": _("共 %(n)s 页"),
        "time_left": _("剩余时间"), "time_up": _("作答时间已到，请提交。"),
        "confirm_title": _("确认提交"), "confirm_text": _("提交后不能再修改答案。确定提交吗？"),
        "unanswered": _("未作答的题目"), "flagged_list": _("已标记待检查的题目"), "none": _("无"),
        "confirm": _("确定提交"), "cancel": _("返回检查"),
        "finished_title": _("已提交"), "finished_text": _("你的答案已提交，谢谢！请举手示意监考老师。"),
        "submitting": _("正在提交……"), "submit_failed": _("提交未完成，正在重试。请不要关闭页面。"),
        "closed": _("本场测试已结束，不能再保存答案。请举手示意监考老师。"),
        "paper": _("请在答题卡上作答"), "up": _("上移"), "down": _("下移"), "other": _("请注明"),
        "value": _("当前值"), "all_saved": _("全部答案已保存"), "pending": _("%(n)s 题未保存"),
        "answered": _("已作答"), "not_answered": _("未作答"), "index": _("题目导航"),
        "range_hint": _("请输入 %(min)s 至 %(max)s 之间的数"), "decimals_hint": _("最多 %(n)s 位小数"),
        "max_length_hint": _("最多 %(n)s 个字"), "max_choices_hint": _("最多选 %(n)s 项"),
        "true": pgettext("true_false", "正确"), "false": pgettext("true_false", "错误"), "question": _("第 %(n)s 题"),
        "session_expired": _("登录已失效，请重新登录后继续作答（已作答的内容保存在本机）。"),
    }


@require_GET
def take(request: HttpRequest, attempt_id: int) -> HttpResponse:
    attempt = _my_attempt(request, attempt_id)
    if attempt.status == AttemptStatus.SUBMITTED:
        # Recordings still in this browser's IndexedDB are uploaded from the finished page (docs/performance.md).
        recorded = any(record_kind(it) for it in attempt.instrument.items.filter(type="open"))
        perf = {"attempt": attempt.pk, "token": attempt_token(attempt.pk)} if recorded else None
        resp = render(request, "web/take/finished.html", {"attempt": attempt, "back": _my_tests_url(),
                                                           "perf": perf})
        return _no_store(resp)
    content = attempt_content(attempt=attempt)
    limit = content["time_limit_seconds"]
    elapsed = (timezone.now() - attempt.started_at).total_seconds()
    config = {
        # Counted from the attempt's start by the server's clock; the page counts down from here.
        "remaining_seconds": max(0, int(limit - elapsed)) if limit else None,
        "attempt": attempt.pk,
        "token": attempt_token(attempt.pk),
        "api": f"/t/api/attempts/{attempt.pk}/",
        "media": f"/t/attempt/{attempt.pk}/media/",
        "back": _my_tests_url(),
        "labels": client_labels(),
    }
    resp = render(request, "web/take/take.html", {"attempt": attempt, "content": content, "config": config,
                                                  "instrument": attempt.instrument})
    return _no_store(resp)


@require_GET
def take_media(request: HttpRequest, attempt_id: int, name: str) -> HttpResponse:
    attempt = _my_attempt(request, attempt_id)
    if attempt.status != AttemptStatus.IN_PROGRESS:
        raise Http404
    try:
        path = media_path(attempt.instrument, name)
    except ApplicationError:
        raise Http404 from None
    if not path.is_file():
        raise Http404
    resp = HttpResponse(path.read_bytes(), content_type=media_content_type(name))
    return _no_store(resp)


# ------------------------------------------------------------------------------------------------ the API


def _json(data: dict[str, Any], status: int = 200) -> HttpResponse:
    resp = HttpResponse(json.dumps(data, ensure_ascii=False, separators=(",", ":"), cls=DjangoJSONEncoder),
                        content_type="application/json", status=status)
    resp["Cache-Control"] = "no-store"
    return resp


def _authorised(request: HttpRequest, attempt_id: int) -> bool:
    # META, not request.headers: the header map of every request header is built only when asked for.
    token = request.META.get("HTTP_X_ATTEMPT_TOKEN", "")
    return bool(token) and attempt_from_token(token) == attempt_id


@csrf_exempt
@transaction.non_atomic_requests
def api_answers(request: HttpRequest, attempt_id: int) -> HttpResponse:
    """POST: save a batch; GET: the server's copy (resume on another computer)."""
    if request.method not in ("GET", "POST"):
        return _json({"error": "method not allowed"}, 405)
    if not _authorised(request, attempt_id):
        return _json({"error": "unauthorised"}, 401)
    try:
        if request.method == "GET":
            return _json(hotpath.server_copy(attempt_id))
        acked = hotpath.save_batch(attempt_id, hotpath.parse_body(request.body))
    except hotpath.Refused as refused:
        return _json({"error": refused.reason}, refused.status)
    return _json({"ok": True, "acked": acked})


@csrf_exempt
@require_POST
@transaction.non_atomic_requests
def api_submit(request: HttpRequest, attempt_id: int) -> HttpResponse:
    if not _authorised(request, attempt_id):
        return _json({"error": "unauthorised"}, 401)
    try:
        submitted_at, first = hotpath.submit(attempt_id, hotpath.parse_body(request.body))
    except hotpath.Refused as refused:
        return _json({"error": refused.reason}, refused.status)
    # Submitted and committed. Scoring follows; a failure there is logged and retried by a repeated submit.
    try:
        finish_submission(attempt_id, first=first)
    except Exception:
        log.exception("scoring attempt %s failed after submission", attempt_id)
    return _json({"ok": True, "status": "submitted", "submitted_at": submitted_at.isoformat()})


@require_GET
@transaction.non_atomic_requests
def api_ping(request: HttpRequest) -> HttpResponse:
    """``/t/api/ping`` (answered by naeq.web.hotapi itself under `naeq serve` on PostgreSQL) and
    ``/t/api/health``: a trivial Django view, so a monitor sees that Django itself answers."""
    return _no_store(HttpResponse("ok", content_type="text/plain"))
