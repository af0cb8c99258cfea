"""Signed webhooks: Standard Webhooks signature, retries with back-off, delivery log, company scoping."""

from __future__ import annotations

import json

import pytest

from incidents.models import DeliveryStatus, Impact, Scope, Visibility, WebhookDelivery, WebhookEndpoint
from incidents.services.lifecycle import incident_create
from incidents.services.webhooks import (
    MAX_ATTEMPTS,
    retry_delay_seconds,
    webhook_attempt,
    webhook_deliveries_create,
    webhook_endpoint_create,
    webhook_secret_new,
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
    assert admin.post("/status/webhooks/", {"url": "https://93.184.215.14/hook"}).status_code == 200
    assert (
        "https://93.184.215.14/hook"
        not in tenant_client(tenants["globex"]).get("/status/webhooks/").content.decode()
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:6379/", "http://localhost/", "http://169.254.169.254/latest/", "http://[::1]/"]
)
def test_webhooks_to_the_internal_network_are_refused_at_save(tenants, url):
    admin = tenant_client(tenants["acme"])
    response = admin.post("/status/webhooks/", {"url": url})
    assert response.status_code == 400 and "登録できません" in response.content.decode()
    assert not WebhookEndpoint.objects.filter(tenant=tenants["acme"].tenant).exists()


@pytest.mark.django_db
def test_delivery_checks_the_destination_again_and_the_log_tells_only_delivered_or_failed(
    tenants, webhook_receiver, settings
):
    # A row saved before the rule (or a name that resolved elsewhere then): delivery refuses it again.
    settings.OUTGOING_HTTP_ALLOW = []
    tenant = tenants["acme"].tenant
    port = webhook_receiver.url.split(":")[2].split("/")[0]
    ids = []
    for url in (webhook_receiver.url, f"http://localhost:{port}/hook"):
        endpoint = WebhookEndpoint.objects.create(tenant=tenant, url=url, secret=webhook_secret_new())
        ids += webhook_deliveries_create(tenant_ids=[tenant.pk], event_type="t", payloads={tenant.pk: {}})[-1:]
        endpoint.is_active = False
        endpoint.save(update_fields=["is_active"])
    for delivery_id in ids:
        WebhookEndpoint.objects.filter(deliveries__id=delivery_id).update(is_active=True)
        assert webhook_attempt(delivery_id=delivery_id).status != DeliveryStatus.SUCCEEDED
    assert webhook_receiver.requests == []
    # An allowed receiver that answers 503: the company sees that it failed, not how.
    settings.OUTGOING_HTTP_ALLOW = [f"127.0.0.1:{port}"]
    webhook_receiver.fail_first = 99
    for delivery_id in ids:
        WebhookDelivery.objects.filter(pk=delivery_id).update(attempts=MAX_ATTEMPTS - 1)
        assert webhook_attempt(delivery_id=delivery_id).status == DeliveryStatus.FAILED
    # "localhost" may also resolve to ::1, which is not exempt: then the whole name stays refused.
    assert 1 <= len(webhook_receiver.requests) <= 2
    page = tenant_client(tenants["acme"]).get("/status/webhooks/").content.decode()
    assert "失敗" in page
    for detail in ("503", "ConnectError", "HTTP "):
        assert detail not in page
