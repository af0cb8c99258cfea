"""Throttling repeated sign-in failures per account and per real client address, without locking a company out.

django-axes does the same counting, but keys its lock-outs on the username, the address or both, with its
own models (one set per tenant schema) or cache keys that do not name the schema; these few counters in
the tenant-aware cache do what is needed and add the one thing axes lacks, device cookies (OWASP's
"slow down online guessing attacks with device cookies"):

- a browser that has signed in to an account before carries a signed cookie naming it; from there, only
  its own failures count (5 per 15 minutes), so nobody else's failures can lock that recruiter out;
- any other client is throttled per account and address pair (5), per address (30, behind the trusted
  proxy's real address: `saas/clientaddress.py`) and per account from all unknown clients together
  (50: a distributed guess), so a crowd sharing one address locks out neither the company nor an account
  for the browsers its people use.
Keys carry the database name and the schema and hash the e-mail address.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse

from tenants.selectors import current_schema

WINDOW_SECONDS = 15 * 60
DEVICE_LIMIT = 5  # a known browser, for the account it knows
PAIR_LIMIT = 5  # an unknown client: this account from this address
ADDRESS_LIMIT = 30  # an unknown client: any account from this address
ACCOUNT_LIMIT = 50  # an unknown client: this account from anywhere
DEVICE_COOKIE = "signin_device"
DEVICE_COOKIE_AGE = 180 * 24 * 3600
_DEVICE_ACCOUNTS = 5


def account_digest(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def _scope() -> str:
    # The database name too: test runs (and deployments) on one shared cache must not throttle each other.
    return f"signin-fail:{connection.settings_dict['NAME']}:{current_schema()}"


def _salt() -> str:
    return f"signin-device:{current_schema()}"


def client_address(request: HttpRequest | None) -> str:
    return (request.META.get("REMOTE_ADDR") if request is not None else "") or "unknown"


@dataclass(frozen=True)
class Attempt:
    """Who is signing in as whom: the account's digest, the client's address, the device if known."""

    account: str
    address: str
    device: str | None

    def keys(self) -> dict[str, int]:
        """Counter key → limit, for this attempt."""
        scope = _scope()
        if self.device is not None:
            return {f"{scope}:device:{self.device}:{self.account}": DEVICE_LIMIT}
        return {
            f"{scope}:pair:{self.account}:{self.address}": PAIR_LIMIT,
            f"{scope}:ip:{self.address}": ADDRESS_LIMIT,
            f"{scope}:account:{self.account}": ACCOUNT_LIMIT,
        }


def _device_read(request: HttpRequest | None) -> dict | None:
    raw = request.COOKIES.get(DEVICE_COOKIE, "") if request is not None else ""
    if not raw:
        return None
    try:
        value = signing.loads(raw, salt=_salt(), max_age=DEVICE_COOKIE_AGE)
    except signing.BadSignature:
        return None
    return value if isinstance(value, dict) else None


def attempt_for(*, request: HttpRequest | None, email: str) -> Attempt:
    account = account_digest(email)
    device = _device_read(request)
    known = device is not None and account in device.get("accounts", [])
    return Attempt(
        account=account,
        address=client_address(request),
        device=str(device["id"]) if known and device else None,
    )


def signin_throttled(attempt: Attempt) -> bool:
    counts = cache.get_many(list(attempt.keys()))
    return any((counts.get(key) or 0) >= limit for key, limit in attempt.keys().items())


def signin_failure_record(attempt: Attempt) -> None:
    for key in attempt.keys():
        if not cache.add(key, 1, WINDOW_SECONDS):
            try:
                cache.incr(key)
            except ValueError:
                cache.set(key, 1, WINDOW_SECONDS)


def signin_succeeded(attempt: Attempt, *, request: HttpRequest, response: HttpResponse) -> None:
    """Forget this client's failures for the account and remember the browser as one that knows it."""
    keys = attempt.keys()
    cache.delete_many([key for key in keys if ":ip:" not in key and ":account:" not in key])
    device = _device_read(request) or {"id": secrets.token_hex(16), "accounts": []}
    accounts = [attempt.account] + [a for a in device.get("accounts", []) if a != attempt.account]
    value = {"id": device["id"], "accounts": accounts[:_DEVICE_ACCOUNTS]}
    response.set_cookie(
        DEVICE_COOKIE,
        signing.dumps(value, salt=_salt()),
        max_age=DEVICE_COOKIE_AGE,
        httponly=True,
        secure=settings.SESSION_COOKIE_SECURE,
        samesite="Lax",
    )


def signin_counters_forget_all() -> None:
    """Tests: every counter of this database, in every schema, in one scan of the cache's Redis."""
    client = cache.client.get_client()
    pattern = f"*signin-fail:{connection.settings_dict['NAME']}:*"
    keys = list(client.scan_iter(match=pattern, count=10_000))
    if keys:
        client.delete(*keys)
