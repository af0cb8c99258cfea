"""Outgoing HTTP goes only to public addresses, within a time and size budget (saas/egress.py)."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from saas import egress


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://localhost:8000/hook",  # a name: refused after resolution
        "http://2130706433/",  # 127.0.0.1 written as one number
        "http://0x7f.1/",
        "http://10.0.0.5/",
        "http://172.16.3.4/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://0.0.0.0/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[2002:7f00:1::]/",
        "http://[fd00::1]/",
        "http://[fe80::1]/",
        "http://224.0.0.1/",
        "ftp://93.184.215.14/",
        "https://user:pw@93.184.215.14/",
        "https:///nohost",
    ],
)
def test_destinations_off_the_internet_are_refused(url, settings):
    settings.OUTGOING_HTTP_ALLOW = []
    with pytest.raises(egress.DestinationRefused):
        egress.destination_check(url)


def test_public_addresses_pass(settings):
    settings.OUTGOING_HTTP_ALLOW = []
    egress.destination_check("https://93.184.215.14/hook")
    egress.destination_check("https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]:8443/hook")
    assert not egress.address_public(ipaddress.ip_address("169.254.169.254"))


@pytest.fixture
def raw_server() -> Iterator[tuple[int, dict]]:
    """A TCP server on loopback answering each connection by `behaviour["answer"](conn)`."""
    behaviour: dict = {"connections": 0}
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            behaviour["connections"] += 1
            threading.Thread(target=behaviour["answer"], args=(conn, stop), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], behaviour
    stop.set()
    thread.join()
    listener.close()


def _trickle(conn: socket.socket, stop: threading.Event) -> None:
    conn.recv(65536)
    conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n")
    while not stop.is_set():
        try:
            conn.sendall(b"x")
        except OSError:
            return
        time.sleep(0.1)


def _flood(conn: socket.socket, stop: threading.Event) -> None:
    conn.recv(65536)
    conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 100000000\r\n\r\n")
    try:
        while not stop.is_set():
            conn.sendall(b"x" * 65536)
    except OSError:
        return


def test_the_rule_holds_on_every_connection_after_resolution(raw_server, settings):
    port, behaviour = raw_server
    behaviour["answer"] = _flood
    settings.OUTGOING_HTTP_ALLOW = []
    client = egress.client_new(timeout=2)
    for url in (f"http://127.0.0.1:{port}/", f"http://localhost:{port}/"):
        with pytest.raises(httpx.ConnectError):
            egress.bounded_send(client, "POST", url, content=b"{}", headers={}, seconds=2)
    assert behaviour["connections"] == 0


def test_a_slow_answer_is_cut_at_the_time_budget(raw_server, settings):
    port, behaviour = raw_server
    behaviour["answer"] = _trickle
    settings.OUTGOING_HTTP_ALLOW = [f"127.0.0.1:{port}"]
    started = time.monotonic()
    with pytest.raises(httpx.TimeoutException):
        # Each byte comes well within the per-read timeout: only the total budget stops it.
        egress.bounded_send(
            egress.client_new(timeout=5),
            "POST",
            f"http://127.0.0.1:{port}/",
            content=b"",
            headers={},
            seconds=1,
        )
    assert time.monotonic() - started < 2


def test_a_long_answer_is_cut_at_the_size_budget(raw_server, settings):
    port, behaviour = raw_server
    behaviour["answer"] = _flood
    settings.OUTGOING_HTTP_ALLOW = [f"127.0.0.1:{port}"]
    with pytest.raises(httpx.ReadError):
        egress.bounded_send(
            egress.client_new(timeout=5),
            "POST",
            f"http://127.0.0.1:{port}/",
            content=b"",
            headers={},
            seconds=10,
            max_bytes=64 * 1024,
        )


def test_a_redirect_is_never_followed(raw_server, settings):
    port, behaviour = raw_server

    def redirect(conn: socket.socket, stop: threading.Event) -> None:
        conn.recv(65536)
        conn.sendall(
            b"HTTP/1.1 302 Found\r\nlocation: http://169.254.169.254/latest/meta-data/\r\n"
            b"content-length: 0\r\n\r\n"
        )
        conn.close()

    behaviour["answer"] = redirect
    settings.OUTGOING_HTTP_ALLOW = [f"127.0.0.1:{port}"]
    status = egress.bounded_send(
        egress.client_new(timeout=5), "POST", f"http://127.0.0.1:{port}/", content=b"", headers={}, seconds=5
    )
    assert status == 302 and behaviour["connections"] == 1
