"""Seat counters in Redis for the booking rush: one atomic Lua call decides, PostgreSQL stays the truth.

Per seminar the counters hold the seats left on every quota row and who holds a seat. A claim answers
"full" or "already booked" without touching PostgreSQL; a successful claim is then persisted with the
statement every booking uses (booking/seats.py), and undone if PostgreSQL says no. After a Redis restart
(or whenever `ready` is missing) the counters are rebuilt from PostgreSQL: `claim_loading` is the one
"claim, and if the counters are not loaded, load them and claim again" every caller goes through.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import Any, TypeVar

import redis
from django_tenants.utils import schema_context

from booking import keys
from booking.clients import REDIS_ERRORS, counter_client
from booking.models import Booking, BookingStatus, SlotQuota

__all__ = ["REDIS_ERRORS", "SeatCounter", "claim_loading", "counter_client", "steps_run"]

# The seat claim, the one piece of Lua both scripts are built from (this module's _CLAIM and the rush gate's,
# booking/rush/gate.py): not loaded, already holding a seat of the seminar, or the first quota row with a
# seat left (the rank's own before the shared pool) loses one and the student holds it.
# seat_claim(loaded, held, holders key, candidate, first key, last key, offset of each key's quota id in ARGV)
# returns result, quota id.
CLAIM_FRAGMENT = """
local function seat_claim(loaded, held, holders, cand, first, last, offset)
  if not loaded then return -2, 0 end
  if held then return -1, tonumber(held) end
  for i = first, last do
    local left = tonumber(redis.call('GET', KEYS[i]) or '0')
    if left > 0 then
      redis.call('DECR', KEYS[i])
      redis.call('HSET', holders, cand, ARGV[i + offset])
      return 1, tonumber(ARGV[i + offset])
    end
  end
  return 0, 0
end
"""

# KEYS: ready, holders, quota keys in the order to try (own rank first, then the shared pool).
# ARGV: candidate id, then the quota ids matching the quota keys.
_CLAIM = (
    CLAIM_FRAGMENT
    + """
local loaded = redis.call('EXISTS', KEYS[1]) == 1
local held = false
if loaded then held = redis.call('HGET', KEYS[2], ARGV[1]) end
local result, quota = seat_claim(loaded, held, KEYS[2], ARGV[1], 3, #KEYS, -1)
return {result, quota}
"""
)

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

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Claim:
    result: int
    quota_id: int


_scripts: dict[int, tuple[Any, Any, Any]] = {}

Op = TypeVar("Op")
ClaimOp = TypeVar("ClaimOp")
LoadOp = TypeVar("LoadOp")
Result = TypeVar("Result")


def claim_loading(claim: ClaimOp, load: LoadOp) -> Generator[ClaimOp | LoadOp, Any, Any]:
    """The claim, and when the counters are not loaded, the load and the claim again.

    A generator of operations, so that the same steps run under a synchronous caller (steps_run) and on the
    rush workers' event loop (booking/rush/pipeline.py): each yields `claim` or `load` and is sent back
    the answer of the operation.
    """
    answer = yield claim
    if answer.result == NOT_LOADED:
        yield load
        answer = yield claim
    return answer


def steps_run(steps: Generator[Op, Any, Result], perform: Callable[[Op], Any]) -> Result:
    """Run a generator of operations synchronously: `perform` each one, send its answer back."""
    try:
        operation = next(steps)
        while True:
            try:
                reply = perform(operation)
            except Exception as error:
                # The steps see the failure where they asked, and may answer it (else it goes on up).
                operation = steps.throw(error)
            else:
                operation = steps.send(reply)
    except StopIteration as done:
        result: Result = done.value
        return result


async def steps_run_async(
    steps: Generator[Op, Any, Result], perform: Callable[[Op], Awaitable[Any]]
) -> Result:
    """steps_run on the event loop: each operation awaited, its answer sent back (booking/rush/asgi.py)."""
    try:
        operation = next(steps)
        while True:
            try:
                reply = await perform(operation)
            except Exception as error:
                operation = steps.throw(error)
            else:
                operation = steps.send(reply)
    except StopIteration as done:
        result: Result = done.value
        return result


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class SeatCounter:
    """Counters of one tenant's seminar; every key carries the tenant's schema."""

    def __init__(self, *, seminar_id: int, schema: str, client: redis.Redis | None = None) -> None:
        self.client = client or counter_client()
        self.schema = schema
        self.seminar_id = seminar_id
        self.prefix = keys.seats_prefix(schema=schema, seminar_id=seminar_id)
        found = _scripts.get(id(self.client))
        if found is None:
            register = self.client.register_script
            found = _scripts[id(self.client)] = (register(_CLAIM), register(_RELEASE), register(_LOAD))
        self._claim, self._release, self._load = found  # type: ignore[var-annotated]

    def quota_key(self, quota_id: int) -> str:
        return f"{self.prefix}:q:{quota_id}"

    @property
    def ready_key(self) -> str:
        return f"{self.prefix}:ready"

    @property
    def holders_key(self) -> str:
        return f"{self.prefix}:holders"

    def claim(self, *, candidate_id: int, quota_ids: list[int]) -> Claim:
        names = [self.ready_key, self.holders_key, *(self.quota_key(q) for q in quota_ids)]
        result, quota_id = self._claim(keys=names, args=[candidate_id, *quota_ids])
        return Claim(result=int(result), quota_id=int(quota_id))

    def claim_loaded(self, *, candidate_id: int, quota_ids: list[int]) -> Claim:
        """claim(), loading the counters from PostgreSQL first when they are not there."""
        claim: Claim = steps_run(
            claim_loading("claim", "load"),
            lambda op: (
                self.claim(candidate_id=candidate_id, quota_ids=quota_ids) if op == "claim" else self.load()
            ),
        )
        return claim

    def release(self, *, candidate_id: int, quota_id: int) -> bool:
        names = [self.ready_key, self.holders_key, self.quota_key(quota_id)]
        return bool(self._release(keys=names, args=[candidate_id, quota_id]))

    def undo(self, *, candidate_id: int, quota_id: int) -> None:
        """PostgreSQL did not take a claimed seat (refused, or away with the commit perhaps made): give the
        seat back and drop the copy, so the next claim rebuilds it from PostgreSQL. Never raises."""
        try:
            self.release(candidate_id=candidate_id, quota_id=quota_id)
        except REDIS_ERRORS:
            logger.warning("seat counters unavailable: claim not released, rebuilt when Redis is back")
        try:
            self.drop()
        except REDIS_ERRORS:
            pass

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
        names = [self.ready_key, self.holders_key, *(self.quota_key(q) for q, _, _ in quotas)]
        args: list[Any] = [READY_SECONDS, len(quotas), *(seats - taken for _, seats, taken in quotas)]
        for candidate_id, quota_id in holders:
            args.extend((candidate_id, quota_id))
        return bool(self._load(keys=names, args=args))

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
        in_redis = {_text(k): _text(v) for k, v in self.client.hgetall(self.holders_key).items()}
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
