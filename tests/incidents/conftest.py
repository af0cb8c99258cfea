"""Fixtures of the incidents tests: support staff with a verified TOTP session, eager Celery, receivers."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from saas.celery import app as celery_app
from saas.processes import celery_worker_start, redis_start

STAFF_PASSWORD = "staff-password-123"


def totp_now(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


@pytest.fixture
def staff_user(db, tenants) -> User:
    return User.objects.create_user(
        username="ops@support.example.jp",
        email="ops@support.example.jp",
        password=STAFF_PASSWORD,
        is_staff=True,
    )


def staff_signed_in(user: User) -> Client:
    """Signed in on the public host, second factor verified (the device's persistent id in the session)."""
    device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    session = client.session
    session["otp_device_id"] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def staff_client(staff_user) -> Client:
    return staff_signed_in(staff_user)


@pytest.fixture
def eager_celery() -> Iterator[None]:
    before = (celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates)
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = before


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run on_commit callbacks (notifications) inside the test transaction, as a commit would."""

    def run(func, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return func(*args, **kwargs)

    return run


@dataclass
class Receiver:
    url: str
    requests: list[dict] = field(default_factory=list)
    fail_first: int = 0


@pytest.fixture
def webhook_receiver(settings) -> Iterator[Receiver]:
    """A real local HTTP server recording what it receives (optionally failing the first requests).

    Its exact address and port are exempt from the public-destinations rule (saas/egress.py).
    """
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
            state.requests.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
            status = 503 if len(state.requests) <= state.fail_first else 200
            self.send_response(status)
            self.end_headers()
            self.wfile.write(json.dumps({"ok": status == 200}).encode())

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    settings.OUTGOING_HTTP_ALLOW = [f"127.0.0.1:{server.server_address[1]}"]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def start_redis() -> tuple[int, subprocess.Popen]:
    """A throwaway redis-server on a free port."""
    return redis_start()


def start_worker(*, redis_port: int) -> subprocess.Popen:
    """A real Celery worker on the test database and the given Redis (its own broker: no one else's tasks)."""
    from tests.conftest import server_env

    return celery_worker_start(env=server_env({"REDIS_URL": f"redis://127.0.0.1:{redis_port}/0"}))
