"""Benchmark: seconds to provision one company as the database fills up: template DDL replay vs clone_schema.

`make bench-provision` (SAAS_TESTING=1). It runs in a database of its own on the same server
(BENCH_DATABASE, default saas_bench_provision, created fresh and dropped at the end unless
BENCH_KEEP_DATABASE=1), so every level is measured from an empty start. For each level in BENCH_LEVELS
(companies already in the database, default 0,500,1000) it provisions filler companies up to that level,
then provisions and deletes BENCH_RUNS companies with each method, alternating so that both see the same
load: the template's DDL replayed from pg_dump (used) and django-tenants' clone_schema() (the previous
method). At the first level it also migrates a fresh schema, the method neither uses.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
os.environ.setdefault("EMAIL_URL", "dummymail://")  # invitations are not the subject here

import psycopg  # noqa: E402

from saas import embedded  # noqa: E402

DATABASE = os.environ.get("BENCH_DATABASE", "saas_bench_provision")
KEEP_DATABASE = os.environ.get("BENCH_KEEP_DATABASE") == "1"


def database_url_fresh() -> tuple[str, str]:
    """(URL of a freshly created bench database, URL of the server's maintenance database)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(embedded.environment()["DATABASE_URL"])
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{DATABASE}"')
    return urlunsplit(parts._replace(path=f"/{DATABASE}")), maintenance


BENCH_URL, MAINTENANCE_URL = database_url_fresh()
os.environ["DATABASE_URL"] = BENCH_URL

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import override_settings  # noqa: E402
from django_tenants.utils import get_public_schema_name  # noqa: E402

from tenants.cloning import _scripts, template_script  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from tenants.services import tenant_create, tenant_delete  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "5"))
LEVELS = [int(level) for level in os.environ.get("BENCH_LEVELS", "0,500,1000").split(",")]
RESULTS = ROOT / "bench" / "results" / "provision-latest.json"


def companies() -> int:
    return Tenant.objects.exclude(schema_name=get_public_schema_name()).count()


def fill(level: int) -> list[float]:
    """Provision filler companies until the database holds `level` companies."""
    seconds: list[float] = []
    missing = level - companies()
    while len(seconds) < missing:
        slug = f"fill-{companies():04d}"
        created = tenant_create(
            name=f"充填企業 {slug[5:]}", slug=slug, admin_email=f"admin@{slug}.example.jp"
        )
        seconds.append(created.seconds)
        if len(seconds) % 100 == 0:
            print(
                f"  filler {len(seconds)}/{missing}: median {statistics.median(seconds[-100:]):.3f} s",
                flush=True,
            )
    return seconds


def provision_once(slug: str) -> float:
    stale = Tenant.objects.filter(slug=slug).first()
    if stale is not None:
        tenant_delete(tenant=stale, confirm_slug=slug, export_directory=Path("/tmp"))
    started = time.perf_counter()
    created = tenant_create(name=f"Bench {slug}", slug=slug, admin_email=f"admin@{slug}.example.jp")
    seconds = time.perf_counter() - started
    tenant_delete(tenant=created.tenant, confirm_slug=slug, export_directory=Path("/tmp"))
    return seconds


def machine() -> str:
    try:
        kilobytes = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        memory = f", {round(kilobytes / 1024**2)} GiB"
    except (OSError, IndexError, ValueError):
        memory = ""
    return f"{os.cpu_count()} vCPU{memory}, {platform.machine()}, Python {platform.python_version()}"


def figures(values: list[float]) -> dict:
    return {
        "median_s": round(statistics.median(values), 3),
        "max_s": round(max(values), 3),
        "runs": len(values),
    }


def main() -> None:
    call_command("bootstrap", verbosity=0)
    script = template_script()
    if script is None:
        sys.exit("no pg_dump at least as new as the server: tenant_create would fall back to clone_schema")
    levels = []
    for number, level in enumerate(LEVELS):
        filler = fill(level)
        dump, clone = [], []
        for run in range(RUNS):
            dump.append(provision_once(f"bench-dump-{run}"))
            with override_settings(TENANT_SCHEMA_FROM_DUMP=False):
                clone.append(provision_once(f"bench-clone-{run}"))
        # Once per process (and after each template migration): pg_dump reads the whole catalog.
        _scripts.clear()
        started = time.perf_counter()
        template_script()
        script_s = time.perf_counter() - started
        row = {
            "companies": companies(),
            "script_read_s": round(script_s, 3),
            "dump": figures(dump),
            "clone": figures(clone),
            "speedup": round(statistics.median(clone) / statistics.median(dump), 1),
        }
        if filler:
            row["filler"] = {"created": len(filler), **figures(filler)}
        if number == 0:
            with override_settings(TENANT_CREATION_FAKES_MIGRATIONS=False, TENANT_SCHEMA_FROM_DUMP=False):
                row["migrate"] = figures([provision_once(f"bench-migrate-{run}") for run in range(RUNS)])
        levels.append(row)
        print(
            f"level {row['companies']:>5}: dump {row['dump']['median_s']:.3f} s, clone "
            f"{row['clone']['median_s']:.3f} s ({row['speedup']}x); template read once {row['script_read_s']} s",
            flush=True,
        )
    result = {
        "runs": RUNS,
        "levels": levels,
        "template": {"tables": script.tables, "sequences": script.sequences},
        "database": settings.DATABASES["default"]["NAME"],
        "machine": machine(),
        "ran_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    print()
    print(
        f"{'companies':>10}{'dump median':>14}{'dump max':>10}{'clone median':>14}{'clone max':>11}{'speed-up':>10}"
    )
    for row in levels:
        print(
            f"{row['companies']:>10}{row['dump']['median_s']:>14.3f}{row['dump']['max_s']:>10.3f}"
            f"{row['clone']['median_s']:>14.3f}{row['clone']['max_s']:>11.3f}{row['speedup']:>9}x"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")


def database_drop() -> None:
    from django.db import connections

    connections.close_all()
    with psycopg.connect(MAINTENANCE_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


if __name__ == "__main__":
    try:
        main()
    finally:
        if not KEEP_DATABASE:
            database_drop()
