"""Per-company error rate and latency from the request path: a counter in Redis per company per minute.

`TenantTrafficMiddleware` costs one pipelined round trip per request (HINCRBY of requests, server errors,
slow requests and milliseconds, SADD of the company to the minute's set, EXPIRE) and never raises: losing a
figure is better than failing a request. The watchdog's `TrafficProbe` reads the last minute of every
company that had requests and names the companies whose error rate or mean latency passed the threshold.
Nothing about the request but its company, status and duration is stored.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django_redis import get_redis_connection
from django_tenants.utils import get_public_schema_name

logger = logging.getLogger(__name__)
KEEP_SECONDS = 180  # a minute's bucket lives three minutes: the probe reads the last two
_warned_at = [0.0]


def _prefix() -> str:
    return f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:traffic"


def _minute(at: float) -> int:
    return int(at // 60)


def traffic_record(*, schema: str, status: int, seconds: float, at: float | None = None) -> None:
    """Count one answered request of this company (never raises)."""
    minute = _minute(time.time() if at is None else at)
    key = f"{_prefix()}:{minute}:{schema}"
    members = f"{_prefix()}:{minute}:companies"
    try:
        pipe = get_redis_connection("default").pipeline(transaction=False)
        pipe.hincrby(key, "requests", 1)
        if status >= 500:
            pipe.hincrby(key, "errors", 1)
        if seconds >= settings.WATCHDOG_TENANT_SLOW_SECONDS:
            pipe.hincrby(key, "slow", 1)
        pipe.hincrby(key, "ms", int(seconds * 1000))
        pipe.expire(key, KEEP_SECONDS)
        pipe.sadd(members, schema)
        pipe.expire(members, KEEP_SECONDS)
        pipe.execute()
    except Exception:  # noqa: BLE001 - the figures are a by-product; Redis' own probe reports Redis
        if time.monotonic() - _warned_at[0] > 60:
            _warned_at[0] = time.monotonic()
            logger.warning("request figures not recorded")


class TenantTrafficMiddleware:
    """Counts every answered request of a company host (the public site and status pages are not counted)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.public = get_public_schema_name()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        tenant = getattr(request, "tenant", None)
        if tenant is not None and tenant.schema_name != self.public:
            traffic_record(
                schema=tenant.schema_name,
                status=response.status_code,
                seconds=time.perf_counter() - started,
            )
        return response


@dataclass(frozen=True)
class Traffic:
    """One company's last minute: requests, server errors, slow requests and mean latency."""

    requests: float
    errors: float
    slow: float
    seconds: float  # mean

    def problem(self) -> str | None:
        """Why this minute counts as a failure ("errors", "slow"), or None."""
        if self.requests < settings.WATCHDOG_TENANT_MIN_REQUESTS:
            return None  # too few requests to speak of a rate
        if self.errors / self.requests >= settings.WATCHDOG_TENANT_ERROR_RATE:
            return "errors"
        if self.seconds >= settings.WATCHDOG_TENANT_SLOW_SECONDS:
            return "slow"
        return None


def traffic_last_minute(*, at: float | None = None) -> dict[str, Traffic]:
    """Every company with requests in the last 60 s: the current minute plus the elapsed part's share of
    the previous one (a sliding minute, so a probe every few seconds sees the figures move)."""
    now = time.time() if at is None else at
    current = _minute(now)
    share = 1.0 - (now % 60) / 60  # how much of the previous minute is still within the last 60 s
    client = get_redis_connection("default")
    schemas: set[str] = set()
    for minute in (current - 1, current):
        schemas |= {value.decode() for value in client.smembers(f"{_prefix()}:{minute}:companies")}
    if not schemas:
        return {}
    ordered = sorted(schemas)
    pipe = client.pipeline(transaction=False)
    for schema in ordered:
        pipe.hgetall(f"{_prefix()}:{current - 1}:{schema}")
        pipe.hgetall(f"{_prefix()}:{current}:{schema}")
    rows = pipe.execute()
    figures = {}
    for index, schema in enumerate(ordered):
        before, now_row = rows[2 * index], rows[2 * index + 1]

        def value(field: bytes, before=before, now_row=now_row) -> float:
            return int(before.get(field, 0)) * share + int(now_row.get(field, 0))

        requests = value(b"requests")
        if requests <= 0:
            continue
        figures[schema] = Traffic(
            requests=requests,
            errors=value(b"errors"),
            slow=value(b"slow"),
            seconds=value(b"ms") / 1000 / requests,
        )
    return figures
