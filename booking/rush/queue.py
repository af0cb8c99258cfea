"""The waiting room's answer for one student: position and estimated wait, or admitted with a room pass."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse

from booking import errors
from booking.rush.answers import (
    answer_json,
    answer_queued,
    answer_refusal,
    answer_signed_out,
    room_cookie_set,
)
from booking.rush.gate import ADMITTED, ALREADY, QUEUED, SIGNED_OUT, Gate
from booking.rush.state import seminar_state
from booking.rush.views import gate_call, student_of
from booking.seatcounter import REDIS_ERRORS

logger = logging.getLogger(__name__)


def queue_status(request: HttpRequest, *, seminar_id: int) -> HttpResponse:
    """The waiting room's answer for one student: position and estimated wait, or admitted with a pass."""
    student = student_of(request)
    if student is None:
        return answer_signed_out()
    state = seminar_state(seminar_id=seminar_id)
    if state is None or not state.rank_access(student.rank).visible:
        return answer_refusal(errors.NotVisibleError())
    quota_ids = [q for slot in state.slots.values() for q in slot.quota_ids_for(student.rank)]
    gate = Gate(schema=state.schema, seminar_id=seminar_id)
    try:
        answer = gate_call(
            gate, state=state, student=student, quota_ids=quota_ids, has_room_pass=False, queue_only=True
        )
    except REDIS_ERRORS:
        logger.error("rush: redis unavailable, the waiting room lets students through")
        return answer_json({"ok": True, "code": "admitted", "message": "ご予約いただけます。"})
    if answer.result == SIGNED_OUT:
        return answer_signed_out()
    if answer.result == QUEUED:
        return answer_queued(state=state, ticket=answer.value, position=answer.extra)
    if answer.result == ALREADY:
        return answer_refusal(errors.AlreadyBookedError())
    if answer.result == ADMITTED:
        response = answer_json(
            {"ok": True, "code": "admitted", "message": "順番が来ました。ご予約いただけます。"}
        )
        if answer.value:
            room_cookie_set(response, state=state, student=student, ticket=answer.value)
        return response
    return answer_refusal(errors.FullError(), waitlist_url=f"/my/seminars/{seminar_id}/")
