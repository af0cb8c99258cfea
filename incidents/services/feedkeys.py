"""A company's Atom feed keys: signed, expiring after 90 days, and revocable all at once by an admin."""

from __future__ import annotations

import time
from typing import Any

from django.core import signing
from django.db import transaction
from django.utils import timezone

from incidents.models import FeedKeyRevocation
from incidents.services.audit import staff_audit
from tenants.models import Tenant

FEED_SALT = "incidents.feed"
FEED_KEY_DAYS = 90


def feed_key_issue(*, tenant: Tenant) -> str:
    return signing.dumps({"t": tenant.pk, "i": time.time()}, salt=FEED_SALT)


def feed_key_valid(*, tenant: Tenant, key: str) -> bool:
    """The key was issued for this company, less than 90 days ago, and after its last revocation."""
    try:
        value = signing.loads(key, salt=FEED_SALT, max_age=FEED_KEY_DAYS * 24 * 3600)
    except signing.BadSignature:
        return False
    if not isinstance(value, dict) or value.get("t") != tenant.pk:
        return False
    revocation = FeedKeyRevocation.objects.filter(tenant=tenant).first()
    return revocation is None or float(value.get("i", 0)) > revocation.revoked_before.timestamp()


@transaction.atomic
def feed_keys_revoke(*, tenant: Tenant, actor: Any) -> None:
    FeedKeyRevocation.objects.update_or_create(tenant=tenant, defaults={"revoked_before": timezone.now()})
    staff_audit(actor=actor, action="feed.keys_revoke", target=tenant)
