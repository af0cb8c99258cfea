"""Webhook secrets and TOTP keys are sealed at rest with a key derived from settings (saas/sealing.py)."""

from __future__ import annotations

import pytest
from django.db import connection
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tenants.utils import schema_context

from accounts.models import User
from incidents.models import WebhookEndpoint
from incidents.services.webhooks import webhook_endpoint_create
from saas import sealing
from tests.incidents.helpers import tenant_client


def _column(sql: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(sql, [pk])
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_webhook_secrets_are_sealed_at_rest(tenants, settings):
    endpoint = webhook_endpoint_create(tenant=tenants["acme"].tenant, url="https://93.184.215.14/hook")
    stored = _column("SELECT secret FROM incidents_webhookendpoint WHERE id = %s", endpoint.pk)
    assert stored.startswith("s1:") and endpoint.secret not in stored and len(stored) <= 100
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == endpoint.secret
    # The key is derived from settings, not kept in the database: another installation's key opens nothing,
    # while a rotated key listed in SECRET_KEY_FALLBACKS still does.
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "another-installation-" + "x" * 50
    with pytest.raises(sealing.SealError):
        WebhookEndpoint.objects.get(pk=endpoint.pk)
    settings.SECRET_KEY_FALLBACKS = [old_key]
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == endpoint.secret


@pytest.mark.django_db
def test_totp_keys_are_sealed_at_rest_and_still_verify(tenants):
    with schema_context(tenants["acme"].schema):
        user = User.objects.get(email=tenants["acme"].admin_email)
        device = TOTPDevice.objects.create(user=user, name="app", confirmed=True)
        clear_key = device.key
        stored = _column("SELECT key FROM otp_totp_totpdevice WHERE id = %s", device.pk)
        assert stored.startswith("s1:") and clear_key not in stored and len(stored) <= 80
        loaded = TOTPDevice.objects.get(pk=device.pk)
        assert loaded.key == clear_key
        from tests.incidents.conftest import totp_now

        assert loaded.verify_token(totp_now(loaded))
        # A sealed value copied into another column does not open there.
        with pytest.raises(sealing.SealError):
            sealing.unseal(stored, purpose="incidents.webhookendpoint.secret", hex_value=True)


@pytest.mark.django_db
def test_a_new_webhook_secret_is_shown_once_and_never_travels_in_a_cookie(tenants):
    admin = tenant_client(tenants["acme"])
    response = admin.post("/status/webhooks/", {"url": "https://93.184.215.14/hook"})
    secret = WebhookEndpoint.objects.get(tenant=tenants["acme"].tenant).secret
    assert response.status_code == 200 and secret in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    assert all(secret not in morsel.value for morsel in response.cookies.values())
    assert all(secret not in morsel.value for morsel in admin.cookies.values())
    assert secret not in admin.get("/status/webhooks/").content.decode()
