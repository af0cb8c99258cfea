"""The rush path's Redis calls of one event loop, sent together.

At the opening second a worker has hundreds of bookings in flight. Each asking Redis on its own pays the
client's fixed costs (a pooled connection, a timeout, a system call each way) hundreds of times a second.
Here every gate call (and every plain command, such as the rush page's revocation check) made during the
same turn of the event loop goes out in one pipeline, in the order the requests reached it (the waiting
room's tickets stay first come, first served), and each request gets its own reply. The per-second counts
of answers decided without Redis ("not open yet") are added up in the process and written a few times a
second.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from redis.exceptions import NoScriptError

logger = logging.getLogger(__name__)

COUNT_FLUSH_SECONDS = 0.25
COUNT_KEEP_SECONDS = 300


class RedisBatcher:
    """One per event loop: `gate()` and `call()` calls of the same loop turn share a pipeline; `count()` is
    buffered."""

    def __init__(self, client, *, script_text: str) -> None:
        self.client = client
        self.script = client.register_script(script_text)
        self.pending: list[tuple[list | None, list, asyncio.Future]] = []
        self.counts: dict[str, int] = {}
        self.flush_scheduled = False
        self.counts_scheduled = False
        self.sending: set[asyncio.Task] = set()

    async def gate(self, keys: list, args: list):
        """The script's reply for these keys and arguments; raises what the Redis client raised."""
        return await self._queued(keys, args)

    async def call(self, *command: Any):
        """A plain command (`"HGET", key, field`), sent in the same pipeline as this turn's gate calls."""
        return await self._queued(None, list(command))

    async def _queued(self, keys: list | None, args: list):
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.pending.append((keys, args, future))
        if not self.flush_scheduled:
            self.flush_scheduled = True
            # After every request already made ready in this turn has reached this point.
            loop.call_soon(self._flush)
        return await future

    def count(self, key: str) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1
        if not self.counts_scheduled:
            self.counts_scheduled = True
            asyncio.get_running_loop().call_later(COUNT_FLUSH_SECONDS, self._flush_counts)

    def _flush(self) -> None:
        self.flush_scheduled = False
        pending, self.pending = self.pending, []
        if pending:
            self._spawn(self._send(pending))

    def _flush_counts(self) -> None:
        self.counts_scheduled = False
        counts, self.counts = self.counts, {}
        if counts:
            self._spawn(self._send_counts(counts))

    def _spawn(self, coroutine) -> None:
        task = asyncio.ensure_future(coroutine)
        self.sending.add(task)
        task.add_done_callback(self.sending.discard)

    async def _send(self, pending: list[tuple[list | None, list, asyncio.Future]]) -> None:
        try:
            replies = await self._pipeline_all(pending)
            if any(isinstance(reply, NoScriptError) for reply in replies):
                # Redis restarted (or never saw the script): load it once, then ask again for those.
                await self.client.script_load(self.script.script)
                again = [
                    item
                    for item, reply in zip(pending, replies, strict=True)
                    if isinstance(reply, NoScriptError)
                ]
                retried = iter(await self._pipeline_all(again))
                replies = [next(retried) if isinstance(reply, NoScriptError) else reply for reply in replies]
        except Exception as error:  # noqa: BLE001 - every waiting request hears it and takes the other way
            for _, _, future in pending:
                if not future.done():
                    future.set_exception(error)
            return
        for (_, _, future), reply in zip(pending, replies, strict=True):
            if future.done():
                continue
            if isinstance(reply, Exception):
                future.set_exception(reply)
            else:
                future.set_result(reply)

    async def _pipeline_all(self, pending: list[tuple[list | None, list, asyncio.Future]]) -> list:
        pipe = self.client.pipeline(transaction=False)
        for keys, args, _ in pending:
            if keys is None:
                pipe.execute_command(*args)  # a plain command
            else:
                pipe.evalsha(self.script.sha, len(keys), *keys, *args)
        return await pipe.execute(raise_on_error=False)

    async def _send_counts(self, counts: dict[str, int]) -> None:
        pipe = self.client.pipeline(transaction=False)
        for key, count in counts.items():
            pipe.incrby(key, count)
            pipe.expire(key, COUNT_KEEP_SECONDS)
        try:
            await pipe.execute()
        except Exception as error:  # noqa: BLE001 - a figure must never fail a student's request
            logger.warning("rush: answer counts not written (%s)", type(error).__name__)
