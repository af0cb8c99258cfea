"""Telling the affected companies: e-mail with acknowledgement links, subscriptions, escalation, support's view."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import Role, User
from incidents.models import Acknowledgement, Component, ComponentSubscription, Impact, Scope, Visibility
from incidents.services.lifecycle import incident_create, incident_publish
from incidents.services.notify import acknowledgements_escalate
from incidents.tasks import ack_escalation_task
from notifications.services import outbox_deliver_due
from tests.incidents.helpers import group_listener, outbox_rows, tenant_client


def _publish_private(on_commit, tenants, **kwargs):
    incident = incident_create(
        actor="ops",
        title="説明会予約の障害",
        message_ja="予約できない状態です。",
        impact=Impact.MAJOR,
        scope=Scope.CHOSEN,
        tenants=[tenants["acme"].tenant],
        components=[Component.objects.get(slug="mypage")],
        **kwargs,
    )
    on_commit(incident_publish, actor="ops", incident=incident, visibility=Visibility.TENANTS)
    return incident


@pytest.mark.django_db
def test_publish_emails_admins_and_subscribers_of_affected_company_only(
    tenants, eager_celery, on_commit, mailoutbox
):
    acme = tenants["acme"]
    with schema_context(acme.schema):
        recruiter = User.objects.create_user(
            username="r@acme.example.jp", email="r@acme.example.jp", role=Role.RECRUITER
        )
        User.objects.create_user(username="q@acme.example.jp", email="q@acme.example.jp", role=Role.RECRUITER)
    ComponentSubscription.objects.create(
        tenant=acme.tenant, user_id=recruiter.pk, component=Component.objects.get(slug="mypage")
    )
    incident = _publish_private(on_commit, tenants)
    # Queued in acme's own outbox, transactional (never held back by marketing opt-outs or quiet hours).
    queued = {row["to_address"]: row for row in outbox_rows(acme)}
    assert sorted(queued) == [acme.admin_email, "r@acme.example.jp"]
    assert {row["kind"] for row in queued.values()} == {"transactional"}
    admin_row = queued[acme.admin_email]
    assert "説明会予約の障害" in admin_row["subject"] and "アクメ商事" in admin_row["subject"]
    assert "/status/ack/" in admin_row["body"]
    assert "/status/ack/" not in queued["r@acme.example.jp"]["body"]
    assert outbox_rows(tenants["globex"]) == []
    assert Acknowledgement.objects.filter(incident=incident).count() == 1
    # Real delivery by the outbox worker's service (rows a woken worker already sent stay sent).
    outbox_deliver_due(schema_name=acme.schema)
    delivered = {m.to[0]: m for m in mailoutbox}
    assert sorted(delivered) == [acme.admin_email, "r@acme.example.jp"]
    assert delivered[acme.admin_email].body == admin_row["body"]
    assert delivered[acme.admin_email].subject == admin_row["subject"]
    assert {row["status"] for row in outbox_rows(acme)} == {"sent"}


@pytest.mark.django_db
def test_ack_from_email_link_and_support_sees_it(tenants, eager_celery, on_commit, client, staff_client):
    acme = tenants["acme"]
    incident = _publish_private(on_commit, tenants)
    link = re.search(r"http://[^\s]+/status/ack/[^\s]+/", outbox_rows(acme)[0]["body"]).group(0)
    path = link.split(":8000", 1)[1] if ":8000" in link else "/" + link.split("/", 3)[3]
    support_page = staff_client.get(f"/support/incidents/{incident.pk}/").content.decode()
    assert "未確認" in support_page
    # The link on another company's host is refused (and counted as a foreign-token leak signal for acme).
    assert client.get(path, HTTP_HOST=tenants["globex"].host).status_code == 404
    # GET only shows the button; POST records.
    assert "受領を確認する" in client.get(path, HTTP_HOST=acme.host).content.decode()
    assert Acknowledgement.objects.get(incident=incident).acknowledged_at is None
    page = client.post(path, HTTP_HOST=acme.host).content.decode()
    ack = Acknowledgement.objects.get(incident=incident)
    assert (
        ack.acknowledged_at is not None and ack.acknowledged_via == "email" and "受領を確認しました" in page
    )
    assert "未確認" not in staff_client.get(f"/support/incidents/{incident.pk}/").content.decode()
    assert client.get("/status/ack/garbage/", HTTP_HOST=acme.host).status_code == 400


@pytest.mark.django_db
def test_ack_from_banner_needs_the_company_admin(tenants, eager_celery, on_commit):
    acme = tenants["acme"]
    incident = _publish_private(on_commit, tenants)
    with schema_context(acme.schema):
        User.objects.create_user(username="v@acme.example.jp", email="v@acme.example.jp", role=Role.VIEWER)
    viewer = tenant_client(acme, email="v@acme.example.jp")
    assert viewer.post(f"/status/incidents/{incident.pk}/ack/").status_code == 403
    admin = tenant_client(acme)
    assert admin.post(f"/status/incidents/{incident.pk}/ack/").status_code == 302
    ack = Acknowledgement.objects.get(incident=incident)
    assert ack.acknowledged_via == "banner" and ack.acknowledged_by == acme.admin_email
    # globex is not affected: its admin cannot acknowledge (the incident does not exist for it).
    assert tenant_client(tenants["globex"]).post(f"/status/incidents/{incident.pk}/ack/").status_code == 404


@pytest.mark.django_db
@override_settings(INCIDENT_ACK_ESCALATE_MINUTES=15)
def test_unacknowledged_major_incident_is_renotified_and_flagged(tenants, eager_celery, on_commit):
    incident = _publish_private(on_commit, tenants)
    assert len(outbox_rows(tenants["acme"])) == 1
    assert acknowledgements_escalate(now=timezone.now() + timedelta(minutes=14)) == []
    Acknowledgement.objects.filter(incident=incident).update(
        notified_at=timezone.now() - timedelta(minutes=16)
    )
    with group_listener({"acme": tenants["acme"].tenant}) as received:
        ack_escalation_task()
    ack = Acknowledgement.objects.get(incident=incident)
    assert ack.phone_call_flagged_at is not None and ack.renotified_at is not None
    renotified = outbox_rows(tenants["acme"])[1:]
    assert [row["to_address"] for row in renotified] == [tenants["acme"].admin_email]
    assert "再送" in renotified[0]["subject"]
    assert "要確認" in received["acme"][0]["text"]
    # Only once.
    assert acknowledgements_escalate(now=timezone.now() + timedelta(hours=2)) == []


@pytest.mark.django_db
@override_settings(INCIDENT_ACK_ESCALATE_MINUTES=15)
def test_acknowledged_or_minor_incidents_are_not_escalated(tenants, eager_celery, on_commit):
    incident = _publish_private(on_commit, tenants)
    Acknowledgement.objects.filter(incident=incident).update(
        notified_at=timezone.now() - timedelta(hours=1), acknowledged_at=timezone.now()
    )
    minor = incident_create(
        actor="ops", title="軽微", message_ja="軽微", impact=Impact.MINOR, visibility=Visibility.PUBLIC
    )
    on_commit(lambda: None)
    Acknowledgement.objects.create(
        incident=minor, tenant=tenants["globex"].tenant, notified_at=timezone.now() - timedelta(hours=1)
    )
    assert acknowledgements_escalate() == []
