"""Seat counters in Redis for the booking rush: one atomic Lua call decides, PostgreSQL stays the truth.

Per seminar the counters hold the seats left on every quota row and who holds a seat. A claim answers
"full" or "already booked" without touching PostgreSQL; a successful claim is then persisted with the
same conditional UPDATE + INSERT as every booking, and released again if PostgreSQL says no. After a
Redis restart (or whenever `ready` is missing) the counters are rebuilt from PostgreSQL.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import redis
from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context

from booking.models import Booking, BookingStatus, SlotQuota

# KEYS: ready, holders, quota keys in the order to try (own rank first, then the shared pool).
# ARGV: candidate id, then the quota ids matching the quota keys.
_CLAIM = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {-2, 0} end
local held = redis.call('HGET', KEYS[2], ARGV[1])
if held then return {-1, tonumber(held)} end
for i = 3, #KEYS do
  local left = tonumber(redis.call('GET', KEYS[i]) or '0')
  if left > 0 then
    redis.call('DECR', KEYS[i])
    redis.call('HSET', KEYS[2], ARGV[1], ARGV[i - 1])
    return {1, tonumber(ARGV[i - 1])}
  end
end
return {0, 0}
"""

# KEYS: ready, holders, quota key. ARGV: candidate id, quota id.
_RELEASE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HGET', KEYS[2], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('INCR', KEYS[3])
  return 1
end
return 0
"""

# KEYS: ready, holders, quota keys. ARGV: ready seconds, number of quotas, the quotas' seats left, then
# holder pairs (candidate, quota). Writes only while `ready` is absent: when several processes find the
# counters missing at once, the first copy wins and claims made on it are never overwritten by a later,
# older snapshot.
_LOAD = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('DEL', KEYS[2])
local n = tonumber(ARGV[2])
for i = 1, n do redis.call('SET', KEYS[2 + i], ARGV[2 + i]) end
for i = 3 + n, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
redis.call('SET', KEYS[1], '1', 'EX', tonumber(ARGV[1]))
return 1
"""

CLAIMED, FULL, ALREADY, NOT_LOADED = 1, 0, -1, -2
READY_SECONDS = 60
# What a counter call may raise when Redis is away: the caller falls back to PostgreSQL alone.
REDIS_ERRORS = (redis.ConnectionError, redis.TimeoutError, OSError)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Claim:
    result: int
    quota_id: int


_client: redis.Redis | None = None
_scripts: dict[int, tuple] = {}


def counter_client() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(
            settings.RUSH_REDIS_URL, socket_timeout=1.0, socket_connect_timeout=1.0, health_check_interval=30
        )
    return _client


class SeatCounter:
    """Counters of one tenant's seminar; every key carries the tenant's schema."""

    def __init__(
        self, *, seminar_id: int, schema: str | None = None, client: redis.Redis | None = None
    ) -> None:
        self.client = client or counter_client()
        self.schema = schema or connection.schema_name
        self.seminar_id = seminar_id
        self.prefix = f"{settings.RUSH_KEY_PREFIX}seats:{self.schema}:{seminar_id}"
        scripts = _scripts.get(id(self.client))
        if scripts is None:
            scripts = tuple(self.client.register_script(text) for text in (_CLAIM, _RELEASE, _LOAD))
            _scripts[id(self.client)] = scripts
        self._claim, self._release, self._load = scripts

    def quota_key(self, quota_id: int) -> str:
        return f"{self.prefix}:q:{quota_id}"

    @property
    def ready_key(self) -> str:
        return f"{self.prefix}:ready"

    @property
    def holders_key(self) -> str:
        return f"{self.prefix}:holders"

    def claim(self, *, candidate_id: int, quota_ids: list[int]) -> Claim:
        keys = [self.ready_key, self.holders_key, *(self.quota_key(q) for q in quota_ids)]
        result, quota_id = self._claim(keys=keys, args=[candidate_id, *quota_ids])
        return Claim(result=int(result), quota_id=int(quota_id))

    def release(self, *, candidate_id: int, quota_id: int) -> bool:
        keys = [self.ready_key, self.holders_key, self.quota_key(quota_id)]
        return bool(self._release(keys=keys, args=[candidate_id, quota_id]))

    def load(self) -> bool:
        """Build the counters from PostgreSQL unless another process just did (call inside the tenant's schema)."""
        with schema_context(self.schema):
            quotas = list(
                SlotQuota.objects.filter(slot__seminar_id=self.seminar_id).values_list("id", "seats", "taken")
            )
            holders = list(
                Booking.objects.filter(seminar_id=self.seminar_id, status=BookingStatus.ACTIVE).values_list(
                    "candidate_id", "quota_id"
                )
            )
        keys = [self.ready_key, self.holders_key, *(self.quota_key(q) for q, _, _ in quotas)]
        args: list = [READY_SECONDS, len(quotas), *(seats - taken for _, seats, taken in quotas)]
        for candidate_id, quota_id in holders:
            args.extend((candidate_id, quota_id))
        return bool(self._load(keys=keys, args=args))

    def rebuild(self) -> None:
        """Rebuild the counters from PostgreSQL unconditionally (reconciliation; call inside the schema)."""
        quotas = list(
            SlotQuota.objects.filter(slot__seminar_id=self.seminar_id).values_list("id", "seats", "taken")
        )
        holders = dict(
            Booking.objects.filter(seminar_id=self.seminar_id, status=BookingStatus.ACTIVE).values_list(
                "candidate_id", "quota_id"
            )
        )
        # A seat offered to the waiting list is held too, but not by a booking: it is already in `taken`.
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(self.ready_key, self.holders_key, *(self.quota_key(q) for q, _, _ in quotas))
        for quota_id, seats, taken in quotas:
            pipe.set(self.quota_key(quota_id), seats - taken)
        if holders:
            pipe.hset(self.holders_key, mapping={str(k): str(v) for k, v in holders.items()})
        # The copy is rebuilt at least every READY_SECONDS, so a drop lost while Redis was unreachable
        # cannot leave it wrong for long.
        pipe.set(self.ready_key, "1", ex=READY_SECONDS)
        pipe.execute()

    def drop(self) -> None:
        """Forget the counters; the next claim answers NOT_LOADED and the caller reloads."""
        self.client.delete(self.ready_key)

    def remaining(self, *, quota_ids: list[int]) -> dict[int, int]:
        values = self.client.mget([self.quota_key(q) for q in quota_ids])
        return {q: int(v) for q, v in zip(quota_ids, values, strict=True) if v is not None}

    def reconcile(self) -> list[str]:
        """Differences between Redis and PostgreSQL (empty when both agree)."""
        problems = []
        quotas = SlotQuota.objects.filter(slot__seminar_id=self.seminar_id).values_list(
            "id", "seats", "taken"
        )
        counted = self.remaining(quota_ids=[q for q, _, _ in quotas])
        for quota_id, seats, taken in quotas:
            if counted.get(quota_id) != seats - taken:
                problems.append(
                    f"quota {quota_id}: redis {counted.get(quota_id)} != postgres {seats - taken}"
                )
        in_db = {
            str(k): str(v)
            for k, v in Booking.objects.filter(
                seminar_id=self.seminar_id, status=BookingStatus.ACTIVE
            ).values_list("candidate_id", "quota_id")
        }
        in_redis = {k.decode(): v.decode() for k, v in self.client.hgetall(self.holders_key).items()}
        if in_db != in_redis:
            problems.append(f"holders differ: {len(in_db)} in postgres, {len(in_redis)} in redis")
        return problems


def counters_drop_for_slots(*, schema_name: str, slot_ids: list[int]) -> None:
    """Seats changed outside the counters (cancel, change, waiting list, quota edit): rebuild on next claim."""
    from booking.models import Slot

    try:
        with schema_context(schema_name):
            seminar_ids = set(Slot.objects.filter(pk__in=slot_ids).values_list("seminar_id", flat=True))
        for seminar_id in seminar_ids:
            SeatCounter(seminar_id=seminar_id, schema=schema_name).drop()
    except REDIS_ERRORS:
        # Redis is away: its counters are stale anyway and are rebuilt when it is back (no `ready` key).
        logger.warning("seat counters: redis unavailable while dropping")
