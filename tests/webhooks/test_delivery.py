"""Companies' event webhooks: the outbox, signed delivery, back-off, redelivery, refused destinations."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from saas import webhook_signature
from webhooks.errors import WebhookError
from webhooks.events import event_emit, events_emit
from webhooks.models import Delivery, DeliveryStatus, Event, Subscription
from webhooks.services.delivery import (
    BACKOFF_CAP_SECONDS,
    KEEP,
    deliveries_run,
    delivery_redeliver,
    events_prune,
    retry_delay_seconds,
)
from webhooks.services.subscriptions import subscription_create


def _subscribe(url: str, events: list[str]) -> tuple[Subscription, str]:
    created = subscription_create(url=url, events=events, user=None)
    return created.subscription, created.secret


@pytest.mark.django_db
def test_an_event_arrives_signed_and_verifies_with_the_shared_verifier(tenants, webhook_receiver):
    with schema_context(tenants["acme"].schema):
        subscription, secret = _subscribe(webhook_receiver.url, ["candidate.created"])
        assert event_emit(event_type="candidate.created", data={"candidate_id": 7}) == 1
        report = deliveries_run()
        with connection.cursor() as cursor:
            cursor.execute("SELECT secret FROM webhooks_subscription WHERE id = %s", [subscription.pk])
            stored = cursor.fetchone()[0]
        delivery = Delivery.objects.get(subscription=subscription)
    assert report.dispatched == 1 and report.succeeded == 1
    [request] = webhook_receiver.requests
    assert webhook_signature.verify(secret=secret, headers=request["headers"], body=request["body"])
    assert not webhook_signature.verify(secret=secret, headers=request["headers"], body=request["body"] + " ")
    assert not webhook_signature.verify(
        secret=webhook_signature.secret_new(), headers=request["headers"], body=request["body"]
    )
    body = json.loads(request["body"])
    assert body["type"] == "candidate.created" and body["data"] == {"candidate_id": 7}
    assert request["headers"]["webhook-id"] == delivery.message_id
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempts == 1
    assert delivery.last_status_code == 200 and delivery.delivered_at is not None
    # The secret is sealed at rest (saas/sealing.py), never stored in clear.
    assert stored.startswith("s1:") and secret not in stored


@pytest.mark.django_db
def test_nothing_is_written_when_no_subscription_wants_the_event(tenants, webhook_receiver):
    with schema_context(tenants["acme"].schema):
        _subscribe(webhook_receiver.url, ["booking.created"])
        assert events_emit(event_type="candidate.updated", items=[{"candidate_id": 1}]) == 0
        assert events_emit(event_type="booking.created", items=[{"booking_id": i} for i in range(3)]) == 3
        assert Event.objects.count() == 3
        _subscribe(webhook_receiver.url + "/incidents", ["incident.*"])
        # The family's wildcard wants every incident event.
        assert event_emit(event_type="incident.resolved", data={"incident_id": 1}) == 1


@pytest.mark.django_db
def test_failed_deliveries_are_retried_with_exponential_back_off(tenants, webhook_receiver):
    webhook_receiver.fail_first, webhook_receiver.fail_status = 2, 500
    start = timezone.now()
    with schema_context(tenants["acme"].schema):
        subscription, _secret = _subscribe(webhook_receiver.url, ["booking.created"])
        event_emit(event_type="booking.created", data={"booking_id": 1})
        first = deliveries_run(now=start)
        delivery = Delivery.objects.get(subscription=subscription)
        assert first.retrying == 1 and first.next_in == 15
        assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
        assert delivery.last_status_code == 500 and delivery.next_attempt_at == start + timedelta(seconds=15)
        # Not due yet: nothing is sent.
        deliveries_run(now=start + timedelta(seconds=14))
        assert len(webhook_receiver.requests) == 1
        second = deliveries_run(now=start + timedelta(seconds=15))
        delivery.refresh_from_db()
        assert second.next_in == 30 and delivery.attempts == 2
        assert delivery.next_attempt_at == start + timedelta(seconds=45)
        deliveries_run(now=start + timedelta(seconds=45))
        delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempts == 3
    assert len(webhook_receiver.requests) == 3
    # Every attempt carries the same message id, so the receiver can de-duplicate.
    assert {r["headers"]["webhook-id"] for r in webhook_receiver.requests} == {delivery.message_id}
    assert [retry_delay_seconds(n) for n in range(1, 10)] == [15, 30, 60, 120, 240, 480, 960, 1920, 3600]
    assert retry_delay_seconds(30) == BACKOFF_CAP_SECONDS


@pytest.mark.django_db
def test_a_failed_delivery_stops_at_its_cap_and_is_sent_again_on_redelivery(tenants, webhook_receiver):
    webhook_receiver.fail_first, webhook_receiver.fail_status = 10_000, 500
    moment = timezone.now()
    with schema_context(tenants["acme"].schema):
        subscription, secret = _subscribe(webhook_receiver.url, ["mail.bounced"])
        event_emit(event_type="mail.bounced", data={"message_id": 3})
        delivery = None
        for _ in range(20):
            deliveries_run(now=moment)
            moment += timedelta(seconds=BACKOFF_CAP_SECONDS)
        delivery = Delivery.objects.get(subscription=subscription)
        assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == delivery.max_attempts == 10
        assert len(webhook_receiver.requests) == 10 and delivery.next_attempt_at is None
        webhook_receiver.fail_first = 0
        delivery_redeliver(delivery_id=delivery.pk, now=moment)
        deliveries_run(now=moment)
        delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempts == 11
    last = webhook_receiver.requests[-1]
    assert last["headers"]["webhook-id"] == delivery.message_id
    assert webhook_signature.verify(secret=secret, headers=last["headers"], body=last["body"])


@pytest.mark.django_db
def test_company_a_events_never_reach_company_b(tenants, webhook_receiver):
    with schema_context(tenants["acme"].schema):
        _subscribe(webhook_receiver.url + "/acme", ["candidate.created"])
    with schema_context(tenants["globex"].schema):
        _subscribe(webhook_receiver.url + "/globex", ["candidate.created"])
    with schema_context(tenants["acme"].schema):
        event_emit(event_type="candidate.created", data={"candidate_id": 1})
        assert deliveries_run().succeeded == 1
    with schema_context(tenants["globex"].schema):
        report = deliveries_run()
        assert not Event.objects.exists() and not Delivery.objects.exists()
    assert report.dispatched == 0 and report.succeeded == 0
    assert [request["path"] for request in webhook_receiver.requests] == ["/hook/acme"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "destination",
    [
        "http://127.0.0.1:{port}/hook",
        "http://10.0.0.5/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:{port}/hook",
        "http://localhost:{port}/hook",  # a name that resolves to loopback
    ],
)
def test_internal_destinations_are_refused_at_save_and_again_at_delivery(
    tenants, webhook_receiver, settings, destination
):
    port = webhook_receiver.url.split(":")[2].split("/")[0]
    url = destination.format(port=port)
    settings.OUTGOING_HTTP_ALLOW = []  # the local receiver is an internal destination like any other
    with schema_context(tenants["acme"].schema):
        with pytest.raises(WebhookError):
            subscription_create(url=url, events=["booking.created"], user=None)
        assert not Subscription.objects.exists()
        # A row saved while the name pointed elsewhere (or before the rule): delivery checks again after DNS.
        subscription = Subscription.objects.create(
            url=url, events=["booking.created"], secret=webhook_signature.secret_new()
        )
        event_emit(event_type="booking.created", data={"booking_id": 1})
        report = deliveries_run()
        delivery = Delivery.objects.get(subscription=subscription)
    assert report.succeeded == 0 and report.retrying == 1
    assert delivery.last_error == "destination_refused" and delivery.last_status_code is None
    assert webhook_receiver.requests == []


@pytest.mark.django_db
def test_finished_events_are_forgotten_after_thirty_days_pending_ones_are_kept(tenants, webhook_receiver):
    webhook_receiver.fail_first, webhook_receiver.fail_status = 1, 500
    with schema_context(tenants["acme"].schema):
        _subscribe(webhook_receiver.url, ["booking.created"])
        events_emit(event_type="booking.created", items=[{"booking_id": 1}, {"booking_id": 2}])
        deliveries_run()  # the first answer is a 500 (retrying), the second a 200
        later = timezone.now() + KEEP + timedelta(seconds=1)
        assert events_prune(now=timezone.now()) == 0
        assert events_prune(now=later) == 2  # one event and its delivery
        [kept] = Delivery.objects.all()
        assert Event.objects.count() == 1 and Event.objects.get().pk == kept.event_id
    assert kept.status == DeliveryStatus.PENDING and kept.attempts == 1


def test_many_commits_queue_one_run_until_it_starts(tenants, settings):
    import redis

    from webhooks.events import dispatch_soon, kick_forget

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    schema = tenants["globex"].schema
    kick_forget(schema)
    before = broker.llen(queue)
    added = 0
    try:
        for _ in range(5):
            dispatch_soon(schema)
        added = broker.llen(queue) - before
        assert added == 1
        kick_forget(schema)  # what a run does as it starts
        dispatch_soon(schema)
        added = broker.llen(queue) - before
        assert added == 2
    finally:
        kick_forget(schema)
        if added > 0:
            broker.lpop(queue, added)  # the newest messages (kombu pushes left): nothing is left for a worker
