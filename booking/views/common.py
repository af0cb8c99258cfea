"""Helpers shared by booking views: the My Page session and turning booking errors into answers."""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from booking.errors import BookingError
from booking.services.mypage import SESSION_KEY, mypage_session_candidate


def wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "") or request.GET.get("format") == "json"


def mypage_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Sets request.candidate from the My Page session; otherwise a 403 with the fresh-link form."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        candidate = mypage_session_candidate(token_id=request.session.get(SESSION_KEY))
        if candidate is None:
            message = _("マイページにログインしていないか、リンクの有効期限が切れています。")
            if wants_json(request):
                return JsonResponse({"ok": False, "code": "signed_out", "message": message}, status=403)
            return render(request, "booking/mypage/link.html", {"error": message}, status=403)
        request.candidate = candidate
        return view(request, *args, **kwargs)

    return wrapper


def error_response(
    request: HttpRequest, error: BookingError, *, back: str = "/my/", waitlist_slot: str = ""
) -> HttpResponse:
    if wants_json(request):
        return JsonResponse(
            {"ok": False, "code": error.code, "message": error.message}, status=error.http_status
        )
    return render(
        request,
        "booking/mypage/answer.html",
        {
            "ok": False,
            "code": error.code,
            "message": error.message,
            "back": back,
            "waitlist_slot": waitlist_slot,
        },
        status=error.http_status,
    )
