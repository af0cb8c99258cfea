"""Every raw Redis key of the notifications (on the cache's Redis), each carrying the company's schema.

settings.NOTIFICATIONS_KEY_PREFIX keeps runs that share one Redis (test runs in several checkouts) apart.
"""

from __future__ import annotations

from django.conf import settings


def rate_bucket_key(*, schema_name: str) -> str:
    """The company's sending-rate token bucket (notifications/services/ratelimit.py)."""
    return f"{settings.NOTIFICATIONS_KEY_PREFIX}notifications:rate:{schema_name}"


def outbox_kick_key(*, schema_name: str) -> str:
    """At most one outbox wake-up per company per second."""
    return f"{settings.NOTIFICATIONS_KEY_PREFIX}notifications:kick:{schema_name}"


def sequence_scan_key(*, schema_name: str) -> str:
    """At most one step-mail scan per company per second."""
    return f"{settings.NOTIFICATIONS_KEY_PREFIX}notifications:scan:{schema_name}"
