"""Support staff's incidents through the platform API: staff tokens only, through the incident services, audited."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from tests.api.conftest import ApiClient, token_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(tenants):
    user = User.objects.create_user(
        username="api-ops@support.example.jp",
        email="api-ops@support.example.jp",
        password="x" * 12,
        is_staff=True,
    )
    client = Client(HTTP_HOST=settings.BASE_DOMAIN)
    client.force_login(user)
    session = client.session
    session["otp_device_id"] = TOTPDevice.objects.create(user=user, name="t", confirmed=True).persistent_id
    session.save()
    page = client.post(
        "/support/api-tokens/",
        {"action": "create", "name": "監視", "days": "30", "scopes": ["incidents:write"]},
    )
    assert page.status_code == 200, page.content
    return ApiClient(settings.BASE_DOMAIN, page.context["created_secret"])


def test_staff_create_update_publish_and_resolve_an_incident(staff, tenants):
    from incidents.models import Incident, StaffAuditEntry

    created = staff.post(
        "/incidents",
        {
            "title": "メール送信の遅延",
            "message_ja": "確認中です。",
            "impact": "major",
            "scope": "chosen",
            "companies": ["acme"],
        },
        headers={"Idempotency-Key": "inc-1"},
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["companies"] == ["acme"] and body["visibility"] == "draft"
    again = staff.post(
        "/incidents",
        {
            "title": "メール送信の遅延",
            "message_ja": "確認中です。",
            "impact": "major",
            "scope": "chosen",
            "companies": ["acme"],
        },
        headers={"Idempotency-Key": "inc-1"},
    )
    assert again.json()["id"] == body["id"] and Incident.objects.filter(title="メール送信の遅延").count() == 1
    incident_id = body["id"]
    assert (
        staff.post(f"/incidents/{incident_id}/publish", {"visibility": "tenants"}).json()["visibility"]
        == "tenants"
    )
    update = staff.post(
        f"/incidents/{incident_id}/updates", {"state": "identified", "message_ja": "原因を特定しました。"}
    )
    assert update.status_code == 201 and update.json()["state"] == "identified"
    resolved = staff.post(f"/incidents/{incident_id}/resolve", {"message_ja": "解決しました。"})
    assert resolved.json()["state"] == "resolved" and resolved.json()["resolved_at"].endswith("+09:00")
    refused = staff.post(f"/incidents/{incident_id}/updates", {"state": "monitoring", "message_ja": "再発"})
    assert refused.status_code == 422 and refused["Content-Type"] == "application/problem+json"
    actions = set(
        StaffAuditEntry.objects.filter(target=f"Incident:{incident_id}").values_list("action", flat=True)
    )
    assert {"incident.create", "incident.publish", "incident.update"} <= actions
    assert StaffAuditEntry.objects.filter(
        target=f"Incident:{incident_id}", actor="api-ops@support.example.jp"
    ).exists()
    private = staff.get(f"/incidents/{incident_id}")
    assert private["Cache-Control"] == "private, no-cache"


def test_tokens_stay_on_their_side(staff, tenants):
    company = token_make(schema=tenants["acme"].schema)
    # A company's token is unknown on the public site, and a staff token on a company's host.
    assert (
        ApiClient(settings.BASE_DOMAIN, company.secret)
        .post("/incidents", {"title": "x", "message_ja": "y"})
        .status_code
        == 401
    )
    assert ApiClient(tenants["acme"].host, staff.secret).get("/ranks").status_code == 401
    anonymous = Client(HTTP_HOST=settings.BASE_DOMAIN).post(
        "/api/v1/incidents", {}, content_type="application/json"
    )
    assert anonymous.status_code == 401


def test_staff_scopes_are_not_offered_to_companies_nor_company_scopes_to_staff(tenants):
    from api.errors import ApiProblem
    from api.models import STAFF_SCOPES
    from api.services import token_create

    with pytest.raises(ApiProblem):
        token_make(schema=tenants["acme"].schema, scopes=["incidents:write"])
    staff_user = User.objects.create_user(username="s@x.jp", email="s@x.jp", password="x" * 12, is_staff=True)
    with pytest.raises(ApiProblem):
        token_create(name="x", scopes=["candidates:read"], days=1, user=staff_user, allowed=STAFF_SCOPES)


def test_the_staff_tokens_page_needs_staff_with_a_second_factor(tenants):
    user = User.objects.create_user(username="n@x.jp", email="n@x.jp", password="x" * 12)
    client = Client(HTTP_HOST=settings.BASE_DOMAIN)
    client.force_login(user)
    assert client.get("/support/api-tokens/").status_code == 403
