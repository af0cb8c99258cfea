"""The rush path's answers: an Outcome becomes JSON here and nowhere else (one shape for every refusal).

Nothing is logged for the expected answers ("full", "not open yet"), and a student let in from the waiting
room on this request gets the room pass with the answer.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext

from booking import errors
from booking.rush import passes
from booking.rush.outcomes import Outcome, refusal
from booking.rush.state import SeminarState

ROOM_COOKIE = passes.ROOM_COOKIE


def answer(outcome: Outcome, *, state: SeminarState | None = None, student: Any = None) -> JsonResponse:
    """The JSON answer of an Outcome (with the room pass when it carries a ticket and the student is known)."""
    payload = outcome.payload()
    # The decision names its messages by their Japanese msgid; they are put into the reader's language here.
    payload["message"] = gettext(payload["message"])
    response = answer_json(payload, status=outcome.status)
    if outcome.retry_after is not None:
        response["Retry-After"] = str(outcome.retry_after)
    if outcome.room_ticket and state is not None and student is not None:
        room_cookie_set(response, state=state, student=student, ticket=outcome.room_ticket)
    return response


def answer_json(payload: dict[str, Any], *, status: int = 200) -> JsonResponse:
    response = JsonResponse(payload, status=status, json_dumps_params={"ensure_ascii": False})
    # "Full" and "not open yet" are the expected answers of a rush, not warnings: thousands a second
    # would otherwise each write a log line (django.request logs every 4xx).
    response._has_been_logged = True
    return response


def answer_refusal(error: errors.BookingError, **extra: Any) -> JsonResponse:
    return answer(refusal(error, **extra))


def room_cookie_set(response: HttpResponse, *, state: SeminarState, student: Any, ticket: int) -> None:
    response.set_cookie(
        ROOM_COOKIE,
        passes.room_pass_issue(
            schema=state.schema, seminar_id=state.seminar_id, candidate_id=student.candidate_id, ticket=ticket
        ),
        max_age=passes.ROOM_SECONDS,
        path="/my/",  # the My Page form asks for it too while the room is on (booking/admission.py)
        httponly=True,
        samesite="Strict",
        secure=settings.SESSION_COOKIE_SECURE,
    )
