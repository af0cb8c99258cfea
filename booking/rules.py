"""The booking rules, in one place: what a rank may see, when it may book, which seats it takes.

Every entrance asks here: the My Page and the recruiters' pages (booking/services), the waiting list, and
the rush path (booking/rush/decide.py, from its per-process copy of the seminar). Changing a rule means
changing this module alone (tests/booking/test_rules.py changes one and watches every entrance follow).
What must hold under concurrency is decided by the database, not here: seats are taken by the statements
of booking/seats.py, under the CHECK `taken <= seats` and the index "one active booking per student and
seminar".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.utils.translation import gettext

from booking import errors
from booking.models import POOL, SeminarRankRule
from saas.dates import when

if TYPE_CHECKING:
    from booking.models import Seminar, Slot
    from candidates.models import Candidate

RANKS = [chr(code) for code in range(ord("A"), ord("Z") + 1)]


@dataclass(frozen=True)
class RankAccess:
    visible: bool
    opens_at: datetime | None

    def is_open(self, now: datetime) -> bool:
        return self.visible and (self.opens_at is None or self.opens_at <= now)


def rank_access(*, seminar: Seminar, rank: str, rules: list[SeminarRankRule] | None = None) -> RankAccess:
    """A rank's own rule wins; ranks without one follow the seminar's defaults."""
    if not seminar.published:
        return RankAccess(visible=False, opens_at=None)
    if rules is None:
        rule = SeminarRankRule.objects.filter(seminar=seminar, rank=rank).first()
    else:
        rule = next((rule for rule in rules if rule.rank == rank), None)
    if rule is not None:
        return RankAccess(visible=rule.visible, opens_at=rule.opens_at or seminar.opens_at)
    return RankAccess(visible=seminar.default_visible, opens_at=seminar.opens_at)


# Selection steps (candidates' status keys) of students who hold an offer: they see 内定者フォロー events.
OFFER_HOLDER_STATUSES = ("offer", "accepted")


@dataclass(frozen=True)
class Audience:
    """Whom a seminar is for: the students of its season; 内定者フォロー events only once they hold an offer."""

    season_id: int
    for_offer_holders: bool

    def admits(self, *, season_id: int | None, offer_holder: bool) -> bool:
        if season_id != self.season_id:
            return False
        return not self.for_offer_holders or offer_holder


def audience_of(seminar: Seminar) -> Audience:
    return Audience(season_id=seminar.season_id, for_offer_holders=seminar.for_offer_holders)


def offer_holder(status: str) -> bool:
    return status in OFFER_HOLDER_STATUSES


def seminar_open_to(*, seminar: Seminar, candidate: Candidate) -> bool:
    """Season and audience: a student sees only their season's seminars, 内定者フォロー events only once offered."""
    return audience_of(seminar).admits(
        season_id=candidate.season_id, offer_holder=offer_holder(candidate.status)
    )


def seat_ranks(rank: str) -> tuple[str, str]:
    """The quota rows a student of this rank takes a seat from, in order: the rank's own, then the pool."""
    return (rank, POOL)


@dataclass(frozen=True)
class Attempt:
    """What the booking rules look at: whom the seminar is for and who asks (their season, whether they hold
    an offer), the rank's access, the seminar's deadline, the slot's start, now."""

    audience: Audience
    season_id: int | None
    offer_holder: bool
    access: RankAccess
    booking_deadline: datetime | None
    starts_at: datetime
    now: datetime


def _not_for_student(attempt: Attempt) -> errors.BookingError | None:
    """A seminar of another season (or a 内定者フォロー event before the offer) is not bookable, whichever entrance."""
    if attempt.audience.admits(season_id=attempt.season_id, offer_holder=attempt.offer_holder):
        return None
    return errors.NotVisibleError()


def _not_open(attempt: Attempt) -> errors.BookingError | None:
    return opening_refusal(access=attempt.access, now=attempt.now)


def opening_refusal(*, access: RankAccess, now: datetime) -> errors.BookingError | None:
    """Why the rank may not try yet (its opening time is later), or None: the waiting room asks this."""
    if access.is_open(now):
        return None
    opens = access.opens_at
    if not opens:
        return errors.NotOpenError(gettext("まだ予約受付が始まっていません。"))
    return errors.NotOpenError(
        gettext("まだ予約受付が始まっていません（%(when)s から）。") % {"when": when(opens, "month_day_time")}
    )


def _past_deadline(attempt: Attempt) -> errors.BookingError | None:
    if attempt.booking_deadline is not None and attempt.now > attempt.booking_deadline:
        return errors.DeadlinePassedError()
    return None


def _started(attempt: Attempt) -> errors.BookingError | None:
    if attempt.starts_at <= attempt.now:
        return errors.DeadlinePassedError(gettext("この日程はすでに始まっているため予約できません。"))
    return None


# Asked in order; the first refusal is the answer.
BOOKING_RULES: list[Callable[[Attempt], errors.BookingError | None]] = [
    _not_for_student,
    _not_open,
    _past_deadline,
    _started,
]


def booking_refusal(
    *,
    audience: Audience,
    season_id: int | None,
    offer_holder: bool,
    access: RankAccess,
    booking_deadline: datetime | None,
    starts_at: datetime,
    now: datetime,
) -> errors.BookingError | None:
    """Why a slot cannot be booked right now (not for this student's season or audience, not open for the
    rank, past the deadline, started), or None."""
    attempt = Attempt(
        audience=audience,
        season_id=season_id,
        offer_holder=offer_holder,
        access=access,
        booking_deadline=booking_deadline,
        starts_at=starts_at,
        now=now,
    )
    for rule in BOOKING_RULES:
        refusal = rule(attempt)
        if refusal is not None:
            return refusal
    return None


def bookable(*, slot: Slot, candidate: Candidate, access: RankAccess, now: datetime) -> None:
    """Raise the refusal of booking_refusal, if any, for this student and slot."""
    refusal = booking_refusal(
        audience=audience_of(slot.seminar),
        season_id=candidate.season_id,
        offer_holder=offer_holder(candidate.status),
        access=access,
        booking_deadline=slot.seminar.booking_deadline,
        starts_at=slot.starts_at,
        now=now,
    )
    if refusal is not None:
        raise refusal


def changeable(*, seminar: Seminar, now: datetime) -> None:
    """A booking of this seminar may still be moved or cancelled by the student (else raise)."""
    if seminar.cancellation_deadline is not None and now > seminar.cancellation_deadline:
        raise errors.CancelDeadlinePassedError()
