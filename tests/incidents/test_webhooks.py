"""Signed webhooks: Standard Webhooks signature, retries with back-off, delivery log, company scoping."""

from __future__ import annotations

import json

import pytest

from incidents.models import DeliveryStatus, Impact, Scope, Visibility, WebhookDelivery
from incidents.services.lifecycle import incident_create
from incidents.services.webhooks import (
    retry_delay_seconds,
    webhook_endpoint_create,
    webhook_sign,
    webhook_verify,
)
from tests.incidents.helpers import tenant_client


def test_signature_matches_the_standard_webhooks_reference():
    # Test vector of the Standard Webhooks spec (libraries' shared test suite).
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = '{"test": 2432232314}'
    assert (
        webhook_sign(
            secret=secret, message_id="msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp=1614265330, body=body
        )
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


@pytest.mark.django_db
def test_publish_sends_signed_events_to_the_affected_company_only(
    tenants, eager_celery, on_commit, webhook_receiver
):
    acme_hook = webhook_endpoint_create(tenant=tenants["acme"].tenant, url=webhook_receiver.url)
    webhook_endpoint_create(tenant=tenants["globex"].tenant, url=webhook_receiver.url + "?globex")
    incident = on_commit(
        incident_create,
        actor="ops",
        title="取り込みの遅延",
        message_ja="遅延しています。",
        impact=Impact.MINOR,
        scope=Scope.CHOSEN,
        tenants=[tenants["acme"].tenant],
        visibility=Visibility.TENANTS,
    )
    assert len(webhook_receiver.requests) == 1
    request = webhook_receiver.requests[0]
    assert webhook_verify(secret=acme_hook.secret, headers=request["headers"], body=request["body"])
    assert not webhook_verify(secret=acme_hook.secret, headers=request["headers"], body=request["body"] + " ")
    event = json.loads(request["body"])
    assert event["type"] == "incident.updated" and event["data"]["incident_id"] == incident.pk
    assert event["data"]["tenant"] == "acme"
    delivery = WebhookDelivery.objects.get(endpoint=acme_hook)
    assert (
        delivery.status == DeliveryStatus.SUCCEEDED
        and delivery.attempts == 1
        and delivery.last_status_code == 200
    )


@pytest.mark.django_db
def test_failed_delivery_is_retried_and_logged(tenants, eager_celery, on_commit, webhook_receiver):
    from saas.celery import app

    # Eager Celery runs the retries at once (countdowns skipped) when failures are not propagated.
    app.conf.task_eager_propagates = False
    webhook_receiver.fail_first = 2
    hook = webhook_endpoint_create(tenant=tenants["acme"].tenant, url=webhook_receiver.url)
    on_commit(
        incident_create,
        actor="ops",
        title="x",
        message_ja="x",
        scope=Scope.CHOSEN,
        tenants=[tenants["acme"].tenant],
        visibility=Visibility.TENANTS,
    )
    delivery = WebhookDelivery.objects.get(endpoint=hook)
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempts == 3
    # Same message id on every attempt, so the receiver can de-duplicate.
    assert len({r["headers"]["webhook-id"] for r in webhook_receiver.requests}) == 1
    assert [retry_delay_seconds(n) for n in range(1, 7)] == [5, 30, 120, 600, 3600, 3600]
    page = tenant_client(tenants["acme"]).get("/status/webhooks/").content.decode()
    assert delivery.message_id in page and "成功" in page


@pytest.mark.django_db
def test_webhook_settings_are_for_admins_and_validate_input(tenants):
    admin = tenant_client(tenants["acme"])
    response = admin.post("/status/webhooks/", {"url": "ftp://example.com"})
    assert response.status_code == 400
    assert admin.post("/status/webhooks/", {"url": "https://example.com/hook"}).status_code == 302
    assert (
        "https://example.com/hook"
        not in tenant_client(tenants["globex"]).get("/status/webhooks/").content.decode()
    )
