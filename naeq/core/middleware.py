"""Renders :class:`ApplicationError` in one place: JSON for ``/api/``, a page otherwise."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from naeq.core.errors import ApplicationError


class ApplicationErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, ApplicationError):
            return None
        if request.path.startswith("/api/"):
            return JsonResponse({"error": exception.as_dict()}, status=exception.status)
        return render(request, "web/error.html", {"error": exception}, status=exception.status)


class ChineseByDefaultMiddleware:
    """naeq's UI is Chinese unless the user chose English with the language switch (Django's language cookie).

    Django's ``LocaleMiddleware`` would otherwise follow the browser's ``Accept-Language``, so a browser set up in
    English would show English to a county officer who never asked for it. Placed before ``LocaleMiddleware``,
    this drops the header; the cookie written by ``/i18n/setlang/`` still decides.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)
