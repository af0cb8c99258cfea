"""Sentry: the real SDK sends envelopes to a local receiver; they carry the tenant and no personal data."""

from __future__ import annotations

import asyncio
import gzip
import json
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import websockets

from saas.sentry import before_send, scrub_text
from tests.conftest import free_port, start_daphne, stop_process

EMAIL = "hanako.yamada@example.ac.jp"
PHONE = "090-1234-5678"
NAME = "山田花子"


class EnvelopeReceiver:
    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                encoding = self.headers.get("Content-Encoding", "")
                if encoding == "gzip":
                    raw = gzip.decompress(raw)
                elif encoding == "br":
                    import brotli  # only when the SDK found brotli installed

                    raw = brotli.decompress(raw)
                elif encoding == "deflate":
                    raw = zlib.decompress(raw)
                receiver.bodies.append(raw)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args) -> None:
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[dict]:
        found = []
        for body in self.bodies:
            lines = body.split(b"\n")
            for index, line in enumerate(lines[1:], start=1):
                if not line.strip():
                    continue
                try:
                    item = json.loads(line)
                except ValueError:
                    continue
                if item.get("type") == "event" and index + 1 < len(lines):
                    found.append(json.loads(lines[index + 1]))
        return found

    def wait_for_events(self, count: int, seconds: float = 15) -> list[dict]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            events = self.events()
            if len(events) >= count:
                return events
            time.sleep(0.1)
        raise AssertionError(f"expected {count} events, got {len(self.events())}")


@pytest.fixture
def sentry_server(tenants):
    receiver = EnvelopeReceiver()
    server = start_daphne(
        application="tests.sentry_probe:application",
        extra_env={
            "SENTRY_DSN": f"http://publickey@127.0.0.1:{receiver.port}/1",
            "DJANGO_SETTINGS_MODULE": "tests.sentry_settings",
        },
    )
    yield receiver, server
    stop_process(server.process)
    receiver.server.shutdown()


def test_http_error_reaches_sentry_tagged_and_scrubbed(sentry_server, tenants):
    receiver, server = sentry_server
    with server.http(tenants["acme"].host, cookies={"sessionid": "secret-session-value"}) as http:
        response = http.post("/fail/", data={"family_name": NAME, "email": EMAIL, "phone": PHONE})
    assert response.status_code == 500
    event = receiver.wait_for_events(1)[0]
    assert event["tags"]["tenant"] == tenants["acme"].schema
    assert event["exception"]["values"][-1]["type"] == "ValueError"
    raw = b"".join(receiver.bodies).decode("utf-8", "replace")
    for secret in (EMAIL, PHONE, NAME, "secret-session-value"):
        assert secret not in raw
    assert "[Filtered]" in event["exception"]["values"][-1]["value"]
    assert "data" not in event.get("request", {})
    for frame in event["exception"]["values"][-1]["stacktrace"]["frames"]:
        assert "vars" not in frame


def test_tokens_in_addresses_and_names_in_exception_text_never_reach_sentry(sentry_server, tenants):
    receiver, server = sentry_server
    token = "Zq3xSecretSignInToken0123456789abcdefGHIJKL"
    with server.http(tenants["acme"].host) as http:
        response = http.get(
            f"/my/login/{token}/fail/",
            params={"key": "feedkey-secret-123", "kanji": "山田 花子", "roman": "Hanako Yamada"},
        )
    assert response.status_code == 500
    event = receiver.wait_for_events(1)[0]
    raw = b"".join(receiver.bodies).decode("utf-8", "replace")
    for secret in (token, "feedkey-secret-123", "山田", "花子", "Hanako Yamada"):
        assert secret not in raw, secret
    assert event["request"]["url"].endswith("/my/login/[redacted]/fail/")
    value = event["exception"]["values"][-1]["value"]
    assert value == "could not open <Candidate: [Filtered]> for [Filtered]"


def test_websocket_consumer_error_reaches_sentry_scrubbed(sentry_server, tenants):
    receiver, server = sentry_server
    host = tenants["acme"].host

    async def scenario() -> None:
        async with server.ws_connect(host, "/ws/fail/", origin=f"http://{host}:{server.port}") as socket:
            await socket.send(f"booking for {EMAIL} {PHONE}")
            with pytest.raises(websockets.exceptions.ConnectionClosed):
                await asyncio.wait_for(socket.recv(), 10)

    asyncio.run(scenario())
    events = receiver.wait_for_events(1)
    raw = b"".join(receiver.bodies).decode("utf-8", "replace")
    assert any(e["exception"]["values"][-1]["type"] == "RuntimeError" for e in events)
    assert EMAIL not in raw and PHONE not in raw


def test_before_send_scrubs_personal_fields_and_text():
    event = {
        "message": f"mail to {EMAIL} failed",
        "extra": {"family_name": NAME, "count": 3, "note": f"call {PHONE}"},
        "user": {"id": "7", "email": EMAIL, "ip_address": "203.0.113.9"},
        "request": {"headers": {"Cookie": "a=b", "User-Agent": "x"}, "data": {"email": EMAIL}},
    }
    cleaned = before_send(event, {})
    text = json.dumps(cleaned, ensure_ascii=False)
    assert EMAIL not in text and PHONE not in text and NAME not in text and "203.0.113.9" not in text
    assert cleaned["extra"]["count"] == 3
    assert cleaned["user"] == {"id": "7"}
    assert cleaned["request"]["headers"] == {"User-Agent": "x"}
    assert scrub_text("連絡先 03(1234)5678 / +81 90 1234 5678") == "連絡先 [Filtered] / [Filtered]"


def test_before_send_scrubs_tokens_and_names_everywhere_they_are_written():
    token = "Zq3xSecretSignInToken0123456789abcdefGHIJKL"
    event = {
        "transaction": f"/mail/unsubscribe/{token}/",
        "logentry": {"message": "student %s opened %s", "params": ["山田 花子", f"/status/ack/{token}/"]},
        "breadcrumbs": {
            "values": [{"category": "httplib", "data": {"url": f"https://x.jp/my/login/{token}/"}}]
        },
        "exception": {
            "values": [{"type": "IntegrityError", "value": 'Key (family_name)=(Yamada) exists: "Hanako"'}]
        },
        "request": {"url": f"https://acme.example.jp/accounts/password/MQ/{token}/"},
    }
    text = json.dumps(before_send(event, {}), ensure_ascii=False)
    for secret in (token, "山田", "Yamada", "Hanako"):
        assert secret not in text, secret
    assert "/accounts/password/MQ/[redacted]/" in text and "Key (family_name)=([Filtered])" in text
