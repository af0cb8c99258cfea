"""Writes of the API: tokens (create, revoke, authenticate, mark used), rate limits, idempotent requests."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from api.errors import ApiProblem
from api.models import COMPANY_SCOPES, ApiToken, IdempotentRequest

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "sk_"
MAX_TOKEN_DAYS = 366
# last_used_at is written at most this often per token: a busy integration does not rewrite the row per call.
TOUCH_INTERVAL = timedelta(seconds=60)
IDEMPOTENCY_KEEP = timedelta(hours=24)


def token_hash(*, secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class CreatedToken:
    token: ApiToken
    secret: str  # shown once, never stored


@transaction.atomic
def token_create(
    *,
    name: str,
    scopes: list[str],
    days: int,
    user: User,
    rate_per_minute: int = 120,
    allowed: tuple[str, ...] = COMPANY_SCOPES,
) -> CreatedToken:
    """A new token; the secret is returned once and only its hash is kept.

    `allowed`: a company's tokens never carry the support staff's scopes, nor the other way round.
    """
    label = name.strip()[:100]
    if not label:
        raise ApiProblem("validation", _("トークンの名前を入力してください。"))
    wanted = sorted(set(scopes))
    if not wanted or any(scope not in allowed for scope in wanted):
        raise ApiProblem("validation", _("権限を1つ以上選んでください。"))
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise ApiProblem(
            "validation", _("有効期限は1日から%(days)s日の間で指定してください。") % {"days": MAX_TOKEN_DAYS}
        )
    if not 1 <= rate_per_minute <= 6000:
        raise ApiProblem("validation", _("1分あたりの上限は1から6000の間で指定してください。"))
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        name=label,
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        token_hash=token_hash(secret=secret),
        scopes=wanted,
        rate_per_minute=rate_per_minute,
        created_by=user,
        expires_at=timezone.now() + timedelta(days=days),
    )
    return CreatedToken(token=token, secret=secret)


@transaction.atomic
def token_revoke(*, token_id: int, now: datetime | None = None) -> ApiToken:
    token = ApiToken.objects.select_for_update().get(pk=token_id)
    if token.revoked_at is None:
        token.revoked_at = now or timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def token_authenticate(*, secret: str, now: datetime | None = None) -> ApiToken | None:
    """The usable token of this company with this secret, else None (unknown, expired or revoked alike)."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    token = ApiToken.objects.select_related("created_by").filter(token_hash=token_hash(secret=secret)).first()
    if token is None or not token.is_usable(now=now or timezone.now()):
        return None
    return token


def token_touch(*, token: ApiToken, now: datetime | None = None) -> None:
    moment = now or timezone.now()
    if token.last_used_at is None or moment - token.last_used_at >= TOUCH_INTERVAL:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=moment)
        token.last_used_at = moment


def rate_limit_take(*, token: ApiToken, now: float | None = None) -> int | None:
    """Count one call in the token's current minute (Redis); the seconds to wait when over the limit.

    With Redis away the call is let through (logged): the limit protects the service, it is not a
    security boundary, and the API must not fail with the cache.
    """
    moment = timezone.now().timestamp() if now is None else now
    window = int(moment // 60)
    # The hash part keeps keys apart when ids start again (a new database, a restored company).
    key = f"api-rate:{token.pk}:{token.token_hash[:12]}:{window}"
    try:
        cache.add(key, 0, timeout=90)
        count = cache.incr(key)
    except Exception:  # noqa: BLE001 - any cache failure: serve without counting
        logger.warning("API rate limit not counted: cache unavailable")
        return None
    if count > token.rate_per_minute:
        return max(1, (window + 1) * 60 - int(moment))
    return None


def request_fingerprint(*, method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


def idempotency_begin(*, token: ApiToken, key: str, fingerprint: str) -> IdempotentRequest | None:
    """Claim the key for this request (None: go ahead and do the work), or the earlier request's row.

    The earlier row may still be running (status_code 0); the caller answers accordingly.
    """
    if not key or len(key) > 255:
        raise ApiProblem("validation", _("Idempotency-Key は1〜255文字で指定してください。"))
    IdempotentRequest.objects.filter(created_at__lt=timezone.now() - IDEMPOTENCY_KEEP, token=token).delete()
    try:
        with transaction.atomic():
            IdempotentRequest.objects.create(token=token, key=key, fingerprint=fingerprint)
    except IntegrityError:
        earlier = IdempotentRequest.objects.get(token=token, key=key)
        if earlier.fingerprint != fingerprint:
            raise ApiProblem("idempotency_mismatch") from None
        if earlier.status_code == 0:
            raise ApiProblem("idempotency_in_progress", headers={"Retry-After": "1"}) from None
        return earlier
    return None


def idempotency_finish(*, token: ApiToken, key: str, status_code: int, body: Any) -> None:
    IdempotentRequest.objects.filter(token=token, key=key).update(status_code=status_code, body=body)


def idempotency_abandon(*, token: ApiToken, key: str) -> None:
    """The work failed without creating anything: a retry with the same key may try again."""
    IdempotentRequest.objects.filter(token=token, key=key, status_code=0).delete()
