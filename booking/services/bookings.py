"""Booking writes for students: create, change, cancel. The database decides every seat.

A seat is taken by the statement of booking/seats.py (a single booking is a batch of one): one conditional
UPDATE of the slot's quota row for the student's rank (then of the shared pool) chained to the INSERT of
the booking; the CHECK `taken <= seats` and the partial unique index "one active booking per student and
seminar" are the guarantees. Who may book when is booking/rules.py; the mails are
booking/services/confirmations.py. Outside a transaction the Redis counters (booking/seatcounter.py)
decide first and PostgreSQL persists the winner with the same statement.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from booking import errors
from booking.admission import admission_refusal
from booking.live import seats_changed
from booking.mail import booking_event
from booking.models import Booking, BookingStatus, Seminar, Slot, SlotQuota, WaitlistEntry
from booking.rules import RankAccess, bookable, changeable, rank_access, seat_ranks, seminar_open_to
from booking.seatcounter import ALREADY, CLAIMED, FULL, REDIS_ERRORS, SeatCounter
from booking.seats import ONE_ACTIVE_PER_SEMINAR, SeatRequest, check_in_code_new, seat_give_back, seats_take
from booking.services.confirmations import booking_cancellation_mail, booking_confirmation_mail
from tenants.selectors import current_schema
from webhooks.events import EventType, event_emit

if TYPE_CHECKING:
    from candidates.models import Candidate

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BookingOutcome:
    """The definite answer to a booking request."""

    kind: str  # "booked" | "waitlisted"
    booking: Booking | None = None
    waitlist_entry: WaitlistEntry | None = None

    @property
    def message(self) -> str:
        if self.kind == "booked":
            return gettext("予約が完了しました。")
        return gettext("キャンセル待ちに登録しました。空席が出たらメールとマイページでお知らせします。")


def slot_for_candidate(*, candidate: Candidate, slot_id: int | str, now: datetime) -> tuple[Slot, RankAccess]:
    """The slot if it exists in this company and the student's rank may see its seminar."""
    try:
        slot_pk = int(slot_id)
    except (TypeError, ValueError):
        raise errors.SlotNotFoundError() from None
    slot = Slot.objects.select_related("seminar").filter(pk=slot_pk).first()
    if slot is None:
        raise errors.SlotNotFoundError()
    access = rank_access(seminar=slot.seminar, rank=candidate.rank)
    if not access.visible or not seminar_open_to(seminar=slot.seminar, candidate=candidate):
        raise errors.NotVisibleError()
    return slot, access


@dataclass(frozen=True)
class RoomEntry:
    """An entrance the waiting room holds: the student's room pass (cookie), if any."""

    room_pass: str | None


def room_admit(room: RoomEntry | None, *, slot: Slot, candidate: Candidate) -> None:
    """Raise the waiting room's refusal (booking/admission.py) for an entrance it holds."""
    if room is None:
        return
    refusal = admission_refusal(
        schema=current_schema(),
        seminar_id=slot.seminar_id,
        mode=slot.seminar.waiting_room,
        candidate_id=candidate.pk,
        room_pass=room.room_pass,
    )
    if refusal is not None:
        raise refusal


def seat_take(*, slot: Slot, candidate_id: int, rank: str) -> int | None:
    """Take one seat of the slot for this rank (own quota, then pool); the quota row id or None."""
    for quota_rank in seat_ranks(rank):
        request = SeatRequest(
            candidate_id=candidate_id, slot_id=slot.pk, seminar_id=slot.seminar_id, quota=quota_rank
        )
        rows = seats_take([request], now=None, by_rank=True, insert=False)
        if rows:
            return rows[0][0]
    return None


def booking_create(
    *,
    candidate: Candidate,
    slot_id: int | str,
    waitlist: bool = False,
    now: datetime | None = None,
    room: RoomEntry | None = None,
) -> BookingOutcome:
    """Book a seat, or (when full and asked) join the waiting list; otherwise raise a BookingError.

    `room`: this entrance is held by the seminar's waiting room (booking/admission.py), with the student's
    room pass if any; internal callers (the rush path's own fallback, the waiting list) pass none.
    """
    now = now or timezone.now()
    slot, access = slot_for_candidate(candidate=candidate, slot_id=slot_id, now=now)
    bookable(slot=slot, candidate=candidate, access=access, now=now)
    room_admit(room, slot=slot, candidate=candidate)
    counted = _booking_create_counted(candidate=candidate, slot=slot, now=now, waitlist=waitlist)
    if counted is not None:
        return counted
    code = check_in_code_new()
    try:
        with transaction.atomic():
            row = None
            for quota_rank in seat_ranks(candidate.rank):
                request = SeatRequest(
                    candidate_id=candidate.pk,
                    slot_id=slot.pk,
                    seminar_id=slot.seminar_id,
                    quota=quota_rank,
                    code=code,
                )
                rows = seats_take([request], now=now, by_rank=True)
                if rows:
                    row = rows[0]
                    break
            if row is not None:
                seats_changed(slot_ids=[slot.pk])
    except IntegrityError as error:
        if ONE_ACTIVE_PER_SEMINAR in str(error):
            # The partial unique index refused a second active booking in this seminar.
            raise errors.AlreadyBookedError() from None
        # The CHECK `taken <= seats` is the backstop of the conditional update: still a definite "full".
        raise errors.FullError() from None
    if row is None:
        if Booking.objects.filter(
            candidate=candidate, seminar_id=slot.seminar_id, status=BookingStatus.ACTIVE
        ).exists():
            raise errors.AlreadyBookedError()
        if waitlist:
            from booking.services.waitlist import waitlist_join

            entry = waitlist_join(candidate=candidate, slot_id=slot.pk, now=now)
            return BookingOutcome(kind="waitlisted", waitlist_entry=entry)
        raise errors.FullError()
    booking = Booking(
        pk=row[0],
        candidate=candidate,
        slot=slot,
        seminar=slot.seminar,
        quota_id=row[2],
        status=BookingStatus.ACTIVE,
        check_in_code=code,
        created_at=now,
    )
    booking_confirmation_mail(booking=booking)
    return BookingOutcome(kind="booked", booking=booking)


def _booking_create_counted(
    *, candidate: Candidate, slot: Slot, now: datetime, waitlist: bool
) -> BookingOutcome | None:
    """The hot path: Redis decides (one Lua call), PostgreSQL persists the winners with the same conditional SQL.

    Returns None when the PostgreSQL path must decide instead (Redis away, a full slot with a waiting list to
    join, or inside a caller's transaction where a Redis claim could outlive a rollback).
    """
    if connection.in_atomic_block:
        return None
    quota_ids = dict(
        SlotQuota.objects.filter(slot_id=slot.pk, rank__in=seat_ranks(candidate.rank)).values_list(
            "rank", "id"
        )
    )
    ordered = [quota_ids[r] for r in seat_ranks(candidate.rank) if r in quota_ids]
    if not ordered:
        raise errors.FullError()
    try:
        counter = SeatCounter(seminar_id=slot.seminar_id, schema=current_schema())
        claim = counter.claim_loaded(candidate_id=candidate.pk, quota_ids=ordered)
    except REDIS_ERRORS:
        logger.error("seat counters unavailable: booking falls back to PostgreSQL alone")
        return None
    if claim.result == ALREADY:
        raise errors.AlreadyBookedError()
    if claim.result != CLAIMED:
        # Full for this rank as far as the counters know; PostgreSQL decides the waiting list (or says full).
        if claim.result == FULL and not waitlist:
            raise errors.FullError()
        return None
    code = check_in_code_new()
    try:
        booking_id = booking_insert_on_quota(
            candidate_id=candidate.pk,
            slot_id=slot.pk,
            seminar_id=slot.seminar_id,
            quota_id=claim.quota_id,
            now=now,
            counters_current=True,
            code=code,
        )
    except Exception:
        # AlreadyBookedError from PostgreSQL, or PostgreSQL away: the claimed seat goes back, and since
        # the commit may have happened with its reply lost, the copy is rebuilt from PostgreSQL next time.
        counter.undo(candidate_id=candidate.pk, quota_id=claim.quota_id)
        raise
    if booking_id is None:
        # PostgreSQL, the source of truth, had no seat left on that row: the counters were behind.
        counter.undo(candidate_id=candidate.pk, quota_id=claim.quota_id)
        raise errors.FullError()
    booking = Booking(
        pk=booking_id,
        candidate=candidate,
        slot=slot,
        seminar=slot.seminar,
        quota_id=claim.quota_id,
        status=BookingStatus.ACTIVE,
        check_in_code=code,
        created_at=now,
    )
    booking_confirmation_mail(booking=booking)
    return BookingOutcome(kind="booked", booking=booking)


def booking_insert_on_quota(
    *,
    candidate_id: int,
    slot_id: int,
    seminar_id: int,
    quota_id: int,
    now: datetime | None = None,
    counters_current: bool = False,
    code: str | None = None,
) -> int | None:
    """Persist one seat on a given quota row with the conditional UPDATE + INSERT; the booking id or None.

    Raises AlreadyBookedError when the student holds a seat of this seminar already. The caller has
    checked visibility, opening time and deadline; no mail is sent here.
    """
    request = SeatRequest(
        candidate_id=candidate_id,
        slot_id=slot_id,
        seminar_id=seminar_id,
        quota=quota_id,
        code=code or check_in_code_new(),
    )
    try:
        with transaction.atomic():
            rows = seats_take([request], now=now or timezone.now())
            if rows:
                seats_changed(slot_ids=[slot_id], counters_current=counters_current)
    except IntegrityError as error:
        if ONE_ACTIVE_PER_SEMINAR in str(error):
            raise errors.AlreadyBookedError() from None
        return None
    return rows[0][0] if rows else None


def booking_change(
    *, candidate: Candidate, slot_id: int | str, now: datetime | None = None, room: RoomEntry | None = None
) -> BookingOutcome:
    """Move the student's booking of this seminar to another slot in one step.

    The new seat is taken first; only if that succeeds is the old one released, in one transaction.
    """
    now = now or timezone.now()
    slot, access = slot_for_candidate(candidate=candidate, slot_id=slot_id, now=now)
    bookable(slot=slot, candidate=candidate, access=access, now=now)
    room_admit(room, slot=slot, candidate=candidate)
    changeable(seminar=slot.seminar, now=now)
    with transaction.atomic():
        booking = (
            Booking.objects.select_for_update()
            .filter(candidate=candidate, seminar_id=slot.seminar_id, status=BookingStatus.ACTIVE)
            .first()
        )
        if booking is None:
            raise errors.NotBookedError()
        if booking.slot_id == slot.pk:
            raise errors.SameSlotError()
        # Both ends of the move are locked up front in id order: two students swapping slots in
        # opposite directions wait for each other in line instead of deadlocking.
        rows = SlotQuota.objects.filter(
            Q(pk=booking.quota_id) | Q(slot=slot, rank__in=seat_ranks(candidate.rank))
        )
        list(rows.select_for_update().order_by("pk").values_list("pk", flat=True))
        quota_id = seat_take(slot=slot, candidate_id=candidate.pk, rank=candidate.rank)
        if quota_id is None:
            raise errors.FullError(gettext("変更先の日程は満席です。現在の予約はそのままです。"))
        old_quota_id, old_slot_id = booking.quota_id, booking.slot_id
        booking.slot = slot
        booking.quota_id = quota_id
        booking.reminder_sent_at = None
        booking.save(update_fields=["slot", "quota", "reminder_sent_at"])
        seat_release(quota_id=old_quota_id, now=now)
        seats_changed(slot_ids=[slot.pk, old_slot_id])
        _told(EventType.BOOKING_MOVED, booking=booking, previous_slot_id=old_slot_id)
    booking_confirmation_mail(booking=booking, changed=True)
    return BookingOutcome(kind="booked", booking=booking)


def _told(event_type: EventType, *, booking: Booking, **extra: Any) -> None:
    """Tell the company's webhooks of a change to this booking, in the caller's transaction (ids and states)."""
    event_emit(
        event_type=event_type,
        data={
            "booking_id": booking.pk,
            "candidate_id": booking.candidate_id,
            "seminar_id": booking.seminar_id,
            "slot_id": booking.slot_id,
            "status": str(booking.status),
            **extra,
        },
    )


def booking_cancel(
    *,
    candidate: Candidate | None,
    booking_id: int | str,
    now: datetime | None = None,
    by_recruiter: bool = False,
    record_event: bool = True,
) -> Booking:
    """Cancel a booking; its seat goes to the next student on the waiting list, or back to the quota.

    Without `record_event` no step mail hears of it (the student is being erased).
    """
    now = now or timezone.now()
    try:
        booking_pk = int(booking_id)
    except (TypeError, ValueError):
        raise errors.NotBookedError() from None
    with transaction.atomic():
        query = Booking.objects.select_for_update().filter(pk=booking_pk, status=BookingStatus.ACTIVE)
        if candidate is not None:
            query = query.filter(candidate=candidate)
        booking = query.first()
        if booking is None:
            raise errors.NotBookedError()
        seminar = Seminar.objects.get(pk=booking.seminar_id)
        if not by_recruiter:
            changeable(seminar=seminar, now=now)
        booking.status = BookingStatus.CANCELLED
        booking.cancelled_at = now
        booking.save(update_fields=["status", "cancelled_at"])
        seat_release(quota_id=booking.quota_id, now=now)
        seats_changed(slot_ids=[booking.slot_id])
        _told(EventType.BOOKING_CANCELLED, booking=booking, by_recruiter=by_recruiter)
        if record_event:
            booking_event(event="booking_cancelled", booking=booking)
        if record_event and not by_recruiter:
            booking_cancellation_mail(booking=booking)  # the student's own cancellation is confirmed by mail
    return booking


def seat_release(*, quota_id: int, now: datetime) -> WaitlistEntry | None:
    """A seat of this quota row is free: offer it to the next in line, or give it back."""
    from booking.services.waitlist import waitlist_offer_next

    quota = SlotQuota.objects.select_for_update().get(pk=quota_id)
    entry = waitlist_offer_next(quota=quota, now=now)
    if entry is None:
        seat_give_back(quota_id=quota_id)
    return entry
