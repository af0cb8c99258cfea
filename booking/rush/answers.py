"""The rush path's JSON answers: one shape for every refusal, nothing logged for the expected ones."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpResponse, JsonResponse

from booking import errors
from booking.rush import passes
from booking.rush.state import SeminarState
from saas.unavailable import UNAVAILABLE_MESSAGE

ROOM_COOKIE = "rush_room"
QUEUED_MESSAGE = "ただいま混み合っています。順番にご案内しますので、このままお待ちください。"
SIGNED_OUT_MESSAGE = "マイページにログインしていないか、リンクの有効期限が切れています。"


def answer_json(payload: dict[str, Any], *, status: int = 200) -> JsonResponse:
    response = JsonResponse(payload, status=status, json_dumps_params={"ensure_ascii": False})
    # "Full" and "not open yet" are the expected answers of a rush, not warnings: thousands a second
    # would otherwise each write a log line (django.request logs every 4xx).
    response._has_been_logged = True
    return response


def answer_refusal(error: errors.BookingError, **extra: Any) -> JsonResponse:
    return answer_json(
        {"ok": False, "code": error.code, "message": error.message, **extra}, status=error.http_status
    )


def answer_signed_out() -> JsonResponse:
    return answer_json({"ok": False, "code": "signed_out", "message": SIGNED_OUT_MESSAGE}, status=403)


def answer_unavailable() -> JsonResponse:
    response = answer_json({"ok": False, "code": "unavailable", "message": UNAVAILABLE_MESSAGE}, status=503)
    response["Retry-After"] = "3"
    return response


def answer_queued(*, state: SeminarState, ticket: int, position: int) -> JsonResponse:
    wait = position / max(state.admission_per_second, 1)
    return answer_json(
        {
            "ok": False,
            "code": "queued",
            "message": QUEUED_MESSAGE,
            "ticket": ticket,
            "position": position,
            "eta_s": round(wait, 1),
            # Ask again about when the turn comes, never more often than once a second.
            "poll_after_s": round(min(max(wait * 0.8, 1.0), 10.0), 1),
        },
        status=202,
    )


def room_cookie_set(response: HttpResponse, *, state: SeminarState, student, ticket: int) -> None:
    response.set_cookie(
        ROOM_COOKIE,
        passes.room_pass_issue(
            schema=state.schema, seminar_id=state.seminar_id, candidate_id=student.candidate_id, ticket=ticket
        ),
        max_age=passes.ROOM_SECONDS,
        path="/my/rush/",
        httponly=True,
        samesite="Strict",
        secure=settings.SESSION_COOKIE_SECURE,
    )
