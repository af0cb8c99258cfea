"""Signed webhooks per company, in the style of the Standard Webhooks spec, with a delivery log."""

from __future__ import annotations

import json
import secrets
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from incidents.errors import IncidentError
from incidents.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from saas import egress, webhook_signature
from tenants.models import Tenant

MAX_ATTEMPTS = 6
TIMEOUT_SECONDS = 5.0


# The signature has one home (saas/webhook_signature.py); these names stay for the incidents' callers.
webhook_secret_new = webhook_signature.secret_new
webhook_sign = webhook_signature.sign
webhook_verify = webhook_signature.verify


@transaction.atomic
def webhook_endpoint_create(*, tenant: Tenant, url: str) -> WebhookEndpoint:
    url = url.strip()
    try:
        egress.destination_check(url)
    except egress.DestinationRefused as refused:
        raise IncidentError(refused.message) from refused
    if WebhookEndpoint.objects.filter(tenant=tenant, is_active=True).count() >= 5:
        raise IncidentError(gettext("Webhook は 1 社あたり 5 件まで登録できます。"))
    return WebhookEndpoint.objects.create(tenant=tenant, url=url, secret=webhook_secret_new())


@transaction.atomic
def webhook_endpoint_delete(*, tenant: Tenant, endpoint_id: int) -> None:
    WebhookEndpoint.objects.filter(tenant=tenant, pk=endpoint_id).update(is_active=False)


def webhook_deliveries_create(
    *, tenant_ids: list[int], event_type: str, payloads: dict[int, dict[str, Any]]
) -> list[int]:
    """One delivery row per active endpoint of these companies; returns their ids (to queue after commit)."""
    rows = []
    for endpoint in WebhookEndpoint.objects.filter(tenant_id__in=tenant_ids, is_active=True):
        rows.append(
            WebhookDelivery(
                endpoint=endpoint,
                message_id="msg_" + secrets.token_hex(12),
                event_type=event_type,
                payload=json.dumps(payloads[endpoint.tenant_id], ensure_ascii=False, separators=(",", ":")),
            )
        )
    return [row.pk for row in WebhookDelivery.objects.bulk_create(rows)]


_client: httpx.Client | None = None
_client_lock = threading.Lock()


def _shared_client() -> httpx.Client:
    """One connection pool per worker process (thread-safe), not a new client and handshake per delivery."""
    global _client
    with _client_lock:
        if _client is None:
            # Public destinations only, checked on every connection; redirects are not followed (a
            # receiver answers at the URL its company registered). Keep-alive for as many connections
            # as the batch tasks open at once (8 tasks × 8 sends each).
            _client = egress.client_new(timeout=TIMEOUT_SECONDS, max_connections=100)
        return _client


def retry_delay_seconds(attempt: int) -> int:
    """Back-off after the n-th failed attempt: 5 s, 30 s, 2 min, 10 min, 1 h."""
    return [5, 30, 120, 600, 3600][min(attempt - 1, 4)]


def _post(*, delivery: WebhookDelivery, client: httpx.Client) -> tuple[int | None, str]:
    """POST one signed delivery; (HTTP status or None, error name)."""
    headers = webhook_signature.headers_signed(
        secret=delivery.endpoint.secret, message_id=delivery.message_id, body=delivery.payload
    )
    headers["user-agent"] = "saiyo-incidents/1"
    try:
        status_code = egress.bounded_send(
            client,
            "POST",
            delivery.endpoint.url,
            content=delivery.payload.encode(),
            headers=headers,
            seconds=TIMEOUT_SECONDS,
        )
        return status_code, ""
    except httpx.HTTPError as exc:
        return None, type(exc).__name__


def _outcome(*, attempts: int, status_code: int | None, error: str) -> dict[str, Any]:
    """The fields an attempt writes (attempts counted in SQL)."""
    succeeded = status_code is not None and 200 <= status_code < 300
    status = (
        DeliveryStatus.SUCCEEDED
        if succeeded
        else (DeliveryStatus.FAILED if attempts >= MAX_ATTEMPTS else DeliveryStatus.PENDING)
    )
    return {
        "status": status,
        "last_status_code": status_code,
        "last_error": error or ("" if succeeded else f"HTTP {status_code}"),
        "succeeded": succeeded,
    }


def webhook_attempt(*, delivery_id: int, client: httpx.Client | None = None) -> WebhookDelivery:
    """Send one delivery once; records the outcome. Raises nothing: the task decides on retries."""
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    if delivery.status == DeliveryStatus.SUCCEEDED or not delivery.endpoint.is_active:
        return delivery
    status_code, error = _post(delivery=delivery, client=client or _shared_client())
    fields = _outcome(attempts=delivery.attempts + 1, status_code=status_code, error=error)
    succeeded = fields.pop("succeeded")
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        attempts=F("attempts") + 1, delivered_at=timezone.now() if succeeded else None, **fields
    )
    delivery.refresh_from_db()
    return delivery


def webhook_attempt_many(*, delivery_ids: list[int], concurrency: int = 8) -> list[tuple[int, int]]:
    """Send these deliveries once each, concurrently; record the outcomes with one UPDATE per outcome.

    Returns (id, attempts) of those still pending, for the caller to retry one by one.
    """
    deliveries = [
        delivery
        for delivery in WebhookDelivery.objects.select_related("endpoint").filter(pk__in=delivery_ids)
        if delivery.status != DeliveryStatus.SUCCEEDED and delivery.endpoint.is_active
    ]
    if not deliveries:
        return []
    client = _shared_client()
    with ThreadPoolExecutor(max_workers=min(concurrency, len(deliveries))) as pool:
        results = list(pool.map(lambda delivery: _post(delivery=delivery, client=client), deliveries))
    now = timezone.now()
    groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    pending = []
    for delivery, (status_code, error) in zip(deliveries, results, strict=True):
        fields = _outcome(attempts=delivery.attempts + 1, status_code=status_code, error=error)
        groups[tuple(sorted(fields.items()))].append(delivery.pk)
        if fields["status"] == DeliveryStatus.PENDING:
            pending.append((delivery.pk, delivery.attempts + 1))
    for key, ids in groups.items():
        fields = dict(key)
        succeeded = fields.pop("succeeded")
        WebhookDelivery.objects.filter(pk__in=ids).update(
            attempts=F("attempts") + 1, delivered_at=now if succeeded else None, **fields
        )
    return pending
