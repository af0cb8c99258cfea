"""The server's logs never hold the token of a link: daphne's access log and Django's own log lines."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from deploy.layout import daphne_command
from saas.processes import LOOPBACK, ROOT, free_port, process_stop, wait_for_port
from saas.redact import secrets_redact
from tests.conftest import server_env

TOKEN = "Zq3xSecretSignInToken0123456789abcdefGHIJKL"
PATHS = [
    f"/my/login/{TOKEN}/",
    f"/accounts/password/MQ/{TOKEN}/",
    f"/status/ack/{TOKEN}/",
    f"/mail/unsubscribe/{TOKEN}/",
    f"/status/feed.atom?key={TOKEN}",
]


def test_secrets_redact_keeps_the_page_and_drops_the_token():
    assert secrets_redact(f"GET /my/login/{TOKEN}/ 403") == "GET /my/login/[redacted]/ 403"
    assert secrets_redact(f"/accounts/password/MQ/{TOKEN}/") == "/accounts/password/MQ/[redacted]/"
    assert (
        secrets_redact(f"/status/feed.atom?lang=ja&key={TOKEN}") == "/status/feed.atom?lang=ja&key=[redacted]"
    )
    assert secrets_redact("/my/seminars/3/") == "/my/seminars/3/"


@pytest.mark.slow
def test_access_log_and_server_log_hold_no_token(tenants, tmp_path):
    port = free_port()
    out, err = tmp_path / "access.log", tmp_path / "server.log"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            [*daphne_command(host=LOOPBACK, port=port, python=sys.executable), "--access-log", "-"],
            cwd=ROOT,
            env={**server_env(), "PUBLIC_PORT": str(port)},
            stdout=stdout,
            stderr=stderr,
        )
        try:
            wait_for_port(port, process)
            with httpx.Client(
                base_url=f"http://{LOOPBACK}:{port}", headers={"Host": f"{tenants['acme'].host}:{port}"}
            ) as http:
                for path in PATHS:
                    assert http.get(path).status_code < 500, path
        finally:
            process_stop(process)
    access, server = out.read_text(), err.read_text()
    assert access.count("[redacted]") >= len(PATHS), access
    assert '"GET /my/login/[redacted]/' in access
    assert TOKEN not in access and TOKEN not in server


def test_outgoing_request_addresses_stay_out_of_the_logs(caplog):
    """httpx logs each request's full URL at INFO; a webhook address may carry its receiver's token."""
    import http.server
    import threading

    class Quiet(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer((LOOPBACK, free_port()), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        answer = httpx.post(f"http://{LOOPBACK}:{server.server_port}/hooks/{TOKEN}", content=b"{}")
        assert answer.status_code == 204
    finally:
        server.shutdown()
    assert TOKEN not in caplog.text
