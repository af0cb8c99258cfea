"""Benchmark: false alarms of the watchdog. The booking benchmark's load for 10 minutes, the watchdog running.

The production layout (deploy/stack.py: nginx, gunicorn, the rush path's uvicorn processes, daphne) serves
the rush benchmark's company; the booking benchmark's closed loop (bench/rush_refs.py::capacity: 256
clients booking back to back on a fresh seminar) runs again and again for WATCHDOG_BENCH_SECONDS (600),
while the watchdog, with the deployment's settings (settings.WATCHDOG_*), probes PostgreSQL, Redis, the
channel layer, the web health endpoint through nginx, the rush path's Redis when it is another server, and
every company's requests. Nothing is down: every incident it opens is a false alarm, and the run fails.
Celery and SMTP are not part of this stack, so their probes are left out.
Writes bench/results/watchdog-latest.json (duration_s, probes, incidents_opened, max_probe_latency_s, …).
"""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
os.environ.setdefault("EMAIL_URL", "dummymail://")
os.environ.setdefault("BENCH_CLOSED_SECONDS", "30")  # each load round: 30 s closed loop on a fresh seminar

import django  # noqa: E402

django.setup()

import psutil  # noqa: E402
from django.conf import settings  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from bench.rush_refs import LOAD, LOAD_PROCESSES, capacity  # noqa: E402
from bench.rush_setup import students_ensure, tenant_ensure  # noqa: E402
from deploy.stack import stack_start  # noqa: E402
from incidents.models import Incident, Source  # noqa: E402
from incidents.watchdog.monitor import Config, Watchdog  # noqa: E402
from incidents.watchdog.probes import default_probes  # noqa: E402

SECONDS = float(os.environ.get("WATCHDOG_BENCH_SECONDS", "600"))
STUDENTS = int(os.environ.get("BENCH_STUDENTS", "20000"))
PROBES = ("postgres", "redis", "channels", "web", "rush_redis", "traffic")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def timed(probe, latencies: list[float]):
    """The probe, its check (or per-company check) recording how long each call took."""
    method = "check_tenants" if hasattr(probe, "check_tenants") else "check"
    inner = getattr(probe, method)

    def call():
        started = time.perf_counter()
        try:
            return inner()
        finally:
            latencies.append(time.perf_counter() - started)

    setattr(probe, method, call)
    return probe


def watch(watchdog: Watchdog, stop: threading.Event, opened: list, failed: Counter) -> None:
    while not stop.is_set():
        started = time.monotonic()
        try:
            for action in watchdog.tick():
                if action.kind in ("open", "relapse"):
                    opened.append((action.probe, action.kind, action.at.isoformat()))
        except Exception as error:  # a round that failed is a finding, not the end of the run
            log(f"watchdog round failed: {error!r}")
        for name, state in watchdog.states.items():
            if state.window and state.window[-1][1] and state.window[-1][0] >= started:
                failed[name.split("@")[0]] += 1
        stop.wait(max(0.0, watchdog.config.interval - (time.monotonic() - started)))


def django_path_load(*, port: int, host: str, seconds: float) -> tuple[subprocess.Popen, Path]:
    """Alongside the bookings (which the rush path's own processes answer), the company's pages on Django's
    path for the whole run: students opening a sign-in link (a token read in PostgreSQL) and the notices the
    rush page fetches, 32 clients back to back. These are what the per-company probe counts."""
    tmp = Path(tempfile.mkdtemp(prefix="watchdog-load-"))
    headers = {"Host": host}
    spec = {
        "role": "closed",
        "base": f"http://127.0.0.1:{port}",
        "requests": [
            {"method": "GET", "path": "/my/login/not-a-real-token/", "headers": headers},
            {"method": "GET", "path": "/my/status.json", "headers": headers},
        ],
        "concurrency": 32,
        "seconds": seconds,
        "start": time.time() + 1,
        "out": str(tmp / "out.json"),
    }
    (tmp / "spec.json").write_text(json.dumps(spec))
    return subprocess.Popen([sys.executable, LOAD, str(tmp / "spec.json")], cwd=ROOT), tmp / "out.json"


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))  # the stack stops on the way out
    tenant = tenant_ensure()
    host = tenant.domains.filter(is_primary=True).first().domain
    with schema_context(tenant.schema_name):
        students = students_ensure(STUDENTS)
    env = dict(os.environ, DATABASE_URL=settings.DATABASE_URL, REDIS_URL=settings.REDIS_URL, DB_POOL_MAX="12")
    stack = stack_start(env=env, http_workers=2, ws_processes=1, nginx_workers=2, rush_workers=2)
    latencies: list[float] = []
    opened: list = []
    failed: Counter = Counter()
    probes = default_probes(names=list(PROBES), web_url=f"http://127.0.0.1:{stack.port}/healthz")
    watchdog = Watchdog(probes=[timed(probe, latencies) for probe in probes], config=Config.from_settings())
    began = datetime.now(UTC)
    stop = threading.Event()
    thread = threading.Thread(target=watch, args=(watchdog, stop, opened, failed), daemon=True)
    rounds = []
    try:
        thread.start()
        log(f"watchdog probing {', '.join(p.name for p in probes)}; load for {SECONDS:.0f} s on {host}")
        pages, pages_out = django_path_load(port=stack.port, host=host, seconds=SECONDS)
        started = time.monotonic()
        while time.monotonic() - started < SECONDS:
            figures = capacity(tenant=tenant, stack=stack, host=host, students=students)
            rounds.append(figures)
            log(
                f"load round {len(rounds)}: {figures['decisions_per_s']:.0f} decisions/s, p99 "
                f"{figures['p99_s']:.3f} s; probes {len(latencies)}, failed {dict(failed)}, opened {len(opened)}"
            )
        duration = time.monotonic() - started
        pages.wait(60)
        page_answers = Counter(r[2] for r in json.loads(pages_out.read_text())["responses"])
    finally:
        stop.set()
        thread.join(30)
        stack.stop()
    recorded = Incident.objects.filter(source=Source.WATCHDOG, created_at__gte=began).count()
    result = {
        "duration_s": round(duration, 1),
        "probes": len(latencies),
        "incidents_opened": len(opened) + recorded,
        "max_probe_latency_s": round(max(latencies, default=0.0), 3),
        "failed_probes": dict(failed),
        "opened": opened,
        "incidents_recorded": recorded,
        "probed": [p.name for p in probes],
        "config": {
            key: getattr(watchdog.config, key)
            for key in ("interval", "window_seconds", "fail_after", "fail_ratio", "recover_after")
        },
        "django_path_answers": {str(status): count for status, count in page_answers.items()},
        "load_rounds": len(rounds),
        "load_decisions_per_s": round(sum(r["decisions_per_s"] for r in rounds) / max(len(rounds), 1), 1),
        "load_p99_s_max": round(max((r["p99_s"] for r in rounds), default=0.0), 3),
        "machine": f"{os.cpu_count()} vCPU, {round(psutil.virtual_memory().total / 2**30)} GiB, {platform.platform()}",
        "load_average_1m": round(os.getloadavg()[0], 2),
        "set_up": f"nginx + 2 uvicorn (/my/rush/) + gunicorn 2 sync workers + 1 daphne; {LOAD_PROCESSES} load "
        "processes (256 clients booking) + 1 (32 clients on Django's path) and the watchdog on the same cores",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    log(json.dumps({k: v for k, v in result.items() if k != "opened"}, ensure_ascii=False))
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=2, ensure_ascii=False)
    (out / "watchdog-latest.json").write_text(text)
    (out / f"watchdog-{datetime.now(UTC):%Y%m%d-%H%M%S}.json").write_text(text)
    if result["incidents_opened"]:
        sys.exit(f"false alarms: the watchdog opened {result['incidents_opened']} incident(s): {opened}")


if __name__ == "__main__":
    main()
