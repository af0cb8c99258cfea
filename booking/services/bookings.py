"""Booking writes for students: create, change, cancel. The database decides every seat.

A seat is taken by ONE conditional UPDATE on the slot's quota row for the student's rank (then on
the shared pool), chained to the INSERT of the booking in the same statement; the CHECK constraint
`taken <= seats` and the partial unique index "one active booking per student and seminar" are the
guarantees, not Python checks. Each booking touches one quota row, so a Redis counter can front this
path later without changing what is decided here.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from booking import errors
from booking.live import seats_changed
from booking.mail import booking_event, booking_mail_send
from booking.models import POOL, Booking, BookingStatus, Seminar, Slot, SlotQuota, WaitlistEntry
from booking.seatcounter import ALREADY, CLAIMED, FULL, NOT_LOADED, REDIS_ERRORS, SeatCounter
from booking.selectors import RankAccess, rank_access

logger = logging.getLogger(__name__)

_TAKE_AND_INSERT = """
WITH seat AS (
    UPDATE booking_slotquota SET taken = taken + 1
    WHERE slot_id = %(slot)s AND rank = %(rank)s AND taken < seats
    RETURNING id
)
INSERT INTO booking_booking
    (candidate_id, slot_id, seminar_id, quota_id, status, attendance, check_in_code, created_at)
SELECT %(candidate)s, %(slot)s, %(seminar)s, seat.id, 'active', 'unknown', %(code)s, %(now)s FROM seat
RETURNING id, quota_id
"""

# The same decision on one known quota row (for a front that already picked the row, e.g. a Redis claim).
_TAKE_QUOTA_AND_INSERT = """
WITH seat AS (
    UPDATE booking_slotquota SET taken = taken + 1
    WHERE id = %(quota)s AND slot_id = %(slot)s AND taken < seats
    RETURNING id
)
INSERT INTO booking_booking
    (candidate_id, slot_id, seminar_id, quota_id, status, attendance, check_in_code, created_at)
SELECT %(candidate)s, %(slot)s, %(seminar)s, seat.id, 'active', 'unknown', %(code)s, %(now)s FROM seat
RETURNING id, quota_id
"""

_TAKE = """
UPDATE booking_slotquota SET taken = taken + 1
WHERE slot_id = %(slot)s AND rank = %(rank)s AND taken < seats
RETURNING id
"""


@dataclass(frozen=True)
class BookingOutcome:
    """The definite answer to a booking request."""

    kind: str  # "booked" | "waitlisted"
    booking: Booking | None = None
    waitlist_entry: WaitlistEntry | None = None

    @property
    def message(self) -> str:
        if self.kind == "booked":
            return "予約が完了しました。"
        return "キャンセル待ちに登録しました。空席が出たらメールとマイページでお知らせします。"


def check_in_code_new() -> str:
    return secrets.token_hex(8)


def slot_for_candidate(*, candidate, slot_id: int | str, now: datetime) -> tuple[Slot, RankAccess]:
    """The slot if it exists in this company and the student's rank may see its seminar."""
    try:
        slot_pk = int(slot_id)
    except (TypeError, ValueError):
        raise errors.SlotNotFoundError() from None
    slot = Slot.objects.select_related("seminar").filter(pk=slot_pk).first()
    if slot is None:
        raise errors.SlotNotFoundError()
    access = rank_access(seminar=slot.seminar, rank=candidate.rank)
    if not access.visible:
        raise errors.NotVisibleError()
    return slot, access


def booking_refusal(
    *, access: RankAccess, booking_deadline: datetime | None, starts_at: datetime, now: datetime
) -> errors.BookingError | None:
    """Why a slot cannot be booked right now (not open for the rank, past the deadline, started), or None."""
    if not access.is_open(now):
        opens = access.opens_at
        when = f"（{timezone.localtime(opens):%-m月%-d日 %H:%M} から）" if opens else ""
        return errors.NotOpenError(f"まだ予約受付が始まっていません{when}。")
    if booking_deadline is not None and now > booking_deadline:
        return errors.DeadlinePassedError()
    if starts_at <= now:
        return errors.DeadlinePassedError("この日程はすでに始まっているため予約できません。")
    return None


def _bookable(*, slot: Slot, access: RankAccess, now: datetime) -> None:
    refusal = booking_refusal(
        access=access, booking_deadline=slot.seminar.booking_deadline, starts_at=slot.starts_at, now=now
    )
    if refusal is not None:
        raise refusal


def _changeable(*, seminar: Seminar, now: datetime) -> None:
    if seminar.cancellation_deadline is not None and now > seminar.cancellation_deadline:
        raise errors.CancelDeadlinePassedError()


def seat_take(*, slot: Slot, rank: str) -> int | None:
    """Take one seat of the slot for this rank (own quota, then pool); the quota row id or None."""
    with connection.cursor() as cursor:
        for quota_rank in (rank, POOL):
            cursor.execute(_TAKE, {"slot": slot.pk, "rank": quota_rank})
            row = cursor.fetchone()
            if row is not None:
                return row[0]
    return None


def booking_create(
    *, candidate, slot_id: int | str, waitlist: bool = False, now: datetime | None = None
) -> BookingOutcome:
    """Book a seat, or (when full and asked) join the waiting list; otherwise raise a BookingError."""
    now = now or timezone.now()
    slot, access = slot_for_candidate(candidate=candidate, slot_id=slot_id, now=now)
    _bookable(slot=slot, access=access, now=now)
    counted = _booking_create_counted(candidate=candidate, slot=slot, now=now, waitlist=waitlist)
    if counted is not None:
        return counted
    params = {
        "slot": slot.pk,
        "seminar": slot.seminar_id,
        "candidate": candidate.pk,
        "code": check_in_code_new(),
        "now": now,
    }
    try:
        with transaction.atomic():
            row = None
            with connection.cursor() as cursor:
                for quota_rank in (candidate.rank, POOL):
                    cursor.execute(_TAKE_AND_INSERT, {**params, "rank": quota_rank})
                    row = cursor.fetchone()
                    if row is not None:
                        break
            if row is not None:
                seats_changed(slot_ids=[slot.pk])
    except IntegrityError as error:
        if "booking_one_active_per_seminar" in str(error):
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
        quota_id=row[1],
        status=BookingStatus.ACTIVE,
        check_in_code=params["code"],
        created_at=now,
    )
    booking_confirmation_mail(booking=booking)
    return BookingOutcome(kind="booked", booking=booking)


def _booking_create_counted(*, candidate, slot: Slot, now: datetime, waitlist: bool) -> BookingOutcome | None:
    """The hot path: Redis decides (one Lua call), PostgreSQL persists the winners with the same conditional SQL.

    Returns None when the PostgreSQL path must decide instead (Redis away, a full slot with a waiting list to
    join, or inside a caller's transaction where a Redis claim could outlive a rollback).
    """
    if connection.in_atomic_block:
        return None
    quota_ids = dict(
        SlotQuota.objects.filter(slot_id=slot.pk, rank__in=[candidate.rank, POOL]).values_list("rank", "id")
    )
    ordered = [quota_ids[r] for r in (candidate.rank, POOL) if r in quota_ids]
    if not ordered:
        raise errors.FullError()
    try:
        counter = SeatCounter(seminar_id=slot.seminar_id)
        claim = counter.claim(candidate_id=candidate.pk, quota_ids=ordered)
        if claim.result == NOT_LOADED:
            counter.load()
            claim = counter.claim(candidate_id=candidate.pk, quota_ids=ordered)
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
        _release(counter, candidate_id=candidate.pk, quota_id=claim.quota_id)
        try:
            counter.drop()
        except REDIS_ERRORS:
            pass
        raise
    if booking_id is None:
        # PostgreSQL, the source of truth, had no seat left on that row: the counters were behind.
        _release(counter, candidate_id=candidate.pk, quota_id=claim.quota_id)
        counter.drop()
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


def _release(counter: SeatCounter, *, candidate_id: int, quota_id: int) -> None:
    try:
        counter.release(candidate_id=candidate_id, quota_id=quota_id)
    except REDIS_ERRORS:
        logger.warning("seat counters unavailable: claim not released, rebuilt when Redis is back")


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
    params = {
        "quota": quota_id,
        "slot": slot_id,
        "seminar": seminar_id,
        "candidate": candidate_id,
        "code": code or check_in_code_new(),
        "now": now or timezone.now(),
    }
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_TAKE_QUOTA_AND_INSERT, params)
            row = cursor.fetchone()
            if row is not None:
                seats_changed(slot_ids=[slot_id], counters_current=counters_current)
    except IntegrityError as error:
        if "booking_one_active_per_seminar" in str(error):
            raise errors.AlreadyBookedError() from None
        return None
    return row[0] if row is not None else None


def booking_change(*, candidate, slot_id: int | str, now: datetime | None = None) -> BookingOutcome:
    """Move the student's booking of this seminar to another slot in one step.

    The new seat is taken first; only if that succeeds is the old one released, in one transaction.
    """
    now = now or timezone.now()
    slot, access = slot_for_candidate(candidate=candidate, slot_id=slot_id, now=now)
    _bookable(slot=slot, access=access, now=now)
    _changeable(seminar=slot.seminar, now=now)
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
            Q(pk=booking.quota_id) | Q(slot=slot, rank__in=[candidate.rank, POOL])
        )
        list(rows.select_for_update().order_by("pk").values_list("pk", flat=True))
        quota_id = seat_take(slot=slot, rank=candidate.rank)
        if quota_id is None:
            raise errors.FullError("変更先の日程は満席です。現在の予約はそのままです。")
        old_quota_id, old_slot_id = booking.quota_id, booking.slot_id
        booking.slot = slot
        booking.quota_id = quota_id
        booking.reminder_sent_at = None
        booking.save(update_fields=["slot", "quota", "reminder_sent_at"])
        seat_release(quota_id=old_quota_id, now=now)
        seats_changed(slot_ids=[slot.pk, old_slot_id])
    booking_confirmation_mail(booking=booking, changed=True)
    return BookingOutcome(kind="booked", booking=booking)


def booking_cancel(
    *,
    candidate,
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
            _changeable(seminar=seminar, now=now)
        booking.status = BookingStatus.CANCELLED
        booking.cancelled_at = now
        booking.save(update_fields=["status", "cancelled_at"])
        seat_release(quota_id=booking.quota_id, now=now)
        seats_changed(slot_ids=[booking.slot_id])
        if record_event:
            booking_event(event="booking_cancelled", booking=booking)
    return booking


def seat_release(*, quota_id: int, now: datetime) -> WaitlistEntry | None:
    """A seat of this quota row is free: offer it to the next in line, or give it back."""
    from booking.services.waitlist import waitlist_offer_next

    quota = SlotQuota.objects.select_for_update().get(pk=quota_id)
    entry = waitlist_offer_next(quota=quota, now=now)
    if entry is None:
        SlotQuota.objects.filter(pk=quota_id).update(taken=F("taken") - 1)
    return entry


def booking_confirm_by_id(*, booking_id: int) -> None:
    """Confirmation of a booking persisted by the rush path (the outbox key makes a second call harmless)."""
    booking = (
        Booking.objects.select_related("candidate", "slot", "seminar")
        .filter(pk=booking_id, status=BookingStatus.ACTIVE)
        .first()
    )
    if booking is not None:
        booking_confirmation_mail(booking=booking)


def booking_confirmation_mail(*, booking: Booking, changed: bool = False) -> None:
    from booking.services.mypage import mypage_url

    slot = booking.slot
    seminar = booking.seminar
    start = timezone.localtime(slot.starts_at)
    end = timezone.localtime(slot.ends_at)
    verb = "変更" if changed else "予約"
    where = seminar.place or seminar.online_url or ""
    body = (
        f"{booking.candidate.full_name} 様\n\n"
        f"「{seminar.title}」の{verb}を承りました。\n"
        f"日時: {start:%Y年%-m月%-d日 %H:%M}〜{end:%H:%M}\n"
        + (f"場所: {where}\n" if where else "")
        + f"\n予約の確認・変更・キャンセルはマイページから: {mypage_url(path='/my/')}\n"
    )
    if not changed:
        booking_event(event="seminar_booked", booking=booking)
    booking_mail_send(
        candidate=booking.candidate,
        subject=f"【{verb}完了】{seminar.title}",
        body=body,
        key=f"booking-{'change' if changed else 'confirm'}:{booking.pk}:{booking.slot_id}",
    )
