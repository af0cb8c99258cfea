"""Benchmark: 10,000 outbox mails to a local SMTP server with a worker SIGKILLed mid-way; due-scan at scale."""

from __future__ import annotations

import json
import logging
import os
import platform
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
os.environ.setdefault("EMAIL_URL", "dummymail://")  # tenant invitations are not the subject here

import django  # noqa: E402

django.setup()
logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every command at INFO

from aiosmtpd.controller import Controller  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from candidates.models import Candidate  # noqa: E402
from notifications.models import (  # noqa: E402
    Enrollment,
    MailSettings,
    MailTemplate,
    OutboxMessage,
    OutboxStatus,
    Sequence,
    SequenceStep,
)
from notifications.services.sequences import sequence_due_scan, step_due_count  # noqa: E402
from notifications.tasks import outbox_deliver, outbox_scan  # noqa: E402
from saas.processes import celery_worker_start, child_env, free_port  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from tenants.services import tenant_create  # noqa: E402

MESSAGES = int(os.environ.get("BENCH_MESSAGES", "10000"))
STUDENTS = int(os.environ.get("BENCH_STUDENTS", "100000"))
SEQUENCES = int(os.environ.get("BENCH_SEQUENCES", "20"))
SEND_TENANTS = ["mailbench-a", "mailbench-b"]
SCAN_TENANT = "mailbench-scan"
WORKERS = 2
# Sending is latency-bound (an fsync per outcome, SMTP round trips): a few threads per worker process.
THREADS = int(os.environ.get("BENCH_WORKER_THREADS", "8"))


class Counting:
    """aiosmtpd handler counting Message-IDs as the server accepts them."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.lock = threading.Lock()
        self.last_at = 0.0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        for line in envelope.content.split(b"\r\n"):
            if line.lower().startswith(b"message-id:"):
                with self.lock:
                    self.ids.append(line.split(b":", 1)[1].strip().decode())
                    self.last_at = time.monotonic()
                break
        return "250 OK"


def tenant_ensure(slug: str) -> Tenant:
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        tenant = tenant_create(
            name=f"ベンチ {slug}", slug=slug, admin_email=f"admin@{slug}.example.jp"
        ).tenant
    return tenant


def worker(*, queue: str, name: str, smtp_port: int) -> subprocess.Popen:
    env = child_env(
        database_url=settings.DATABASE_URL,
        redis_url=settings.REDIS_URL,
        testing=False,
        extra={
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
            "NOTIFICATIONS_LEASE_SECONDS": "5",
            "DB_POOL_MAX": str(THREADS + 4),
        },
    )
    return celery_worker_start(
        env=env,
        queues=[queue],
        name=name,
        pool="threads",
        concurrency=THREADS,
        without=("mingle", "gossip", "heartbeat"),
    )


def delivery_bench() -> dict:
    tenants = [tenant_ensure(slug) for slug in SEND_TENANTS]
    run = uuid.uuid4().hex[:8]
    expected: set[str] = set()
    for index, tenant in enumerate(tenants):
        with schema_context(tenant.schema_name):
            OutboxMessage.objects.all().delete()
            MailSettings.objects.update_or_create(id=1, defaults={"rate_per_second": 100_000})
            share = MESSAGES // len(tenants) + (1 if index < MESSAGES % len(tenants) else 0)
            now = timezone.now()
            OutboxMessage.objects.bulk_create(
                (
                    OutboxMessage(
                        idempotency_key=f"bench-{run}-{number}",
                        to_address=f"student{number}@example.invalid",
                        subject="【ベンチ】説明会のご案内",
                        body="ベンチマーク用のメールです。\n",
                        kind="transactional",
                        next_attempt_at=now,
                    )
                    for number in range(share)
                ),
                batch_size=2000,
            )
            expected |= {
                f"<outbox-{tenant.schema_name}-{pk}@{settings.BASE_DOMAIN}>"
                for pk in OutboxMessage.objects.values_list("id", flat=True)
            }
    counting = Counting()
    port = free_port()
    controller = Controller(counting, hostname="127.0.0.1", port=port)
    controller.start()
    queue = f"outbox-bench-{run}"
    processes = [worker(queue=queue, name=f"bench{n}-{run}@bench", smtp_port=port) for n in range(WORKERS)]
    killed_at = restarted = 0
    started = time.monotonic()
    try:
        for tenant in tenants:
            for _ in range(THREADS):
                outbox_deliver.apply_async(args=[tenant.schema_name], queue=queue)
        last_scan = time.monotonic()
        while time.monotonic() - started < 180:
            if not killed_at and len(counting.ids) >= MESSAGES * 0.4:
                processes[0].send_signal(signal.SIGKILL)
                processes[0].wait(10)
                killed_at = len(counting.ids)
                processes[0] = worker(queue=queue, name=f"bench0b-{run}@bench", smtp_port=port)
                restarted = 1
            if time.monotonic() - last_scan > 2:
                outbox_scan.apply_async(kwargs={"queue": queue}, queue=queue)  # what beat does every 10 s
                last_scan = time.monotonic()
            if len(set(counting.ids)) >= len(expected) and _all_sent(tenants):
                break
            time.sleep(0.05)
        seconds = counting.last_at - started
        time.sleep(1.0)  # anything late would show up as a duplicate
    finally:
        for process in processes:
            process.kill()
            process.wait(10)
        controller.stop()
    counts = Counter(counting.ids)
    return {
        "messages": len(expected),
        "delivered_unique": len(set(counts) & expected),
        "duplicates": sum(n - 1 for n in counts.values() if n > 1),
        "lost": len(expected - set(counts)),
        "seconds": round(seconds, 2),
        "killed_after": killed_at,
        "worker_processes": WORKERS,
        "threads_per_worker": THREADS,
        "restarted_workers": restarted,
    }


def _all_sent(tenants: list[Tenant]) -> bool:
    for tenant in tenants:
        with schema_context(tenant.schema_name):
            if OutboxMessage.objects.exclude(status=OutboxStatus.SENT).exists():
                return False
    return True


def due_scan_bench() -> dict:
    """100,000 students, 20 active sequences of 3 steps: time one set-based scan of every step."""
    tenant = tenant_ensure(SCAN_TENANT)
    with schema_context(tenant.schema_name):
        if Candidate.objects.count() != STUDENTS:
            Candidate.objects.all().delete()
            ranks, years = "ABCDE", [2026, 2027, 2028]
            for offset in range(0, STUDENTS, 10_000):
                Candidate.objects.bulk_create(
                    Candidate(
                        family_name="学生",
                        given_name=str(number),
                        email=f"s{number}@example.invalid",
                        rank=ranks[number % 5],
                        graduation_year=years[number % 3],
                        status="entry" if number % 4 else "seminar",
                    )
                    for number in range(offset, min(offset + 10_000, STUDENTS))
                )
        Sequence.objects.all().delete()
        template, _ = MailTemplate.objects.get_or_create(
            name="ベンチ",
            defaults={"subject": "{{ 姓 }}様へのご案内", "body": "{{ 姓 }} {{ 名 }} 様\n{{ マイページURL }}"},
        )
        sequences = [
            Sequence.objects.create(
                name=f"ベンチ {n}", trigger="entry_imported", is_active=True, stop_on_booked=n % 2 == 0
            )
            for n in range(SEQUENCES)
        ]
        for sequence in sequences:
            SequenceStep.objects.create(sequence=sequence, position=1, template=template)
            SequenceStep.objects.create(
                sequence=sequence,
                position=2,
                template=template,
                delay_days=3,
                send_at_time=datetime.strptime("10:00", "%H:%M").time(),
                ranks=["A", "B"],
            )
            SequenceStep.objects.create(
                sequence=sequence,
                position=3,
                template=template,
                delay_days=7,
                graduation_years=[2027],
                require_not_booked=True,
            )
        # Each student runs through 2 of the 20 sequences, entered at some point in the last 14 days.
        now = timezone.now()
        ids = [sequence.id for sequence in sequences]
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO notifications_enrollment
                    (sequence_id, candidate_id, occurrence, anchor_at, context, created_at, stop_reason)
                SELECT (%s::bigint[])[1 + (c.id + k) %% %s], c.id, 'bench', %s - (c.id %% 20160) * interval '1 minute',
                       '{}'::jsonb, %s, ''
                  FROM candidates_candidate c CROSS JOIN generate_series(0, 1) k
                """,
                [ids, len(ids), now, now],
            )
            enrollments = cursor.rowcount
        # Who is due (the computation alone), then the scan that also writes the outbox rows.
        started = time.perf_counter()
        due_students = sum(
            step_due_count(step=step, sequence=step.sequence, now=now)
            for step in SequenceStep.objects.filter(sequence__is_active=True).select_related("sequence")
        )
        compute = time.perf_counter() - started
        started = time.perf_counter()
        added = sequence_due_scan(now=now)
        first = time.perf_counter() - started
        started = time.perf_counter()
        again = sequence_due_scan(now=now)
        steady = time.perf_counter() - started
        queued = sum(added.values())
        # Leave nothing to send and nothing for beat to pick up.
        OutboxMessage.objects.all().delete()
        Enrollment.objects.all().delete()
        Sequence.objects.update(is_active=False)
    return {
        "students": STUDENTS,
        "sequences": SEQUENCES,
        "steps": SEQUENCES * 3,
        "enrollments": enrollments,
        "due_rows": queued,
        "due_compute_s": round(compute, 2),
        "due_students": due_students,
        "due_scan_s": round(first, 2),
        "due_scan_steady_s": round(steady, 2),
        "due_rows_second_scan": sum(again.values()),
    }


def main() -> None:
    call_command("bootstrap", verbosity=0)
    delivery = delivery_bench()
    scan = due_scan_bench()
    result = {
        **delivery,
        **scan,
        "machine": f"{platform.machine()} {os.cpu_count()} cores, {platform.python_version()}",
        "ran_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    print(f"{'metric':<28}{'value':>14}")
    for key in (
        "messages",
        "delivered_unique",
        "duplicates",
        "lost",
        "seconds",
        "killed_after",
        "students",
        "sequences",
        "enrollments",
        "due_rows",
        "due_compute_s",
        "due_scan_s",
        "due_scan_steady_s",
    ):
        print(f"{key:<28}{result[key]!s:>14}")
    out = ROOT / "bench" / "results" / "mail-latest.json"
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
