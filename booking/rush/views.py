"""The students' rush endpoints: booking and the waiting-room position (pages: booking/rush/pages.py).

Served by booking.rush.middleware straight after the tenant is resolved: no session read or write, no
query on the way to a "full" or "queued" answer. The student is known from the signed pass, the seminar
from the per-process state, the seat and the place in the queue from one Redis call. Winners are written
to PostgreSQL before "booked" is answered.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse

from booking import errors
from booking.rush import passes
from booking.rush.answers import (
    ROOM_COOKIE,
    answer_json,
    answer_queued,
    answer_refusal,
    answer_signed_out,
    answer_unavailable,
    room_cookie_set,
)
from booking.rush.confirm import confirm_later
from booking.rush.gate import (
    ALREADY,
    CLAIMED,
    NOT_LOADED,
    QUEUED,
    SIGNED_OUT,
    Gate,
    GateAnswer,
)
from booking.rush.metrics import rate_key, rush_mark
from booking.rush.state import SeminarState, seminar_state
from booking.seatcounter import REDIS_ERRORS

logger = logging.getLogger(__name__)

_auto_on_at: dict[tuple[str, int], float] = {}


def student_of(request: HttpRequest) -> passes.StudentPass | None:
    return passes.student_pass_read(
        schema=connection.schema_name, value=request.COOKIES.get(passes.STUDENT_COOKIE)
    )


def _same_origin(request: HttpRequest) -> bool:
    """Cross-site forms cannot set a custom header; an Origin, when sent, must be this host."""
    # META rather than request.headers: the latter copies every header into a new mapping first.
    if request.META.get("HTTP_X_REQUESTED_WITH") != "rush":
        return False
    origin = request.META.get("HTTP_ORIGIN")
    if origin is None:
        return True
    return origin.split("://", 1)[-1] == request.get_host()


def _slot_from(request: HttpRequest) -> str:
    if request.content_type == "application/json":
        try:
            return str(json.loads(request.body or b"{}").get("slot", ""))
        except (ValueError, AttributeError):
            return ""
    return request.POST.get("slot", "")


@dataclass(frozen=True)
class BookPlan:
    """What is known about a booking request before Redis is asked."""

    state: SeminarState
    student: passes.StudentPass
    slot_id: int
    quota_ids: list[int]
    others: list[int]
    has_room_pass: bool


def book_plan(
    request: HttpRequest, *, schema: str, seminar_id: int, state_of: Callable[[int], SeminarState | None]
) -> BookPlan | tuple[HttpResponse, str | None]:
    """Every check that needs no I/O: a plan for the Redis call, or the answer and the figure to count."""
    if request.method != "POST":
        return answer_json(
            {"ok": False, "code": "method", "message": "POST でお送りください。"}, status=405
        ), None
    if not _same_origin(request):
        return answer_json(
            {"ok": False, "code": "forbidden", "message": "不正なリクエストです。"}, status=403
        ), None
    student = passes.student_pass_read(schema=schema, value=request.COOKIES.get(passes.STUDENT_COOKIE))
    if student is None:
        return answer_signed_out(), None
    state = state_of(seminar_id)
    if state is None:
        return answer_refusal(errors.SlotNotFoundError()), None
    try:
        slot = state.slots.get(int(_slot_from(request)))
    except ValueError:
        slot = None
    if slot is None:
        return answer_refusal(errors.SlotNotFoundError()), None
    access = state.rank_access(student.rank)
    if not access.visible:
        return answer_refusal(errors.NotVisibleError()), None
    # datetime.now(UTC) is timezone.now() under USE_TZ (always on here), without the settings lookup.
    refusal = _closed(state=state, access=access, slot_starts_at=slot.starts_at, now=datetime.now(UTC))
    if refusal is not None:
        return answer_refusal(refusal), "not_open" if isinstance(refusal, errors.NotOpenError) else "error"
    quota_ids = slot.quota_ids_for(student.rank)
    if not quota_ids:
        return answer_refusal(errors.FullError(), waitlist_url=f"/my/seminars/{seminar_id}/"), "full"
    return BookPlan(
        state=state,
        student=student,
        slot_id=slot.slot_id,
        quota_ids=quota_ids,
        others=[
            quota
            for other in state.slots.values()
            if other.slot_id != slot.slot_id
            for quota in other.quota_ids_for(student.rank)
        ],
        has_room_pass=passes.room_pass_valid(
            schema=state.schema,
            value=request.COOKIES.get(ROOM_COOKIE),
            seminar_id=seminar_id,
            candidate_id=student.candidate_id,
        ),
    )


def book(request: HttpRequest, *, seminar_id: int, started: float) -> HttpResponse:
    plan = book_plan(
        request,
        schema=connection.schema_name,
        seminar_id=seminar_id,
        state_of=lambda found: seminar_state(seminar_id=found),
    )
    if isinstance(plan, tuple):
        response, kind = plan
        if kind:
            rush_mark(schema=connection.schema_name, seminar_id=seminar_id, kind=kind)
        return response
    gate = Gate(schema=plan.state.schema, seminar_id=seminar_id)
    try:
        answer = gate_call(
            gate,
            state=plan.state,
            student=plan.student,
            quota_ids=plan.quota_ids,
            has_room_pass=plan.has_room_pass,
            other_quota_ids=plan.others,
        )
    except REDIS_ERRORS:
        logger.error("rush: redis unavailable, booking falls back to PostgreSQL alone")
        return _book_without_redis(student=plan.student, slot_id=plan.slot_id, seminar_id=seminar_id)
    except DatabaseError:
        return answer_unavailable()
    decided_at = time.time()
    response = answer_decided(plan, answer)
    if response is None:
        response = persist_one(
            gate, state=plan.state, student=plan.student, slot_id=plan.slot_id, quota_id=answer.value
        )
    book_finish(
        request,
        plan=plan,
        answer=answer,
        response=response,
        gate=gate,
        started=started,
        decided_at=decided_at,
    )
    return response


def book_finish(
    request: HttpRequest,
    *,
    plan: BookPlan,
    answer: GateAnswer,
    response: HttpResponse,
    gate: Gate,
    started: float,
    decided_at: float,
) -> None:
    if answer.result != QUEUED and answer.extra and not plan.has_room_pass:
        # Let in from the queue on this very request: the pass covers a second try on another slot.
        room_cookie_set(response, state=plan.state, student=plan.student, ticket=answer.extra)
    _watch_latency(request, gate=gate, state=plan.state, started=started, decided_at=decided_at)


def _closed(*, state: SeminarState, access, slot_starts_at, now) -> errors.BookingError | None:
    from booking.services.bookings import booking_refusal

    return booking_refusal(
        access=access, booking_deadline=state.booking_deadline, starts_at=slot_starts_at, now=now
    )


def gate_call(
    gate: Gate,
    *,
    state: SeminarState,
    student,
    quota_ids: list[int],
    has_room_pass: bool,
    queue_only: bool = False,
    other_quota_ids: list[int] | None = None,
) -> GateAnswer:
    def call() -> GateAnswer:
        return gate.call(
            candidate_id=student.candidate_id,
            issued_at=student.issued_at,
            quota_ids=quota_ids,
            mode=state.waiting_room,
            has_room_pass=has_room_pass,
            admission_per_second=state.admission_per_second,
            queue_only=queue_only,
            other_quota_ids=other_quota_ids,
        )

    answer = call()
    if answer.result == NOT_LOADED:
        gate.counter.load()
        answer = call()
    return answer


def answer_decided(plan: BookPlan, answer: GateAnswer) -> HttpResponse | None:
    """The answer Redis alone decided, or None when the student won a seat and PostgreSQL must persist it."""
    state = plan.state
    if answer.result == SIGNED_OUT:
        return answer_signed_out()
    if answer.result == QUEUED:
        return answer_queued(state=state, ticket=answer.value, position=answer.extra)
    if answer.result == ALREADY:
        return answer_refusal(errors.AlreadyBookedError())
    if answer.result != CLAIMED:
        if answer.others:
            return answer_refusal(
                errors.FullError("この日程は満席です。他の日程にはまだ空きがあります。"),
                others=True,
                waitlist_url=f"/my/seminars/{state.seminar_id}/",
            )
        return answer_refusal(
            errors.FullError(), others=False, waitlist_url=f"/my/seminars/{state.seminar_id}/"
        )
    return None


def persist_one(gate: Gate, *, state: SeminarState, student, slot_id: int, quota_id: int) -> HttpResponse:
    """Redis gave this student a seat: PostgreSQL, the source of truth, must agree before "booked"."""
    from booking.services.bookings import booking_insert_on_quota, check_in_code_new

    try:
        booking_id = booking_insert_on_quota(
            candidate_id=student.candidate_id,
            slot_id=slot_id,
            seminar_id=state.seminar_id,
            quota_id=quota_id,
            counters_current=True,
            code=check_in_code_new(),
        )
    except errors.AlreadyBookedError as error:
        # PostgreSQL holds a seat Redis did not know of: the copy is behind, rebuild it.
        _release(gate, student=student, quota_id=quota_id)
        _drop(gate)
        return answer_refusal(error)
    except DatabaseError:
        # PostgreSQL is away: nothing was written, the seat goes back, the student keeps the place in line.
        logger.error("rush: postgres unavailable while persisting a seat")
        _release(gate, student=student, quota_id=quota_id)
        # The commit may have happened with its reply lost: rebuild from PostgreSQL on the next claim.
        _drop(gate)
        rush_mark(schema=state.schema, seminar_id=state.seminar_id, kind="unavailable")
        return answer_unavailable()
    if booking_id is None:
        _release(gate, student=student, quota_id=quota_id)
        gate.counter.drop()
        rush_mark(schema=state.schema, seminar_id=state.seminar_id, kind="full")
        return answer_refusal(errors.FullError(), waitlist_url=f"/my/seminars/{state.seminar_id}/")
    return booked_answer(state=state, booking_id=booking_id, slot_id=slot_id)


def booked_answer(
    *, state: SeminarState, booking_id: int, slot_id: int, confirm: bool = True
) -> HttpResponse:
    """The seat is durable in PostgreSQL: queue the confirmation (unless the caller does, for a batch), count
    it, say so."""
    committed_at = time.time()
    if confirm:
        confirm_later(
            schema=state.schema,
            booking_id=booking_id,
            count_key=rate_key(
                schema=state.schema, seminar_id=state.seminar_id, kind="booked", second=int(committed_at)
            ),
        )
    return answer_json(
        {
            "ok": True,
            "code": "booked",
            "message": "予約が完了しました。確認メールをお送りします。",
            "booking": booking_id,
            "slot": slot_id,
            "committed_at": committed_at,
        }
    )


def _release(gate: Gate, *, student, quota_id: int) -> None:
    try:
        gate.counter.release(candidate_id=student.candidate_id, quota_id=quota_id)
    except REDIS_ERRORS:
        logger.warning("rush: claim not released (redis away); counters are rebuilt when it is back")


def _drop(gate: Gate) -> None:
    try:
        gate.counter.drop()
    except REDIS_ERRORS:
        pass


def _book_without_redis(*, student, slot_id: int, seminar_id: int) -> HttpResponse:
    """Redis is gone: the regular PostgreSQL path decides (slower, same guarantees)."""
    from booking.services import booking_create
    from candidates.models import Candidate

    try:
        candidate = Candidate.objects.filter(pk=student.candidate_id).first()
        if candidate is None:
            return answer_signed_out()
        outcome = booking_create(candidate=candidate, slot_id=slot_id)
    except errors.FullError as error:
        return answer_refusal(error, waitlist_url=f"/my/seminars/{seminar_id}/")
    except errors.BookingError as error:
        return answer_refusal(error)
    except DatabaseError:
        return answer_unavailable()
    return answer_json(
        {
            "ok": True,
            "code": "booked",
            "message": "予約が完了しました。確認メールをお送りします。",
            "booking": outcome.booking.pk if outcome.booking else None,
            "slot": slot_id,
            "committed_at": time.time(),
        }
    )


def _watch_latency(
    request: HttpRequest, *, gate: Gate, state: SeminarState, started: float, decided_at: float
) -> None:
    """In "auto" mode the room opens by itself while decisions take longer than the seminar's threshold.

    The time counts from when the proxy received the request (X-Request-Start, set by nginx), so time spent
    waiting for a free worker counts too; without the header, from when this process started on it. It ends
    when Redis decided: a winner's durable write afterwards is not a sign of overload the room would relieve
    (counting it opened the room at every big release, whose winners wait a few hundred ms for their commit).
    """
    if state.waiting_room != "auto":
        return
    began = started
    header = request.META.get("HTTP_X_REQUEST_START", "")
    if header.startswith("t="):
        try:
            began = min(float(header[2:]), started)
        except ValueError:
            pass
    if (decided_at - began) * 1000 < state.latency_ms:
        return
    key = (state.schema, state.seminar_id)
    if _auto_on_at.get(key, 0) > time.monotonic():
        return
    _auto_on_at[key] = time.monotonic() + 1.0
    try:
        gate.room_switch_on()
        logger.warning("rush: waiting room switched on by latency seminar=%s", state.seminar_id)
    except REDIS_ERRORS:
        pass
