"""Booking confirmations: the mail every booking gets, and the rush path's way of sending it later.

Every entrance confirms here: a booking or a change made on a page queues its mail at once
(`booking_confirmation_mail`); a seat won on the rush path costs the request one Redis RPUSH (a Celery
message costs ten times more, `confirm_later`), and a worker drains the lists every second into the
company's outbox (idempotent on the booking). PostgreSQL stays the truth: a sweep queues the confirmation
of any recent booking that has none, so a list lost with Redis (or a worker killed after popping) delays
mails, never drops them.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import connection
from django.db.models import CharField, Exists, OuterRef, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django.utils.translation import gettext
from django_tenants.utils import schema_context

from booking import keys
from booking.clients import REDIS_ERRORS, counter_client
from booking.mail import booking_event, booking_mail_send
from booking.models import Booking, BookingStatus
from saas.dates import span, when
from tenants.context import for_each_tenant, tenant_schemas

logger = logging.getLogger(__name__)

DRAIN_BATCH = 500


def confirm_later(
    *,
    schema: str,
    booking_id: int | None = None,
    booking_ids: list[int] | None = None,
    count_key: str | None = None,
) -> None:
    """Queue the confirmation of bookings just persisted (inline if Redis is away), in one round trip.

    `count_key`, when given, is the per-second "booked" counter of the rush view, bumped in the same trip.
    """
    ids = [*(booking_ids or ()), *(() if booking_id is None else (booking_id,))]
    confirm_later_many(items=[(schema, ids, count_key)])


def confirm_later_many(*, items: list[tuple[str, list[int], str | None]]) -> None:
    """confirm_later for several companies at once, (schema, booking ids, count key) each: one round trip."""
    items = [item for item in items if item[1]]
    if not items:
        return
    try:
        pipe = counter_client().pipeline(transaction=False)
        for schema, ids, count_key in items:
            pipe.rpush(keys.confirm_list_key(schema=schema), *ids)
            pipe.sadd(keys.confirm_schemas_key(), schema)
            if count_key:
                pipe.incrby(count_key, len(ids))
                pipe.expire(count_key, 300)
        pipe.execute()
    except REDIS_ERRORS:
        logger.warning("rush: confirmation list unavailable, confirming inline")
        for schema, ids, _ in items:
            with schema_context(schema):
                for one in ids:
                    booking_confirm_by_id(booking_id=one)
            rush_facts_refresh(schema=schema)


def confirmations_drain(*, batch: int = DRAIN_BATCH) -> int:
    """Queue the mails of every booking waiting in the lists; returns how many were handled."""

    client = counter_client()
    done = 0
    existing = set(tenant_schemas())
    for raw in client.smembers(keys.confirm_schemas_key()):
        schema = raw.decode() if isinstance(raw, bytes) else str(raw)
        if schema not in existing:
            # The company was deleted (its bookings with it): nothing left to confirm there.
            client.delete(keys.confirm_list_key(schema=schema))
            client.srem(keys.confirm_schemas_key(), schema)
            continue
        drained = 0
        while True:
            ids = client.lpop(keys.confirm_list_key(schema=schema), batch) or []
            if not ids:
                break
            with schema_context(schema):
                for booking_id in ids:
                    booking_confirm_by_id(booking_id=int(booking_id))
                    drained += 1
        if drained:
            rush_facts_refresh(schema=schema)
        done += drained
    return done


def rush_facts_refresh(*, schema: str) -> int:
    """The dashboard facts of the company's students whose seats the rush path wrote (it notes them instead
    of refreshing them in the winners' transaction: dashboard migration 0003); how many were refreshed.
    Called by the confirmations' worker after each drain and by the dashboard before it reads."""
    with schema_context(schema), connection.cursor() as cursor:
        cursor.execute("SELECT dashboard_fact_refresh_stale()")
        return int(cursor.fetchone()[0])


def confirmations_sweep(*, hours: int = 2) -> int:
    """Confirm recent active bookings whose confirmation never reached the outbox (every tenant)."""
    from notifications.models import OutboxMessage

    since = timezone.now() - timedelta(hours=hours)

    def sweep(_schema: str) -> int:
        confirmed = OutboxMessage.objects.filter(
            idempotency_key__startswith=Concat(
                Value("booking-confirm:"), Cast(OuterRef("pk"), CharField()), Value(":")
            )
        )
        missing = list(
            Booking.objects.filter(status=BookingStatus.ACTIVE, created_at__gte=since)
            .exclude(candidate__email="")
            .exclude(candidate__email_undeliverable=True)
            .exclude(Exists(confirmed))
            .values_list("pk", flat=True)[:5000]
        )
        for booking_id in missing:
            booking_confirm_by_id(booking_id=booking_id)
        return len(missing)

    done = sum(for_each_tenant(sweep).values())
    if done:
        logger.warning("rush: %s confirmation(s) recovered by the sweep", done)
    return done


def booking_confirm_by_id(*, booking_id: int) -> None:
    """Confirmation of a booking persisted by the rush path (the outbox key makes a second call harmless)."""
    booking = (
        Booking.objects.select_related("candidate", "slot", "seminar")
        .filter(pk=booking_id, status=BookingStatus.ACTIVE)
        .first()
    )
    if booking is not None:
        booking_confirmation_mail(booking=booking)


# The student's own sign-in link, minted when the mail leaves (the stored copy never holds it).
MYPAGE_LINK = "{{ マイページURL }}"  # i18n: data — the mail variable's name, whatever the mail's language


def salutation(*, name: str) -> str:
    """A mail's first line and the blank line after it: 山田 太郎 様 / Dear 山田 太郎,"""
    return gettext("%(name)s 様") % {"name": name} + "\n\n"


def where_lines(*, place: str, online_url: str) -> str:
    """Where it happens, for a mail: the place and the online meeting's address, each when there is one."""
    lines = [gettext("場所: %(place)s") % {"place": place}] if place else []
    if online_url:
        lines.append(gettext("オンライン: %(url)s") % {"url": online_url})
    return "".join(f"{line}\n" for line in lines)


def booking_confirmation_mail(*, booking: Booking, changed: bool = False) -> None:
    """Queue the mail confirming a booking (or its change) in the company's outbox, once per booking."""
    slot = booking.slot
    seminar = booking.seminar
    lead = (
        gettext("「%(title)s」の変更を承りました。")
        if changed
        else gettext("「%(title)s」の予約を承りました。")
    )
    body = (
        salutation(name=booking.candidate.full_name)
        + lead % {"title": seminar.title}
        + "\n"
        + gettext("日時: %(when)s") % {"when": span(slot.starts_at, slot.ends_at, "full_time")}
        + "\n"
        + where_lines(place=seminar.place, online_url=seminar.online_url)
        + "\n"
        + gettext("予約の確認・変更・キャンセルはマイページから:")
        + f"\n{MYPAGE_LINK}\n"
    )
    subject = gettext("【変更完了】%(title)s") if changed else gettext("【予約完了】%(title)s")
    if not changed:
        booking_event(event="seminar_booked", booking=booking)
    booking_mail_send(
        candidate=booking.candidate,
        subject=subject % {"title": seminar.title},
        body=body,
        key=f"booking-{'change' if changed else 'confirm'}:{booking.pk}:{booking.slot_id}",
        needs_render=True,
    )


def booking_cancellation_mail(*, booking: Booking) -> None:
    """Queue the mail confirming a student's own cancellation, once per booking."""
    seminar = booking.seminar
    body = (
        salutation(name=booking.candidate.full_name)
        + gettext("「%(title)s」%(when)s のご予約をキャンセルしました。")
        % {"title": seminar.title, "when": when(booking.slot.starts_at, "full_time")}
        + "\n"
        + gettext("またのご予約をお待ちしております。")
        + "\n\n"
        + gettext("別の日程のご予約はマイページから:")
        + f"\n{MYPAGE_LINK}\n"
    )
    booking_mail_send(
        candidate=booking.candidate,
        subject=gettext("【キャンセル完了】%(title)s") % {"title": seminar.title},
        body=body,
        key=f"booking-cancel:{booking.pk}",
        needs_render=True,
    )
