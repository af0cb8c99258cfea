"""Outgoing webhooks per company, their delivery log, and incoming Sentry alerts (public schema)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from saas.sealing import SealedCharField


class WebhookEndpoint(models.Model):
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="incident_webhooks")
    url = models.URLField(_("送信先 URL"), max_length=500)
    # Standard Webhooks secret: "whsec_" + base64 of the key bytes; stored sealed (saas/sealing.py).
    secret = SealedCharField(max_length=100)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("送信待ち")
    SUCCEEDED = "succeeded", _("成功")
    FAILED = "failed", _("失敗")


class WebhookDelivery(models.Model):
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    message_id = models.CharField(max_length=64, unique=True)
    event_type = models.CharField(max_length=60)
    payload = models.TextField()
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.message_id


class SentryAlert(models.Model):
    """A received Sentry alert; the unique key is what de-duplicates Sentry's retries."""

    dedupe_key = models.CharField(max_length=200, unique=True)
    resource = models.CharField(max_length=40)
    action = models.CharField(max_length=40)
    payload = models.JSONField(default=dict)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    incident = models.ForeignKey("incidents.Incident", null=True, blank=True, on_delete=models.SET_NULL)

    def __str__(self) -> str:
        return self.dedupe_key


class FeedKeyRevocation(models.Model):
    """A company's feed keys issued before `revoked_before` no longer open its feed."""

    tenant = models.OneToOneField(
        "tenants.Tenant", on_delete=models.CASCADE, related_name="feed_key_revocation"
    )
    revoked_before = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.tenant_id}: {self.revoked_before:%Y-%m-%d %H:%M}"
