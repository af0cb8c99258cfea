"""Exactly-once as counted at a real SMTP server while Celery workers are SIGKILLed and restarted."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import schema_context

from notifications.models import MailSettings, OutboxMessage, OutboxStatus
from notifications.tasks import outbox_deliver
from saas.processes import celery_worker_start, wait_until
from tests.conftest import ROOT, database_url_for_tests, free_port, server_env
from tests.notifications.conftest import SmtpRecorder

pytestmark = pytest.mark.slow


class SlowRecorder(SmtpRecorder):
    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        await asyncio.sleep(0.004)  # a little latency, so the kill lands mid-batch
        return await super().handle_DATA(server, session, envelope)


def _worker(*, queue: str, name: str, smtp_port: int) -> subprocess.Popen:
    env = server_env(
        {
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
            "NOTIFICATIONS_LEASE_SECONDS": "3",
            "NOTIFICATIONS_CLAIM_BATCH": "5",
        }
    )
    return celery_worker_start(env=env, queues=[queue], name=name, without=("mingle", "gossip", "heartbeat"))


def test_sigkill_mid_batch_then_restart_sends_each_message_once(tenants, committed):
    schema = tenants["acme"].schema
    total = 400
    run = uuid.uuid4().hex[:8]
    queue = f"outbox-test-{run}"
    recorder = SlowRecorder()
    smtp_port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    workers: list[subprocess.Popen] = []
    with schema_context(schema):
        MailSettings.objects.update_or_create(id=1, defaults={"rate_per_second": 100_000})
        now = timezone.now()
        OutboxMessage.objects.bulk_create(
            OutboxMessage(
                idempotency_key=f"crash-{run}-{number}",
                to_address=f"student{number}@example.jp",
                subject="説明会のご案内",
                body="本文",
                kind="transactional",
                next_attempt_at=now,
            )
            for number in range(total)
        )
        ids = set(
            OutboxMessage.objects.filter(idempotency_key__startswith=f"crash-{run}-").values_list(
                "id", flat=True
            )
        )
    expected = {f"<outbox-{schema}-{pk}@{settings.BASE_DOMAIN}>" for pk in ids}
    try:
        workers = [_worker(queue=queue, name=f"w{n}-{run}@test", smtp_port=smtp_port) for n in range(2)]
        for _ in range(2):
            outbox_deliver.apply_async(args=[schema], queue=queue)
        assert wait_until(lambda: len(recorder.messages) >= total // 4, seconds=60), (
            "workers never started sending"
        )
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait(10)
        with schema_context(schema):
            in_flight = set(
                OutboxMessage.objects.filter(id__in=ids, status=OutboxStatus.SENDING).values_list(
                    "id", flat=True
                )
            )
        received_at_kill = len(recorder.messages)
        assert received_at_kill < total, "the kill came too late to prove anything"
        workers[0] = _worker(queue=queue, name=f"w0b-{run}@test", smtp_port=smtp_port)

        def all_sent() -> bool:
            # What beat does every few seconds in production: wake a worker for a tenant with due rows.
            outbox_deliver.apply_async(args=[schema], queue=queue)
            with schema_context(schema):
                return not OutboxMessage.objects.filter(id__in=ids).exclude(status=OutboxStatus.SENT).exists()

        assert wait_until(lambda: (time.sleep(0.5), all_sent())[1], seconds=90), "not every message was sent"
        time.sleep(0.5)
    finally:
        for process in workers:
            process.kill()
            process.wait(10)
        controller.stop()
        with schema_context(schema):
            OutboxMessage.objects.filter(id__in=ids).delete()
            MailSettings.objects.filter(id=1).delete()

    # Other tests' committed rows in this schema (booking confirmations) may be delivered too: count ours.
    counts = Counter(message_id for message_id in recorder.message_ids() if message_id in expected)
    received = set(counts)
    duplicates = {message_id: n - 1 for message_id, n in counts.items() if n > 1}
    assert received == expected, f"lost {len(expected - received)} messages"
    # SMTP has no two-phase commit: the one unavoidable window is between the server's "250 OK" and our
    # UPDATE … SET status='sent'. A duplicate may only come from a row the killed worker held at that instant.
    in_flight_ids = {f"<outbox-{schema}-{pk}@{settings.BASE_DOMAIN}>" for pk in in_flight}
    assert set(duplicates) <= in_flight_ids
    assert sum(duplicates.values()) <= 1


ENQUEUE_WITHOUT_REDIS = """
import django
django.setup()
from django.db import transaction
from django_tenants.utils import schema_context
from notifications.services import outbox_enqueue
with schema_context({schema!r}):
    with transaction.atomic():
        outbox_enqueue(key={key!r}, to="taro@example.jp", subject="予約確認", body="本文", kind="transactional")
print("enqueued")
"""


def test_redis_lost_messages_wait_in_the_outbox_and_go_later(tenants, committed, smtp_server):
    from notifications.services import outbox_deliver_due

    schema = tenants["acme"].schema
    key = f"redis-lost-{uuid.uuid4().hex[:8]}"
    # Whatever earlier tests left queued goes first, so the delivery below is this message's alone.
    outbox_deliver_due(schema_name=schema)
    already = len(smtp_server.recorder.message_ids())
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": database_url_for_tests(),
            "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens: broker and cache are gone
            "SAAS_TESTING": "1",
            "DJANGO_SETTINGS_MODULE": "saas.settings",
            "PYTHONPATH": str(ROOT),
        }
    )
    result = subprocess.run(
        [sys.executable, "-c", ENQUEUE_WITHOUT_REDIS.format(schema=schema, key=key)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "enqueued" in result.stdout
    try:
        with schema_context(schema):
            row = OutboxMessage.objects.get(idempotency_key=key)
            assert row.status == OutboxStatus.QUEUED
        # Workers are back (here: the delivery a woken worker runs): the row goes, once.
        assert outbox_deliver_due(schema_name=schema).sent == 1
        with schema_context(schema):
            row.refresh_from_db()
            assert row.status == OutboxStatus.SENT
        assert smtp_server.recorder.message_ids()[already:] == [
            f"<outbox-{schema}-{row.id}@{settings.BASE_DOMAIN}>"
        ]
    finally:
        with schema_context(schema):
            OutboxMessage.objects.filter(idempotency_key=key).delete()
