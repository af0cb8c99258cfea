"""Step 2 of the rush pipeline: decide what needs no I/O, from the request and the seminar's cached state.

No HTTP, no PostgreSQL, no Redis: the method, the cross-site check, the student's signed pass, the slot,
the rank's visibility, the booking rules (booking/rules.py) and the quota rows the rank may take. The
result is either an Outcome (a refusal, answered at once) or a BookPlan for the claim. An admission rule
(how many requests one student or address may make, shedding load) is one more check here, before the
plan: it answers with an Outcome and nothing further runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from booking import errors
from booking.rules import booking_refusal
from booking.rush import outcomes, passes
from booking.rush.outcomes import Outcome
from booking.rush.request import same_origin, slot_from
from booking.rush.state import SeminarState


@dataclass(frozen=True)
class BookPlan:
    """What is known about a booking request before Redis is asked."""

    state: SeminarState
    student: passes.StudentPass
    slot_id: int
    quota_ids: list[int]
    others: list[int]
    has_room_pass: bool

    def gate_options(self) -> dict[str, Any]:
        """The rush gate's arguments for this plan (booking/rush/gate.py)."""
        return {
            "candidate_id": self.student.candidate_id,
            "issued_at": self.student.issued_at,
            "quota_ids": self.quota_ids,
            "mode": self.state.waiting_room,
            "has_room_pass": self.has_room_pass,
            "admission_per_second": self.state.admission_per_second,
            "other_quota_ids": self.others,
        }


def decide(
    request: Any, *, schema: str, seminar_id: int, state_of: Callable[[], SeminarState | None]
) -> BookPlan | Outcome:
    """Every check that needs no I/O: a plan for the claim, or the Outcome (with the figure to count).

    `state_of` gives the seminar as this process keeps it (booking/rush/state.py); it is asked only once the
    request itself is acceptable.
    """
    if request.method != "POST":
        return outcomes.method_not_allowed()
    if not same_origin(request):
        return outcomes.forbidden()
    student = passes.student_pass_read(schema=schema, value=request.COOKIES.get(passes.STUDENT_COOKIE))
    if student is None:
        return outcomes.signed_out()
    state = state_of()
    if state is None:
        return outcomes.refusal(errors.SlotNotFoundError())
    try:
        slot = state.slots.get(int(slot_from(request)))
    except ValueError:
        slot = None
    if slot is None:
        return outcomes.refusal(errors.SlotNotFoundError())
    access = state.rank_access(student.rank)
    if not access.visible:
        return outcomes.refusal(errors.NotVisibleError())
    # datetime.now(UTC) is timezone.now() under USE_TZ (always on here), without the settings lookup.
    closed = booking_refusal(
        audience=state.audience,
        season_id=student.season_id,
        offer_holder=student.offer_holder,
        access=access,
        booking_deadline=state.booking_deadline,
        starts_at=slot.starts_at,
        now=datetime.now(UTC),
    )
    if closed is not None:
        return outcomes.refusal(
            closed, count="not_open" if isinstance(closed, errors.NotOpenError) else "error"
        )
    quota_ids = slot.quota_ids_for(student.rank)
    if not quota_ids:
        return outcomes.full(seminar_id=seminar_id, count="full")
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
            value=request.COOKIES.get(passes.ROOM_COOKIE),
            seminar_id=seminar_id,
            candidate_id=student.candidate_id,
        ),
    )
