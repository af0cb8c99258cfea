"""My Page sign-in: personal links with an unguessable, expiring, revocable, one-time token (only its hash is
kept). Opening a link shows a button; the POST of that button exchanges the token for a session, once."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext
from django_tenants.utils import get_public_schema_name, schema_context

from booking import errors
from booking.mail import booking_mail_send
from booking.models import MyPageToken
from booking.services.confirmations import MYPAGE_LINK, salutation
from booking.services.rush_passes import rush_passes_revoke
from tenants.selectors import current_schema

if TYPE_CHECKING:
    from candidates.models import Candidate

TOKEN_DAYS = 14
SESSION_KEY = "booking_mypage_token"

logger = logging.getLogger(__name__)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


_hosts: dict[str, str] = {}


def mypage_url(*, path: str) -> str:
    """Absolute URL on the current company's primary host."""
    from accounts.services import site_url
    from tenants.models import Tenant

    schema_name = current_schema()
    host = _hosts.get(schema_name)
    if host is None:
        with schema_context(get_public_schema_name()):
            tenant = Tenant.objects.get(schema_name=schema_name)
            host = tenant.get_primary_domain().domain
        _hosts[schema_name] = host
    return site_url(host=host, path=path)


def mypage_token_create(*, candidate: Candidate, now: datetime | None = None, days: int = TOKEN_DAYS) -> str:
    """A fresh personal link token for this student (the raw token is returned once, never stored)."""
    now = now or timezone.now()
    token = secrets.token_urlsafe(32)
    MyPageToken.objects.create(
        candidate=candidate, token_hash=token_hash(token), expires_at=now + timedelta(days=days)
    )
    return token


def mypage_link_create(*, candidate: Candidate, now: datetime | None = None) -> str:
    return mypage_url(path=f"/my/login/{mypage_token_create(candidate=candidate, now=now)}/")


def mypage_link_for(*, host: str, candidate_id: int) -> str:
    """A student's personal My Page link for the mails' 「マイページURL」 (notifications asks through the
    provider booking registers at start-up); the My Page root for an unknown student."""
    from accounts.services import site_url
    from candidates.models import Candidate

    candidate = Candidate.objects.filter(id=candidate_id).first()
    return mypage_link_create(candidate=candidate) if candidate else site_url(host=host, path="/my/")


def _live_tokens(*, token: str, now: datetime) -> QuerySet[MyPageToken]:
    if not token or len(token) > 128:
        raise errors.TokenInvalidError()
    return MyPageToken.objects.filter(
        token_hash=token_hash(token), revoked_at__isnull=True, expires_at__gt=now, last_used_at__isnull=True
    )


def mypage_token_check(*, token: str, now: datetime | None = None) -> None:
    """TokenInvalidError unless the link can still be exchanged; reads only (a link preview or a mail
    scanner opening the link spends nothing)."""
    if not _live_tokens(token=token, now=now or timezone.now()).exists():
        raise errors.TokenInvalidError()


def mypage_token_exchange(*, token: str, now: datetime | None = None) -> MyPageToken:
    """Spend a link on a session: one conditional UPDATE, so a link signs in once, even when two browsers
    race. `last_used_at` is the moment it was spent; the session stays bound to the row (its expiry and
    revocation end the session)."""
    now = now or timezone.now()
    ids = list(_live_tokens(token=token, now=now).values_list("pk", flat=True)[:1])
    if not ids or not MyPageToken.objects.filter(pk=ids[0], last_used_at__isnull=True).update(
        last_used_at=now
    ):
        raise errors.TokenInvalidError()
    return MyPageToken.objects.select_related("candidate").get(pk=ids[0])


def mypage_session_candidate(*, token_id: object, now: datetime | None = None) -> Candidate | None:
    """The student a My Page session belongs to, while its link is neither revoked nor expired."""
    now = now or timezone.now()
    if not isinstance(token_id, int):
        return None
    row = (
        MyPageToken.objects.select_related("candidate")
        .filter(pk=token_id, revoked_at__isnull=True, expires_at__gt=now)
        .first()
    )
    return row.candidate if row is not None else None


def mypage_tokens_revoke(*, candidate: Candidate, now: datetime | None = None) -> int:
    """Revoke every link of a student; sessions opened with them end at their next request."""
    now = now or timezone.now()
    count = MyPageToken.objects.filter(candidate=candidate, revoked_at__isnull=True).update(revoked_at=now)
    # The rush path's passes of this student stop working too.
    rush_passes_revoke(candidate_ids=[candidate.pk], now=now)
    return count


def mypage_sign_out(*, token_id: object) -> None:
    """The student leaves the My Page: the rush passes they hold stop working as the session ends."""
    candidate = mypage_session_candidate(token_id=token_id)
    if candidate is not None:
        rush_passes_revoke(candidate_ids=[candidate.pk])


def mypage_link_send(*, candidate: Candidate) -> None:
    """Mail a student a fresh sign-in link. The body is queued with the 「マイページURL」 variable, so the
    token is minted when the mail leaves and the stored copy never holds it (notifications redacts it)."""
    body = (
        salutation(name=candidate.full_name)
        + gettext("マイページへのリンクをお送りします（%(days)s 日間有効・1 回限り）。")
        % {"days": TOKEN_DAYS}
        + f"\n{MYPAGE_LINK}\n\n"
        + gettext("このリンクはあなた専用です。他の人に転送しないでください。")
        + "\n"
    )
    booking_mail_send(
        candidate=candidate,
        subject=gettext("マイページへのリンク"),
        body=body,
        # One mail per request: a student who asks again gets a new link, not a deduplicated old one.
        key=f"mypage-link:{candidate.pk}:{secrets.token_hex(12)}",
        needs_render=True,
    )


def mypage_link_request(*, email: str, client: str) -> None:
    """Send a fresh link to every student with this address; says nothing about whether one exists.

    Limited per address (silently: the answer never tells whether it exists) and per client address
    (LinkRequestsExceededError: one client asking for many addresses is someone collecting or flooding).
    """
    from candidates.models import Candidate

    if not _under_limit(
        key=f"booking:link-request-client:{token_hash(client)}", limit=LINK_REQUESTS_PER_CLIENT_HOUR
    ):
        raise errors.LinkRequestsExceededError()
    address = (email or "").strip()
    if not address or "@" not in address or len(address) > 254:
        return
    # The address itself is never a key (hash only).
    if not _under_limit(
        key=f"booking:link-request:{token_hash(address.lower())}", limit=LINK_REQUESTS_PER_HOUR
    ):
        return
    with transaction.atomic():
        for candidate in Candidate.objects.filter(email__iexact=address)[:5]:
            mypage_link_send(candidate=candidate)


LINK_REQUESTS_PER_HOUR = 3
LINK_REQUESTS_PER_CLIENT_HOUR = 20


def _under_limit(*, key: str, limit: int) -> bool:
    """Count one request under `key` (per hour; the cache key function adds the tenant's schema)."""
    from django.core.cache import cache

    try:
        if cache.add(key, 1, timeout=3600):
            return True
        return cache.incr(key) <= limit
    except Exception:
        return True
