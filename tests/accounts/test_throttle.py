"""Sign-in throttling per account and per real client address; nobody locks a company out (accounts/throttle.py)."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import User
from saas.clientaddress import real_client_address

PASSWORD = "right-password-1"


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    """Hundreds of sign-ins: a cheap hasher keeps the test about throttling, not PBKDF2."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def recruiters(tenants, db, fast_hashing):
    with schema_context(tenants["acme"].schema):
        emails = []
        for name in ("rec-a", "rec-b"):
            email = f"{name}-{uuid.uuid4().hex[:6]}@acme.example.jp"
            User.objects.create_user(username=email, email=email, password=PASSWORD, role="recruiter")
            emails.append(email)
    return emails


def _post(client: Client, email: str, password: str, address: str, **headers: str):
    return client.post("/login/", {"username": email, "password": password}, REMOTE_ADDR=address, **headers)


def test_a_crowd_on_one_address_locks_out_no_recruiter_in_a_browser_they_used(tenants, recruiters):
    host = tenants["acme"].host
    shared = "127.0.0.1"  # the demo, or a proxy whose address is not configured: everyone shares one
    known = Client(HTTP_HOST=host)
    assert _post(known, recruiters[0], PASSWORD, shared).status_code == 302
    device = known.cookies["signin_device"].value
    known = Client(HTTP_HOST=host)  # signed out; the browser keeps its device cookie
    known.cookies["signin_device"] = device
    attacker = Client(HTTP_HOST=host)
    for attempt in range(40):
        _post(attacker, f"nobody-{attempt}@example.jp", "wrong", shared)
    for _ in range(60):
        _post(attacker, recruiters[0], "wrong", shared)
    # The attacker is stopped, on that account and on any other...
    assert _post(attacker, recruiters[0], PASSWORD, shared).status_code == 429
    assert _post(attacker, recruiters[1], PASSWORD, shared).status_code == 429
    # ...while the recruiter's own browser still signs in, although the same account was attacked.
    assert _post(known, recruiters[0], PASSWORD, shared).status_code == 302


def test_each_real_client_is_throttled_on_its_own_behind_a_trusted_proxy(tenants, recruiters, settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    host = tenants["acme"].host
    attacker = Client(HTTP_HOST=host)
    for attempt in range(35):
        _post(
            attacker, f"nobody-{attempt}@example.jp", "wrong", "127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9"
        )
    assert (
        _post(attacker, recruiters[1], PASSWORD, "127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code
        == 429
    )
    # Another office behind the same proxy, on a browser never used before: not affected.
    colleague = Client(HTTP_HOST=host)
    assert (
        _post(
            colleague, recruiters[1], PASSWORD, "127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.7"
        ).status_code
        == 302
    )
    # A client talking to the server directly cannot claim another address.
    settings.TRUSTED_PROXIES = []
    direct = Client(HTTP_HOST=host)
    for attempt in range(35):
        _post(
            direct,
            f"nobody2-{attempt}@example.jp",
            "wrong",
            "192.0.2.50",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{attempt}",
        )
    assert (
        _post(direct, recruiters[0], PASSWORD, "192.0.2.50", HTTP_X_FORWARDED_FOR="10.9.9.9").status_code
        == 429
    )


def test_five_failures_on_one_account_stop_that_client_only(tenants, recruiters):
    host = tenants["acme"].host
    guesser = Client(HTTP_HOST=host)
    for _ in range(5):
        assert _post(guesser, recruiters[0], "wrong", "192.0.2.1").status_code == 200
    assert _post(guesser, recruiters[0], PASSWORD, "192.0.2.1").status_code == 429
    assert _post(Client(HTTP_HOST=host), recruiters[0], PASSWORD, "192.0.2.2").status_code == 302


def test_forwarded_for_is_read_only_from_configured_proxies(settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1", "10.0.0.0/8"]
    assert real_client_address(peer="127.0.0.1", forwarded_for="203.0.113.9") == "203.0.113.9"
    # A client's own X-Forwarded-For entries come first; the proxy appends the real one last.
    assert (
        real_client_address(peer="127.0.0.1", forwarded_for="1.2.3.4, 203.0.113.9, 10.1.1.1") == "203.0.113.9"
    )
    assert real_client_address(peer="192.0.2.1", forwarded_for="203.0.113.9") == "192.0.2.1"
    assert real_client_address(peer="127.0.0.1", forwarded_for="not-an-address") == "127.0.0.1"
    settings.TRUSTED_PROXIES = []
    assert real_client_address(peer="127.0.0.1", forwarded_for="203.0.113.9") == "127.0.0.1"
