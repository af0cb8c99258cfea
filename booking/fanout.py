"""Live seat counts to thousands of sockets: one Redis subscription per process, one frame per change.

A change of seats is published ONCE per seminar (one Redis PUBLISH carrying the pre-encoded frame of each
rank group). Every websocket process holds one pattern subscription and writes the frame straight to its
own local sockets of that group, with no channel-layer message per socket. That is what lets one process
update thousands of watchers in a fraction of a second.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from typing import Any, Protocol

from booking.clients import counter_client, subscriber_client
from booking.keys import live_channel, live_pattern

logger = logging.getLogger(__name__)


class Watcher(Protocol):
    async def base_send(self, message: dict[str, Any]) -> None: ...


_groups: dict[str, set[Watcher]] = {}
_direct_noted = False
_last: dict[str, str] = {}  # the counts last written to each local group (without their as-of time)
_latest: dict[str, str] = {}  # the newest frame this process received for each of its groups
_listener: asyncio.Task | None = None


async def fanout_join(group: str, watcher: Watcher) -> None:
    _groups.setdefault(group, set()).add(watcher)
    _listener_ensure()


def fanout_leave(group: str, watcher: Watcher) -> None:
    members = _groups.get(group)
    if members is not None:
        members.discard(watcher)
        if not members:
            _groups.pop(group, None)
            _last.pop(group, None)
            _latest.pop(group, None)


def frame_at(text: str) -> float:
    at = text.rfind('"at": ')
    try:
        return float(text[at + 6 : text.rindex("}")]) if at >= 0 else 0.0
    except ValueError:
        return 0.0


def newest(group: str, text: str) -> str:
    """Of a freshly computed first message and the last push this process saw for the group, the newer."""
    pushed = _latest.get(group)
    return pushed if pushed is not None and frame_at(pushed) > frame_at(text) else text


def local_count() -> int:
    return sum(len(members) for members in _groups.values())


def _listener_ensure() -> None:
    global _listener
    if _listener is None or _listener.done():
        _listener = asyncio.get_running_loop().create_task(_listen(), name="seats-fanout")


def ws_frame(text: str) -> bytes:
    """One unmasked, final text frame (RFC 6455 §5.2): what a server sends, identical for every socket."""
    payload = text.encode("utf-8")
    size = len(payload)
    if size < 126:
        header = bytes((0x81, size))
    elif size < 65536:
        header = bytes((0x81, 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + size.to_bytes(8, "big")
    return header + payload


def _daphne_protocol(watcher: Watcher):
    """The daphne/autobahn protocol object behind a consumer's `send`, if that is what serves it."""
    send = getattr(watcher, "base_send", None)
    protocol = send.args[0] if isinstance(send, functools.partial) and send.args else None
    if protocol is not None and hasattr(protocol, "transport") and hasattr(protocol, "STATE_OPEN"):
        return protocol
    return None


def _write(transport, frame: bytes) -> None:
    """Send now when nothing is queued on the socket; queue the rest on the transport.

    Twisted's `write` always buffers and re-registers the socket with the event loop, which costs more than
    the send itself when thousands of sockets get the same small frame. When the transport holds no
    pending bytes (so order is kept) and is plain TCP, one non-blocking send usually takes the whole frame.
    """
    sock = getattr(transport, "socket", None)
    if (
        sock is not None
        and not getattr(transport, "TLS", False)
        and not getattr(transport, "dataBuffer", b"x")
        and not getattr(transport, "_tempDataBuffer", [b"x"])
        and not getattr(transport, "disconnecting", True)
    ):
        try:
            sent = sock.send(frame)
        except BlockingIOError:
            sent = 0
        except OSError:
            return  # closed under us: its disconnect removes the watcher
        if sent == len(frame):
            return
        frame = frame[sent:]
    transport.write(frame)


def _note_direct() -> None:
    global _direct_noted
    if not _direct_noted:
        _direct_noted = True
        logger.info("seats fan-out: frames are written straight to daphne's sockets")


async def deliver(frames: dict[str, str]) -> int:
    """Write each group's frame to this process's sockets of that group; returns sockets written.

    Under daphne the frame is built once and written straight to each open socket's transport (the bytes
    are the same for every socket), which costs a few microseconds per socket instead of a trip through
    the consumer, daphne's reply handling and autobahn's framing; elsewhere it goes through `send`.
    """
    written = 0
    for group, text in frames.items():
        members = _groups.get(group)
        if not members:
            continue
        _latest[group] = text
        # A seminar's push carries every rank group; a group whose counts did not change gets nothing.
        counts = text[: text.rfind(', "at"')]
        if _last.get(group) == counts:
            continue
        _last[group] = counts
        message = {"type": "websocket.send", "text": text}
        frame = ws_frame(text)
        for watcher in list(members):
            try:
                protocol = _daphne_protocol(watcher)
                if protocol is not None:
                    _note_direct()
                    if protocol.state == protocol.STATE_OPEN:
                        _write(protocol.transport, frame)
                        written += 1
                    continue
                await watcher.base_send(message)
                written += 1
            except Exception:
                # A socket closing under us: its disconnect removes it.
                fanout_leave(group, watcher)
    return written


async def _listen() -> None:
    delay = 0.2
    while True:
        client = subscriber_client()
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.psubscribe(live_pattern())
            delay = 0.2
            while True:
                message = await pubsub.get_message(timeout=30)
                if message is None or message.get("type") != "pmessage":
                    continue
                try:
                    frames = json.loads(message["data"])
                except ValueError:
                    continue
                await deliver(frames)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.warning("seats fan-out: redis subscription lost, resubscribing")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
        finally:
            try:
                await pubsub.aclose()
                await client.aclose()
            except Exception:
                pass


def fanouts_publish(*, messages: dict[tuple[str, int], dict[str, str]]) -> None:
    """Publish the changes of several seminars, {(schema, seminar id): frames}, in one round trip."""
    if not messages:
        return
    pipe = counter_client().pipeline(transaction=False)
    for (schema, seminar_id), frames in messages.items():
        pipe.publish(live_channel(schema=schema, seminar_id=seminar_id), json.dumps(frames))
    pipe.execute()
