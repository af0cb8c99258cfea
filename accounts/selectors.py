"""Reads of accounts (in the current schema)."""

from __future__ import annotations

from accounts.models import User


def user_active_exists(*, email: str) -> bool:
    return User.objects.filter(email__iexact=email.strip(), is_active=True).exists()
