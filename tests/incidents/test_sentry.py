"""The Sentry alert endpoint: signature, fast answer and queueing, de-duplication, mapping, PII stripping."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time

import pytest

from incidents.models import Impact, Incident, Scope, SentryAlert, Source, State, Visibility
from incidents.selectors import incidents_visible

SECRET = "sentry-client-secret-for-tests"

# Shaped like the examples of Sentry's integration-platform documentation (metric alerts, issue alerts).
METRIC_ALERT = {
    "action": "critical",
    "actor": {"id": "sentry", "name": "Sentry", "type": "application"},
    "data": {
        "description_text": "1000 events in the last 10 minutes\nFilter: level:error",
        "description_title": "Critical: Too many errors",
        "metric_alert": {
            "alert_rule": {"aggregate": "count()", "dataset": "events", "id": "7", "name": "Too many errors"},
            "date_closed": None,
            "date_detected": "2026-11-28T03:00:00.000000Z",
            "date_started": "2026-11-28T02:59:00.000000Z",
            "id": "53",
            "identifier": "1",
            "organization_id": "5",
            "status": 20,
            "title": "Too many errors",
            "web_url": "https://sentry.io/organizations/example/alerts/1/",
        },
        "web_url": "https://sentry.io/organizations/example/alerts/1/",
    },
    "installation": {"uuid": "a8e5d37a-696c-4c54-adb5-b3f28d64c7de"},
}
ISSUE_ALERT = {
    "action": "triggered",
    "actor": {"id": "sentry", "name": "Sentry", "type": "application"},
    "data": {
        "event": {
            "event_id": "e4874d664c3540c1a32eab185f12c5ab",
            "issue_id": "1117540176",
            "title": "ZeroDivisionError: division by zero",
            "level": "error",
            "user": {"ip_address": "203.0.113.7", "email": "taro@example.jp", "id": "42"},
            "request": {
                "url": "https://acme.example.jp/candidates/",
                "method": "GET",
                "headers": [["Cookie", "sessionid=secret"], ["User-Agent", "Mozilla/5.0"]],
                "cookies": [["sessionid", "secret"]],
                "env": {"REMOTE_ADDR": "203.0.113.7"},
                "data": {"email": "taro@example.jp"},
            },
            "web_url": "https://sentry.io/organizations/example/issues/1117540176/events/e4874d664c3540c1a32eab185f12c5ab/",
        },
        "triggered_rule": "Very Important Alert Rule!",
    },
    "installation": {"uuid": "a8e5d37a-696c-4c54-adb5-b3f28d64c7de"},
}


@pytest.fixture(autouse=True)
def _secret(monkeypatch):
    monkeypatch.setenv("SENTRY_CLIENT_SECRET", SECRET)


def _post(client, payload, *, resource="metric_alert", secret=SECRET, body=None):
    body = body if body is not None else json.dumps(payload).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return client.post(
        "/hooks/sentry/",
        data=body,
        content_type="application/json",
        HTTP_HOST="localhost",
        HTTP_SENTRY_HOOK_RESOURCE=resource,
        HTTP_SENTRY_HOOK_SIGNATURE=signature,
        HTTP_SENTRY_HOOK_TIMESTAMP=str(int(time.time())),
    )


@pytest.mark.django_db
def test_bad_signature_is_refused(client, tenants):
    assert _post(client, METRIC_ALERT, secret="wrong").status_code == 401
    assert not SentryAlert.objects.exists()
    assert _post(client, None, body=b"{not json").status_code == 400


@pytest.mark.django_db
def test_metric_alert_critical_opens_then_resolved_moves_to_monitoring(
    client, tenants, eager_celery, on_commit
):
    started = time.perf_counter()
    response = on_commit(_post, client, METRIC_ALERT)
    assert response.status_code == 202 and response.json()["status"] == "queued"
    incident = Incident.objects.get(source=Source.SENTRY)
    assert incident.impact == Impact.MAJOR and "Too many errors" not in incident.title
    # A duplicate delivery (Sentry retries) is accepted and ignored.
    again = on_commit(_post, client, METRIC_ALERT)
    assert (
        again.json()["status"] == "duplicate" and Incident.objects.filter(source=Source.SENTRY).count() == 1
    )
    resolved = copy.deepcopy(METRIC_ALERT) | {"action": "resolved"}
    on_commit(_post, client, resolved)
    incident.refresh_from_db()
    assert incident.state == State.MONITORING
    assert time.perf_counter() - started < 3


@pytest.mark.django_db
def test_warning_opens_a_draft_and_critical_escalates_it(client, tenants, eager_celery, on_commit):
    warning = copy.deepcopy(METRIC_ALERT) | {"action": "warning"}
    on_commit(_post, client, warning)
    incident = Incident.objects.get(source=Source.SENTRY)
    assert incident.impact == Impact.MINOR and incident.visibility == Visibility.DRAFT
    on_commit(_post, client, METRIC_ALERT)
    incident.refresh_from_db()
    assert incident.impact == Impact.MAJOR and incident.visibility == Visibility.PUBLIC
    # Published on the public status page: without the alert's raw title (an error message may carry
    # names, queries or addresses).
    assert "Too many errors" not in incident.title
    for host in ("status.localhost", "localhost"):
        page = client.get("/", HTTP_HOST=host).content.decode()
        assert "Too many errors" not in page
    assert "Too many errors" not in client.get("/feed.atom", HTTP_HOST="status.localhost").content.decode()


@pytest.mark.django_db
def test_issue_alert_is_stored_without_personal_data(client, tenants, eager_celery, on_commit):
    response = on_commit(_post, client, ISSUE_ALERT, resource="event_alert")
    assert response.status_code == 202
    alert = SentryAlert.objects.get()
    stored = json.dumps(alert.payload)
    for secret in ("203.0.113.7", "taro@example.jp", "sessionid", "REMOTE_ADDR"):
        assert secret not in stored
    assert alert.payload["data"]["event"]["title"] == "ZeroDivisionError: division by zero"
    assert alert.incident is not None and alert.incident.visibility == Visibility.DRAFT
    assert on_commit(_post, client, ISSUE_ALERT, resource="event_alert").json()["status"] == "duplicate"


@pytest.mark.django_db
def test_an_alert_on_one_companys_event_names_that_company_only(client, tenants, eager_celery, on_commit):
    globex = tenants["globex"]
    tagged = copy.deepcopy(ISSUE_ALERT)
    # saas/sentry.py tags every event of a company's request with its schema.
    tagged["data"]["event"]["tags"] = [["environment", "production"], ["tenant", globex.schema]]
    on_commit(_post, client, tagged, resource="event_alert")
    incident = Incident.objects.get(source=Source.SENTRY)
    assert incident.scope == Scope.CHOSEN and list(incident.tenants.all()) == [globex.tenant]
    assert incident.detection_key.endswith(f"@{globex.schema}")
    # The same issue for another company is another incident; an untagged event concerns everyone.
    acme = copy.deepcopy(tagged)
    acme["data"]["event"]["event_id"] = "0" * 32
    acme["data"]["event"]["tags"] = {"tenant": tenants["acme"].schema}
    on_commit(_post, client, acme, resource="event_alert")
    assert list(Incident.objects.exclude(pk=incident.pk).get().tenants.all()) == [tenants["acme"].tenant]
    untagged = copy.deepcopy(ISSUE_ALERT)
    untagged["data"]["event"]["event_id"] = "1" * 32
    untagged["data"]["event"]["issue_id"] = "2"
    on_commit(_post, client, untagged, resource="event_alert")
    assert Incident.objects.get(detection_key="sentry:issue:2").scope == Scope.ALL


@pytest.mark.django_db
def test_one_companys_alert_escalated_is_published_to_that_company_only(
    client, tenants, eager_celery, on_commit
):
    globex = tenants["globex"]
    tagged = copy.deepcopy(ISSUE_ALERT)
    tagged["data"]["event"]["tags"] = [["tenant", globex.schema]]
    on_commit(_post, client, tagged, resource="event_alert")
    critical = copy.deepcopy(tagged) | {"action": "critical"}
    on_commit(_post, client, critical, resource="event_alert")
    incident = Incident.objects.get(source=Source.SENTRY)
    assert incident.impact == Impact.MAJOR and incident.visibility == Visibility.TENANTS
    assert incident.pk not in [i.pk for i in incidents_visible(tenant=tenants["acme"].tenant)]
    assert incident.pk in [i.pk for i in incidents_visible(tenant=globex.tenant)]
