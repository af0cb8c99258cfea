"""Fixtures of the incidents tests: support staff with a verified TOTP session, eager Celery, receivers."""

from __future__ import annotations

import subprocess

import pytest
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
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


def start_redis() -> tuple[int, subprocess.Popen]:
    """A throwaway redis-server on a free port."""
    return redis_start()


def start_worker(*, redis_port: int) -> subprocess.Popen:
    """A real Celery worker on the test database and the given Redis (its own broker: no one else's tasks)."""
    from tests.conftest import server_env

    return celery_worker_start(env=server_env({"REDIS_URL": f"redis://127.0.0.1:{redis_port}/0"}))
