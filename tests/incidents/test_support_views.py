"""Support staff pages: TOTP is required, every action is audited, bad input gets a 4xx in Japanese."""

from __future__ import annotations

import re
import time

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from incidents.models import Component, ComponentStatus, Incident, StaffAuditEntry, State, Visibility
from tests.incidents.conftest import STAFF_PASSWORD, totp_now
from tests.incidents.helpers import outbox_rows


def _login(client: Client, email: str) -> None:
    client.get("/support/login/")
    response = client.post(
        "/support/login/", {"username": email, "password": STAFF_PASSWORD, "next": "/support/incidents/"}
    )
    assert response.status_code == 302


def _mailed_code(email: str) -> str:
    body = [m for m in mail.outbox if email in m.to][-1].body
    return re.search(r"確認コード: ([A-Z0-9-]+)", body).group(1)


@pytest.mark.django_db
def test_a_staff_password_alone_cannot_enrol_an_authenticator(staff_user):
    client = Client(HTTP_HOST="localhost")
    _login(client, staff_user.email)
    page = client.get("/support/otp/setup/").content.decode()
    assert "<svg" not in page and "otpauth" not in page
    assert not TOTPDevice.objects.filter(user=staff_user).exists()
    code = _mailed_code(staff_user.email)
    for wrong in ("AAAAA-AAAAA", "", "BBBBB-BBBBB", "CCCCC-CCCCC", "DDDDD-DDDDD", "EEEEE-EEEEE"):
        assert client.post("/support/otp/setup/", {"code": wrong}).status_code == 400
    # Five wrong tries void the code; the right one no longer opens the set-up.
    assert client.post("/support/otp/setup/", {"code": code}).status_code == 400
    # Another session (the password's other holder) cannot use a code mailed for this one.
    other = Client(HTTP_HOST="localhost")
    _login(other, staff_user.email)
    assert other.post("/support/otp/setup/", {"code": code}).status_code == 400
    assert not TOTPDevice.objects.filter(user=staff_user).exists()


@pytest.mark.django_db
def test_support_sign_in_is_throttled(staff_user):
    client = Client(HTTP_HOST="localhost")
    for _ in range(5):
        response = client.post("/support/login/", {"username": staff_user.email, "password": "wrong"})
        assert response.status_code == 200
    response = client.post("/support/login/", {"username": staff_user.email, "password": STAFF_PASSWORD})
    assert response.status_code == 429 and "一時的にログインできません" in response.content.decode()


@pytest.mark.django_db
def test_totp_setup_then_verify_on_next_sign_in(staff_user):
    client = Client(HTTP_HOST="localhost")
    _login(client, staff_user.email)
    response = client.get("/support/incidents/")
    assert response.status_code == 302 and response["Location"].startswith("/support/otp/setup/")
    page = client.get(response["Location"])
    assert page.status_code == 200 and "<svg" not in page.content.decode()
    code = _mailed_code(staff_user.email)
    assert client.post("/support/otp/setup/", {"code": code}).status_code == 302
    page = client.get(response["Location"])
    assert page.status_code == 200 and "<svg" in page.content.decode()
    device = TOTPDevice.objects.get(user=staff_user, confirmed=False)
    assert (
        client.post("/support/otp/setup/", {"token": "12ab", "next": "/support/incidents/"}).status_code
        == 400
    )
    done = client.post("/support/otp/setup/", {"token": totp_now(device), "next": "/support/incidents/"})
    assert done.status_code == 302 and done["Location"] == "/support/incidents/"
    assert client.get("/support/incidents/").status_code == 200
    # A new session must pass the second factor again, with a fresh code.
    with time_machine.travel(time.time() + 60, tick=True):
        other = Client(HTTP_HOST="localhost")
        _login(other, staff_user.email)
        redirect = other.get("/support/incidents/")
        assert redirect["Location"].startswith("/support/otp/verify/")
        device.refresh_from_db()
        wrong = f"{(int(totp_now(device)) + 1) % 1_000_000:06d}"
        assert other.post("/support/otp/verify/", {"token": wrong}).status_code == 400
        assert other.get("/support/incidents/").status_code == 302
    # django-otp throttles after a failure (1 s, doubling): the right code afterwards passes.
    with time_machine.travel(time.time() + 120, tick=True):
        device.refresh_from_db()
        assert other.post("/support/otp/verify/", {"token": totp_now(device)}).status_code == 302
        assert other.get("/support/incidents/").status_code == 200
    assert set(StaffAuditEntry.objects.filter(actor=staff_user.email).values_list("action", flat=True)) == {
        "staff.otp_enrol_code_sent",
        "staff.otp_setup",
        "staff.otp_verify",
    }


@pytest.mark.django_db
def test_non_staff_and_anonymous_are_kept_out(client, tenants):
    User.objects.create_user(username="x@example.jp", email="x@example.jp", password=STAFF_PASSWORD)
    assert client.get("/support/incidents/", HTTP_HOST="localhost")["Location"].startswith("/support/login/")
    signed_in = Client(HTTP_HOST="localhost")
    _login(signed_in, "x@example.jp")
    assert signed_in.get("/support/incidents/").status_code == 403
    assert signed_in.get("/support/otp/setup/").status_code == 403


@pytest.mark.django_db
def test_staff_create_publish_update_through_pages(
    staff_client, tenants, eager_celery, django_capture_on_commit_callbacks
):
    email = Component.objects.get(slug="email")
    bad = staff_client.post(
        "/support/incidents/",
        {"title": "", "impact": "major", "scope": "all", "visibility": "draft", "message_ja": ""},
    )
    assert bad.status_code == 400 and "必須" in bad.content.decode()
    chosen_without_tenants = staff_client.post(
        "/support/incidents/",
        {"title": "遅延", "impact": "major", "scope": "chosen", "visibility": "draft", "message_ja": "遅延"},
    )
    assert (
        chosen_without_tenants.status_code == 400
        and "企業を選んでください" in chosen_without_tenants.content.decode()
    )
    created = staff_client.post(
        "/support/incidents/",
        {
            "title": "メール配信の遅延",
            "impact": "major",
            "scope": "all",
            "visibility": "draft",
            "message_ja": "遅延しています。",
            "components": [email.pk],
        },
    )
    incident = Incident.objects.get(title="メール配信の遅延")
    assert created.status_code == 302 and incident.visibility == Visibility.DRAFT
    assert outbox_rows(tenants["acme"]) == [] and outbox_rows(tenants["globex"]) == []
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(f"/support/incidents/{incident.pk}/", {"action": "publish", "visibility": "public"})
    incident.refresh_from_db()
    assert incident.visibility == Visibility.PUBLIC
    assert [row["to_address"] for row in outbox_rows(tenants["acme"])] == [tenants["acme"].admin_email]
    assert [row["to_address"] for row in outbox_rows(tenants["globex"])] == [tenants["globex"].admin_email]
    template_update = staff_client.post(
        f"/support/incidents/{incident.pk}/", {"action": "update", "state": "identified", "template": ""}
    )
    assert template_update.status_code == 400 and "テンプレート" in template_update.content.decode()
    from incidents.models import MessageTemplate

    template = MessageTemplate.objects.get(name="原因特定")
    staff_client.post(
        f"/support/incidents/{incident.pk}/",
        {"action": "update", "state": "identified", "template": template.pk},
    )
    incident.refresh_from_db()
    assert incident.state == State.IDENTIFIED and incident.updates.first().message_ja == template.message_ja
    staff_client.post(
        f"/support/incidents/{incident.pk}/",
        {"action": "update", "state": "resolved", "message_ja": "解決しました。"},
    )
    illegal = staff_client.post(
        f"/support/incidents/{incident.pk}/",
        {"action": "update", "state": "investigating", "message_ja": "x"},
    )
    assert illegal.status_code == 400
    staff_client.post(
        f"/support/incidents/{incident.pk}/",
        {"action": "postmortem", "text": "## 原因\n<script>alert(1)</script>設定"},
    )
    public = Client(HTTP_HOST="status.localhost").get(f"/incidents/{incident.pk}/").content.decode()
    assert "<h2>原因</h2>" in public and "<script>alert(1)" not in public
    actions = set(StaffAuditEntry.objects.values_list("action", flat=True))
    assert {"incident.create", "incident.publish", "incident.update", "incident.postmortem"} <= actions
    audit_page = staff_client.get("/support/audit/").content.decode()
    assert "incident.publish" in audit_page
    assert staff_client.get("/support/incidents/999999/").status_code == 404


@pytest.mark.django_db
def test_components_are_editable_and_audited(staff_client, tenants):
    response = staff_client.post(
        "/support/components/", {"name": "API", "slug": "api", "status": "degraded", "position": 9}
    )
    assert response.status_code == 302
    assert Component.objects.get(slug="api").status == ComponentStatus.DEGRADED
    assert (
        staff_client.post(
            "/support/components/", {"name": "x", "slug": "bad slug!", "status": "x", "position": 1}
        ).status_code
        == 400
    )
    status_page = Client(HTTP_HOST="status.localhost").get("/").content.decode()
    assert re.search(r"API</span>\s*<span class=\"st-degraded\">パフォーマンス低下", status_page)
    assert StaffAuditEntry.objects.filter(action="component.create").exists()
