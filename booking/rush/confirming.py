"""A winner's answer within a bound: "booked" when PostgreSQL wrote the seat in time, else "confirming".

The rush workers' event loop (booking/rush/loop.py) awaits a winner's write (booking/rush/persist.py) for at
most CONFIRM_WAIT_S. A longer write goes on, the student is answered "confirming" (202) and the page asks the
waiting room's address again; the gate reads what this module leaves in the seminar's confirming hash
(keys.confirming_key, booking/rush/gate.py) and answers "booked" with the booking once it is written.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from booking import clients
from booking.rush.outcomes import Outcome, confirming

logger = logging.getLogger(__name__)

CONFIRM_WAIT_S = float(os.environ.get("RUSH_CONFIRM_WAIT_S", "0.5"))
CONFIRMING_KEEP_S = 600

_background: set[asyncio.Task] = set()


async def persisted_or_confirming(
    written: Awaitable[Outcome], *, key: str, member: str, redis_call: Callable[..., Awaitable[Any]]
) -> Outcome:
    """The winner's Outcome once PostgreSQL wrote it, or "confirming" when that takes longer than
    CONFIRM_WAIT_S: the student's request is answered at once and their page asks again
    (pipeline.queue_steps reads the gate's confirming hash). A request held for the length of the write
    holds a connection of the proxy and of the student's browser; at an opening where winners wait seconds
    for their write, those held connections, not the decisions, were what every other student waited for.

    The write goes on either way. The hash says so while it is under way, then the booking and its commit
    time (keys.confirming_key); if PostgreSQL refused (the seat went back to the counters:
    booking/rush/persist.py), the student's entry goes, and the gate decides afresh on the next ask.
    """
    task = asyncio.ensure_future(written)
    done, _ = await asyncio.wait({task}, timeout=CONFIRM_WAIT_S)
    if done:
        return task.result()
    try:
        await redis_call("HSET", key, member, f"0:{int(time.time() * 1000)}")
        await redis_call("EXPIRE", key, CONFIRMING_KEEP_S)
    except clients.REDIS_ERRORS:
        return await task  # nowhere to leave the answer: the student waits for it as before
    in_background(_confirmed(task, key=key, member=member, redis_call=redis_call))
    return confirming()


async def _confirmed(
    task: asyncio.Future[Outcome], *, key: str, member: str, redis_call: Callable[..., Awaitable[Any]]
) -> None:
    """Leave the written winner's booking where the gate finds it (or take the entry back)."""
    try:
        outcome = await task
    except Exception:  # noqa: BLE001 - the write failed: the next ask is decided afresh
        outcome = None
    try:
        if outcome is not None and outcome.code == "booked":
            committed_ms = int(float(outcome.extra["committed_at"]) * 1000)
            await redis_call("HSET", key, member, f"{outcome.extra['booking']}:{committed_ms}")
        else:
            await redis_call("HDEL", key, member)
    except clients.REDIS_ERRORS:
        logger.warning("rush: a confirmed booking could not be left for its student's next ask")


def in_background(coroutine: Coroutine[Any, Any, Any]) -> None:
    """Run on this event loop without anyone awaiting it (held until done)."""
    task = asyncio.get_running_loop().create_task(coroutine)
    _background.add(task)  # held until done (the loop keeps only a weak reference)
    task.add_done_callback(_background.discard)
