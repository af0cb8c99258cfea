"""Parts of the rush workers' application (booking/rush/asgi.py): the light request, loading things once."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time

import pytest
from django.core.exceptions import DisallowedHost

from booking.rush.loop import _once
from booking.rush.request import RushRequest


def _scope(headers: list[tuple[bytes, bytes]], method: str = "POST") -> dict:
    return {"type": "http", "method": method, "path": "/my/rush/1/book", "headers": headers}


def test_reads_the_headers_cookies_and_body_the_decision_needs():
    request = RushRequest(
        _scope(
            [
                (b"host", b"acme.localhost"),
                (b"cookie", b"rush_pass=abc:def; rush_room=xyz; other=1"),
                (b"content-type", b"application/json; charset=utf-8"),
                (b"x-requested-with", b"rush"),
                (b"origin", b"http://acme.localhost"),
                (b"x-request-start", b"t=1700000000.123"),
                (b"user-agent", b"ignored"),
            ]
        ),
        b'{"slot": 3}',
    )
    assert request.method == "POST"
    assert request.COOKIES == {"rush_pass": "abc:def", "rush_room": "xyz", "other": "1"}
    assert request.content_type == "application/json"
    assert request.body == b'{"slot": 3}'
    assert request.META["HTTP_X_REQUESTED_WITH"] == "rush"
    assert request.META["HTTP_ORIGIN"] == "http://acme.localhost"
    assert request.META["HTTP_X_REQUEST_START"] == "t=1700000000.123"
    assert "HTTP_USER_AGENT" not in request.META
    assert request.get_host() == "acme.localhost"


def test_form_bodies_and_hosts_outside_allowed_hosts():
    form = RushRequest(
        _scope([(b"host", b"acme.localhost:8000"), (b"content-type", b"application/x-www-form-urlencoded")]),
        b"slot=12",
    )
    assert form.POST.get("slot") == "12"
    assert form.get_host() == "acme.localhost:8000"
    for host in (b"evil.example.com", b"", b"acme.localhost.evil.example"):
        with pytest.raises(DisallowedHost):
            RushRequest(_scope([(b"host", host)]), b"").get_host()


def test_what_many_requests_need_at_once_is_loaded_once():
    calls = []
    lock = threading.Lock()

    def load(value: str) -> str:
        with lock:
            calls.append(value)
        time.sleep(0.2)
        return value.upper()

    def broken() -> str:
        raise RuntimeError("database away")

    async def run():
        first = await asyncio.gather(*(_once(("state", "t_acme", 1), load, "a") for _ in range(50)))
        # Done: the next request of the same key loads again (a refresh), another key loads on its own.
        again = await _once(("state", "t_acme", 1), load, "b")
        other = await _once(("state", "t_acme", 2), load, "c")
        failed = await asyncio.gather(*(_once(("state", "t_acme", 3), broken) for _ in range(5)))
        return first, again, other, failed

    first, again, other, failed = asyncio.run(run())
    assert first == ["A"] * 50
    assert (again, other) == ("B", "C")
    assert calls == ["a", "b", "c"]
    # A failure reaches every waiter as "not loaded" (they take the regular way, which reports it).
    assert failed == [None] * 5


WARM_UP_PROBE = """
import asyncio, sys
import booking.rush.asgi as rush

heavy = ("saas.urls_tenants", "api.company")
before = [name in sys.modules for name in heavy]
messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
sent = []

async def receive():
    return next(messages)

async def send(message):
    sent.append(message["type"])

asyncio.run(rush.application({"type": "lifespan"}, receive, send))
from django.template import engines
loaded = any(
    "booking/mypage/rush.html" in str(key)
    for engine in engines.all()
    for loader in engine.engine.template_loaders
    for key in getattr(loader, "get_template_cache", {})
)
print(before, [name in sys.modules for name in heavy], loaded, sent)
"""


def test_a_rush_process_loads_the_url_tree_and_the_page_before_it_accepts_a_connection():
    """The first page render of a cold process imported the whole URL tree at the opening second (about a
    second of interpreter time while the students on the event loop waited): the lifespan start does it."""
    from tests.conftest import ROOT, server_env

    result = subprocess.run(
        [sys.executable, "-c", WARM_UP_PROBE], cwd=ROOT, env=server_env(), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    line = result.stdout.strip().splitlines()[-1]
    assert line == (
        "[False, False] [True, True] True ['lifespan.startup.complete', 'lifespan.shutdown.complete']"
    ), line


def test_the_writes_of_one_loop_turn_leave_in_one_send_in_order_and_before_a_close():
    """booking/rush/http.py on a real socket: a response's head and body written in one turn are one send;
    later writes follow in order; what was written right before a close still arrives."""
    import socket

    from booking.rush.http import OneSendPerTurn

    async def scenario() -> tuple[bytes, list[bytes]]:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair()
        transport, _ = await loop.create_connection(asyncio.Protocol, sock=ours)
        sends: list[bytes] = []
        write = transport.write

        def counted(data: bytes) -> None:
            sends.append(bytes(data))
            write(data)

        transport.write = counted  # type: ignore[method-assign]
        wrapped = OneSendPerTurn(transport, loop)
        wrapped.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        wrapped.write(b"ok")
        await asyncio.sleep(0)
        wrapped.write(b"next")
        wrapped.write(b"-and-last")
        wrapped.close()
        await asyncio.sleep(0.05)
        theirs.setblocking(False)
        received = b""
        while chunk := theirs.recv(65536):
            received += chunk
        theirs.close()
        return received, sends

    received, sends = asyncio.run(scenario())
    assert sends == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok", b"next-and-last"]
    assert received == b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\noknext-and-last"
