"""Benchmark: 3月1日 0:00 — every company opens at once (`make bench-fleet` → bench/results/fleet-latest.json).

Phases, in one run on this machine:
1. Fleet: FLEET_COMPANIES companies in the database (created once, reused by later runs).
2. Deploys: `manage.py bootstrap` with nothing to migrate (noop_deploy_s) and the stock django-tenants
   `migrate_schemas` on the same database (django_tenants_noop_deploy_s; FLEET_STOCK_DEPLOY=0 skips it).
3. Grand open through the production layout (deploy/stack.py: nginx, uvicorn rush workers, gunicorn,
   daphne): first the decision capacity of the rush path, closed loop (bench/rush_refs.py::capacity); then
   FLEET_OPENING companies open a seminar in the same second and FLEET_STUDENTS students arrive over
   FLEET_ARRIVAL_S seconds, spread over the companies by a Zipf law (a few famous companies draw most of
   them), each loading the rush page and booking as the page's script does (bench/rush_load.py: asyncio
   and raw HTTP/1.1 over a few hundred connections per load process), while FLEET_WATCHERS live-seat
   websockets per opening company watch the counts (ws_lag_p99_s: commit to the frame that shows it). Meanwhile a company that opens
   nothing has its recruiters' sign-in page asked ten times a second (neighbour_p99_s).
4. A migration on every company while bookings go on: a column and an index added to the candidates table
   of every schema with a lock_timeout and retries (migration_all_s), and the longest booking answer while
   it runs (booking_blocked_max_s); the column is dropped again afterwards.

Smaller runs: FLEET_COMPANIES=20 FLEET_OPENING=10 FLEET_STUDENTS=3000 FLEET_ARRIVAL_S=5 make bench-fleet.
BENCH_LOAD_NICE=-10 (as root) runs the load processes ahead of the servers on the shared cores; the result's
`set_up` says so.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
os.environ.setdefault("EMAIL_URL", "dummymail://")

import django  # noqa: E402

django.setup()

import httpx  # noqa: E402
import psutil  # noqa: E402
from django.conf import settings  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from bench.fleet_deploy import migration_all, timed_command  # noqa: E402
from bench.fleet_measure import (  # noqa: E402
    PROXY_LOG,
    entry_order_inversions,
    fifo_inversions,
    proxy_times,
    ws_lag_p99,
)
from bench.rush_measure import RssSampler, cpu_by_role, percentile  # noqa: E402
from bench.rush_refs import LOAD, LOAD_PROCESSES, capacity, run_load  # noqa: E402
from bench.rush_setup import seminar_new, students_ensure  # noqa: E402
from booking.models import Seminar, SlotQuota  # noqa: E402
from booking.rush.passes import (  # noqa: E402
    STUDENT_COOKIE,
    VIEW_COOKIE,
    student_cookies_issue,
    student_pass_issue,
)
from deploy.stack import stack_start  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from tenants.services import tenant_create  # noqa: E402

COMPANIES = int(os.environ.get("FLEET_COMPANIES", "1000"))
OPENING = min(int(os.environ.get("FLEET_OPENING", "200")), max(COMPANIES - 1, 1))
STUDENTS = int(os.environ.get("FLEET_STUDENTS", "100000"))
ARRIVAL_S = float(os.environ.get("FLEET_ARRIVAL_S", "20"))
SEATS = int(os.environ.get("FLEET_SEATS", "60"))  # per opening company's seminar (two slots)
ZIPF_S = float(os.environ.get("FLEET_ZIPF_S", "1.0"))
STOCK_DEPLOY = os.environ.get("FLEET_STOCK_DEPLOY", "1") == "1"
RUSH_WORKERS = int(os.environ.get("BENCH_RUSH_WORKERS", "2"))
HTTP_WORKERS = int(os.environ.get("BENCH_HTTP_WORKERS", "2"))
WATCHERS = int(os.environ.get("FLEET_WATCHERS", "5"))  # live-seat websockets per opening company
GIVE_UP_S = float(os.environ.get("FLEET_GIVE_UP_S", "150"))
# Keep-alive connections per load process (students share them; a browser would have its own).
CONNECTIONS = int(os.environ.get("FLEET_CONNECTIONS", "1000"))
PREFIX = "fleet"


logging.getLogger("httpx").setLevel(logging.WARNING)  # the neighbour's probe asks ten times a second


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def companies_ensure(count: int) -> list[Tenant]:
    """fleet-0001 … fleet-NNNN, created once (provisioning clones the template schema)."""
    existing = {t.slug: t for t in Tenant.objects.filter(slug__startswith=f"{PREFIX}-")}
    for number in range(1, count + 1):
        slug = f"{PREFIX}-{number:04d}"
        if slug not in existing:
            existing[slug] = tenant_create(
                name=f"フリート {number}", slug=slug, admin_email=f"admin@{slug}.example.jp"
            ).tenant
            if number % 50 == 0:
                log(f"companies: {number}/{count}")
    return [existing[f"{PREFIX}-{n:04d}"] for n in range(1, count + 1)]


def host_of(tenant: Tenant) -> str:
    return tenant.domains.filter(is_primary=True).first().domain


def zipf_counts(total: int, companies: int) -> list[int]:
    weights = [1 / (rank**ZIPF_S) for rank in range(1, companies + 1)]
    scale = total / sum(weights)
    counts = [max(1, int(w * scale)) for w in weights]
    counts[0] += total - sum(counts)
    return counts


def opening_prepare(opening: list[Tenant], t0: float) -> tuple[list[dict], dict[int, dict]]:
    """A seminar per opening company at t0 and its students (Zipf): the load generator's student entries."""
    from datetime import datetime as dt

    opens_at = dt.fromtimestamp(t0, tz=UTC)
    entries, seminars = [], {}
    for index, (tenant, count) in enumerate(zip(opening, zipf_counts(STUDENTS, len(opening)), strict=True)):
        host = host_of(tenant)
        with schema_context(tenant.schema_name):
            students = students_ensure(count)
            seminar, slots = seminar_new(title="3月1日 会社説明会", slots=2, seats=SEATS, opens_at=opens_at)
            seminars[index] = {"schema": tenant.schema_name, "seminar": seminar.pk}
            at = {"host": host, "seminar": seminar.pk, "slots": slots}
            seminars[index]["watchers"] = [
                {
                    "host": host,
                    "path": f"/ws/seminars/{seminar.pk}/",
                    "tag": index,
                    "rank": rank,
                    "pass": student_pass_issue(
                        schema=tenant.schema_name, candidate_id=pk, rank=rank, season_id=seminar.season_id
                    ),
                }
                for pk, rank in students[:WATCHERS]
            ]
            for pk, rank in students:
                cookies = student_cookies_issue(
                    schema=tenant.schema_name, candidate_id=pk, rank=rank, season_id=seminar.season_id
                )
                entries.append(
                    {
                        "pass": cookies[STUDENT_COOKIE],
                        "view": cookies[VIEW_COOKIE],
                        "page": f"/my/rush/{seminar.pk}/",
                        "rank": rank,
                        "at": at,
                        "tag": index,
                        "offset": random.uniform(0, ARRIVAL_S),
                    }
                )
    return entries, seminars


class PageProbe(threading.Thread):
    """A quiet company's recruiters: its sign-in page asked ten times a second; latencies kept."""

    def __init__(self, base: str, host: str) -> None:
        super().__init__(daemon=True)
        self.base, self.host = base, host
        self.latencies: list[float] = []
        self.errors = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.base, headers={"Host": self.host}, timeout=10) as client:
            while not self.stopping.is_set():
                started = time.monotonic()
                try:
                    if client.get("/login/").status_code >= 500:
                        self.errors += 1
                except httpx.HTTPError:
                    self.errors += 1
                self.latencies.append(time.monotonic() - started)
                self.stopping.wait(max(0.0, 0.1 - (time.monotonic() - started)))


def watchers_start(*, stack, watchers: list[dict]) -> dict:
    """Each opening company's live-seat watchers, connected before the opening (one load process)."""
    tmp = Path(tempfile.mkdtemp(prefix="fleet-watch-"))
    spec = {
        "role": "watchers",
        "port": stack.port,
        "watchers": watchers,
        "connect_rate": 500,
        "until": time.time() + 3600,
        "ready_file": str(tmp / "ready"),
        "stop_file": str(tmp / "stop"),
        "out": str(tmp / "out.json"),
    }
    (tmp / "spec.json").write_text(json.dumps(spec))
    process = subprocess.Popen([sys.executable, LOAD, str(tmp / "spec.json")], cwd=ROOT)
    deadline = time.time() + len(watchers) / 500 + 30
    connected = 0
    while watchers and time.time() < deadline:
        time.sleep(0.5)
        ready = tmp / "ready"
        connected = int(ready.read_text() or 0) if ready.exists() else 0
        if connected >= len(watchers):
            break
    log(f"{connected} of {len(watchers)} watchers connected")
    return {"process": process, "tmp": tmp}


def watchers_stop(watching: dict) -> dict:
    time.sleep(3)  # the last pushes of the last changes
    (watching["tmp"] / "stop").write_text("1")
    watching["process"].wait(60)
    out = watching["tmp"] / "out.json"
    return json.loads(out.read_text()) if out.exists() else {}


def grand_open(*, stack, opening: list[Tenant], neighbour: Tenant) -> dict:
    base = f"http://127.0.0.1:{stack.port}"
    first = opening[0]
    with schema_context(first.schema_name):
        cap_students = students_ensure(min(STUDENTS, 20_000))
    measured = capacity(tenant=first, stack=stack, host=host_of(first), students=cap_students)
    capacity_per_s = measured["decisions_per_s"]
    log(f"capacity: {capacity_per_s:.0f} decisions/s {measured['codes']}")
    t0 = time.time() + 15 + len(opening) * 0.2
    entries, seminars = opening_prepare(opening, t0)
    # Never in the past when the load starts: the watchers connect first (at 500 a second) and the load
    # processes read their students (a first run also creates the students above, which takes a while).
    t0 = max(t0, time.time() + 10 + len(entries) / 20_000 + len(opening) * WATCHERS / 500)
    for seminar in seminars.values():
        with schema_context(seminar["schema"]):
            Seminar.objects.filter(pk=seminar["seminar"]).update(opens_at=datetime.fromtimestamp(t0, tz=UTC))
    random.shuffle(entries)
    specs = [
        {
            "role": "students",
            "base": base,
            "host": "",
            "seminar": 0,
            "slots": [],
            "t0": t0,
            "connections": CONNECTIONS,
            "give_up_s": GIVE_UP_S,
            "students": entries[index::LOAD_PROCESSES],
        }
        for index in range(LOAD_PROCESSES)
    ]
    watchers = [w for seminar in seminars.values() for w in seminar["watchers"]]
    watching = watchers_start(stack=stack, watchers=watchers)
    log(
        f"grand open: {len(opening)} companies, {len(entries)} students over {ARRIVAL_S:.0f} s from T0 (in {t0 - time.time():.0f} s)"
    )
    probe = PageProbe(base, host_of(neighbour))
    probe.start()
    cpu_before, wall_before = cpu_by_role(), time.time()
    with RssSampler(stack.pids()) as sampler:
        results = run_load(specs)
    cpu_after, wall = cpu_by_role(), time.time() - wall_before
    time.sleep(1.5)  # the proxy's log buffer is written at least once a second
    proxied = proxy_times(since=wall_before, until=wall_before + wall)
    probe.stopping.set()
    probe.join(15)
    watched = watchers_stop(watching)
    responses = [r for result in results for r in result["responses"]]
    finals = [s for result in results for s in result["students"]]
    by_company: dict[int, list[float]] = defaultdict(list)
    for response in responses:
        by_company[response[4]].append(response[1])
    decided = ("booked", "full", "not_open", "already_booked")
    overbooked = 0
    for seminar in seminars.values():
        with schema_context(seminar["schema"]):
            overbooked += sum(
                max(0, q.taken - q.seats)
                for q in SlotQuota.objects.filter(slot__seminar_id=seminar["seminar"])
            )
    arrival_per_s = len(entries) / ARRIVAL_S
    entry, fifo = entry_order_inversions(finals), fifo_inversions(finals)
    return {
        "opening_companies": len(opening),
        "students": len(entries),
        "arrival_per_s": round(arrival_per_s, 1),
        "capacity_decisions_per_s": round(capacity_per_s, 1),
        "overload_factor": round(arrival_per_s / max(capacity_per_s, 1e-6), 2),
        "p99_s": round(percentile([r[1] for r in responses], 0.99), 3),
        "proxy_p99_s": round(percentile(proxied, 0.99), 3),
        "proxy_answers": len(proxied),
        "final_answer_p99_s": round(
            percentile([s["answered"] - s["arrived"] for s in finals if s["final"] in decided], 0.99), 2
        ),
        "fifo_inversions": fifo[0],
        "fifo_pairs": fifo[1],
        "fifo_ticket_holders": sum(1 for s in finals if s.get("ticket")),
        "entry_order_inversions": entry[0],
        "entry_order_pairs": entry[1],
        "errors_5xx": sum(1 for r in responses if r[2] >= 500 and r[3] != "busy"),
        "busy_answers": sum(1 for r in responses if r[3] == "busy"),
        "line_answers": sum(1 for r in responses if r[3] == "line"),  # places in the proxy's line
        "timeouts": sum(result["timeouts"] for result in results),
        "unanswered": sum(1 for s in finals if s["final"] not in decided),
        "overbooked": overbooked,
        "worst_company_p99_s": round(max(percentile(v, 0.99) for v in by_company.values()), 3),
        "neighbour_p99_s": round(percentile(probe.latencies, 0.99), 3),
        "neighbour_errors": probe.errors,
        "watchers": len(watchers),
        "watchers_held": watched.get("held", 0),
        "ws_lag_p99_s": ws_lag_p99(watchers, watched, finals),
        "peak_rss_mb": round(sampler.peak),
        "max_open_fds": sampler.max_fds,
        # Where the two cores went while the students were served (the load processes report their own).
        "cpu_s_by_role": {
            **{
                role: round(seconds - cpu_before.get(role, 0.0), 1)
                for role, seconds in cpu_after.items()
                if role != "load generator" and seconds - cpu_before.get(role, 0.0) >= 0.1
            },
            "load generator": round(sum(result.get("cpu_s", 0.0) for result in results), 1),
        },
        "load_wall_s": round(wall, 1),
        # How long requests waited for one of the load processes' own connections (counted in p99_s too).
        "client_pool_wait_p99_s": round(
            percentile([w for result in results for w in result.get("pool_waits", [])], 0.99), 3
        ),
        "client_pool_waited": sum(len(result.get("pool_waits", [])) for result in results),
        "finals": dict(Counter(s["final"] for s in finals)),
        "codes": dict(Counter(r[3] for r in responses)),
    }


def main() -> None:
    from django.core.management import call_command

    call_command("bootstrap", verbosity=0)
    companies = companies_ensure(COMPANIES)
    log(f"{len(companies)} companies")
    result: dict = {"companies": Tenant.objects.exclude(schema_name="public").count()}
    result["noop_deploy_s"] = timed_command("bootstrap")
    log(f"bootstrap, nothing to migrate: {result['noop_deploy_s']} s")
    if STOCK_DEPLOY:
        result["django_tenants_noop_deploy_s"] = timed_command("migrate_schemas", "--noinput")
        log(f"migrate_schemas, nothing to migrate: {result['django_tenants_noop_deploy_s']} s")
    env = dict(os.environ, DATABASE_URL=settings.DATABASE_URL, REDIS_URL=settings.REDIS_URL, DB_POOL_MAX="12")
    PROXY_LOG.unlink(missing_ok=True)  # this run's timings only (nginx opens it afresh)
    stack = stack_start(
        env=env, http_workers=HTTP_WORKERS, ws_processes=1, nginx_workers=2, rush_workers=RUSH_WORKERS
    )
    try:
        result.update(grand_open(stack=stack, opening=companies[:OPENING], neighbour=companies[-1]))
        log(
            f"grand open: {json.dumps({k: v for k, v in result.items() if k not in ('codes',)}, ensure_ascii=False)}"
        )
        result.update(
            migration_all(stack=stack, companies=companies, booker=companies[0], host=host_of(companies[0]))
        )
        log(f"migration: {result['migration_all_s']} s, longest booking {result['booking_blocked_max_s']} s")
    finally:
        stack.stop()
    result["machine"] = (
        f"{os.cpu_count()} vCPU, {round(psutil.virtual_memory().total / 2**30)} GiB, {platform.platform()}"
    )
    result["set_up"] = (
        f"nginx + {RUSH_WORKERS} uvicorn rush processes + gunicorn {HTTP_WORKERS} + 1 daphne; "
        f"{LOAD_PROCESSES} load processes on the same cores"
        + (f" at nice {os.environ['BENCH_LOAD_NICE']}" if os.environ.get("BENCH_LOAD_NICE") else "")
        + f"; Zipf s={ZIPF_S}, {SEATS_NOTE}"
    )
    result["at"] = datetime.now(UTC).isoformat(timespec="seconds")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=2, ensure_ascii=False)
    (out / "fleet-latest.json").write_text(text)
    (out / f"fleet-{datetime.now(UTC):%Y%m%d-%H%M%S}.json").write_text(text)
    print(text)


SEATS_NOTE = f"{SEATS} seats per opening company (2 slots), {WATCHERS} live-seat watchers each"

if __name__ == "__main__":
    main()
