"""Request bodies past their limit are refused before any server buffers them (saas/bodylimit.py, saas/serve.py)."""

from __future__ import annotations

import asyncio
import select
import socket
import threading
import time
from collections.abc import Iterator

import psutil
import pytest

from deploy import layout
from saas.bodylimit import BODY_MAX_BYTES, BodyLimitMiddleware, body_limit

FIVE_HUNDRED_MB = 500 * 1024 * 1024


def _body(total: int, chunk: int = 256 * 1024) -> Iterator[bytes]:
    """The body, made as it is sent: nothing of its size is ever held."""
    block = b"x" * chunk
    sent = 0
    while sent < total:
        piece = block[: min(chunk, total - sent)]
        sent += len(piece)
        yield piece


def _chunked(pieces: Iterator[bytes]) -> Iterator[bytes]:
    for piece in pieces:
        yield b"%x\r\n" % len(piece) + piece + b"\r\n"
    yield b"0\r\n\r\n"


def _post_streaming(port: int, head: bytes, body: Iterator[bytes]) -> tuple[bytes, int, float]:
    """Send `head` then `body` piece by piece, reading the answer as soon as one comes.

    Returns (the answer's first bytes, bytes of body sent, seconds until the answer).
    """
    started = time.monotonic()
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        for piece in body:
            if select.select([sock], [], [], 0)[0]:
                break
            try:
                sock.sendall(piece)
            except OSError:
                break
            sent += len(piece)
        answer = b""
        deadline = time.monotonic() + 10
        while b"\r\n\r\n" not in answer and time.monotonic() < deadline:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
        return answer, sent, time.monotonic() - started


def _page_times(server, host: str, stop: threading.Event, times: list[float]) -> None:
    with server.http(host, timeout=10) as client:
        while not stop.is_set():
            started = time.monotonic()
            assert client.get("/login/").status_code == 200
            times.append(time.monotonic() - started)
            time.sleep(0.02)


@pytest.mark.slow
def test_an_unauthenticated_500_mb_post_is_refused_at_once_and_other_companies_stay_fast(
    live_server_daphne, tenants
):
    server = live_server_daphne
    daphne = psutil.Process(server.process.pid)
    with server.http(tenants["globex"].host, timeout=30) as client:
        for _ in range(3):  # the first pages of a fresh server warm Django up
            client.get("/login/")
    rss_before = daphne.memory_info().rss
    stop = threading.Event()
    times: list[float] = []
    watcher = threading.Thread(target=_page_times, args=(server, tenants["globex"].host, stop, times))
    watcher.start()
    try:
        time.sleep(0.5)
        host = f"{tenants['acme'].host}:{server.port}".encode()
        head = (
            b"POST /login/ HTTP/1.1\r\nHost: " + host + b"\r\n"
            b"Content-Type: multipart/form-data; boundary=b\r\n"
            b"Content-Length: " + str(FIVE_HUNDRED_MB).encode() + b"\r\n\r\n"
        )
        answer, sent, seconds = _post_streaming(server.port, head, _body(FIVE_HUNDRED_MB))
        # No declared length: the body streams in chunks until it passes the limit.
        chunked_head = (
            b"POST /candidates/imports/ HTTP/1.1\r\nHost: " + host + b"\r\n"
            b"Content-Type: multipart/form-data; boundary=b\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        chunked_answer, chunked_sent, chunked_seconds = _post_streaming(
            server.port, chunked_head, _chunked(_body(FIVE_HUNDRED_MB))
        )
        time.sleep(0.5)
    finally:
        stop.set()
        watcher.join()
    assert answer.startswith(b"HTTP/1.1 413"), answer[:100]
    assert seconds < 1.0 and sent < 64 * 1024 * 1024
    assert chunked_answer.startswith(b"HTTP/1.1 413"), chunked_answer[:100]
    assert chunked_seconds < 5.0 and chunked_sent < body_limit("/candidates/imports/") + 64 * 1024 * 1024
    assert daphne.memory_info().rss - rss_before < 64 * 1024 * 1024
    assert len(times) >= 5 and max(times) < 0.5, times
    # The same connection-level guard leaves ordinary requests alone.
    with server.http(tenants["acme"].host) as client:
        assert client.post("/login/", data={"username": "x", "password": "y"}).status_code in (200, 403)


def _run(app, *, path: str, headers: list, chunks: list[bytes]) -> tuple[list[dict], list[int]]:
    sent: list[dict] = []
    pending = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)
    ]
    read: list[int] = []

    async def receive():
        message = pending.pop(0)
        read.append(len(message["body"]))
        return message

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "path": path, "headers": headers, "method": "POST"}
    asyncio.run(BodyLimitMiddleware(app)(scope, receive, send))
    return sent, read


async def _echo_app(scope, receive, send):
    size = 0
    while True:
        message = await receive()
        size += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(size).encode()})


def test_the_asgi_middleware_refuses_by_declared_length_and_by_counting():
    over = str(BODY_MAX_BYTES + 1).encode()
    sent, read = _run(_echo_app, path="/login/", headers=[(b"content-length", over)], chunks=[b"x"])
    assert sent[0]["status"] == 413 and read == []  # refused from the header, nothing read
    chunk = b"x" * (1024 * 1024)
    sent, read = _run(_echo_app, path="/login/", headers=[], chunks=[chunk, chunk, chunk, chunk])
    assert sent[0]["status"] == 413 and len(read) == 3  # stopped at the chunk that passed the limit
    sent, _ = _run(_echo_app, path="/candidates/imports/", headers=[], chunks=[chunk, chunk, chunk])
    assert sent[0]["status"] == 200 and sent[1]["body"] == str(3 * len(chunk)).encode()


def test_nginx_refuses_large_bodies_except_on_the_upload_paths(tmp_path):
    conf = layout.nginx_conf(
        listen="127.0.0.1:8080",
        http_ports=[8001],
        rush_ports=[8011],
        ws_ports=[8002],
        tmp=tmp_path,
        logs=tmp_path,
    )
    http_block = conf.split("server {", 1)[0]
    assert f"client_max_body_size {BODY_MAX_BYTES};" in http_block
    upload = conf.split("location = /candidates/imports/ {", 1)[1].split("}", 1)[0]
    assert f"client_max_body_size {body_limit('/candidates/imports/')};" in upload
    assert "proxy_pass http://http_app;" in upload


def test_autobahns_debug_lines_still_read_the_same_when_their_formatting_waits():
    """saas/serve.py lets autobahn's per-socket debug formatting happen only when a line is written."""
    import pprint

    from saas.serve import _LazyPformat

    attrs = [("openHandshakeTimeout", 5, "WebSocketServerFactory"), ("utf8validateIncoming", True, "X")]
    line = "\n{attrs}"  # formatted as txaio formats autobahn's log lines
    assert line.format(attrs=_LazyPformat(attrs)) == "\n" + pprint.pformat(attrs)
    assert str(_LazyPformat({"b": 1})) == pprint.pformat({"b": 1})
