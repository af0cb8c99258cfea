"""Benchmark: backup, point-in-time restore, one company's restore and a failover at 100 companies / 100,000 students.

`make bench-recovery` (SAAS_TESTING=1). Everything runs on servers of its own under .data/bench-recovery/: a
primary and, from the failover stage on, a synchronous standby. Stages:
1. backup: a full base backup (pg_basebackup, verified, sealed, stored) → backup_s, backup_mb, verify_ok.
2. point-in-time restore: marked writes, a moment, more writes; the whole cluster restored to the moment into
   a scratch server → pitr_restore_s; pitr_rows_match: every company's rows (all tables) equal the source's
   at the moment, and the marked rows are exactly those written before it.
3. one company restored to the moment while two daphne processes serve the others; those companies' login
   pages are asked all along → tenant_restore_s, others_p99_during_tenant_restore_s.
4. failover: students book through the web while the primary is SIGKILLed; the watchdog's controller
   promotes the standby → bookings_during_failover, confirmed_lost, failover_s (kill → the next booking
   answered "booked").
5. rpo_s: the whole cluster restored from the archive alone; how far the newest commit it reaches is behind
   the last commit made before the kill.
Writes bench/results/recovery-latest.json with exactly those keys.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import statistics
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
os.environ.setdefault("EMAIL_URL", "dummymail://")
os.environ["SAAS_TEST_RUN"] = "bench-recovery"  # Redis keys of its own, apart from a test run's

from bench import recovery_setup as setup  # noqa: E402
from recovery import postgres  # noqa: E402

COMPANIES = int(os.environ.get("BENCH_COMPANIES", "100"))
STUDENTS = int(os.environ.get("BENCH_STUDENTS", "100000"))
BOOKERS = int(os.environ.get("BENCH_BOOKERS", "40"))
PROMOTE_AFTER = float(os.environ.get("BENCH_PROMOTE_AFTER", "5"))

pair = setup.primary_start()
standby_port = postgres.free_port()
# Both servers from the start: libpq keeps the one that accepts writes (the standby exists from stage 4 on).
os.environ["DATABASE_URL"] = (
    f"postgres://postgres@127.0.0.1:{pair.primary.port},127.0.0.1:{standby_port}/{setup.DATABASE}"
)

import django  # noqa: E402

django.setup()

import httpx  # noqa: E402
import psutil  # noqa: E402
import psycopg  # noqa: E402
from django.conf import settings  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from candidates.models import Candidate  # noqa: E402
from recovery.basebackup import base_backup_take, base_backup_verify  # noqa: E402
from recovery.catalog import SEALED, lsn_segment  # noqa: E402
from recovery.config import backup_config  # noqa: E402
from recovery.failover import FailoverController  # noqa: E402
from recovery.report import platform_report  # noqa: E402
from recovery.restore import cluster_restore  # noqa: E402
from recovery.standby import standby_create  # noqa: E402
from recovery.tenant_restore import tenant_restore  # noqa: E402
from recovery.wal import WalArchiver  # noqa: E402
from saas.processes import process_stop  # noqa: E402
from tenants.models import Tenant  # noqa: E402


def keys() -> tuple[str, Path]:
    import pyrage

    identity = pyrage.x25519.Identity.generate()
    path = setup.WORK / "identity.txt"
    path.write_text(f"{identity}\n")
    path.chmod(0o600)
    return str(identity.to_public()), path


def archive_now(config, archiver) -> None:
    with psycopg.connect(config.source_for(), autocommit=True) as conn:
        lsn = conn.execute("SELECT pg_current_wal_insert_lsn()").fetchone()[0]
        timeline = conn.execute("SELECT timeline_id FROM pg_control_checkpoint()").fetchone()[0]
        conn.execute("SELECT pg_switch_wal()")
    key = f"wal/{lsn_segment(str(lsn), timeline=timeline)}{SEALED}"
    store = config.store()
    while not store.exists(key):
        archiver.upload_ready()
        time.sleep(0.1)


def source_report():
    with psycopg.connect(backup_config().source_for(dbname=setup.DATABASE)) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        return platform_report(conn)


def marked(schema: str, marker: str, names: list[str]) -> None:
    with schema_context(schema):
        for name in names:
            Candidate.objects.create(
                family_name="印",
                given_name=name,
                family_kana="シルシ",
                given_kana="メイ",
                email=f"{marker}-{name}@example.jp",
                rank="A",
            )


def marked_rows(conninfo: str, schema: str, marker: str) -> list[tuple]:
    with psycopg.connect(conninfo) as conn:
        return conn.execute(
            f"SELECT * FROM {schema}.candidates_candidate WHERE email LIKE %s ORDER BY id", [f"{marker}-%"]
        ).fetchall()


class Pages(threading.Thread):
    """Other companies' login pages, asked in turn through both daphne processes; latencies recorded."""

    def __init__(self, ports: list[int], hosts: list[str]) -> None:
        super().__init__(daemon=True)
        self.ports, self.hosts, self.latencies, self.errors = ports, hosts, [], 0
        self.stopping = threading.Event()

    def run(self) -> None:
        clients = [httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) for port in self.ports]
        turn = 0
        while not self.stopping.is_set():
            host = self.hosts[turn % len(self.hosts)]
            client = clients[turn % len(clients)]
            turn += 1
            started = time.monotonic()
            try:
                response = client.get("/login/", headers={"Host": f"{host}:{self.ports[0]}"})
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            self.latencies.append(time.monotonic() - started)
            self.errors += not ok
            time.sleep(0.02)


def p99(values: list[float]) -> float | None:
    if not values:
        return None
    return round(statistics.quantiles(values, n=100)[98], 3) if len(values) >= 100 else round(max(values), 3)


class Booker(threading.Thread):
    def __init__(self, port: int, host: str, token: str, slot: int, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.port, self.host, self.token, self.slot, self.stop = port, host, token, slot, stop
        self.confirmed: list[tuple[int, float]] = []
        self.asked_after_kill: list[float] = []  # answer times of bookings asked for after `kill_at`
        self.kill_at = float("inf")

    def run(self) -> None:
        client = httpx.Client(
            base_url=f"http://127.0.0.1:{self.port}", headers={"Host": f"{self.host}:{self.port}"}, timeout=15
        )
        csrf = ""
        while not self.stop.is_set() and not csrf:
            try:
                client.get(f"/my/login/{self.token}/")
                token = client.cookies["csrftoken"]
                login = client.post(f"/my/login/{self.token}/", data={"csrfmiddlewaretoken": token})
                if login.status_code == 302:
                    csrf = token
            except (httpx.HTTPError, KeyError):
                time.sleep(0.2)
        # Book, cancel, book again: one booking at a time per student, as long as the load runs.
        while not self.stop.is_set():
            asked = time.monotonic()
            try:
                response = client.post(
                    "/my/book/",
                    data={"slot": self.slot, "csrfmiddlewaretoken": csrf},
                    headers={"Accept": "application/json"},
                )
                body = (
                    response.json()
                    if response.headers.get("content-type", "").startswith("application/json")
                    else {}
                )
            except (httpx.HTTPError, ValueError):
                response, body = None, {}
            if response is not None and response.status_code == 200 and body.get("code") == "booked":
                booking = int(body["booking"])
                self.confirmed.append((booking, time.monotonic()))
                if asked > self.kill_at:
                    self.asked_after_kill.append(time.monotonic())
                try:
                    client.post(f"/my/bookings/{booking}/cancel/", data={"csrfmiddlewaretoken": csrf})
                except httpx.HTTPError:
                    pass
            else:
                time.sleep(0.2)


def main() -> None:
    results: dict[str, object] = {"companies": COMPANIES, "students": STUDENTS}
    print(f"recovery bench: {COMPANIES} companies, {STUDENTS:,} students", flush=True)
    links = setup.data_load(companies=COMPANIES, students=STUDENTS, bookers=BOOKERS)
    recipient, identity_file = keys()
    config = backup_config(url=str(setup.WORK / "store"), spool=setup.WORK / "spool")
    archiver = WalArchiver(config=config, recipient=recipient)
    archiver.receiver_start()
    archiver.receiver_streaming(seconds=30)

    backup = base_backup_take(config=config, recipient=recipient, kind="full")
    results["backup_s"] = backup.seconds
    results["backup_mb"] = round(backup.stored_bytes / 1e6, 1)
    results["verify_ok"] = bool(backup.verified and base_backup_verify(config=config, backup_id=backup.id))
    print(
        f"backup: {backup.seconds} s, {results['backup_mb']} MB stored ({backup.plain_bytes / 1e6:.0f} MB plain)",
        flush=True,
    )

    # ---- point-in-time restore ----
    schemas = [f"t_rb{index:03d}" for index in range(COMPANIES)]
    marker = f"pitr{int(time.time())}"
    for schema in schemas[:5]:
        marked(schema, marker, ["before1", "before2"])
    at_moment = source_report()
    marked_at_moment = marked_rows(config.source_for(dbname=setup.DATABASE), schemas[0], marker)
    time.sleep(0.5)
    moment = timezone.now()
    time.sleep(0.5)
    for schema in schemas[:5]:
        marked(schema, marker, ["after1"])
    archive_now(config, archiver)
    restored = cluster_restore(
        config=config, pgdata=setup.WORK / "pitr", target=moment, identity_file=identity_file
    )
    conninfo = restored.cluster.server.conninfo(dbname=setup.DATABASE)
    with psycopg.connect(conninfo) as conn:
        restored_report = platform_report(conn)
    rows_match = [(c.slug, c.tables) for c in restored_report.companies] == [
        (c.slug, c.tables) for c in at_moment.companies
    ] and marked_rows(conninfo, schemas[0], marker) == marked_at_moment
    restored.cluster.remove()
    results["pitr_restore_s"] = restored.seconds
    results["pitr_rows_match"] = rows_match
    print(
        f"point-in-time restore: {restored.seconds} s {restored.phases}, rows match: {rows_match}", flush=True
    )

    # ---- one company, the others serving ----
    from saas.processes import redis_start

    redis_port, redis_server = redis_start()
    servers = setup.servers_start(url=settings.DATABASE_URL, redis_url=f"redis://127.0.0.1:{redis_port}/0")
    ports = [port for port, _ in servers]
    others = [f"rb{index:03d}.{settings.BASE_DOMAIN}" for index in range(1, COMPANIES)]
    pages = Pages(ports, others)
    pages.start()
    while len(pages.latencies) < 200:  # warm: every process has served a few pages first
        time.sleep(0.2)
    baseline = list(pages.latencies[100:])
    tenant = Tenant.objects.get(slug="rb000")
    result = tenant_restore(
        config=config, tenant=tenant, target=moment, actor="bench@example.jp", identity_file=identity_file
    )
    during = pages.latencies[len(baseline) :]
    pages.stopping.set()
    pages.join(10)
    results["tenant_restore_s"] = result.seconds
    results["others_p99_during_tenant_restore_s"] = p99(during)
    print(
        f"tenant restore: {result.seconds} s (scratch {result.scratch_s} s, swap {result.swap_s} s); others' pages "
        f"p99 {p99(during)} s over {len(during)} requests ({pages.errors} errors; before: p99 {p99(baseline)} s)",
        flush=True,
    )

    # ---- failover under booking load ----
    standby = standby_create(primary=pair.primary.server, pgdata=setup.WORK / "standby", port=standby_port)
    controller = FailoverController(
        primary=pair.primary.server,
        standby=standby.server,
        promote_after=PROMOTE_AFTER,
        primary_pgdata=pair.primary.pgdata,
        notify=False,
    )
    stop = threading.Event()
    bookers = [
        Booker(ports[number % len(ports)], f"{slug}.{settings.BASE_DOMAIN}", token, slot, stop)
        for slug, rows in links.items()
        for number, (token, slot) in enumerate(rows)
    ]
    for booker in bookers:
        booker.start()
    while sum(len(b.confirmed) for b in bookers) < len(bookers) * 2:
        time.sleep(0.2)
    time.sleep(2)
    killed_at = time.monotonic()
    for booker in bookers:
        booker.kill_at = killed_at
    parent = psutil.Process(pair.primary.pid())
    for process in [parent, *parent.children(recursive=True)]:
        os.kill(process.pid, signal.SIGKILL)
    killed_wall = datetime.now(UTC)
    outcome = None
    while outcome != "resumed" and time.monotonic() - killed_at < 120:
        outcome = controller.tick() or outcome
        time.sleep(0.25)
    time.sleep(10)
    stop.set()
    for booker in bookers:
        booker.join(20)
    confirmed = [booking for booker in bookers for booking in booker.confirmed]
    # Kill → the first booking asked for after the kill and answered "booked" (not one already in flight).
    after = sorted(when for booker in bookers for when in booker.asked_after_kill)
    with psycopg.connect(standby.server.conninfo(dbname=setup.DATABASE)) as conn:
        present = set()
        for slug in links:
            present |= {row[0] for row in conn.execute(f"SELECT id FROM t_{slug}.booking_booking").fetchall()}
    lost = sum(1 for booking, _ in confirmed if booking not in present)
    results["bookings_during_failover"] = len(confirmed)
    results["confirmed_lost"] = lost
    results["failover_s"] = round(after[0] - killed_at, 2) if after else None
    print(
        f"failover: {results['failover_s']} s to the next booking; {len(confirmed)} confirmed, {lost} lost",
        flush=True,
    )

    # ---- RPO of the archive alone ----
    time.sleep(5)  # the agent stores the segment it was receiving once it stops changing
    archiver.receiver_stop()
    archiver.upload_ready()
    from_archive = cluster_restore(config=config, pgdata=setup.WORK / "rpo", identity_file=identity_file)
    reached = from_archive.reached
    from_archive.cluster.remove()
    # Bookings commit without pause until the kill: the newest commit made is (within milliseconds) the kill.
    results["rpo_s"] = round(max(0.0, (killed_wall - reached).total_seconds()), 3)
    print(f"archive alone reaches {reached.isoformat()}: rpo {results['rpo_s']} s", flush=True)

    for _, process in servers:
        process_stop(process)
    process_stop(redis_server)
    standby.remove()
    pair.primary.remove()
    out = ROOT / "bench" / "results" / "recovery-latest.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    print(f"machine: {platform.platform()}, {os.cpu_count()} cpus, load {os.getloadavg()}")


if __name__ == "__main__":
    main()
