"""The rush decision: waiting room and seat claim in ONE Redis call, then PostgreSQL persists the winners.

One Lua script per request: is the student's sign-in revoked, is the waiting room on (and does the student
hold a room pass), which ticket does the student hold and has the admission cursor reached it, and finally
the seat claim (the fragment of booking/seatcounter.py: dedupe per seminar, rank quota, shared pool). Counts per second
for the recruiters' rush view are kept in the same call. Keys of one tenant's seminar only.

The waiting room is a token bucket over a FIFO of tickets: the cursor advances `admission_per_second` per
second (and may run one second ahead of the tail, so a quiet room lets arrivals straight in); a ticket at
or below the cursor is admitted. The ticket of a student is kept, so reloading keeps the place.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from booking import keys
from booking.seatcounter import CLAIM_FRAGMENT, SeatCounter

# Results (first element of the reply).
SIGNED_OUT, NOT_LOADED, ALREADY, FULL, CLAIMED, QUEUED, ADMITTED = -3, -2, -1, 0, 1, 2, 3

ROOM_KEEP_SECONDS = 6 * 60 * 60
AUTO_ON_SECONDS = 30

# KEYS: 1 ready, 2 holders, 3 revoked, 4 room on, 5 room tail, 6 room cursor, 7 room last, 8 room tickets,
#       9 room head, then n claim keys (the slot's quota rows: own rank first, then the shared pool), then the
#       quota keys of the rank on the seminar's other slots (only read, to say whether trying another helps).
# ARGV: 1 candidate, 2 pass issued at (s), 3 room mode, 4 has room pass, 5 admission/s, 6 now (ms),
#       7 rate key prefix, 8 "claim" or "queue", 9 n, 10.. quota ids matching the n claim keys.
# Reply: {result, value, extra, others}: others = 1 when another slot still has a seat for this rank.
_GATE = (
    CLAIM_FRAGMENT
    + """
local cand = ARGV[1]
local revoked = redis.call('HGET', KEYS[3], cand)
if revoked and tonumber(revoked) >= tonumber(ARGV[2]) then return {-3, 0, 0, 0} end
local now = tonumber(ARGV[6])
local sec = math.floor(now / 1000)
local n = tonumber(ARGV[9])
local function mark(kind)
  local k = ARGV[7] .. kind .. ':' .. sec
  redis.call('INCR', k)
  redis.call('EXPIRE', k, 300)
end
local loaded = redis.call('EXISTS', KEYS[1]) == 1
local function any_left(first, last)
  for i = first, last do
    if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then return true end
  end
  return false
end
local function others()
  if any_left(10 + n, #KEYS) then return 1 end
  return 0
end
local held = nil
if loaded then held = redis.call('HGET', KEYS[2], cand) end
local admitted = 0
local mode = ARGV[3]
local queue_only = ARGV[8] == 'queue'
local active = mode == 'on' or (mode == 'auto' and redis.call('EXISTS', KEYS[4]) == 1)
if queue_only and not active then
  if held then return {-1, tonumber(held), 0, 0} end
  if loaded and not any_left(10, #KEYS) then return {0, 0, 0, 0} end
  return {3, 0, 0, 0}
end
if (active and ARGV[4] ~= '1') or queue_only then
  if held then mark('already') return {-1, tonumber(held), 0, 0} end
  -- Sold out for this student: a definite answer at once, no place in line needed.
  if loaded and not any_left(10, queue_only and #KEYS or 9 + n) then
    mark('full')
    return {0, 0, 0, queue_only and 0 or others()}
  end
  local ticket = redis.call('HGET', KEYS[8], cand)
  local fresh = false
  if ticket then ticket = tonumber(ticket) else
    ticket = redis.call('INCR', KEYS[5])
    redis.call('HSET', KEYS[8], cand, ticket)
    fresh = true
  end
  local rate = tonumber(ARGV[5])
  local tail = tonumber(redis.call('GET', KEYS[5]) or '0')
  local cursor = tonumber(redis.call('GET', KEYS[6]) or '-1')
  local last = tonumber(redis.call('GET', KEYS[7]) or '0')
  if cursor < 0 then cursor = rate last = now end
  cursor = math.min(cursor + math.max(now - last, 0) * rate / 1000, tail + rate)
  local head = math.min(math.floor(cursor), tail)
  redis.call('SET', KEYS[6], tostring(cursor), 'EX', 21600)
  redis.call('SET', KEYS[7], tostring(now), 'EX', 21600)
  redis.call('SET', KEYS[9], head, 'EX', 21600)
  redis.call('EXPIRE', KEYS[5], 21600)
  redis.call('EXPIRE', KEYS[8], 21600)
  if ticket > head then
    if fresh then mark('queued') end
    return {2, ticket, ticket - head, 0}
  end
  if fresh or queue_only then mark('admitted') end
  if queue_only then return {3, ticket, 0, 0} end
  admitted = ticket
end
local result, quota = seat_claim(loaded, held, KEYS[2], cand, 10, 9 + n, 0)
if result == -1 then mark('already') end
if result == 0 then
  mark('full')
  return {0, 0, admitted, others()}
end
return {result, quota, admitted, 0}
"""
)


GATE_SCRIPT = _GATE


@dataclass(frozen=True)
class GateAnswer:
    result: int
    value: int  # quota id (claimed / already), ticket (queued / admitted)
    extra: int  # position (queued) or the ticket admitted on this request (claim)
    others: bool = False  # full here, but another slot of the seminar still has a seat for this rank


def gate_answer(reply) -> GateAnswer:
    result, value, extra, others = reply
    return GateAnswer(result=int(result), value=int(value), extra=int(extra), others=bool(others))


def room_keys(*, schema: str, seminar_id: int) -> dict[str, str]:
    return {name: keys.room_key(schema=schema, seminar_id=seminar_id, name=name) for name in keys.ROOM_NAMES}


class Gate:
    """The rush gate of one tenant's seminar (shares keys with SeatCounter)."""

    _scripts: dict[int, Any] = {}

    def __init__(self, *, schema: str, seminar_id: int) -> None:
        self.counter = SeatCounter(seminar_id=seminar_id, schema=schema)
        self.client = self.counter.client
        self.schema = schema
        self.seminar_id = seminar_id
        self.room = room_keys(schema=schema, seminar_id=seminar_id)
        script = Gate._scripts.get(id(self.client))
        if script is None:
            script = self.client.register_script(_GATE)
            Gate._scripts[id(self.client)] = script
        self._gate = script
        # The keys that do not depend on the request, built once.
        self._keys = [
            self.counter.ready_key,
            self.counter.holders_key,
            keys.revoked_key(schema=schema),
            *(self.room[name] for name in ("on", "tail", "cursor", "last", "tickets", "head")),
        ]
        self._rate_prefix = keys.rate_prefix(schema=schema, seminar_id=seminar_id)

    def keys_args(
        self,
        *,
        candidate_id: int,
        issued_at: int,
        quota_ids: list[int],
        mode: str,
        has_room_pass: bool,
        admission_per_second: int,
        queue_only: bool = False,
        other_quota_ids: list[int] | None = None,
    ) -> tuple[list[str], list]:
        names = [
            *self._keys,
            *(self.counter.quota_key(q) for q in quota_ids),
            *(self.counter.quota_key(q) for q in other_quota_ids or ()),
        ]
        args = [
            candidate_id,
            issued_at,
            mode,
            "1" if has_room_pass else "0",
            admission_per_second,
            int(time.time() * 1000),
            self._rate_prefix,
            "queue" if queue_only else "claim",
            len(quota_ids),
            *quota_ids,
        ]
        return names, args

    def call(self, **options: Any) -> GateAnswer:
        names, args = self.keys_args(**options)
        return gate_answer(self._gate(keys=names, args=args))

    def room_on_command(self, *, reason: str = "auto", seconds: int = AUTO_ON_SECONDS) -> tuple[str, ...]:
        """The one Redis command that switches the waiting room on (sent as is, or in an event loop's pipeline)."""
        return ("SET", self.room["on"], reason, "EX", str(seconds))

    def room_switch_on(self, *, reason: str = "auto", seconds: int = AUTO_ON_SECONDS) -> None:
        self.client.execute_command(*self.room_on_command(reason=reason, seconds=seconds))
