"""Benchmark: the rush page (`GET /my/rush/<seminar>/`) against one uvicorn rush process, closed loop, served
on the threads (`RUSH_PAGES_ON_LOOP=0`, the way before the event-loop page) and on the event loop, in the
same run, by the same load processes as the rush benchmark's references (bench/rush_refs.py).

Every request carries its own student's sealed pass (ranks A-D: four pages), so each answer is the real
decision: pass read, revocation asked of Redis, seminar state, the rank's cached body. Writes
bench/results/rush-pages-latest.json. Run: `SAAS_TESTING=1 .venv/bin/python bench/rush_pages.py`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
os.environ.setdefault("EMAIL_URL", "dummymail://")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from bench.rush_measure import percentile  # noqa: E402
from bench.rush_refs import LOAD_PROCESSES, closed_loop  # noqa: E402
from bench.rush_setup import seminar_new, students_ensure, tenant_ensure  # noqa: E402
from booking.rush.passes import student_pass_issue  # noqa: E402
from deploy import layout  # noqa: E402
from saas.processes import LOOPBACK, free_port, process_stop, wait_for_port  # noqa: E402

STUDENTS = int(os.environ.get("BENCH_PAGE_STUDENTS", "2000"))
CONCURRENCY = int(os.environ.get("BENCH_PAGE_CONCURRENCY", "256"))
VENV_BIN = Path(sys.executable).parent


def serve(*, on_loop: bool) -> tuple[int, subprocess.Popen]:
    """One rush process as in production (deploy/layout.py), pages on the loop or on the threads."""
    port = free_port()
    env = dict(
        os.environ,
        DATABASE_URL=settings.DATABASE_URL,
        REDIS_URL=settings.REDIS_URL,
        DB_POOL_MAX="12",
        PYTHONPATH=str(ROOT),
        RUSH_PAGES_ON_LOOP="1" if on_loop else "0",
    )
    command = layout.uvicorn_rush_command(host=LOOPBACK, port=port, bin_dir=VENV_BIN)
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    wait_for_port(port, process)
    return port, process


def warm(*, port: int, requests: list[dict]) -> None:
    """One page of each rank first (the company, the seminar and each page loaded once, as after start-up)."""
    for item in requests[:8]:
        call = urllib.request.Request(f"http://{LOOPBACK}:{port}{item['path']}", headers=item["headers"])
        with urllib.request.urlopen(call, timeout=30) as answer:
            assert answer.status == 200, answer.status


def figures(result: dict) -> dict:
    responses = result["responses"]
    pages = [r for r in responses if r[2] == 200]
    return {
        "pages_per_s": round(len(pages) / result["seconds"], 1),
        "codes": dict(Counter(r[3] if r[2] != 200 else "page" for r in responses)),
        "p50_s": round(percentile([r[1] for r in pages], 0.50), 4) if pages else None,
        "p99_s": round(percentile([r[1] for r in pages], 0.99), 4) if pages else None,
    }


def main() -> None:
    tenant = tenant_ensure()
    host = tenant.domains.filter(is_primary=True).first().domain
    schema = tenant.schema_name
    with schema_context(schema):
        students = students_ensure(STUDENTS)
        seminar, _ = seminar_new(
            title="ページ", slots=3, seats=300, opens_at=timezone.now() + timedelta(days=7)
        )
        requests = [
            {
                "method": "GET",
                "path": f"/my/rush/{seminar.pk}/",
                "headers": {
                    "Host": host,
                    "Accept": "text/html",
                    "Cookie": "rush_pass="
                    + student_pass_issue(
                        schema=schema, candidate_id=pk, rank=rank, season_id=seminar.season_id
                    ),
                },
            }
            for pk, rank in students
        ]
    out: dict = {
        "at": time.strftime("%Y-%m-%d %H:%M:%S"),
        "cpus": os.cpu_count(),
        "students": len(students),
        "concurrency": CONCURRENCY,
        "load_processes": LOAD_PROCESSES,
    }
    for name, on_loop in (("threads", False), ("loop", True)):
        port, process = serve(on_loop=on_loop)
        try:
            warm(port=port, requests=requests)
            result = closed_loop(
                base=f"http://{LOOPBACK}:{port}",
                requests=requests,
                concurrency=CONCURRENCY,
                processes=LOAD_PROCESSES,
            )
        finally:
            process_stop(process)
        out[name] = figures(result)
        print(f"{name}: {json.dumps(out[name], ensure_ascii=False)}", flush=True)
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "rush-pages-latest.json").write_text(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
