"""Tunables of the outbox, read from settings (or the environment, for worker processes in tests and benches)."""

from __future__ import annotations

import os

from django.conf import settings


def _number(name: str, default: float) -> float:
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name, default)
    return float(value or 0)


def lease_seconds() -> float:
    """How long a claimed row belongs to its worker; a crashed worker's rows return after this."""
    return _number("NOTIFICATIONS_LEASE_SECONDS", 60)


def retry_base_seconds() -> float:
    """First retry delay after a temporary failure; doubles with each attempt."""
    return _number("NOTIFICATIONS_RETRY_BASE_SECONDS", 30)


def retry_max_seconds() -> float:
    return _number("NOTIFICATIONS_RETRY_MAX_SECONDS", 3600)


def max_attempts() -> int:
    return int(_number("NOTIFICATIONS_MAX_ATTEMPTS", 8))


def claim_batch() -> int:
    """Rows claimed per transaction: small, so a crash strands few rows until their lease ends."""
    return int(_number("NOTIFICATIONS_CLAIM_BATCH", 20))


def smtp_timeout_seconds() -> float:
    return _number("NOTIFICATIONS_SMTP_TIMEOUT", 10)
