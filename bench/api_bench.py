"""Benchmark of the company API: the candidates list at 100,000 students, bookings under 50 concurrent clients.

`make bench-api` → bench/results/api-latest.json: `list_p99_s` (100 a page, walking the cursor and filtered),
`create_per_s` (bookings through the API, 50 clients at once), `overbooked` (must be 0), and the company's
event webhooks under that booking load: a real Celery worker delivers `booking.created` to a local receiver
that checks every signature with the shared verifier; `webhook_events` (delivered, signature valid, once
each) and `webhook_lost` (emitted but never delivered within the drain time: must be 0).
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
os.environ.setdefault("EMAIL_URL", "dummymail://")

import django  # noqa: E402

django.setup()

import logging  # noqa: E402

import httpx  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from saas.processes import child_env, daphne_start, process_stop  # noqa: E402

logging.getLogger("httpx").setLevel(logging.WARNING)
STUDENTS = int(os.environ.get("BENCH_STUDENTS", "100000"))
LIST_CALLS = int(os.environ.get("BENCH_LIST_CALLS", "200"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "50"))
BOOKERS = int(os.environ.get("BENCH_BOOKERS", "1000"))
SEATS = int(os.environ.get("BENCH_SEATS", "300"))
SLUG = "bench-api"
RESULT = ROOT / "bench" / "results" / "api-latest.json"


def tenant_ensure():
    from tenants.models import Tenant
    from tenants.services import tenant_create

    tenant = Tenant.objects.filter(slug=SLUG).first()
    if tenant is None:
        tenant = tenant_create(name="API計測", slug=SLUG, admin_email=f"admin@{SLUG}.example.jp").tenant
    return tenant


def students_seed(schema: str) -> int:
    """STUDENTS candidates in one statement (the list is measured here, not the import)."""
    with schema_context(schema), connection.cursor() as cursor:
        cursor.execute("TRUNCATE candidates_candidate RESTART IDENTITY CASCADE")
        cursor.execute(
            "INSERT INTO candidates_candidate (family_name, given_name, family_kana, given_kana, email, phone,"
            " university_raw, university, rank, rank_is_manual, graduation_year, status, email_undeliverable,"
            " duplicate_key, created_at, updated_at)"
            " SELECT '山田', '太郎' || n, 'ヤマダ', 'タロウ', 's' || n || '@example.ac.jp', '', '東京大学', '東京大学',"
            " chr(65 + n %% 4), false, 2027, 'entry', false, '', now(), now()"
            " FROM generate_series(1, %s) AS n",
            [STUDENTS],
        )
        cursor.execute("ANALYZE candidates_candidate")
        cursor.execute("SELECT count(*) FROM candidates_candidate")
        return cursor.fetchone()[0]


def seminar_seed(schema: str) -> int:
    from booking.services.seminars import seminar_create, slot_create
    from candidates.models import Candidate
    from seasons.models import Season

    with schema_context(schema):
        # The students' season (a student books only seminars of their own season).
        season = Season.objects.get(pk=Candidate.objects.values_list("season_id", flat=True).first())
        seminar = seminar_create(title="API計測説明会", season=season)
        start = timezone.now() + timedelta(days=10)
        slot = slot_create(
            seminar=seminar,
            starts_at=start,
            ends_at=start + timedelta(hours=1),
            capacity=SEATS,
            quotas={"A": SEATS // 3, "B": SEATS // 3, "*": SEATS - 2 * (SEATS // 3)},
        )
        return slot.pk


def token_secret(schema: str) -> str:
    from accounts.models import User
    from api.services import token_create

    with schema_context(schema):
        admin = User.objects.filter(role="admin").order_by("id").first()
        return token_create(
            name="計測",
            scopes=["candidates:read", "bookings:write", "bookings:read"],
            days=1,
            user=admin,
            rate_per_minute=6000,
        ).secret


def list_measure(base: str, headers: dict[str, str]) -> dict:
    """Sequential calls: the first pages and pages deep in the cursor, unfiltered and filtered by rank."""
    samples: list[float] = []
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        for _ in range(5):  # the server's first answers load code and connections: not measured
            client.get("/api/v1/candidates", params={"limit": 100})
        for params in ({"limit": 100}, {"limit": 100, "rank": "B"}, {"limit": 100, "q": "s12"}):
            cursor = ""
            for _ in range(LIST_CALLS // 3):
                started = time.perf_counter()
                response = client.get(
                    "/api/v1/candidates", params={**params, **({"cursor": cursor} if cursor else {})}
                )
                samples.append(time.perf_counter() - started)
                assert response.status_code == 200, response.text[:300]
                cursor = response.json()["next_cursor"] or ""
    samples.sort()
    return {
        "list_calls": len(samples),
        "list_p50_s": round(samples[len(samples) // 2], 4),
        "list_p99_s": round(samples[min(len(samples) - 1, int(len(samples) * 0.99))], 4),
    }


async def bookings_measure(
    base: str, headers: dict[str, str], slot_id: int, candidate_ids: list[int]
) -> dict:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for candidate_id in candidate_ids:
        queue.put_nowait(candidate_id)
    statuses: dict[int, int] = {}

    async def client_loop(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            candidate_id = queue.get_nowait()
            response = await client.post(
                "/api/v1/bookings",
                json={"candidate_id": candidate_id, "slot_id": slot_id},
                headers={"Idempotency-Key": f"bench-{candidate_id}"},
            )
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    limits = httpx.Limits(max_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(client_loop(client) for _ in range(CLIENTS)))
        seconds = time.perf_counter() - started
    return {"statuses": statuses, "seconds": seconds}


WEBHOOK_DRAIN_S = float(os.environ.get("BENCH_WEBHOOK_DRAIN_S", "120"))


class WebhookReceiver:
    """A local HTTP receiver that keeps the ids of the messages whose signature verifies (and counts the rest)."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        from saas import webhook_signature

        self.secret = ""
        self.verified: set[str] = set()
        self.invalid = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
                headers = {k.lower(): v for k, v in self.headers.items()}
                if webhook_signature.verify(secret=receiver.secret, headers=headers, body=body):
                    receiver.verified.add(headers["webhook-id"])
                else:
                    receiver.invalid += 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks/bench"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def webhooks_subscribe(schema: str, receiver: WebhookReceiver) -> None:
    from webhooks.models import Event, Subscription
    from webhooks.services.subscriptions import subscription_create

    settings.OUTGOING_HTTP_ALLOW = [f"127.0.0.1:{receiver.port}"]
    with schema_context(schema):
        Event.objects.all().delete()  # deliveries go with their events
        Subscription.objects.all().delete()
        receiver.secret = subscription_create(url=receiver.url, events=["booking.created"], user=None).secret


def webhooks_drain(schema: str, receiver: WebhookReceiver, *, bookings: int) -> dict:
    """Wait for the worker to deliver every event; what was emitted, delivered and lost (every booking made
    during the load is one booking.created: an event never written counts as lost too)."""
    from webhooks.models import Delivery, DeliveryStatus, Event

    deadline = time.monotonic() + WEBHOOK_DRAIN_S
    started = time.monotonic()
    while True:
        with schema_context(schema):
            emitted = Event.objects.count()
            delivered = set(
                Delivery.objects.filter(status=DeliveryStatus.SUCCEEDED).values_list("message_id", flat=True)
            )
        received = delivered & receiver.verified
        if len(received) >= max(emitted, bookings) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    return {
        "webhook_events": len(received),
        "webhook_emitted": emitted,
        "webhook_lost": max(emitted, bookings) - len(received),
        "webhook_invalid_signatures": receiver.invalid,
        "webhook_drain_s": round(time.monotonic() - started, 1),
    }


def main() -> None:
    from django.core.management import call_command

    from booking.models import Booking, SlotQuota
    from candidates.models import Candidate
    from saas.processes import celery_worker_start

    call_command("bootstrap", verbosity=0)
    tenant = tenant_ensure()
    schema = tenant.schema_name
    with schema_context(schema):
        Booking.objects.all().delete()
    students = students_seed(schema)
    slot_id = seminar_seed(schema)
    secret = token_secret(schema)
    with schema_context(schema):
        bookers = list(
            Candidate.objects.filter(rank__in="ABC").order_by("?").values_list("pk", flat=True)[:BOOKERS]
        )
    receiver = WebhookReceiver()
    webhooks_subscribe(schema, receiver)
    env = child_env(
        database_url=settings.DATABASE_URL,
        redis_url=settings.REDIS_URL,
        extra={"OUTGOING_HTTP_ALLOW": f"127.0.0.1:{receiver.port}"},
    )
    worker = celery_worker_start(env=env, without=("mingle", "gossip"))
    port, server = daphne_start(env=env)
    base = f"http://127.0.0.1:{port}"
    headers = {"Host": f"{SLUG}.{settings.BASE_DOMAIN}:{port}", "Authorization": f"Bearer {secret}"}
    try:
        listing = list_measure(base, headers)
        booked = asyncio.run(bookings_measure(base, headers, slot_id, bookers))
        with schema_context(schema):
            made = Booking.objects.filter(slot_id=slot_id, status="active").count()
        hooks = webhooks_drain(schema, receiver, bookings=made)
    finally:
        process_stop(server)
        process_stop(worker)
        receiver.server.shutdown()
    with schema_context(schema):
        active = Booking.objects.filter(slot_id=slot_id, status="active").count()
        quotas = list(SlotQuota.objects.filter(slot_id=slot_id).values_list("seats", "taken"))
    overbooked = max(0, active - SEATS) + sum(max(0, taken - seats) for seats, taken in quotas)
    result = {
        "students": students,
        **listing,
        "clients": CLIENTS,
        "booking_requests": len(bookers),
        "seats": SEATS,
        "booked": active,
        "statuses": {str(code): count for code, count in sorted(booked["statuses"].items())},
        "create_per_s": round(len(bookers) / booked["seconds"], 1),
        "booked_per_s": round(active / booked["seconds"], 1),
        "overbooked": overbooked,
        **hooks,
        "server": "one daphne process (saas.asgi) on loopback; one Celery worker (solo pool) delivering webhooks",
        "machine": f"{platform.machine()} {os.cpu_count()} cores",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    RESULT.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=2))
    if (
        overbooked
        or booked["statuses"].get(500)
        or hooks["webhook_lost"]
        or hooks["webhook_invalid_signatures"]
    ):
        sys.exit(1)


if __name__ == "__main__":
    main()
