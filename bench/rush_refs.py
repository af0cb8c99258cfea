"""The rush benchmark's references, measured the same way in the same run: our booking path, the baseline and
the ceiling, each driven closed loop by the same load processes (bench/rush_load.py).

Imported by bench/rush.py once Django is set up.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django_tenants.utils import schema_context

from bench.rush_measure import percentile
from bench.rush_setup import seminar_new
from booking.models import MyPageToken, Seminar, SlotQuota
from booking.rush.passes import student_pass_issue
from saas.processes import daphne_start, process_stop
from tenants.models import Tenant

ROOT = Path(__file__).resolve().parent.parent
LOAD_PROCESSES = int(os.environ.get("BENCH_LOAD_PROCESSES", "2"))
CLOSED_SECONDS = float(os.environ.get("BENCH_CLOSED_SECONDS", "8"))
LOAD = str(ROOT / "bench" / "rush_load.py")


def run_load(specs: list[dict]) -> list[dict]:
    tmp = Path(tempfile.mkdtemp(prefix="rush-load-"))
    processes = []
    for index, spec in enumerate(specs):
        spec = dict(spec, out=str(tmp / f"out-{index}.json"))
        path = tmp / f"spec-{index}.json"
        path.write_text(json.dumps(spec))
        processes.append((subprocess.Popen([sys.executable, LOAD, str(path)], cwd=ROOT), spec["out"]))
    results = []
    for process, out in processes:
        process.wait()
        results.append(json.loads(Path(out).read_text()))
    return results


def closed_loop(*, base: str, requests: list[dict], concurrency: int, processes: int) -> dict:
    start = time.time() + 2
    share = max(concurrency // processes, 1)
    specs = [
        {
            "role": "closed",
            "base": base,
            "requests": requests[index::processes] or requests,
            "concurrency": share,
            "seconds": CLOSED_SECONDS,
            "start": start,
        }
        for index in range(processes)
    ]
    results = run_load(specs)
    responses = [r for result in results for r in result["responses"]]
    return {"responses": responses, "seconds": CLOSED_SECONDS}


def closed_loop_figures(result: dict, *, schema: str, seminar: Seminar) -> dict:
    """Decisions per second, answers by code, p99 and overbooked seats of a closed-loop run on `seminar`."""
    codes = Counter(r[3] for r in result["responses"])
    decisions = sum(codes[c] for c in ("booked", "full", "not_open", "already_booked"))
    with schema_context(schema):
        overbooked = sum(max(0, q.taken - q.seats) for q in SlotQuota.objects.filter(slot__seminar=seminar))
    return {
        "decisions_per_s": decisions / result["seconds"],
        "codes": dict(codes),
        "p99_s": percentile([r[1] for r in result["responses"]], 0.99),
        "overbooked": overbooked,
    }


def ceiling(*, stack, host: str) -> float:
    result = closed_loop(
        base=f"http://127.0.0.1:{stack.port}",
        requests=[{"method": "GET", "path": "/my/rush/health", "headers": {"Host": host}}],
        concurrency=256,
        processes=LOAD_PROCESSES,
    )
    ok = sum(1 for r in result["responses"] if r[2] == 200)
    return ok / result["seconds"]


def capacity(*, tenant: Tenant, stack, host: str, students: list[tuple[int, str]]) -> dict:
    """Our booking path driven exactly like the ceiling and the baseline: closed loop, same clients.

    A fresh seminar of the default layout opens now; distinct students book back to back, so the mix is
    the rush's own (the first 900 win, the rest hear "full" or "not open yet").
    """
    schema = tenant.schema_name
    with schema_context(schema):
        seminar, slots = seminar_new(title="容量", slots=3, seats=300, opens_at=timezone.now())
        Seminar.objects.filter(pk=seminar.pk).update(waiting_room="off")
        requests = [
            {
                "method": "POST",
                "path": f"/my/rush/{seminar.pk}/book",
                "headers": {
                    "Host": host,
                    "Cookie": f"rush_pass={student_pass_issue(schema=schema, candidate_id=pk, rank=rank, season_id=seminar.season_id)}",
                    "Content-Type": "application/json",
                    "X-Requested-With": "rush",
                },
                "body": json.dumps({"slot": random.choice(slots)}),
            }
            for pk, rank in students
        ]
    result = closed_loop(
        base=f"http://127.0.0.1:{stack.port}", requests=requests, concurrency=256, processes=LOAD_PROCESSES
    )
    return closed_loop_figures(result, schema=schema, seminar=seminar)


def baseline(*, tenant: Tenant, host: str, students: list[tuple[int, str]]) -> dict:
    """The plain view under one daphne with default settings, closed loop, same seminar layout."""
    from django.contrib.sessions.backends.db import SessionStore

    from booking.services.mypage import SESSION_KEY

    with schema_context(tenant.schema_name):
        seminar, slots = seminar_new(title="ベースライン", slots=3, seats=300, opens_at=timezone.now())
        sample = [s for s in students if s[1] != "D"][:3000]
        tokens = MyPageToken.objects.bulk_create(
            MyPageToken(
                candidate_id=pk,
                token_hash=os.urandom(32).hex(),
                expires_at=timezone.now() + timedelta(days=1),
            )
            for pk, _ in sample
        )
        cookies = []
        for token in tokens:
            store = SessionStore()
            store[SESSION_KEY] = token.pk
            store.create()
            cookies.append(f"{settings.SESSION_COOKIE_NAME}={store.session_key}")
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="bench.baseline.settings",
        PYTHONPATH=str(ROOT),
        DATABASE_URL=settings.DATABASE_URL,
        REDIS_URL=settings.REDIS_URL,
    )
    port, daphne = daphne_start(env=env)
    try:
        requests = [
            {
                "method": "POST",
                "path": "/baseline/book/",
                "headers": {
                    "Host": host,
                    "Cookie": cookie,
                    "Content-Type": "application/x-www-form-urlencoded",
                },
                "body": f"slot={random.choice(slots)}",
            }
            for cookie in cookies
        ]
        result = closed_loop(base=f"http://127.0.0.1:{port}", requests=requests, concurrency=64, processes=1)
    finally:
        process_stop(daphne)
    return closed_loop_figures(result, schema=tenant.schema_name, seminar=seminar)
