"""The public status API: Statuspage's shapes on the public hosts, naming no company."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from incidents.models import Component, Impact, Scope, Visibility
from incidents.services.lifecycle import incident_create, incident_publish

pytestmark = pytest.mark.django_db


def test_status_and_summary_name_no_company(tenants):
    component = Component.objects.create(name="マイページ（API検査）", name_en="My Page", slug="api-check")
    incident = incident_create(
        actor="ops",
        title="予約画面の遅延",
        message_ja="予約画面の表示が遅くなっています。",
        message_en="The booking page is slow.",
        impact=Impact.MAJOR,
        scope=Scope.CHOSEN,
        tenants=[tenants["acme"].tenant],
        components=[component],
    )
    client = Client(HTTP_HOST=settings.STATUS_DOMAIN)
    before = client.get("/api/v1/summary.json").json()
    assert incident.pk not in [item["id"] for item in before["incidents"]]  # a draft is not public
    incident_publish(actor="ops", incident=incident, visibility=Visibility.PUBLIC)
    for host in (settings.STATUS_DOMAIN, settings.BASE_DOMAIN):
        status = Client(HTTP_HOST=host).get("/api/v1/status.json")
        assert status.status_code == 200
        assert status.json()["status"]["indicator"] == "major"
        assert status["Cache-Control"] == "public, max-age=30" and status["ETag"]
    summary = client.get("/api/v1/summary.json")
    body = summary.json()
    listed = next(item for item in body["incidents"] if item["id"] == incident.pk)
    assert listed["name"] == "予約画面の遅延" and listed["impact"] == "major"
    assert listed["incident_updates"][0]["body_en"] == "The booking page is slow."
    assert listed["created_at"].endswith("+09:00")
    assert (
        next(item for item in body["components"] if item["id"] == "api-check")["status"] == "partial_outage"
    )
    text = summary.content.decode()
    for name in ("acme", "アクメ", "globex", "グローベックス"):
        assert name not in text
    assert client.get("/api/v1/summary.json", headers={"If-None-Match": summary["ETag"]}).status_code == 304
    assert client.get("/api/v1/openapi.json").json()["openapi"].startswith("3.1")


def test_the_status_api_is_not_on_a_company_host(tenants):
    assert Client(HTTP_HOST=tenants["acme"].host).get("/api/v1/status.json").status_code == 404
