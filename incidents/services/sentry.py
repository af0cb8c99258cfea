"""Sentry alert webhooks: verify, de-duplicate, strip personal data, map onto incidents."""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from incidents.models import Impact, Incident, Scope, SentryAlert, Source, State, Visibility
from incidents.texts import both_languages
from tenants.models import Tenant

ACTOR = "sentry"
# Keys that carry personal data in Sentry's event payloads; dropped wherever they appear.
PII_KEYS = frozenset(
    {"user", "ip_address", "headers", "cookies", "env", "email", "username", "data", "query_string"}
)


def sentry_client_secret() -> str:
    return getattr(settings, "SENTRY_CLIENT_SECRET", "") or os.environ.get("SENTRY_CLIENT_SECRET", "")


def sentry_signature_valid(*, body: bytes, signature: str, secret: str) -> bool:
    if not secret or not signature:
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature.strip())


def pii_strip(value: Any, *, depth: int = 0) -> Any:
    if depth > 12:
        return None
    if isinstance(value, dict):
        return {
            key: pii_strip(item, depth=depth + 1)
            for key, item in value.items()
            # "data" is the top-level envelope of the webhook itself; inside it, it is free-form request data.
            if key not in PII_KEYS or (key == "data" and depth == 0)
        }
    if isinstance(value, list):
        return [pii_strip(item, depth=depth + 1) for item in value[:50]]
    return value


def _dedupe_key(*, resource: str, payload: dict[str, Any]) -> tuple[str, str]:
    action = str(payload.get("action", ""))
    data = payload.get("data") or {}
    if resource == "metric_alert":
        alert = data.get("metric_alert") or {}
        return (
            f"metric_alert:{alert.get('id', '')}:{action}:{alert.get('date_detected') or alert.get('date_modified') or ''}",
            action,
        )
    event = data.get("event") or {}
    issue = data.get("issue") or {}
    ident = event.get("event_id") or event.get("id") or issue.get("id") or ""
    return f"{resource}:{ident}:{action}", action


def sentry_alert_receive(*, resource: str, payload: dict[str, Any]) -> SentryAlert | None:
    """Store a verified alert once (None for a duplicate); the caller queues the processing."""
    key, action = _dedupe_key(resource=resource, payload=payload)
    if key.endswith("::" + action) or not key:
        key = f"{resource}:{hashlib.sha256(repr(sorted(payload.items())).encode()).hexdigest()}"
    try:
        with transaction.atomic():
            return SentryAlert.objects.create(
                dedupe_key=key[:200], resource=resource[:40], action=action[:40], payload=pii_strip(payload)
            )
    except IntegrityError:
        return None


PUBLIC_TITLE = gettext_noop("エラー監視の警告（調査中）")
WARNED = gettext_noop("エラー監視（Sentry）が警告を出しました。影響の有無を調査しています。")
ESCALATED = gettext_noop("エラー監視（Sentry）の警告が重大になりました。対応を強化しています。")
CLEARED = gettext_noop("エラー監視（Sentry）の警告は解消しました。経過を観察しています。")


def _title(alert: SentryAlert) -> tuple[str, str]:
    data = alert.payload.get("data") or {}
    if alert.resource == "metric_alert":
        metric = data.get("metric_alert") or {}
        title = data.get("description_title") or metric.get("title") or "Sentry metric alert"
        return f"metric:{metric.get('id', '')}", str(title)[:150]
    event = data.get("event") or {}
    issue_id = event.get("issue_id") or (data.get("issue") or {}).get("id") or ""
    title = event.get("title") or data.get("triggered_rule") or "Sentry issue alert"
    return f"issue:{issue_id}", str(title)[:150]


def _alert_tenant(alert: SentryAlert) -> Tenant | None:
    """The company the alert's event was tagged with (saas/sentry.py tags each event "tenant"), if one."""
    event = (alert.payload.get("data") or {}).get("event") or {}
    tags = event.get("tags") or []
    pairs = tags.items() if isinstance(tags, dict) else (t for t in tags if isinstance(t, list | tuple))
    for pair in pairs:
        if len(pair) == 2 and pair[0] == "tenant" and pair[1] and pair[1] != "public":
            tenant: Tenant | None = Tenant.objects.filter(schema_name=str(pair[1])).first()
            return tenant
    return None


@transaction.atomic
def sentry_alert_process(*, alert_id: int) -> Incident | None:
    """warning → open a draft (minor); critical → open or escalate to major; resolved → monitoring."""
    from incidents.services.lifecycle import incident_create, incident_escalate, incident_update_post

    alert = SentryAlert.objects.select_for_update().get(pk=alert_id)
    if alert.processed_at is not None:
        return alert.incident
    # The alert's own title (an exception message, a query, a name) stays with the alert (staff read it
    # there and in Sentry): the incident may be published, so its title says only what kind of alert it is.
    key, _raw_title = _title(alert)
    tenant = _alert_tenant(alert)  # an error of one company's requests concerns that company
    detection_key = f"sentry:{key}" + (f"@{tenant.schema_name}" if tenant else "")
    incident = Incident.objects.filter(detection_key=detection_key).exclude(state=State.RESOLVED).first()
    action = alert.action
    if action in ("critical", "warning", "triggered", "created"):
        impact = Impact.MAJOR if action == "critical" else Impact.MINOR
        if incident is None:
            title, title_en = both_languages(PUBLIC_TITLE)
            message_ja, message_en = both_languages(WARNED)
            incident = incident_create(
                actor=ACTOR,
                title=title,
                title_en=title_en,
                message_ja=message_ja,
                message_en=message_en,
                impact=impact,
                scope=Scope.CHOSEN if tenant else Scope.ALL,
                tenants=[tenant] if tenant else [],
                visibility=Visibility.DRAFT,
                source=Source.SENTRY,
                detection_key=detection_key,
            )
        else:
            message_ja, message_en = both_languages(ESCALATED)
            incident_escalate(
                actor=ACTOR, incident=incident, impact=impact, message_ja=message_ja, message_en=message_en
            )
    elif action == "resolved" and incident is not None and incident.state != State.MONITORING:
        message_ja, message_en = both_languages(CLEARED)
        incident_update_post(
            actor=ACTOR,
            incident=incident,
            state=State.MONITORING,
            message_ja=message_ja,
            message_en=message_en,
        )
    SentryAlert.objects.filter(pk=alert.pk).update(processed_at=timezone.now(), incident=incident)
    return incident
