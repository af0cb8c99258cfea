"""Gate calls of one event loop share a pipeline (booking/rush/redis_batch.py), against a real Redis."""

from __future__ import annotations

import asyncio
import uuid

import redis
import redis.asyncio as aioredis
from django.conf import settings

from booking.rush.redis_batch import COUNT_FLUSH_SECONDS, RedisBatcher

# Returns its position in the order calls reached Redis (like a waiting-room ticket), and what it was given.
TICKET = "local n = redis.call('INCR', KEYS[1]) return {n, ARGV[1]}"


def _client(max_connections: int) -> aioredis.Redis:
    pool = aioredis.BlockingConnectionPool.from_url(
        settings.RUSH_REDIS_URL, max_connections=max_connections, timeout=2.0
    )
    return aioredis.Redis(connection_pool=pool)


def _cleanup(*keys: str) -> None:
    redis.Redis.from_url(settings.RUSH_REDIS_URL).delete(*keys)


def test_hundreds_of_calls_share_few_pipelines_in_arrival_order():
    key = f"{settings.RUSH_KEY_PREFIX}batch-test:{uuid.uuid4().hex}"

    async def run():
        client = _client(2)
        batcher = RedisBatcher(client, script_text=TICKET)
        sent = []
        original = batcher._pipeline_all

        async def counting(pending):
            sent.append(len(pending))
            return await original(pending)

        batcher._pipeline_all = counting
        replies = await asyncio.gather(*(batcher.gate([key], [f"r{i}"]) for i in range(500)))
        await client.aclose()
        return replies, sent

    try:
        replies, sent = asyncio.run(run())
    finally:
        _cleanup(key)
    # Every caller got its own reply, in the order the calls were made (tickets 1..500).
    assert [int(n) for n, _ in replies] == list(range(1, 501))
    assert [tag.decode() for _, tag in replies] == [f"r{i}" for i in range(500)]
    # Far fewer round trips than calls, with only two connections for all of them.
    assert sum(sent) >= 500 and len(sent) <= 5


def test_script_missing_after_a_redis_restart_is_loaded_again():
    key = f"{settings.RUSH_KEY_PREFIX}batch-test:{uuid.uuid4().hex}"

    async def run():
        client = _client(4)
        batcher = RedisBatcher(client, script_text=TICKET)
        first = await batcher.gate([key], ["a"])
        await client.script_flush()  # what a restarted Redis looks like to the client
        again = await asyncio.gather(*(batcher.gate([key], [str(i)]) for i in range(20)))
        await client.aclose()
        return first, again

    try:
        first, again = asyncio.run(run())
    finally:
        _cleanup(key)
    assert int(first[0]) == 1
    assert sorted(int(n) for n, _ in again) == list(range(2, 22))


def test_redis_away_raises_to_every_waiting_caller():
    async def run():
        # Nothing listens on port 1: the callers hear a connection error and take the PostgreSQL way.
        pool = aioredis.BlockingConnectionPool.from_url(
            "redis://127.0.0.1:1/0", max_connections=2, timeout=1.0, socket_connect_timeout=0.5
        )
        batcher = RedisBatcher(aioredis.Redis(connection_pool=pool), script_text=TICKET)
        return await asyncio.gather(*(batcher.gate(["k"], ["x"]) for _ in range(10)), return_exceptions=True)

    outcomes = asyncio.run(run())
    assert len(outcomes) == 10
    assert all(isinstance(outcome, redis.ConnectionError | OSError) for outcome in outcomes)


def test_counts_are_added_up_and_written_together():
    key = f"{settings.RUSH_KEY_PREFIX}batch-count:{uuid.uuid4().hex}"

    async def run():
        client = _client(2)
        batcher = RedisBatcher(client, script_text=TICKET)
        for _ in range(250):
            batcher.count(key)
        assert await client.get(key) is None  # buffered, not yet written
        await asyncio.sleep(COUNT_FLUSH_SECONDS + 0.3)
        value, ttl = await client.get(key), await client.ttl(key)
        await client.aclose()
        return value, ttl

    try:
        value, ttl = asyncio.run(run())
    finally:
        _cleanup(key)
    assert int(value) == 250
    assert 0 < ttl <= 300


def test_a_script_error_reaches_only_its_caller():
    key = f"{settings.RUSH_KEY_PREFIX}batch-test:{uuid.uuid4().hex}"
    failing = "if ARGV[1] == 'boom' then return redis.error_reply('boom') end return 1"

    async def run():
        client = _client(2)
        batcher = RedisBatcher(client, script_text=failing)
        outcomes = await asyncio.gather(
            batcher.gate([key], ["ok"]),
            batcher.gate([key], ["boom"]),
            batcher.gate([key], ["ok"]),
            return_exceptions=True,
        )
        await client.aclose()
        return outcomes

    first, second, third = asyncio.run(run())
    assert first == 1 and third == 1
    assert isinstance(second, redis.ResponseError) and "boom" in str(second)
