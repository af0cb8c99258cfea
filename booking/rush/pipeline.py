"""The rush path, top to bottom: request → decide → claim → persist → answer.

    1 request   booking/rush/request.py   the headers, cookies and body the decision reads
    2 decide    booking/rush/decide.py    no I/O: pass, slot, rank, booking rules → BookPlan or Outcome
    3 claim     booking/rush/gate.py      ONE Redis call: waiting room and seat claim (counters loaded on
                                          demand, booking/seatcounter.py::claim_loading)
    4 persist   booking/rush/persist.py   the winners written to PostgreSQL → Outcome
    5 answer    booking/rush/answers.py   Outcome → JSON (with the room pass)

`book_steps` is that sequence as a generator of operations (Claim, LOAD, Persist): it decides everything
and performs nothing. Two thin drivers perform the operations and run the very same steps: `book_sync`
below (Django's request cycle, and the rush workers' threads) and `book_on_loop` in booking/rush/loop.py
(the rush workers' event loop, which pipelines the Redis calls and batches the winners). A new admission
rule belongs in decide (step 2), before anything is claimed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import DatabaseError
from django.http import HttpResponse

from booking import errors
from booking.admission import queue_refusal
from booking.clients import REDIS_ERRORS
from booking.rush import outcomes
from booking.rush.answers import answer
from booking.rush.decide import BookPlan, decide
from booking.rush.gate import ADMITTED, ALREADY, CLAIMED, NOT_LOADED, QUEUED, SIGNED_OUT, Gate, GateAnswer
from booking.rush.metrics import rush_mark
from booking.rush.outcomes import Outcome
from booking.rush.persist import persist_one
from booking.rush.request import proxy_received_at, student_of
from booking.rush.state import SeminarState, seminar_state
from booking.seatcounter import claim_loading, steps_run
from booking.services.rush_passes import rush_pass_revoked
from tenants.selectors import current_schema

logger = logging.getLogger(__name__)

_auto_on_at: dict[tuple[str, int], float] = {}
_auto_logged_at: dict[tuple[str, int], float] = {}


# ---- the operations a driver performs -------------------------------------------------------------------
@dataclass(frozen=True)
class Claim:
    """Ask the rush gate (booking/rush/gate.py::Gate.keys_args takes these options)."""

    options: dict[str, Any]


class _Load:
    """Load the seminar's seat counters from PostgreSQL (once, when the gate found none)."""


LOAD = _Load()


@dataclass(frozen=True)
class Persist:
    """Write this winner's seat to PostgreSQL; performed with booking/rush/persist.py, answered an Outcome."""

    plan: BookPlan
    quota_id: int


@dataclass(frozen=True)
class Decided:
    """The end of the steps: the Outcome, or None when Redis cannot decide (the driver takes another way).

    `answer` is the gate's when it was asked (decided at `decided_at`); `state` and `student` sign the room
    pass an Outcome may carry.
    """

    outcome: Outcome | None
    plan: BookPlan | None = None
    answer: GateAnswer | None = None
    decided_at: float = 0.0
    state: SeminarState | None = None
    student: Any = None


Steps = Generator[Claim | _Load | Persist, Any, Decided]


# ---- the steps -----------------------------------------------------------------------------------------
def book_steps(
    request: Any, *, schema: str, seminar_id: int, state_of: Callable[[], SeminarState | None]
) -> Steps:
    """A booking: decide, claim, persist; what a driver answers."""
    decision = decide(request, schema=schema, seminar_id=seminar_id, state_of=state_of)
    if isinstance(decision, Outcome):
        return Decided(outcome=decision)
    plan = decision
    try:
        gate_answer = yield from claim_loading(Claim(plan.gate_options()), LOAD)
    except REDIS_ERRORS:
        return Decided(outcome=None, plan=plan)
    except DatabaseError:
        return Decided(outcome=outcomes.unavailable(), plan=plan)
    decided_at = time.time()
    if gate_answer.result == NOT_LOADED:
        # Loaded a moment ago and gone again: the counters are not usable now.
        return Decided(outcome=None, plan=plan)
    outcome = claimed(plan, gate_answer)
    if outcome is None:
        outcome = yield Persist(plan=plan, quota_id=gate_answer.value)
    if gate_answer.result != QUEUED and gate_answer.extra and not plan.has_room_pass:
        # Let in from the queue on this very request: the pass covers a second try on another slot.
        outcome = outcome.with_room_ticket(gate_answer.extra)
    return Decided(outcome=outcome, plan=plan, answer=gate_answer, decided_at=decided_at)


def claimed(plan: BookPlan, gate_answer: GateAnswer) -> Outcome | None:
    """What the gate alone decided, or None when the student won a seat and PostgreSQL must persist it."""
    result = gate_answer.result
    if result == SIGNED_OUT:
        return outcomes.signed_out()
    if result == QUEUED:
        return outcomes.queued(
            ticket=gate_answer.value,
            position=gate_answer.extra,
            admission_per_second=plan.state.admission_per_second,
        )
    if result == ALREADY:
        return outcomes.refusal(errors.AlreadyBookedError())
    if result != CLAIMED:
        return outcomes.full(seminar_id=plan.state.seminar_id, others=gate_answer.others)
    return None


def queue_steps(
    request: Any, *, schema: str, seminar_id: int, state_of: Callable[[], SeminarState | None]
) -> Steps:
    """The waiting room's answer for one student: position and estimated wait, or admitted with a pass."""
    student = student_of(request, schema=schema)
    if student is None:
        return Decided(outcome=outcomes.signed_out())
    state = state_of()
    if state is None or not state.open_to(student):
        return Decided(outcome=outcomes.refusal(errors.NotVisibleError()), state=state, student=student)
    # No place in line and no room pass before the rank's opening time (booking/admission.py).
    refusal = queue_refusal(access=state.rank_access(student.rank), now=datetime.now(UTC))
    if refusal is not None:
        return Decided(outcome=outcomes.refusal(refusal), state=state, student=student)
    options = {
        "candidate_id": student.candidate_id,
        "issued_at": student.issued_at,
        "quota_ids": [q for slot in state.slots.values() for q in slot.quota_ids_for(student.rank)],
        "mode": state.waiting_room,
        "has_room_pass": False,
        "admission_per_second": state.admission_per_second,
        "queue_only": True,
    }
    try:
        gate_answer = yield from claim_loading(Claim(options), LOAD)
    except REDIS_ERRORS:
        return Decided(outcome=None, state=state, student=student)  # the driver lets the student through
    result = gate_answer.result
    if result == SIGNED_OUT:
        outcome = outcomes.signed_out()
    elif result == QUEUED:
        outcome = outcomes.queued(
            ticket=gate_answer.value,
            position=gate_answer.extra,
            admission_per_second=state.admission_per_second,
        )
    elif result == ALREADY:
        outcome = outcomes.refusal(errors.AlreadyBookedError())
    elif result == ADMITTED:
        outcome = outcomes.admitted(message=outcomes.TURN_CAME_MESSAGE, ticket=gate_answer.value)
    else:
        outcome = outcomes.full(seminar_id=seminar_id)
    return Decided(outcome=outcome, answer=gate_answer, state=state, student=student)


# ---- the synchronous driver ------------------------------------------------------------------------------
def book_sync(request: Any, *, seminar_id: int, started: float) -> HttpResponse:
    """A booking under Django or on a worker thread, inside the company's schema (entered by the caller)."""
    decided, io = _run_sync(book_steps, request, seminar_id=seminar_id)
    if decided.outcome is None:
        assert decided.plan is not None
        logger.error("rush: redis unavailable, booking falls back to PostgreSQL alone")
        decided = Decided(outcome=book_without_redis(decided.plan), plan=decided.plan)
    return finish(
        request,
        decided,
        gate=io.made,
        started=started,
        count=lambda kind: rush_mark(schema=io.schema, seminar_id=seminar_id, kind=kind),
    )


def queue_sync(request: Any, *, seminar_id: int) -> HttpResponse:
    """The waiting room's answer under Django or on a worker thread (inside the company's schema)."""
    decided, _io = _run_sync(queue_steps, request, seminar_id=seminar_id)
    outcome = decided.outcome
    if outcome is None:
        logger.error("rush: redis unavailable, the waiting room lets students through")
        outcome = queue_without_redis(decided.student)
    return answer(outcome, state=decided.state, student=decided.student)


def queue_without_redis(student: Any) -> Outcome:
    """Redis is gone: the room cannot order anyone, so the student is let through unless signed out."""
    if rush_pass_revoked(candidate_id=student.candidate_id, issued_at=student.issued_at):
        return outcomes.signed_out()
    return outcomes.admitted(message=outcomes.ADMITTED_MESSAGE)


def _run_sync(steps_of: Callable[..., Steps], request: Any, *, seminar_id: int) -> tuple[Decided, SyncIO]:
    schema = current_schema()
    io = SyncIO(schema=schema, seminar_id=seminar_id)
    steps = steps_of(
        request,
        schema=schema,
        seminar_id=seminar_id,
        state_of=lambda: seminar_state(schema=schema, seminar_id=seminar_id),
    )
    return steps_run(steps, io.perform), io


class SyncIO:
    """Performs the steps' operations right here: the gate's Lua call, the counters' load, one write."""

    def __init__(self, *, schema: str, seminar_id: int) -> None:
        self.schema = schema
        self.seminar_id = seminar_id
        self.made: Gate | None = None  # the gate, once an operation needed it

    @property
    def gate(self) -> Gate:
        if self.made is None:
            self.made = Gate(schema=self.schema, seminar_id=self.seminar_id)
        return self.made

    def perform(self, op: Claim | _Load | Persist) -> Any:
        if isinstance(op, Claim):
            return self.gate.call(**op.options)
        if isinstance(op, Persist):
            return persist_one(self.gate, plan=op.plan, quota_id=op.quota_id)
        return self.gate.counter.load()


def book_without_redis(plan: BookPlan) -> Outcome:
    """Redis is gone: the regular PostgreSQL path decides (slower, same guarantees)."""
    from booking.services import booking_create
    from candidates.models import Candidate

    try:
        candidate = Candidate.objects.filter(pk=plan.student.candidate_id).first()
        # The gate checks revocations in Redis; without it PostgreSQL does (signed out, a new rank).
        if (
            candidate is None
            or candidate.rank != plan.student.rank
            or rush_pass_revoked(candidate_id=candidate.pk, issued_at=plan.student.issued_at)
        ):
            return outcomes.signed_out()
        booking = booking_create(candidate=candidate, slot_id=plan.slot_id).booking
    except errors.FullError as error:
        return outcomes.refusal(error, waitlist_url=f"/my/seminars/{plan.state.seminar_id}/")
    except errors.BookingError as error:
        return outcomes.refusal(error)
    except DatabaseError:
        return outcomes.unavailable()
    return outcomes.booked(booking_id=booking.pk if booking else None, slot_id=plan.slot_id)


# ---- the answer, for both drivers ---------------------------------------------------------------------------
def finish(
    request: Any,
    decided: Decided,
    *,
    gate: Gate | None,
    started: float,
    count: Callable[[str], None],
    room_on: Callable[[Gate], None] | None = None,
) -> HttpResponse:
    """Count the figure, watch the latency (auto waiting room; `room_on` switches the room on, by default
    with the gate's own call), answer."""
    outcome = decided.outcome
    assert outcome is not None
    if outcome.count:
        count(outcome.count)
    plan = decided.plan
    if plan is None:
        return answer(outcome)
    if decided.answer is not None and gate is not None:
        watch_latency(
            request,
            gate=gate,
            state=plan.state,
            started=started,
            decided_at=decided.decided_at,
            room_on=room_on,
        )
    return answer(outcome, state=plan.state, student=plan.student)


def watch_latency(
    request: Any,
    *,
    gate: Gate,
    state: SeminarState,
    started: float,
    decided_at: float,
    room_on: Callable[[Gate], None] | None = None,
) -> None:
    """In "auto" mode the room opens by itself while decisions take longer than the seminar's threshold.

    The time counts from when the proxy received the request (X-Request-Start, set by nginx, believed only
    from settings.TRUSTED_PROXIES), so time spent waiting for a free worker counts too; otherwise from when
    this process started on it. It ends
    when Redis decided: a winner's durable write afterwards is not a sign of overload the room would relieve
    (counting it opened the room at every big release, whose winners wait a few hundred ms for their commit).
    """
    if state.waiting_room != "auto":
        return
    received = proxy_received_at(request)
    began = min(received, started) if received is not None else started
    if (decided_at - began) * 1000 < state.latency_ms:
        return
    key = (state.schema, state.seminar_id)
    if _auto_on_at.get(key, 0) > time.monotonic():
        return
    now = time.monotonic()
    _auto_on_at[key] = now + 1.0
    try:
        if room_on is None:
            gate.room_switch_on()
        else:
            room_on(gate)  # the event loop's driver: without blocking the loop
    except REDIS_ERRORS:
        return
    # Kept on while it lasts: said once a minute per seminar and process, not on every renewal.
    if _auto_logged_at.get(key, 0) <= now:
        _auto_logged_at[key] = now + 60.0
        logger.warning(
            "rush: waiting room switched on by latency schema=%s seminar=%s", state.schema, state.seminar_id
        )
