"""`make bench-fleet`'s deploy half: a manage.py command timed, and a real migration deployed to every company.

Imported by bench/fleet.py after django.setup().
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context

from bench.rush_setup import seminar_new, students_ensure
from booking.models import Seminar
from booking.rush.passes import student_pass_issue
from saas.processes import ROOT
from tenants.models import Tenant


def timed_command(*args: str, env: dict[str, str] | None = None) -> float:
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )
    return round(time.monotonic() - started, 1)


def migration_all(*, stack, companies: list[Tenant], booker: Tenant, host: str) -> dict:
    """A real migration (bench/fleet_migration: a column and an index on the candidates table) deployed to
    every company by `manage.py bootstrap` — its plan, parallel workers, lock_timeout and retries — while
    one client books back to back; then the column and the migration's record go again."""
    base = f"http://127.0.0.1:{stack.port}"
    with schema_context(booker.schema_name):
        students = students_ensure(2000)
        seminar, slots = seminar_new(title="移行中の予約", slots=1, seats=5000, opens_at=datetime.now(UTC))
        Seminar.objects.filter(pk=seminar.pk).update(waiting_room="off")
        passes = [
            student_pass_issue(
                schema=booker.schema_name, candidate_id=pk, rank=rank, season_id=seminar.season_id
            )
            for pk, rank in students
        ]
    waits: list[float] = []
    stop = threading.Event()

    def book() -> None:
        with httpx.Client(base_url=base, headers={"Host": host}, timeout=30) as client:
            for value in passes:
                if stop.is_set():
                    return
                started = time.monotonic()
                client.post(
                    f"/my/rush/{seminar.pk}/book",
                    content=json.dumps({"slot": slots[0]}),
                    headers={
                        "Cookie": f"rush_pass={value}",
                        "X-Requested-With": "rush",
                        "Content-Type": "application/json",
                    },
                )
                waits.append(time.monotonic() - started)

    booking_thread = threading.Thread(target=book, daemon=True)
    booking_thread.start()
    time.sleep(1)
    seconds = timed_command("bootstrap", env={"SAAS_BENCH_FLEET_MIGRATION": "1"})
    stop.set()
    booking_thread.join(30)
    applied = _fleet_migration_applied(companies)
    _fleet_migration_undo(companies)
    connection.close()
    return {
        "migration_all_s": round(seconds, 1),
        "migration_applied_schemas": applied,
        "booking_blocked_max_s": round(max(waits, default=0), 3),
        "bookings_during_migration": len(waits),
    }


def _fleet_migration_applied(companies: list[Tenant]) -> int:
    """How many companies' schemas have the migration recorded and the column present."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM information_schema.columns"
            " WHERE table_name = 'candidates_candidate' AND column_name = 'bench_fleet_note'"
            " AND table_schema = ANY(%s)",
            [[tenant.schema_name for tenant in companies]],
        )
        return int(cursor.fetchone()[0])


def _fleet_migration_undo(companies: list[Tenant]) -> None:
    """Drop the column and forget the migration in every schema, so the next run migrates again."""
    from django.db import connections

    def undo(schema: str) -> None:
        try:
            with connections["default"].cursor() as cursor:
                cursor.execute(
                    f'ALTER TABLE "{schema}".candidates_candidate DROP COLUMN IF EXISTS bench_fleet_note'
                )
                cursor.execute(f"DELETE FROM \"{schema}\".django_migrations WHERE app = 'fleet_migration'")
        finally:
            connections["default"].close()

    schemas = [tenant.schema_name for tenant in companies] + [settings.TENANT_BASE_SCHEMA]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(undo, schemas))
