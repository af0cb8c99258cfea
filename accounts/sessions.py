"""Database sessions that notice a company's session cookie presented on another company's host (a leak signal).

Each company's sessions live in its own schema, so a cookie from acme is simply unknown on globex. Browsers
never send one company's host-only cookie to another host: an acme cookie arriving on globex means someone
copied it. When a new session is created we record which company owns it in Redis (a keyed hash of the key,
never the key itself); when a session lookup *fails*, one Redis GET tells whether the key belongs to another
company, and if so accounts.signals.foreign_session_presented tells the incidents app (which opens a private
data incident for the owner).
Nothing is added to the normal path beyond one Redis SET per new session; lookups are rate-limited per company.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django_tenants.utils import get_public_schema_name, schema_context

from accounts.signals import foreign_session_presented

logger = logging.getLogger(__name__)

LOOKUPS_PER_MINUTE = 120
SIGNAL_ONCE_SECONDS = 60 * 60 * 24


def _digest(session_key: str) -> str:
    return salted_hmac("accounts.sessions.owner", session_key).hexdigest()[:40]


def _owner_key(digest: str) -> str:
    return f"accounts:session-owner:{digest}"


def _current_schema() -> str:
    return getattr(connection, "schema_name", "") or get_public_schema_name()


def session_owner_register(*, session_key: str, schema_name: str) -> None:
    """Remember which company a new session belongs to, for as long as the session can live."""
    if schema_name == get_public_schema_name():
        return
    try:
        # Public-schema cache keys: one registry shared by every company (the key function adds the schema).
        with schema_context(get_public_schema_name()):
            cache.set(_owner_key(_digest(session_key)), schema_name, settings.SESSION_COOKIE_AGE)
    except Exception:  # Redis down: sign-in must still work; only the leak signal is lost
        logger.warning("could not register the session owner")


def session_foreign_check(*, session_key: str, presented_on_schema: str) -> str | None:
    """An unknown session key presented on a company: the owning company's schema when it is another's, else None.

    Tells the apps above (once per key and day) through accounts.signals.foreign_session_presented.
    """
    public = get_public_schema_name()
    if presented_on_schema == public or not session_key:
        return None
    digest = _digest(session_key)
    with schema_context(public):
        bucket = int(timezone.now().timestamp()) // 60
        budget_key = f"accounts:session-owner-lookups:{presented_on_schema}:{bucket}"
        cache.add(budget_key, 0, 120)
        if cache.incr(budget_key) > LOOKUPS_PER_MINUTE:
            return None  # someone spraying cookies: the failed-sign-in and read checks still run
        owner_schema = cache.get(_owner_key(digest))
        if not owner_schema or owner_schema == presented_on_schema:
            return None  # expired here, or never ours to know
        if not cache.add(f"accounts:session-owner-signalled:{digest}", 1, SIGNAL_ONCE_SECONDS):
            return owner_schema
        from tenants.models import Tenant

        tenants = {
            t.schema_name: t
            for t in Tenant.objects.filter(schema_name__in=[owner_schema, presented_on_schema])
        }
        if owner_schema in tenants and presented_on_schema in tenants:
            foreign_session_presented.send(
                sender=None,
                owner=tenants[owner_schema],
                presented_on=tenants[presented_on_schema],
                what="session-cookie",
            )
    return owner_schema


class SessionStore(DatabaseSessionStore):
    """Django's database sessions, plus the owner registry and the foreign-session check above."""

    def create(self) -> None:
        super().create()
        session_owner_register(session_key=self.session_key or "", schema_name=_current_schema())

    def load(self) -> dict:
        presented = self.session_key
        data = super().load()
        if presented and self.session_key is None:
            try:
                session_foreign_check(session_key=presented, presented_on_schema=_current_schema())
            except Exception:  # the check must never break a request
                logger.warning("foreign session check failed", exc_info=True)
        return data
