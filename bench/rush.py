"""Benchmark: the booking rush, end to end on this machine, with the baseline and the ceiling in the same run.

Default scenario: 20,000 students arrive over 10 s (each loads the rush page and books), one seminar of 3
slots x 300 seats split by rank (A 40 %, B 40 %, C 20 %; rank D not yet open), while 10,000 websockets watch
the counts. Then the "big release": 10 slots x 1,000 seats, 20,000 students. Served as in production
(deploy/stack.py: nginx, gunicorn for HTTP, daphne for websockets). The baseline is bench/baseline/ under one
daphne with default settings; the ceiling is /my/rush/health on the same stack as the booking path.
Writes bench/results/rush-latest.json and a dated copy.
"""

from __future__ import annotations

import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
os.environ.setdefault("EMAIL_URL", "dummymail://")

import django  # noqa: E402

django.setup()

import psutil  # noqa: E402
from django.conf import settings  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from bench.rush_load import lag_of  # noqa: E402
from bench.rush_measure import RssSampler, cpu_by_role, percentile, print_table, quiet_wait  # noqa: E402
from bench.rush_refs import LOAD, LOAD_PROCESSES, baseline, capacity, ceiling, run_load  # noqa: E402
from bench.rush_setup import RANK_SHARE, seminar_new, students_ensure, tenant_ensure  # noqa: E402
from booking.models import Booking, BookingStatus, Seminar, SlotQuota  # noqa: E402
from booking.rush.passes import STUDENT_COOKIE, VIEW_COOKIE, student_cookies_issue  # noqa: E402
from deploy.stack import stack_start  # noqa: E402
from tenants.models import Tenant  # noqa: E402

STUDENTS = int(os.environ.get("BENCH_STUDENTS", "20000"))
ARRIVAL_S = float(os.environ.get("BENCH_ARRIVAL_S", "10"))
WATCHERS = int(os.environ.get("BENCH_WATCHERS", "10000"))
HTTP_WORKERS = int(os.environ.get("BENCH_HTTP_WORKERS", "2"))
RUSH_WORKERS = int(os.environ.get("BENCH_RUSH_WORKERS", "2"))
WS_PROCESSES = int(os.environ.get("BENCH_WS_PROCESSES", "2"))


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def scenario(
    *,
    name: str,
    tenant: Tenant,
    stack,
    host: str,
    students: list[tuple[int, str]],
    slots: int,
    seats: int,
    watchers: int,
) -> dict:
    schema = tenant.schema_name
    with schema_context(schema):
        seminar, slot_ids = seminar_new(
            title=f"説明会 {name}", slots=slots, seats=seats, opens_at=timezone.now() + timedelta(days=7)
        )
        # The benchmark's students and seminars are all in the company's default season.
        # Each student's browser holds the pass and its view token, as the My Page hands them out.
        cookies = {
            pk: student_cookies_issue(schema=schema, candidate_id=pk, rank=rank, season_id=seminar.season_id)
            for pk, rank in students
        }
        passes = {pk: one[STUDENT_COOKIE] for pk, one in cookies.items()}
        ranks = dict(students)
    pids = stack.pids()
    tmp = Path(tempfile.mkdtemp(prefix="rush-watch-"))
    watch_process = None
    watch_out = tmp / "watchers.json"
    horizon = ARRIVAL_S + 45
    if watchers:
        ready_file = tmp / "ready"
        spec = {
            "role": "watchers",
            "host": host,
            "port": stack.port,
            "path": f"/ws/seminars/{seminar.pk}/",
            "watchers": [{"pass": passes[pk]} for pk, _ in students[:watchers]],
            "connect_rate": 700,
            "until": time.time() + 10_000,  # replaced below once T0 is known
            "ready_file": str(ready_file),
            "stop_file": str(tmp / "stop"),
            "out": str(watch_out),
        }
        # The watchers stay until the students are done; T0 is set once they are connected.
        spec["until"] = time.time() + watchers / 700 + 30 + horizon
        (tmp / "watch.json").write_text(json.dumps(spec))
        watch_process = subprocess.Popen([sys.executable, LOAD, str(tmp / "watch.json")], cwd=ROOT)
        deadline = time.time() + watchers / 700 + 30
        connected = 0
        while time.time() < deadline:
            time.sleep(1)
            connected = int(ready_file.read_text() or 0) if ready_file.exists() else 0
            if connected >= watchers * 0.999:
                break
        log(f"{name}: {connected} websockets open")
    t0 = time.time() + 4
    with schema_context(schema):
        Seminar.objects.filter(pk=seminar.pk).update(opens_at=datetime.fromtimestamp(t0, tz=UTC))
    order = list(students)
    random.shuffle(order)
    specs = []
    for index in range(LOAD_PROCESSES):
        mine = order[index::LOAD_PROCESSES]
        specs.append(
            {
                "role": "students",
                "base": f"http://127.0.0.1:{stack.port}",
                "host": host,
                "seminar": seminar.pk,
                "slots": slot_ids,
                "t0": t0,
                "connections": 1500,
                "students": [
                    {
                        "pass": passes[pk],
                        "view": cookies[pk][VIEW_COOKIE],
                        "page": f"/my/rush/{seminar.pk}/",
                        "rank": ranks[pk],
                        "offset": random.uniform(0, ARRIVAL_S),
                    }
                    for pk, _ in mine
                ],
            }
        )
    log(f"{name}: {len(students)} students arrive over {ARRIVAL_S:.0f} s from T0")
    cpu_before = cpu_by_role()
    with RssSampler(pids) as rss:
        results = run_load(specs)
        if watch_process is not None:
            time.sleep(3)  # the last pushes of the last changes
            (tmp / "stop").write_text("1")
            watch_process.wait()
    cpu_after = cpu_by_role()
    cpu = {role: round(cpu_after.get(role, 0) - cpu_before.get(role, 0), 1) for role in cpu_after}
    load_cpu = sum(result.get("cpu_s", 0) for result in results)
    if watchers and watch_out.exists():
        load_cpu += json.loads(watch_out.read_text()).get("cpu_s", 0)
    cpu["load generator"] = round(load_cpu, 1)
    responses = [r for result in results for r in result["responses"]]
    finals = [s for result in results for s in result["students"]]
    codes = Counter(r[3] for r in responses)
    statuses = Counter(r[2] for r in responses)
    decided = [r for r in responses if r[3] in ("booked", "full", "not_open", "already_booked")]
    last_decision = max((r[0] + r[1] for r in decided), default=t0)
    booked = [s["booked"] for s in finals if s["final"] == "booked"]
    # A student whose "booked" answer was lost in transit (a client timeout) and who asked again hears
    # "already booked": that student holds a seat too.
    held_after_retry = sum(1 for s in finals if s["final"] == "already_booked")
    booked_times = sorted(r[0] + r[1] for r in responses if r[3] == "booked")
    with schema_context(schema):
        quotas = list(
            SlotQuota.objects.filter(slot__seminar=seminar).values("slot_id", "rank", "seats", "taken")
        )
        in_db = Booking.objects.filter(seminar=seminar, status=BookingStatus.ACTIVE).count()
        per_slot_rank: dict[str, int] = {}
        for row in Booking.objects.filter(seminar=seminar, status=BookingStatus.ACTIVE).values(
            "slot_id", "quota__rank"
        ):
            key = f"{row['slot_id']}:{row['quota__rank']}"
            per_slot_rank[key] = per_slot_rank.get(key, 0) + 1
        from booking.seatcounter import SeatCounter

        reconcile = SeatCounter(seminar_id=seminar.pk, schema=schema).reconcile()
    overbooked = sum(max(0, q["taken"] - q["seats"]) for q in quotas) + sum(
        max(0, per_slot_rank.get(f"{q['slot_id']}:{q['rank']}", 0) - q["seats"]) for q in quotas
    )
    lag = {}
    if watchers and watch_out.exists():
        watched = json.loads(watch_out.read_text())
        frames = watched["frames"]
        # A booking changes what the watchers of the booking student's rank see (the default layout has no
        # shared pool); the lag is measured over those watchers, for a sample of the bookings.
        lags = []
        for rank, _ in RANK_SHARE:
            commits = sorted(
                s["booked"][0]
                for s in finals
                if s["final"] == "booked" and s["rank"] == rank and s["booked"][0]
            )
            if not commits:
                continue
            sample = commits if len(commits) <= 60 else [commits[i * len(commits) // 60] for i in range(60)]
            watching = [
                f
                for f, (_, watcher_rank) in zip(frames, students[:watchers], strict=False)
                if watcher_rank == rank
            ]
            lags.extend(lag_of(watching, sample))
        finite = [x for x in lags if x != float("inf")]
        lag = {
            "ws_lag_p99_s": round(percentile(lags, 0.99), 3) if lags else None,
            "ws_within_1s": round(sum(1 for x in finite if x <= 1.0) / max(len(lags), 1), 4),
            "ws_missed": len(lags) - len(finite),
            # Open from before T0 until after the last push.
            "websockets": watched["held"],
        }
    latencies = [r[1] for r in responses]
    return {
        "students": len(students),
        "answers": dict(codes),
        "finals": dict(Counter(s["final"] for s in finals)),
        "statuses": {str(k): v for k, v in statuses.items()},
        "decisions": len(decided),
        "decisions_per_s": round(len(decided) / max(last_decision - t0, 1e-6), 1),
        "p50_s": round(percentile(latencies, 0.5), 4),
        "p95_s": round(percentile(latencies, 0.95), 4),
        "p99_s": round(percentile(latencies, 0.99), 4),
        "final_answer_p99_s": round(percentile([s["answered"] - s["arrived"] for s in finals], 0.99), 3),
        # The deliberate "busy" answers (503 with Retry-After: the proxy's rush budgets, a company over its
        # share of a process) are counted apart, as bench/fleet.py does; every other 5xx is an error.
        "errors_5xx": sum(v for k, v in statuses.items() if k >= 500) - codes.get("busy", 0),
        "busy_answers": codes.get("busy", 0),
        "timeouts": codes.get("timeout", 0),
        "unanswered": sum(1 for s in finals if s["final"] in ("unanswered", "timeout", "client_error")),
        "booked_answers": len(booked),
        "already_booked_finals": held_after_retry,
        "booked_in_db": in_db,
        "overbooked": overbooked,
        "seats": sum(q["seats"] for q in quotas),
        "per_slot_rank": per_slot_rank,
        "reconcile": reconcile,
        "confirmed_per_s": round(len(booked_times) / max(booked_times[-1] - t0, 1e-6), 1)
        if booked_times
        else 0,
        "peak_rss_mb": round(rss.peak, 1),
        "cpu_seconds": dict(sorted(cpu.items(), key=lambda item: -item[1])),
        "wall_seconds": round(time.time() - t0, 1),
        **lag,
    }


def main() -> None:
    tenant = tenant_ensure()
    host = tenant.domains.filter(is_primary=True).first().domain
    with schema_context(tenant.schema_name):
        students = students_ensure(STUDENTS)
    log(f"tenant {host}, {len(students)} students")
    base = baseline(tenant=tenant, host=host, students=students)
    log(f"baseline: {base['decisions_per_s']:.0f} decisions/s {base['codes']}")
    env = dict(
        os.environ,
        DATABASE_URL=settings.DATABASE_URL,
        REDIS_URL=settings.REDIS_URL,
        DB_POOL_MAX="12",  # at least the rush threads (8 + 2) of a uvicorn worker
    )
    stack = stack_start(
        env=env,
        http_workers=HTTP_WORKERS,
        ws_processes=WS_PROCESSES,
        nginx_workers=4,
        rush_workers=RUSH_WORKERS,
    )
    try:
        ceiling_per_s = ceiling(stack=stack, host=host)
        log(f"ceiling: {ceiling_per_s:.0f} answers/s")
        ours = capacity(tenant=tenant, stack=stack, host=host, students=students)
        log(f"ours: {ours['decisions_per_s']:.0f} decisions/s {ours['codes']}")
        default = scenario(
            name="default",
            tenant=tenant,
            stack=stack,
            host=host,
            students=students,
            slots=3,
            seats=300,
            watchers=WATCHERS,
        )
        log(
            f"default: {json.dumps({k: v for k, v in default.items() if k != 'per_slot_rank'}, ensure_ascii=False)}"
        )
        log(f"servers quiet after {quiet_wait(stack.pids()):.0f} s")
        big = scenario(
            name="big",
            tenant=tenant,
            stack=stack,
            host=host,
            students=students,
            slots=10,
            seats=1000,
            watchers=0,
        )
        log(f"big: {json.dumps({k: v for k, v in big.items() if k != 'per_slot_rank'}, ensure_ascii=False)}")
    finally:
        stack.stop()
    result = {
        "students": default["students"],
        "decisions_per_s": round(ours["decisions_per_s"], 1),
        "baseline_decisions_per_s": round(base["decisions_per_s"], 1),
        "ratio": round(ours["decisions_per_s"] / max(base["decisions_per_s"], 1e-6), 1),
        "ceiling_per_s": round(ceiling_per_s, 1),
        "ceiling_fraction": round(ours["decisions_per_s"] / max(ceiling_per_s, 1e-6), 2),
        "scenario_decisions_per_s": default["decisions_per_s"],
        "p50_s": default["p50_s"],
        "p95_s": default["p95_s"],
        "p99_s": default["p99_s"],
        "final_answer_p99_s": default["final_answer_p99_s"],
        "errors_5xx": default["errors_5xx"] + big["errors_5xx"],
        "busy_answers": default["busy_answers"] + big["busy_answers"],
        "timeouts": default["timeouts"] + big["timeouts"],
        "unanswered": default["unanswered"] + big["unanswered"],
        "overbooked": default["overbooked"] + big["overbooked"] + base["overbooked"] + ours["overbooked"],
        "booked_answers": default["booked_answers"],
        "booked_in_db": default["booked_in_db"],
        "big_confirmed_per_s": big["confirmed_per_s"],
        "big_booked_answers": big["booked_answers"],
        "big_booked_in_db": big["booked_in_db"],
        "websockets": default.get("websockets", 0),
        "ws_lag_p99_s": default.get("ws_lag_p99_s"),
        "ws_within_1s": default.get("ws_within_1s"),
        "peak_rss_mb": max(default["peak_rss_mb"], big["peak_rss_mb"]),
        "default": default,
        "big": big,
        "baseline": base,
        "capacity": ours,
        "machine": f"{os.cpu_count()} vCPU, {round(psutil.virtual_memory().total / 2**30)} GiB, {platform.platform()}",
        "set_up": f"nginx + {RUSH_WORKERS} uvicorn processes (/my/rush/) + gunicorn {HTTP_WORKERS} sync workers "
        f"+ {WS_PROCESSES} daphne; "
        f"{LOAD_PROCESSES} load processes on the same cores",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    print_table(result)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=2, ensure_ascii=False)
    (out / "rush-latest.json").write_text(text)
    (out / f"rush-{datetime.now(UTC):%Y%m%d-%H%M%S}.json").write_text(text)


if __name__ == "__main__":
    main()
