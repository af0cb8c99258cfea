"""Recruiter writes: seminars, slots, per-rank quotas and rank rules, attendance."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from booking import errors
from booking.live import seats_changed
from booking.mail import attendance_event
from booking.models import (
    POOL,
    Attendance,
    Booking,
    BookingStatus,
    Seminar,
    SeminarRankRule,
    Slot,
    SlotQuota,
    WaitingRoomMode,
)
from booking.rush.openings import opening_note
from booking.rush.state import seminar_created
from booking.signals import attendance_marked
from tenants.selectors import current_schema
from webhooks.events import EventType, event_emit

if TYPE_CHECKING:
    from seasons.models import Season

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
    "for_offer_holders",
)


@transaction.atomic
def seminar_create(*, title: str, season: Season | None = None, **fields: Any) -> Seminar:
    """A seminar of `season` (the database's default season when None)."""
    unknown = set(fields) - set(SEMINAR_FIELDS)
    if unknown:
        raise TypeError(f"unknown seminar fields: {sorted(unknown)}")
    if season is not None:
        fields["season"] = season
    seminar = Seminar.objects.create(title=title, **fields)
    schema = current_schema()
    # The rush path's "no such seminar" answers end here at once (elsewhere within a second).
    transaction.on_commit(lambda: seminar_created(schema=schema, seminar_id=seminar.pk))
    _opening_announce(seminar)
    return seminar


def _opening_announce(seminar: Seminar) -> None:
    """Once committed, tell the rush processes when booking opens (the earliest future opening, the
    seminar's own or a rank's), so they are ready at that second (booking/rush/openings.py)."""
    schema = current_schema()
    now = timezone.now()
    times = [
        seminar.opens_at,
        *SeminarRankRule.objects.filter(seminar=seminar).values_list("opens_at", flat=True),
    ]
    opens_at = min((t for t in times if t is not None and t > now), default=None)
    transaction.on_commit(lambda: opening_note(schema=schema, seminar_id=seminar.pk, opens_at=opens_at))


@transaction.atomic
def seminar_update(*, seminar: Seminar, **fields: Any) -> Seminar:
    unknown = set(fields) - set(SEMINAR_FIELDS)
    if unknown:
        raise TypeError(f"unknown seminar fields: {sorted(unknown)}")
    for name, value in fields.items():
        setattr(seminar, name, value)
    seminar.save(update_fields=list(fields))
    seats_changed(slot_ids=list(seminar.slots.values_list("id", flat=True)))
    if "opens_at" in fields:
        _opening_announce(seminar)
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
        raise errors.QuotaError(gettext("終了は開始より後にしてください。"))
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
            raise errors.QuotaError(
                gettext("ランク「%(rank)s」は A〜Z か *（共有枠）で指定してください。") % {"rank": rank}
            )
        if int(seats) < 0:
            raise errors.QuotaError(gettext("席数は 0 以上にしてください。"))
        cleaned[rank] = int(seats)
    if sum(cleaned.values()) > slot.capacity:
        raise errors.QuotaError(
            gettext("ランク別の席数の合計（%(total)s）が定員（%(capacity)s）を超えています。")
            % {"total": sum(cleaned.values()), "capacity": slot.capacity}
        )
    existing = {quota.rank: quota for quota in SlotQuota.objects.select_for_update().filter(slot=slot)}
    for rank, quota in existing.items():
        if cleaned.get(rank, 0) < quota.taken:
            raise errors.QuotaError(
                gettext("ランク「%(rank)s」はすでに %(taken)s 席が予約済みです。それより少なくはできません。")
                % {"rank": rank, "taken": quota.taken}
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
        found = existing.get(rank)
        if found is None:
            found = SlotQuota.objects.create(slot=slot, rank=rank, seats=seats)
        elif found.seats != seats:
            found.seats = seats
            found.save(update_fields=["seats"])
        result.append(found)
    seats_changed(slot_ids=[slot.pk])
    return result


@transaction.atomic
def rank_rules_set(*, seminar: Seminar, rules: dict[str, tuple[bool, datetime | None]]) -> None:
    """Replace the per-rank visibility and opening times of a seminar."""
    SeminarRankRule.objects.filter(seminar=seminar).exclude(rank__in=list(rules)).delete()
    for rank, (visible, opens_at) in rules.items():
        if not re.match(r"^[A-Z]$", rank):
            raise errors.QuotaError(
                gettext("ランク「%(rank)s」は A〜Z で指定してください。") % {"rank": rank}
            )
        SeminarRankRule.objects.update_or_create(
            seminar=seminar, rank=rank, defaults={"visible": visible, "opens_at": opens_at}
        )
    seats_changed(slot_ids=list(seminar.slots.values_list("id", flat=True)))
    _opening_announce(seminar)


def attendance_mark(*, booking_id: int | str, attendance: str) -> Booking:
    if attendance not in Attendance.values:
        raise errors.BookingError(gettext("出欠の値が正しくありません。"))
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
            "schema_name": current_schema(),
            "booking_id": booking.pk,
            "candidate_id": booking.candidate_id,
            "seminar_id": booking.seminar_id,
            "attendance": attendance,
        }
        attendance_event(booking=booking, attendance=attendance)
        event_emit(
            event_type=EventType.ATTENDANCE_RECORDED,
            data={key: value for key, value in details.items() if key != "schema_name"},
        )
        transaction.on_commit(lambda: attendance_marked.send(sender=Booking, **details))
    return booking


ADMISSION_PER_SECOND_RANGE = (1, 100_000)
WAITING_ROOM_LATENCY_MS_RANGE = (50, 10_000)


def _int_in_range(value: object, *, bounds: tuple[int, int], not_integer: str, out_of_range: str) -> int:
    """The whole number within bounds; `out_of_range` names the bounds as %(low)s and %(high)s."""
    low, high = bounds
    try:
        if isinstance(value, bool | float):
            raise ValueError(value)
        number = int(str(value).strip())
    except ValueError:
        raise errors.WaitingRoomSettingsError(not_integer) from None
    if not low <= number <= high:
        raise errors.WaitingRoomSettingsError(out_of_range % {"low": f"{low:,}", "high": f"{high:,}"})
    return number


@transaction.atomic
def seminar_waiting_room_set(
    *, seminar: Seminar, mode: str, admission_per_second: int, latency_ms: int
) -> Seminar:
    """The waiting room of a seminar's booking rush: off / always on / on by itself when answers slow down."""
    if mode not in WaitingRoomMode.values:
        raise errors.WaitingRoomSettingsError(
            gettext("待合室の使い方は「使わない」「常に使う」「混雑時に自動」から選んでください。")
        )
    rate = _int_in_range(
        admission_per_second,
        bounds=ADMISSION_PER_SECOND_RANGE,
        not_integer=gettext("入場レートは整数で入力してください。"),
        out_of_range=gettext("入場レートは %(low)s〜%(high)s 人/秒の範囲で入力してください。"),
    )
    latency = _int_in_range(
        latency_ms,
        bounds=WAITING_ROOM_LATENCY_MS_RANGE,
        not_integer=gettext("自動で開く応答時間は整数で入力してください。"),
        out_of_range=gettext("自動で開く応答時間は %(low)s〜%(high)s ミリ秒の範囲で入力してください。"),
    )
    seminar = Seminar.objects.select_for_update().get(pk=seminar.pk)
    seminar.waiting_room = mode
    seminar.admission_per_second = rate
    seminar.waiting_room_latency_ms = latency
    seminar.save(update_fields=["waiting_room", "admission_per_second", "waiting_room_latency_ms"])
    return seminar
