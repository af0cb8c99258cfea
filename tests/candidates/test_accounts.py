"""Recruiter sign-in: throttling with tenant-scoped keys, optional TOTP, one company only, admin management."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from django_otp.oath import totp

from accounts.models import User
from accounts.throttle import attempt_for, signin_counters_forget_all
from tests.test_forms import assert_error_beside


@pytest.fixture
def clear_throttle(tenants):
    def clear():
        signin_counters_forget_all()

    clear()
    yield
    clear()


def login(host: str, email: str, password: str, **extra: str):
    client = Client(HTTP_HOST=host)
    return client, client.post("/login/", {"username": email, "password": password, **extra})


def test_login_and_throttle_after_repeated_failures(acme, clear_throttle):
    User.objects.create_user(
        username="rec@acme.example.jp",
        email="rec@acme.example.jp",
        password="right-password-1",
        role="recruiter",
    )
    _client, ok = login(acme.host, "rec@acme.example.jp", "right-password-1")
    assert ok.status_code == 302
    for _ in range(5):
        _client, failed = login(acme.host, "rec@acme.example.jp", "wrong")
        assert failed.status_code == 200 and "正しくありません" in failed.content.decode()
    _client, blocked = login(acme.host, "rec@acme.example.jp", "right-password-1")
    assert blocked.status_code == 429 and "一時的にログインできません" in blocked.content.decode()
    for key in attempt_for(request=None, email="rec@acme.example.jp").keys():
        assert acme.schema in key and "rec@" not in key  # tenant in the key, no e-mail in clear


def test_recruiter_of_one_company_cannot_log_in_to_another(tenants, db, clear_throttle):
    from tests.conftest import DEMO_PASSWORD

    _client, acme_ok = login(tenants["acme"].host, tenants["acme"].admin_email, DEMO_PASSWORD)
    assert acme_ok.status_code == 302
    _client, other = login(tenants["globex"].host, tenants["acme"].admin_email, DEMO_PASSWORD)
    assert other.status_code == 200 and "正しくありません" in other.content.decode()


def test_optional_totp(acme, clear_throttle):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = User.objects.create_user(
        username="rec@acme.example.jp",
        email="rec@acme.example.jp",
        password="right-password-1",
        role="recruiter",
    )
    client = Client(HTTP_HOST=acme.host)
    client.force_login(user)
    page = client.get("/accounts/otp/")
    assert page.status_code == 200 and "<svg" in page.content.decode()
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    assert client.post("/accounts/otp/", {"token": code}).status_code == 302
    assert TOTPDevice.objects.get(user=user).confirmed

    _c, without = login(acme.host, "rec@acme.example.jp", "right-password-1")
    assert without.status_code == 200 and "確認コードが正しくありません" in without.content.decode()
    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.last_t = -1
    device.save()
    code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=0):06d}"
    _c, with_code = login(acme.host, "rec@acme.example.jp", "right-password-1", otp_token=code)
    assert with_code.status_code == 302, with_code.content.decode()[:500]
    assert time.time() > 0


def test_admin_invites_and_manages_recruiters(
    acme, admin_client, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/accounts/recruiters/", {"action": "invite", "email": "New@Acme.example.jp", "role": "viewer"}
        )
    assert response.status_code == 302
    new = User.objects.get(email="new@acme.example.jp")
    assert new.role == "viewer" and not new.has_usable_password()
    assert mailoutbox and "acme.localhost" in mailoutbox[-1].body
    admin_client.post(
        "/accounts/recruiters/", {"action": "update", "user": new.pk, "role": "recruiter", "is_active": "1"}
    )
    new.refresh_from_db()
    assert new.role == "recruiter"
    admin = User.objects.get(email=acme.admin_email)
    response = admin_client.post(
        "/accounts/recruiters/", {"action": "update", "user": admin.pk, "role": "viewer", "is_active": "1"}
    )
    assert response.status_code == 400 and "管理者が1人もいなくなる" in response.content.decode()
    response = admin_client.post(
        "/accounts/recruiters/", {"action": "invite", "email": "new@acme.example.jp", "role": "viewer"}
    )
    assert response.status_code == 400 and "すでに登録" in response.content.decode()
    assert_error_beside(response.content.decode(), "id_email")  # beside the address, not in a banner


def _code(device) -> str:
    device.refresh_from_db()
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=0):06d}"


@pytest.fixture
def totp_not_required(acme):
    from tenants.selectors import tenant_totp_required_forget

    yield
    type(acme.tenant).objects.filter(pk=acme.tenant.pk).update(recruiter_totp_required=False)
    tenant_totp_required_forget(tenant_id=acme.tenant.pk)


def test_a_company_can_require_totp_for_every_recruiter(
    acme, admin_client, clear_throttle, totp_not_required
):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    User.objects.create_user(
        username="rec@acme.example.jp",
        email="rec@acme.example.jp",
        password="right-password-1",
        role="recruiter",
    )
    recruiter, _ok = login(acme.host, "rec@acme.example.jp", "right-password-1")
    assert recruiter.get("/candidates/").status_code == 200
    # Only an admin may require it.
    assert (
        recruiter.post("/accounts/recruiters/", {"action": "totp_required", "required": "1"}).status_code
        == 403
    )
    assert (
        admin_client.post("/accounts/recruiters/", {"action": "totp_required", "required": "1"}).status_code
        == 302
    )
    # A recruiter without a second factor is sent to set one up, whatever page they ask for...
    for path in ("/candidates/", "/accounts/recruiters/", "/candidates/imports/"):
        response = recruiter.get(path)
        assert response.status_code == 302 and response["Location"] == "/accounts/otp/"
    page = recruiter.get("/accounts/otp/")
    assert page.status_code == 200 and "<svg" in page.content.decode()
    device = TOTPDevice.objects.get(user__email="rec@acme.example.jp", confirmed=False)
    assert recruiter.post("/accounts/otp/", {"token": _code(device)}).status_code == 302
    # ...and once it is set up (this session passed it), the workspace opens again.
    assert recruiter.get("/candidates/").status_code == 200
    # Where it is required, it cannot be turned off, even with a code.
    with_code = recruiter.post("/accounts/otp/", {"action": "remove", "token": _code(device)})
    assert with_code.status_code == 400 and TOTPDevice.objects.filter(pk=device.pk).exists()


def test_turning_totp_off_needs_a_current_code(acme, clear_throttle):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = User.objects.create_user(
        username="rec@acme.example.jp",
        email="rec@acme.example.jp",
        password="right-password-1",
        role="recruiter",
    )
    device = TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    client = Client(HTTP_HOST=acme.host)
    client.force_login(user)
    for token in ("", "000000"):
        response = client.post("/accounts/otp/", {"action": "remove", "token": token})
        assert response.status_code == 400 and TOTPDevice.objects.filter(pk=device.pk).exists()
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()
    done = client.post("/accounts/otp/", {"action": "remove", "token": _code(device)})
    assert done.status_code == 302, done.content.decode()[-1500:]
    assert not TOTPDevice.objects.filter(user=user).exists()
