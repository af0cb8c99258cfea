"""Managing webhooks: the settings page (company admins only, audited) and the API (scoped, secret shown once)."""

from __future__ import annotations

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from candidates.models import AuditEntry
from tests.api.conftest import ApiClient, token_make
from tests.factories import UserFactory
from webhooks.events import event_emit
from webhooks.models import Delivery, DeliveryStatus, Subscription
from webhooks.services.delivery import deliveries_run

pytestmark = pytest.mark.django_db
PUBLIC_URL = "https://93.184.215.14/hooks/saiyo"


def _signed_in(info, *, role: str | None = None) -> Client:
    from accounts.models import User

    client = Client(HTTP_HOST=info.host)
    with schema_context(info.schema):
        user = (
            UserFactory(email=f"hooks-{role}@{info.slug}.example.jp", role=role)
            if role
            else User.objects.get(email=info.admin_email)
        )
        client.force_login(user)
    return client


def test_an_admin_subscribes_on_the_settings_page_the_secret_is_shown_once_and_audited(tenants):
    admin = _signed_in(tenants["acme"])
    page = admin.post(
        "/settings/webhooks/",
        {"action": "create", "url": PUBLIC_URL, "events": ["booking.created", "incident.*"]},
    )
    assert page.status_code == 200 and page["Cache-Control"].startswith("max-age=0")
    secret = page.context["secret"]
    assert secret.startswith("whsec_") and secret in page.content.decode()
    listing = admin.get("/settings/webhooks/").content.decode()
    assert PUBLIC_URL in listing and secret not in listing
    with schema_context(tenants["acme"].schema):
        subscription = Subscription.objects.get()
        assert subscription.secret == secret and subscription.events == ["booking.created", "incident.*"]
        entry = AuditEntry.objects.filter(action="webhook_create").get()
    assert entry.target == f"webhook #{subscription.pk} 93.184.215.14" and entry.ip == "127.0.0.1"
    # Another company sees none of it.
    assert PUBLIC_URL not in _signed_in(tenants["globex"]).get("/settings/webhooks/").content.decode()


@pytest.mark.parametrize("role", ["recruiter", "viewer", "interviewer"])
def test_only_admins_manage_webhooks(tenants, role):
    client = _signed_in(tenants["acme"], role=role)
    assert client.get("/settings/webhooks/").status_code == 403
    response = client.post(
        "/settings/webhooks/", {"action": "create", "url": PUBLIC_URL, "events": ["booking.created"]}
    )
    assert response.status_code == 403
    with schema_context(tenants["acme"].schema):
        assert not Subscription.objects.exists()


def test_the_page_refuses_internal_destinations_and_redelivers_from_the_log(tenants, webhook_receiver):
    admin = _signed_in(tenants["acme"])
    refused = admin.post(
        "/settings/webhooks/",
        {"action": "create", "url": "http://169.254.169.254/latest/", "events": ["booking.created"]},
    )
    assert refused.status_code == 400 and "169.254" not in str(refused.context["subscriptions"])
    admin.post(
        "/settings/webhooks/", {"action": "create", "url": webhook_receiver.url, "events": ["mail.bounced"]}
    )
    with schema_context(tenants["acme"].schema):
        event_emit(event_type="mail.bounced", data={"mail_id": 1, "candidate_id": 2, "permanent": True})
        deliveries_run()
        delivery = Delivery.objects.get()
        log = admin.get(f"/settings/webhooks/?log={delivery.subscription_id}").content.decode()
        assert delivery.message_id in log and "mail.bounced" in log
        answer = admin.post("/settings/webhooks/", {"action": "redeliver", "delivery": delivery.pk})
        assert answer.status_code == 302
        deliveries_run()
        delivery.refresh_from_db()
        assert AuditEntry.objects.filter(action="webhook_redeliver").count() == 1
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempts == 2
    assert len(webhook_receiver.requests) == 2


def test_the_api_subscribes_with_the_scope_shows_the_secret_once_and_keeps_companies_apart(tenants):
    acme = token_make(schema=tenants["acme"].schema, scopes=["webhooks:manage"])
    without = token_make(schema=tenants["acme"].schema, scopes=["bookings:read"])
    globex = token_make(schema=tenants["globex"].schema, scopes=["webhooks:manage"])
    api = ApiClient(tenants["acme"].host, acme.secret)
    body = {"url": PUBLIC_URL, "events": ["candidate.created"]}
    assert ApiClient(tenants["acme"].host, without.secret).post("/webhooks", body).status_code == 403
    first = api.post("/webhooks", body, headers={"Idempotency-Key": "hook-1"})
    assert first.status_code == 201, first.content
    created = first.json()
    assert created["secret"].startswith("whsec_") and created["events"] == ["candidate.created"]
    again = api.post("/webhooks", body, headers={"Idempotency-Key": "hook-1"})
    # A retry gets the same subscription, never a second one, and never the secret again.
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == created["id"] and again.json()["secret"] is None
    listed = api.get("/webhooks").json()
    assert [s["id"] for s in listed] == [created["id"]] and listed[0]["secret"] is None
    refused = api.post("/webhooks", {"url": "http://[::1]/hook", "events": ["booking.created"]})
    assert refused.status_code == 422
    unknown = api.post("/webhooks", {"url": PUBLIC_URL, "events": ["candidate.deleted"]})
    assert unknown.status_code == 422
    other = ApiClient(tenants["globex"].host, globex.secret)
    assert other.get(f"/webhooks/{created['id']}/deliveries").status_code == 404
    assert (
        other.client.delete(
            f"/api/v1/webhooks/{created['id']}", headers={"Authorization": f"Bearer {globex.secret}"}
        ).status_code
        == 404
    )
    changed = api.patch(f"/webhooks/{created['id']}", {"events": ["incident.*"]})
    assert changed.status_code == 200 and changed.json()["events"] == ["incident.*"]
    deleted = api.client.delete(
        f"/api/v1/webhooks/{created['id']}", headers={"Authorization": f"Bearer {acme.secret}"}
    )
    assert deleted.status_code == 204 and api.get("/webhooks").json() == []
    with schema_context(tenants["acme"].schema):
        actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"webhook_create", "webhook_update", "webhook_delete"} <= actions
