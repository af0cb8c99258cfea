"""Recruiter writes: seminars, slots, per-rank quotas and rank rules, attendance."""

from __future__ import annotations

import re
from datetime import datetime

from django.db import connection, transaction

from booking import errors
from booking.live import seats_changed
from booking.models import POOL, Attendance, Booking, BookingStatus, Seminar, SeminarRankRule, Slot, SlotQuota
from booking.signals import attendance_marked

_RANK = re.compile(r"^([A-Z]|\*)$")

SEMINAR_FIELDS = (
    "title",
    "description",
    "place",
    "online_url",
    "default_visible",
    "opens_at",
    "booking_deadline",
    "cancellation_deadline",
    "offer_minutes",
    "published",
)


@transaction.atomic
def seminar_create(*, title: str, **fields) -> Seminar:
    unknown = set(fields) - set(SEMINAR_FIELDS)
    if unknown:
        raise TypeError(f"unknown seminar fields: {sorted(unknown)}")
    return Seminar.objects.create(title=title, **fields)


@transaction.atomic
def seminar_update(*, seminar: Seminar, **fields) -> Seminar:
    unknown = set(fields) - set(SEMINAR_FIELDS)
    if unknown:
        raise TypeError(f"unknown seminar fields: {sorted(unknown)}")
    for name, value in fields.items():
        setattr(seminar, name, value)
    seminar.save(update_fields=list(fields))
    seats_changed(slot_ids=list(seminar.slots.values_list("id", flat=True)))
    return seminar


@transaction.atomic
def slot_create(
    *,
    seminar: Seminar,
    starts_at: datetime,
    ends_at: datetime,
    capacity: int,
    quotas: dict[str, int] | None = None,
) -> Slot:
    """A slot; without quotas all its seats form one shared pool."""
    if ends_at <= starts_at:
        raise errors.QuotaError("終了は開始より後にしてください。")
    slot = Slot.objects.create(seminar=seminar, starts_at=starts_at, ends_at=ends_at, capacity=capacity)
    slot_quotas_set(slot=slot, quotas=quotas if quotas else {POOL: capacity})
    return slot


@transaction.atomic
def slot_quotas_set(*, slot: Slot, quotas: dict[str, int], capacity: int | None = None) -> list[SlotQuota]:
    """Replace a slot's per-rank seats (and optionally its capacity) under the slot's lock.

    Seats never go below what is taken, and all quotas together never exceed the capacity.
    """
    slot = Slot.objects.select_for_update().get(pk=slot.pk)
    if capacity is not None:
        slot.capacity = capacity
    cleaned: dict[str, int] = {}
    for rank, seats in quotas.items():
        rank = str(rank).strip().upper()
        if not _RANK.match(rank):
            raise errors.QuotaError(f"ランク「{rank}」は A〜Z か *（共有枠）で指定してください。")
        if int(seats) < 0:
            raise errors.QuotaError("席数は 0 以上にしてください。")
        cleaned[rank] = int(seats)
    if sum(cleaned.values()) > slot.capacity:
        raise errors.QuotaError(
            f"ランク別の席数の合計（{sum(cleaned.values())}）が定員（{slot.capacity}）を超えています。"
        )
    existing = {quota.rank: quota for quota in SlotQuota.objects.select_for_update().filter(slot=slot)}
    for rank, quota in existing.items():
        if cleaned.get(rank, 0) < quota.taken:
            raise errors.QuotaError(
                f"ランク「{rank}」はすでに {quota.taken} 席が予約済みです。それより少なくはできません。"
            )
    if capacity is not None:
        slot.save(update_fields=["capacity"])
    for rank, quota in existing.items():
        if rank not in cleaned:
            if quota.bookings.exists():
                quota.seats = 0
                quota.save(update_fields=["seats"])
            else:
                quota.delete()
    result = []
    for rank, seats in cleaned.items():
        quota = existing.get(rank)
        if quota is None:
            quota = SlotQuota.objects.create(slot=slot, rank=rank, seats=seats)
        elif quota.seats != seats:
            quota.seats = seats
            quota.save(update_fields=["seats"])
        result.append(quota)
    seats_changed(slot_ids=[slot.pk])
    return result


@transaction.atomic
def rank_rules_set(*, seminar: Seminar, rules: dict[str, tuple[bool, datetime | None]]) -> None:
    """Replace the per-rank visibility and opening times of a seminar."""
    SeminarRankRule.objects.filter(seminar=seminar).exclude(rank__in=list(rules)).delete()
    for rank, (visible, opens_at) in rules.items():
        if not re.match(r"^[A-Z]$", rank):
            raise errors.QuotaError(f"ランク「{rank}」は A〜Z で指定してください。")
        SeminarRankRule.objects.update_or_create(
            seminar=seminar, rank=rank, defaults={"visible": visible, "opens_at": opens_at}
        )
    seats_changed(slot_ids=list(seminar.slots.values_list("id", flat=True)))


def attendance_mark(*, booking_id: int | str, attendance: str) -> Booking:
    if attendance not in Attendance.values:
        raise errors.BookingError("出欠の値が正しくありません。")
    try:
        pk = int(booking_id)
    except (TypeError, ValueError):
        raise errors.NotBookedError() from None
    with transaction.atomic():
        booking = Booking.objects.select_for_update().filter(pk=pk, status=BookingStatus.ACTIVE).first()
        if booking is None:
            raise errors.NotBookedError()
        booking.attendance = attendance
        booking.save(update_fields=["attendance"])
        details = {
            "schema_name": connection.schema_name,
            "booking_id": booking.pk,
            "candidate_id": booking.candidate_id,
            "seminar_id": booking.seminar_id,
            "attendance": attendance,
        }
        transaction.on_commit(lambda: attendance_marked.send(sender=Booking, **details))
    return booking
