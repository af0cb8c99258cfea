"""Outbox: idempotent enqueue, delivery through a real SMTP server, retries, permanent failures, rate limit."""

from __future__ import annotations

import datetime as dt
import time

import pytest
import time_machine
from django.utils import timezone
from django_tenants.utils import schema_context

from candidates.models import Candidate
from notifications.models import MailSettings, OutboxMessage, OutboxStatus
from notifications.services import outbox_deliver_due, outbox_enqueue
from tests.conftest import free_port
from tests.notifications.conftest import make_candidate

pytestmark = pytest.mark.django_db


def _enqueue(key: str, to: str = "taro@example.jp", **extra) -> OutboxMessage:
    return outbox_enqueue(key=key, to=to, subject="ご案内", body="本文です", kind="transactional", **extra)


def test_enqueue_is_idempotent_on_key(tenants):
    with schema_context(tenants["acme"].schema):
        first = _enqueue("booking:1:confirm")
        second = outbox_enqueue(
            key="booking:1:confirm", to="other@example.jp", subject="別", body="別", kind="transactional"
        )
        assert second.id == first.id
        assert OutboxMessage.objects.filter(idempotency_key="booking:1:confirm").count() == 1
        assert second.to_address == "taro@example.jp"


def test_delivery_sends_with_stable_message_id(tenants, smtp_server):
    schema = tenants["acme"].schema
    with schema_context(schema):
        row = _enqueue("k1", html_body="<p>本文です</p>")
        report = outbox_deliver_due(schema_name=schema)
        row.refresh_from_db()
    assert report.sent == 1
    assert row.status == OutboxStatus.SENT and row.sent_at is not None and row.attempts == 1
    [message] = smtp_server.recorder.messages
    assert message["Message-ID"] == f"<outbox-{schema}-{row.id}@localhost>"
    assert message["Subject"] == "ご案内"
    assert message.get_body(preferencelist=("plain",)).get_content().strip() == "本文です"
    assert message.get_body(preferencelist=("html",)).get_content().strip() == "<p>本文です</p>"
    # Nothing left: a second run sends nothing more.
    assert outbox_deliver_due(schema_name=schema).sent == 0
    assert len(smtp_server.recorder.messages) == 1


def test_future_rows_wait(tenants, smtp_server):
    schema = tenants["acme"].schema
    with schema_context(schema):
        _enqueue("later", send_at=timezone.now() + dt.timedelta(hours=1))
        assert outbox_deliver_due(schema_name=schema).sent == 0
        with time_machine.travel(timezone.now() + dt.timedelta(hours=1, seconds=1)):
            assert outbox_deliver_due(schema_name=schema).sent == 1


def test_temporary_failure_retries_with_backoff(tenants, smtp_server, settings):
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 60
    schema = tenants["acme"].schema
    smtp_server.recorder.rules["busy@example.jp"] = "451 4.3.0 Try again later"
    with schema_context(schema):
        row = _enqueue("busy", to="busy@example.jp")
        start = timezone.now()
        report = outbox_deliver_due(schema_name=schema)
        row.refresh_from_db()
        assert report.retried == 1 and report.sent == 0
        assert row.status == OutboxStatus.QUEUED and row.attempts == 1
        assert "451" in row.error
        assert row.next_attempt_at >= start + dt.timedelta(seconds=59)
        # Second failure doubles the wait.
        with time_machine.travel(row.next_attempt_at + dt.timedelta(seconds=1)):
            second_start = timezone.now()
            outbox_deliver_due(schema_name=schema)
            row.refresh_from_db()
            assert row.attempts == 2
            assert row.next_attempt_at >= second_start + dt.timedelta(seconds=119)
        smtp_server.recorder.rules.clear()
        with time_machine.travel(row.next_attempt_at + dt.timedelta(seconds=1)):
            assert outbox_deliver_due(schema_name=schema).sent == 1
        row.refresh_from_db()
    assert row.status == OutboxStatus.SENT and row.attempts == 3
    assert len(smtp_server.recorder.messages) == 1


def test_connection_refused_is_temporary(tenants, settings, smtp_server):
    settings.EMAIL_PORT = free_port()  # nothing listens there
    schema = tenants["acme"].schema
    with schema_context(schema):
        row = _enqueue("refused")
        report = outbox_deliver_due(schema_name=schema)
        row.refresh_from_db()
    assert report.retried == 1
    assert row.status == OutboxStatus.QUEUED and row.error == "ConnectionRefusedError"


def test_gives_up_after_max_attempts(tenants, smtp_server, settings):
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 2
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 1
    smtp_server.recorder.rules["busy@example.jp"] = "421 4.7.0 Too busy"
    schema = tenants["acme"].schema
    with schema_context(schema):
        row = _enqueue("busy2", to="busy@example.jp")
        outbox_deliver_due(schema_name=schema)
        with time_machine.travel(timezone.now() + dt.timedelta(seconds=5)):
            report = outbox_deliver_due(schema_name=schema)
        row.refresh_from_db()
    assert report.failed == 1
    assert row.status == OutboxStatus.FAILED and row.attempts == 2


def test_permanent_failure_marks_address_undeliverable(tenants, smtp_server):
    schema = tenants["acme"].schema
    smtp_server.recorder.rules["gone@example.jp"] = "550 5.1.1 No such user"
    with schema_context(schema):
        student = make_candidate(email="gone@example.jp")
        row = _enqueue("gone", to="gone@example.jp", candidate_id=student.id)
        report = outbox_deliver_due(schema_name=schema)
        row.refresh_from_db()
        student.refresh_from_db()
        assert report.failed == 1
        assert row.status == OutboxStatus.FAILED and "550" in row.error
        assert student.email_undeliverable is True
        # Later mails to that address are not attempted at all.
        later = _enqueue("gone-2", to="gone@example.jp", candidate_id=student.id)
        outbox_deliver_due(schema_name=schema)
        later.refresh_from_db()
        assert later.status == OutboxStatus.UNDELIVERABLE
    assert smtp_server.recorder.messages == []


def test_rate_limit_per_tenant(tenants, smtp_server):
    acme, globex = tenants["acme"].schema, tenants["globex"].schema
    with schema_context(acme):
        MailSettings.objects.update_or_create(id=1, defaults={"rate_per_second": 1})
        for number in range(8):
            _enqueue(f"rate-{number}")
        started = time.monotonic()
        report = outbox_deliver_due(schema_name=acme)
        elapsed = time.monotonic() - started
        # A bucket of one token refilled at one per second: never more than that, however slow the machine.
        assert 1 <= report.sent <= 1 + int(elapsed)
        assert report.rate_limited or report.sent == 8
        assert OutboxMessage.objects.filter(status=OutboxStatus.QUEUED).count() == 8 - report.sent
    # Another tenant's bucket is its own.
    with schema_context(globex):
        _enqueue("globex-1")
        assert outbox_deliver_due(schema_name=globex).sent == 1


def test_delivery_only_touches_its_tenant(tenants, smtp_server):
    acme, globex = tenants["acme"].schema, tenants["globex"].schema
    with schema_context(acme):
        _enqueue("acme-only", to="acme-student@example.jp")
    assert outbox_deliver_due(schema_name=globex).sent == 0
    assert smtp_server.recorder.messages == []
    assert outbox_deliver_due(schema_name=acme).sent == 1
    assert smtp_server.recorder.messages[0]["Message-ID"].startswith(f"<outbox-{acme}-")


def test_expired_lease_is_retried_but_a_live_one_is_not(tenants, smtp_server, settings):
    settings.NOTIFICATIONS_LEASE_SECONDS = 30
    schema = tenants["acme"].schema
    with schema_context(schema):
        row = _enqueue("leased")
        # A worker claimed it and died before recording anything.
        OutboxMessage.objects.filter(id=row.id).update(
            status=OutboxStatus.SENDING, lease_until=timezone.now() + dt.timedelta(seconds=30), attempts=1
        )
        assert outbox_deliver_due(schema_name=schema).sent == 0
        with time_machine.travel(timezone.now() + dt.timedelta(seconds=31)):
            assert outbox_deliver_due(schema_name=schema).sent == 1
        row.refresh_from_db()
    assert row.status == OutboxStatus.SENT and row.attempts == 2


def test_candidate_email_undeliverable_flag_exists():
    # The outbox relies on this field of candidates.Candidate.
    assert Candidate._meta.get_field("email_undeliverable")


def test_rate_limit_holds_without_redis(tenants, smtp_server, settings):
    """Redis unreachable: the outbox still paces each company's sending instead of sending everything at once."""
    dead = free_port()
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            **settings.CACHES["default"],
            "LOCATION": f"redis://127.0.0.1:{dead}/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        },
    }
    schema = tenants["acme"].schema
    with schema_context(schema):
        MailSettings.objects.update_or_create(id=1, defaults={"rate_per_second": 1})
        for number in range(6):
            _enqueue(f"no-redis-{number}")
        started = time.monotonic()
        report = outbox_deliver_due(schema_name=schema)
        elapsed = time.monotonic() - started
        assert 1 <= report.sent <= 2 + int(elapsed)
        assert report.rate_limited
        assert OutboxMessage.objects.filter(status=OutboxStatus.QUEUED).count() == 6 - report.sent
