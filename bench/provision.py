"""Benchmark: seconds to provision one tenant, cloning the template schema vs migrating a fresh schema."""

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

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.test import override_settings  # noqa: E402

from tenants.models import Tenant  # noqa: E402
from tenants.services import tenant_create, tenant_delete  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "5"))


def _provision(prefix: str, index: int) -> float:
    slug = f"{prefix}{index}"
    stale = Tenant.objects.filter(slug=slug).first()
    if stale is not None:
        tenant_delete(tenant=stale, confirm_slug=slug, export_directory=Path("/tmp"))
    started = time.perf_counter()
    created = tenant_create(name=f"Bench {slug}", slug=slug, admin_email=f"admin@{slug}.example.jp")
    seconds = time.perf_counter() - started
    tenant_delete(tenant=created.tenant, confirm_slug=slug, export_directory=Path("/tmp"))
    return seconds


def main() -> None:
    call_command("bootstrap", verbosity=0)
    cloned = [_provision("bench-clone-", i) for i in range(RUNS)]
    with override_settings(TENANT_CREATION_FAKES_MIGRATIONS=False):
        migrated = [_provision("bench-migrate-", i) for i in range(RUNS)]
    result = {
        "runs": RUNS,
        "clone_median_s": round(statistics.median(cloned), 3),
        "clone_max_s": round(max(cloned), 3),
        "migrate_median_s": round(statistics.median(migrated), 3),
        "migrate_max_s": round(max(migrated), 3),
        "speedup": round(statistics.median(migrated) / statistics.median(cloned), 2),
        "machine": f"{platform.machine()} {os.cpu_count()} cores, {platform.python_version()}",
        "ran_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    print(f"{'method':<28}{'median s':>10}{'max s':>10}")
    print(f"{'clone template schema':<28}{result['clone_median_s']:>10.3f}{result['clone_max_s']:>10.3f}")
    print(
        f"{'migrate a fresh schema':<28}{result['migrate_median_s']:>10.3f}{result['migrate_max_s']:>10.3f}"
    )
    print(f"speed-up: {result['speedup']}x over {RUNS} runs each")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "provision-latest.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
