"""Fan-out of live seat counts: frames built once per change, the right sockets only."""

from __future__ import annotations

import asyncio
import functools

from websockets.frames import Frame
from websockets.streams import StreamReader

from booking import fanout


def _parse(data: bytes) -> Frame:
    reader = StreamReader()
    reader.feed_data(data)
    parser = Frame.parse(reader.read_exact, mask=False)
    try:
        next(parser)
    except StopIteration as done:
        return done.value
    raise AssertionError("incomplete frame")


def test_frames_are_valid_unmasked_text_frames_at_every_length_class():
    for size in (10, 125, 126, 5_000, 70_000):
        text = "席" * (size // 3) + "a" * (size % 3)
        frame = _parse(fanout.ws_frame(text))
        assert frame.fin and frame.opcode.name == "TEXT" and frame.data.decode("utf-8") == text


class _Transport:
    def __init__(self) -> None:
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)


class _Protocol:
    STATE_OPEN = 1

    def __init__(self, state: int = 1) -> None:
        self.state = state
        self.transport = _Transport()


class _Watcher:
    def __init__(self, send) -> None:
        self.base_send = send


def test_deliver_writes_once_per_open_socket_of_the_group_and_skips_others():
    async def run() -> None:
        sent: list[dict] = []

        async def other_server_send(message: dict) -> None:
            sent.append(message)

        async def daphne_reply(protocol, message) -> None:  # the shape daphne hands to consumers
            raise AssertionError("the direct write should have been used")

        open_socket, closing_socket = _Protocol(), _Protocol(state=3)
        direct = _Watcher(functools.partial(daphne_reply, open_socket))
        closing = _Watcher(functools.partial(daphne_reply, closing_socket))
        generic = _Watcher(other_server_send)
        elsewhere = _Watcher(other_server_send)
        for group, watcher in (("g1", direct), ("g1", closing), ("g1", generic), ("g2", elsewhere)):
            fanout._groups.setdefault(group, set()).add(watcher)
        try:
            written = await fanout.deliver({"g1": '{"type": "seats", "at": 1.0}'})
            # The same counts again (a later as-of time) are not written a second time.
            assert await fanout.deliver({"g1": '{"type": "seats", "at": 2.0}'}) == 0
            assert fanout.newest("g1", '{"type": "seats", "at": 1.5}').endswith("2.0}")
        finally:
            for group in ("g1", "g2"):
                fanout._groups.pop(group, None)
                fanout._last.pop(group, None)
                fanout._latest.pop(group, None)
        assert written == 2
        assert open_socket.transport.written == [fanout.ws_frame('{"type": "seats", "at": 1.0}')]
        assert closing_socket.transport.written == []
        assert sent == [{"type": "websocket.send", "text": '{"type": "seats", "at": 1.0}'}]

    asyncio.run(run())
