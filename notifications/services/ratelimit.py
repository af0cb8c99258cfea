"""Per-tenant sending rate: a token bucket in Redis whose key carries the tenant's schema."""

from __future__ import annotations

import logging
import threading
import time

from django_redis import get_redis_connection

from notifications.keys import rate_bucket_key

logger = logging.getLogger(__name__)

# Refill by elapsed time (Redis clock, shared by every worker), then grant up to `want` whole tokens.
_TAKE = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or t
tokens = math.min(burst, tokens + math.max(0, t - ts) * rate)
local got = math.min(want, math.floor(tokens))
tokens = tokens - got
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(t))
redis.call('EXPIRE', KEYS[1], 3600)
return got
"""


# Without Redis each process paces itself: (tokens, monotonic time of the last take) per company.
_local_buckets: dict[str, tuple[float, float]] = {}
_local_lock = threading.Lock()


def _local_take(*, schema_name: str, rate_per_second: int, want: int) -> int:
    """The same bucket in this process's memory: a Redis outage slows sending, it never unleashes it."""
    rate = max(rate_per_second, 1)
    now = time.monotonic()
    with _local_lock:
        tokens, last = _local_buckets.get(schema_name, (1.0, now))
        tokens = min(float(rate), tokens + (now - last) * rate)
        got = min(want, int(tokens))
        _local_buckets[schema_name] = (tokens - got, now)
    return got


def ratelimit_take(*, schema_name: str, rate_per_second: int, want: int) -> int:
    """How many messages this tenant may send now (0..want)."""
    try:
        client = get_redis_connection("default")
        burst = max(rate_per_second, 1)
        return int(
            client.eval(_TAKE, 1, rate_bucket_key(schema_name=schema_name), rate_per_second, burst, want)
        )
    except Exception:
        # Redis is down: the outbox (PostgreSQL) still orders the work; send slowly rather than not at all.
        logger.warning("rate limiter unavailable; pacing in this process", extra={"tenant": schema_name})
        return _local_take(schema_name=schema_name, rate_per_second=rate_per_second, want=want)


def ratelimit_refund(*, schema_name: str, tokens: int) -> None:
    """Give back tokens taken for rows that turned out not to be due (the next take caps at the burst)."""
    if tokens <= 0:
        return
    try:
        get_redis_connection("default").hincrbyfloat(
            rate_bucket_key(schema_name=schema_name), "tokens", tokens
        )
    except Exception:
        logger.warning("rate limiter unavailable for a refund", extra={"tenant": schema_name})
