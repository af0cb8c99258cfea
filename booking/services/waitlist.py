"""Waiting list: join when your seats are gone; a freed seat is held for the next in line for a while."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from booking import errors
from booking.live import seats_changed
from booking.mail import booking_mail_send, student_page_push
from booking.models import (
    POOL,
    Booking,
    BookingStatus,
    SlotQuota,
    WaitlistEntry,
    WaitlistStatus,
)
from booking.rules import bookable
from booking.seats import check_in_code_new, seat_give_back
from booking.selectors import remaining_for_rank, slot_quota_remaining
from booking.services.confirmations import booking_confirmation_mail, salutation
from saas.dates import when
from tenants.selectors import current_schema

if TYPE_CHECKING:
    from candidates.models import Candidate


def waitlist_join(*, candidate: Candidate, slot_id: int | str, now: datetime | None = None) -> WaitlistEntry:
    from booking.services.bookings import slot_for_candidate

    now = now or timezone.now()
    slot, access = slot_for_candidate(candidate=candidate, slot_id=slot_id, now=now)
    bookable(slot=slot, candidate=candidate, access=access, now=now)
    if Booking.objects.filter(candidate=candidate, slot=slot, status=BookingStatus.ACTIVE).exists():
        raise errors.SameSlotError()
    quotas = slot_quota_remaining(slot_ids=[slot.pk]).get(slot.pk, {})
    if remaining_for_rank(quotas=quotas, rank=candidate.rank) > 0:
        raise errors.NotFullError()
    try:
        with transaction.atomic():
            return WaitlistEntry.objects.create(candidate=candidate, slot=slot)
    except IntegrityError:
        raise errors.AlreadyWaitingError() from None


def waitlist_offer_next(*, quota: SlotQuota, now: datetime) -> WaitlistEntry | None:
    """Hold the freed seat of `quota` (locked by the caller) for the first eligible student waiting."""
    queue = WaitlistEntry.objects.select_for_update(skip_locked=True).filter(
        slot_id=quota.slot_id, status=WaitlistStatus.WAITING
    )
    if quota.rank != POOL:
        queue = queue.filter(candidate__rank=quota.rank)
    entry = queue.select_related("candidate", "slot", "slot__seminar").order_by("created_at", "id").first()
    if entry is None:
        return None
    minutes = entry.slot.seminar.offer_minutes
    entry.status = WaitlistStatus.OFFERED
    entry.held_quota = quota
    entry.offer_expires_at = now + timedelta(minutes=minutes)
    entry.save(update_fields=["status", "held_quota", "offer_expires_at"])
    _offer_mail(entry=entry)
    _offer_push(entry=entry)
    schema_name = current_schema()
    entry_id, eta = entry.pk, entry.offer_expires_at

    def schedule_expiry() -> None:
        from booking.tasks import waitlist_offer_expire_task

        try:
            waitlist_offer_expire_task.apply_async(args=[schema_name, entry_id], eta=eta)
        except Exception:
            # The periodic sweep expires it anyway.
            pass

    transaction.on_commit(schedule_expiry)
    return entry


def waitlist_accept(*, candidate: Candidate, entry_id: int | str, now: datetime | None = None) -> Booking:
    """Confirm an offered seat: it becomes the student's booking (replacing their other slot, if any)."""
    now = now or timezone.now()
    from booking.services.bookings import seat_release

    with transaction.atomic():
        entry = (
            WaitlistEntry.objects.select_for_update()
            .filter(pk=_int(entry_id), candidate=candidate)
            .select_related("slot", "slot__seminar")
            .first()
        )
        if entry is None or entry.status in (WaitlistStatus.ACCEPTED, WaitlistStatus.LEFT):
            raise errors.NotBookedError(gettext("ご案内が見つかりません。"))
        if entry.status == WaitlistStatus.WAITING:
            raise errors.BookingError(gettext("まだ空席のご案内はありません。"))
        if entry.status == WaitlistStatus.EXPIRED or (
            entry.offer_expires_at is not None and entry.offer_expires_at <= now
        ):
            raise errors.OfferExpiredError()
        held = entry.held_quota_id
        if held is None:  # an offer always holds a seat
            raise errors.NotBookedError(gettext("ご案内が見つかりません。"))
        existing = (
            Booking.objects.select_for_update()
            .filter(candidate=candidate, seminar_id=entry.slot.seminar_id, status=BookingStatus.ACTIVE)
            .first()
        )
        if existing is not None:
            old_quota_id, old_slot_id = existing.quota_id, existing.slot_id
            existing.slot = entry.slot
            existing.quota_id = held
            existing.save(update_fields=["slot", "quota"])
            booking = existing
            seat_release(quota_id=old_quota_id, now=now)
            seats_changed(slot_ids=[old_slot_id])
        else:
            booking = Booking.objects.create(
                candidate=candidate,
                slot=entry.slot,
                seminar=entry.slot.seminar,
                quota_id=held,
                check_in_code=check_in_code_new(),
            )
        entry.status = WaitlistStatus.ACCEPTED
        entry.save(update_fields=["status"])
    booking_confirmation_mail(booking=booking, changed=existing is not None)
    return booking


def waitlist_leave(
    *, candidate: Candidate, entry_id: int | str, now: datetime | None = None
) -> WaitlistEntry:
    now = now or timezone.now()
    with transaction.atomic():
        entry = (
            WaitlistEntry.objects.select_for_update()
            .filter(
                pk=_int(entry_id),
                candidate=candidate,
                status__in=[WaitlistStatus.WAITING, WaitlistStatus.OFFERED],
            )
            .first()
        )
        if entry is None:
            raise errors.NotBookedError(gettext("キャンセル待ちの登録が見つかりません。"))
        held = entry.held_quota_id if entry.status == WaitlistStatus.OFFERED else None
        entry.status = WaitlistStatus.LEFT
        entry.save(update_fields=["status"])
        if held is not None:
            _pass_on(quota_id=held, now=now)
    return entry


def waitlist_offer_expire(*, entry_id: int, now: datetime | None = None) -> WaitlistEntry | None:
    """Expire an offer whose window has passed; the held seat passes to the next in line (or is freed).

    Returns the entry that received the seat next, if any.
    """
    now = now or timezone.now()
    with transaction.atomic():
        entry = (
            WaitlistEntry.objects.select_for_update(skip_locked=True)
            .filter(pk=entry_id, status=WaitlistStatus.OFFERED, offer_expires_at__lte=now)
            .first()
        )
        if entry is None:
            return None
        entry.status = WaitlistStatus.EXPIRED
        entry.save(update_fields=["status"])
        return _pass_on(quota_id=entry.held_quota_id, now=now)


def waitlist_offers_expire_due(*, now: datetime | None = None) -> int:
    from booking.selectors import waitlist_due_offers

    now = now or timezone.now()
    count = 0
    for entry_id in list(waitlist_due_offers(now=now).values_list("id", flat=True)):
        waitlist_offer_expire(entry_id=entry_id, now=now)
        count += 1
    return count


def _pass_on(*, quota_id: int | None, now: datetime) -> WaitlistEntry | None:
    if quota_id is None:  # an offer always holds a seat; nothing to pass on otherwise
        return None
    quota = SlotQuota.objects.select_for_update().get(pk=quota_id)
    entry = waitlist_offer_next(quota=quota, now=now)
    if entry is None:
        seat_give_back(quota_id=quota_id)
        seats_changed(slot_ids=[quota.slot_id])
    return entry


def _int(value: int | str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _offer_push(*, entry: WaitlistEntry) -> None:
    """The offer on the student's open My Page (static/booking/offers.js draws it as home.html does)."""
    student_page_push(
        candidate_id=entry.candidate_id,
        event={
            "type": "offer",
            "entry": entry.pk,
            "title": entry.slot.seminar.title,
            "when": when(entry.slot.starts_at, "day_time"),
            "deadline": when(entry.offer_expires_at, "month_day_time"),
            "accept": f"/my/waitlist/{entry.pk}/accept/",
            "leave": f"/my/waitlist/{entry.pk}/leave/",
        },
    )


def _offer_mail(*, entry: WaitlistEntry) -> None:
    from booking.services.mypage import mypage_url

    seminar = entry.slot.seminar
    body = (
        salutation(name=entry.candidate.full_name)
        + gettext("キャンセル待ちをされていた「%(title)s」（%(when)s〜）に空席が出ました。")
        % {"title": seminar.title, "when": when(entry.slot.starts_at, "full_time")}
        + "\n"
        + gettext(
            "%(deadline)s までにマイページで予約を確定してください。期限を過ぎると次の方にご案内します。"
        )
        % {"deadline": when(entry.offer_expires_at, "month_day_time")}
        + f"\n\n{mypage_url(path='/my/')}\n"
    )
    booking_mail_send(
        candidate=entry.candidate,
        subject=gettext("【空席のご案内】%(title)s") % {"title": seminar.title},
        body=body,
        key=f"waitlist-offer:{entry.pk}:{entry.offer_expires_at:%s}",
    )
