"""Celery entry points, run in-process: the per-tenant scan queues due steps and segments; due detection."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone
from django_tenants.utils import schema_context

from notifications.models import OutboxMessage
from notifications.services import (
    outbox_enqueue,
    segment_create,
    sequence_save,
    sequence_trigger,
    step_save,
    template_save,
)
from notifications.services.schedule import mail_settings_update
from notifications.tasks import _has_due, sequence_scan_tenant
from tests.notifications.conftest import make_candidate

pytestmark = pytest.mark.django_db


def test_sequence_scan_tenant_queues_steps_and_scheduled_segments(tenants):
    schema = tenants["acme"].schema
    with schema_context(schema):
        mail_settings_update(quiet_start=dt.time(0, 0), quiet_end=dt.time(0, 0), rate_per_second=20)
        student = make_candidate()
        template = template_save(name="t", subject="ご案内", body="{{ 姓 }} 様")
        step_save(
            sequence=sequence_save(name="s", trigger="entry_imported", is_active=True), template=template
        )
        sequence_trigger(
            event="entry_imported", candidate_id=student.id, occurred_at=timezone.now(), context={}
        )
        later = timezone.now() + dt.timedelta(hours=1)
        segment_create(name="予約", subject="件名", body="本文", filters={}, send_at=later)
    assert sequence_scan_tenant.run(schema) == 1  # the step; the segment waits for its time
    with time_machine.travel(later + dt.timedelta(seconds=1)):
        assert sequence_scan_tenant.run(schema) == 1
    assert sequence_scan_tenant.run(schema) == 0
    with schema_context(schema):
        assert OutboxMessage.objects.filter(sequence_step__isnull=False).count() == 1
        assert OutboxMessage.objects.filter(segment__isnull=False).count() == 1


def test_has_due_sees_only_due_rows_of_its_tenant(tenants):
    acme, globex = tenants["acme"].schema, tenants["globex"].schema
    with schema_context(acme):
        outbox_enqueue(
            key="later",
            to="a@example.jp",
            subject="s",
            body="b",
            kind="transactional",
            send_at=timezone.now() + dt.timedelta(hours=1),
        )
    assert not _has_due(acme)
    with schema_context(acme):
        outbox_enqueue(key="now", to="a@example.jp", subject="s", body="b", kind="transactional")
    assert _has_due(acme)
    assert not _has_due(globex)
