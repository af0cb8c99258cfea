"""Delivering a company's events: outbox rows → one delivery per subscription → signed POSTs with retries.

One run (`deliveries_run`, the Celery task `webhooks.dispatch` per company) does three things:
1. turns undispatched events into deliveries for the active subscriptions that want them;
2. claims the deliveries that are due, with a lease (a worker that dies mid-send leaves them to the next
   run once the lease ends), and POSTs them concurrently through `saas/egress.py`, which checks every
   destination after DNS resolution on every connection (a name that now points inside is refused);
3. records each answer: 2xx succeeded; otherwise tried again after an exponential back-off with a cap,
   until `max_attempts`, then failed (a "redeliver" grants one more attempt).
Nothing of the answer's body is kept or logged; the body sent is ids and states only (webhooks/events.py).
"""

from __future__ import annotations

import logging
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import httpx
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from saas import egress, webhook_signature
from tenants.selectors import current_schema
from webhooks.models import Delivery, DeliveryStatus, Event, Subscription

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 5.0
CONCURRENCY = 8
DISPATCH_BATCH = 1000  # events turned into deliveries per statement
SEND_BATCH = 200  # deliveries claimed per round
LEASE = timedelta(seconds=60)
BACKOFF_BASE_SECONDS = 15
BACKOFF_CAP_SECONDS = 3600
USER_AGENT = "saiyo-webhooks/1"
KEEP = timedelta(days=30)  # the outbox and its delivery log, once every delivery of an event is finished


def retry_delay_seconds(attempt: int) -> int:
    """Back-off after the n-th failed attempt: 15 s, 30 s, 1 min, 2 min … doubling, at most 1 h."""
    return int(min(BACKOFF_BASE_SECONDS * 2 ** (attempt - 1), BACKOFF_CAP_SECONDS))


@lru_cache(maxsize=1)
def _client() -> httpx.Client:
    """One connection pool per worker process; public destinations only, redirects never followed."""
    return egress.client_new(timeout=TIMEOUT_SECONDS, max_connections=CONCURRENCY * 4)


def events_dispatch(*, now: datetime | None = None) -> int:
    """Undispatched events → deliveries (one per wanting subscription); returns how many were created."""
    moment = now or timezone.now()
    created = 0
    subscriptions = list(Subscription.objects.filter(is_active=True))
    while True:
        with transaction.atomic():
            events = list(
                Event.objects.select_for_update(skip_locked=True)
                .filter(dispatched_at__isnull=True)
                .only("id", "event_type")
                .order_by("id")[:DISPATCH_BATCH]
            )
            if not events:
                return created
            rows = [
                Delivery(
                    subscription=subscription,
                    event=event,
                    message_id="msg_" + secrets.token_hex(16),
                    next_attempt_at=moment,
                )
                for event in events
                for subscription in subscriptions
                if subscription.wants(event.event_type)
            ]
            Delivery.objects.bulk_create(rows, ignore_conflicts=True)
            Event.objects.filter(pk__in=[event.pk for event in events]).update(dispatched_at=moment)
            created += len(rows)


def _claim(*, now: datetime, limit: int, only: list[int] | None) -> list[Delivery]:
    """Due deliveries of active subscriptions, leased to this run (skipping rows another run holds)."""
    due = Delivery.objects.filter(
        status=DeliveryStatus.PENDING, next_attempt_at__lte=now, subscription__is_active=True
    )
    if only is not None:
        due = due.filter(pk__in=only)
    with transaction.atomic():
        ids = list(
            due.select_for_update(skip_locked=True, of=("self",))
            .order_by("next_attempt_at", "id")
            .values_list("id", flat=True)[:limit]
        )
        Delivery.objects.filter(pk__in=ids).update(next_attempt_at=now + LEASE)
    return list(Delivery.objects.select_related("subscription", "event").filter(pk__in=ids).order_by("id"))


def _post(delivery: Delivery) -> tuple[int | None, str]:
    """POST one signed delivery; (HTTP status or None, short error name). Never raises."""
    body = delivery.event.payload
    headers = webhook_signature.headers_signed(
        secret=delivery.subscription.secret, message_id=delivery.message_id, body=body
    )
    headers["user-agent"] = USER_AGENT
    try:
        status_code = egress.bounded_send(
            _client(),
            "POST",
            delivery.subscription.url,
            content=body.encode(),
            headers=headers,
            seconds=TIMEOUT_SECONDS,
        )
    except httpx.HTTPError as error:
        refused = "destination refused" in str(error)
        return None, "destination_refused" if refused else type(error).__name__
    return status_code, ""


def _record(*, delivery: Delivery, status_code: int | None, error: str, now: datetime) -> bool:
    """Write one attempt's outcome; True when the delivery will be tried again."""
    attempts = delivery.attempts + 1
    succeeded = status_code is not None and 200 <= status_code < 300
    again = not succeeded and attempts < delivery.max_attempts
    Delivery.objects.filter(pk=delivery.pk).update(
        attempts=F("attempts") + 1,
        status=DeliveryStatus.SUCCEEDED
        if succeeded
        else (DeliveryStatus.PENDING if again else DeliveryStatus.FAILED),
        last_status_code=status_code,
        last_error=(error or ("" if succeeded else f"HTTP {status_code}"))[:60],
        last_attempt_at=now,
        next_attempt_at=now + timedelta(seconds=retry_delay_seconds(attempts)) if again else None,
        delivered_at=now if succeeded else F("delivered_at"),
    )
    if not succeeded:
        # The company's schema, the delivery and the answer's status: no URL, no body.
        logger.info(
            "webhooks: delivery %s in %s failed (%s), attempt %d",
            delivery.pk,
            current_schema(),
            error or status_code,
            attempts,
        )
    return again


@dataclass(frozen=True)
class RunReport:
    dispatched: int = 0
    succeeded: int = 0
    retrying: int = 0
    failed: int = 0
    # Seconds until the earliest retry this run scheduled (None: nothing to come back for).
    next_in: int | None = None


def deliveries_send(*, delivery_ids: list[int] | None = None, now: datetime | None = None) -> RunReport:
    """Attempt the due deliveries (or only these, when due) once each, concurrently; record the outcomes."""
    succeeded = retrying = failed = 0
    next_in: int | None = None
    while True:
        moment = now or timezone.now()
        batch = _claim(now=moment, limit=SEND_BATCH, only=delivery_ids)
        if not batch:
            break
        with ThreadPoolExecutor(max_workers=min(CONCURRENCY, len(batch))) as pool:
            results = list(pool.map(_post, batch))
        finished = timezone.now() if now is None else now
        for delivery, (status_code, error) in zip(batch, results, strict=True):
            if _record(delivery=delivery, status_code=status_code, error=error, now=finished):
                retrying += 1
                delay = retry_delay_seconds(delivery.attempts + 1)
                next_in = delay if next_in is None else min(next_in, delay)
            elif status_code is not None and 200 <= status_code < 300:
                succeeded += 1
            else:
                failed += 1
        if now is not None or delivery_ids is not None:
            break  # a fixed moment or a chosen set: one round (tests, redelivery)
    return RunReport(succeeded=succeeded, retrying=retrying, failed=failed, next_in=next_in)


def deliveries_run(*, now: datetime | None = None) -> RunReport:
    """One run for the current company: dispatch the outbox, then send what is due."""
    dispatched = events_dispatch(now=now)
    report = deliveries_send(now=now)
    return RunReport(
        dispatched=dispatched,
        succeeded=report.succeeded,
        retrying=report.retrying,
        failed=report.failed,
        next_in=report.next_in,
    )


@transaction.atomic
def delivery_redeliver(*, delivery_id: int, now: datetime | None = None) -> Delivery:
    """Send this delivery again now (same message id, one more attempt whatever its past)."""
    delivery = Delivery.objects.select_for_update().get(pk=delivery_id)
    delivery.status = DeliveryStatus.PENDING
    delivery.max_attempts = delivery.attempts + 1
    delivery.next_attempt_at = now or timezone.now()
    delivery.save(update_fields=["status", "max_attempts", "next_attempt_at"])
    return delivery


def events_prune(*, now: datetime | None = None) -> int:
    """Forget events older than KEEP whose deliveries are all finished (their log rows go with them)."""
    cutoff = (now or timezone.now()) - KEEP
    old = Event.objects.filter(created_at__lt=cutoff, dispatched_at__isnull=False).exclude(
        deliveries__status=DeliveryStatus.PENDING
    )
    deleted, _by_model = old.delete()
    return deleted


def has_due(*, now: datetime | None = None) -> bool:
    """Work waiting in this company: undispatched events, or deliveries whose time (or lease) has come."""
    moment = now or timezone.now()
    return (
        Event.objects.filter(dispatched_at__isnull=True).exists()
        or Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=moment).exists()
    )
