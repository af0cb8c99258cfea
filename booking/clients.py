"""The Redis clients of booking, made here and nowhere else (one place for their URLs and timeouts).

All but the last talk to settings.RUSH_REDIS_URL: seat counters, the rush gate and the confirmation lists
share one client with 1 s timeouts; the rush figures get one with 0.5 s (a stuck Redis must not add a
second to a student's request for a figure); each event loop of the rush workers has its own asyncio
client; each websocket process one subscriber. The live-count window uses the cache's Redis.
"""

from __future__ import annotations

import asyncio
from typing import Any

import redis
from django.conf import settings

# What a Redis call may raise when Redis is away: callers fall back (to PostgreSQL alone, or without figures).
REDIS_ERRORS = (redis.ConnectionError, redis.TimeoutError, OSError)

_counters: redis.Redis | None = None
_metrics: dict[str, redis.Redis] = {}
_gates: dict[int, Any] = {}


def counter_client() -> redis.Redis:
    """Seat counters, the rush gate's synchronous calls, confirmation lists, live-count publishing."""
    global _counters
    if _counters is None:
        _counters = redis.Redis.from_url(
            settings.RUSH_REDIS_URL, socket_timeout=1.0, socket_connect_timeout=1.0, health_check_interval=30
        )
    return _counters


def metrics_client() -> redis.Redis:
    """The rush figures (one client per URL, so a changed setting gets its own)."""
    url = settings.RUSH_REDIS_URL
    client = _metrics.get(url)
    if client is None:
        client = _metrics[url] = redis.Redis.from_url(
            url, socket_timeout=0.5, socket_connect_timeout=0.5, health_check_interval=30
        )
    return client


def metrics_clients_forget() -> None:
    _metrics.clear()


def gate_client(*, max_connections: int) -> Any:
    """This event loop's asyncio client for the rush gate (created on first use).

    A blocking pool: at the peak a batch waits a moment for a connection instead of failing over to the slow
    way when every connection is busy.
    """
    import redis.asyncio as aioredis

    loop_id = id(asyncio.get_running_loop())
    client = _gates.get(loop_id)
    if client is None:
        pool = aioredis.BlockingConnectionPool.from_url(
            settings.RUSH_REDIS_URL,
            max_connections=max_connections,
            timeout=1.0,
            socket_timeout=1.0,
            socket_connect_timeout=1.0,
        )
        client = _gates[loop_id] = aioredis.Redis(connection_pool=pool)
    return client


def subscriber_client() -> Any:
    """A fresh asyncio client for one websocket process's pattern subscription to the live counts."""
    import redis.asyncio as aioredis

    return aioredis.Redis.from_url(settings.RUSH_REDIS_URL, health_check_interval=15)


def cache_client() -> redis.Redis:
    """The cache's Redis (settings.CACHES["default"])."""
    from django_redis import get_redis_connection

    client: redis.Redis = get_redis_connection("default")
    return client
