"""One company back to a moment while every other company keeps serving (`manage.py tenant_restore`).

1. Recorded and audited (TenantRestore, StaffAuditEntry); the company alone gets a maintenance window (its
   recruiters are told) and a maintenance page from then on (recovery.middleware); an incident scoped to the
   company carries the measured progress and the expected end.
2. The cluster is restored to the moment into a scratch server at low CPU priority (recovery/restore.py).
3. There the company's schema is renamed and dumped (pg_dump); the dump is loaded into the live database
   under that name, and in one short transaction the live schema steps aside (kept as
   `<schema>__before_<time>` until support drops it) and the restored one takes its name.
4. Seat counters and the company's cache are rebuilt; the maintenance ends, the incident is resolved.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from django.db import connection, transaction
from django.utils import timezone
from psycopg import sql

from recovery import postgres
from recovery.aftercare import company_caches_reset
from recovery.config import BackupConfig
from recovery.models import RestoreState, TenantRestore
from recovery.progress import IncidentProgress
from recovery.report import platform_report
from recovery.restore import cluster_restore
from tenants.models import Tenant

logger = logging.getLogger("recovery")
RESTORED_SUFFIX = "__restored"
ESTIMATE_SECONDS = 60.0


@dataclass
class TenantRestoreResult:
    restore: TenantRestore
    seconds: float
    scratch_s: float
    swap_s: float
    rows_before: int
    rows_after: int
    progress: list[str]


def _application_conninfo() -> str:
    """The live database as the application connects to it (the restored schema belongs to its role)."""
    db = connection.settings_dict
    return psycopg.conninfo.make_conninfo(
        host=str(db.get("HOST") or "127.0.0.1"),
        port=str(db.get("PORT") or 5432),
        user=db.get("USER") or "postgres",
        password=db.get("PASSWORD") or None,
        dbname=db["NAME"],
        target_session_attrs="read-write",
    )


def _rows(conninfo: str, slug: str) -> int:
    with psycopg.connect(conninfo) as conn:
        report = platform_report(conn, slugs=[slug])
    return report.companies[0].total if report.companies else 0


def _begin(*, tenant: Tenant, target: datetime, actor: Any) -> tuple[TenantRestore, Any]:
    from incidents.models import Scope
    from incidents.services.audit import staff_audit
    from incidents.services.maintenance import maintenance_create, maintenance_tick

    with transaction.atomic():
        restore = TenantRestore.objects.create(
            tenant=tenant, target_at=target, requested_by=getattr(actor, "email", None) or str(actor)
        )
        staff_audit(
            actor=actor,
            action="tenant.restore.start",
            target=tenant,
            detail={"restore": restore.pk, "to": target.isoformat()},
        )
        now = timezone.now()
        maintenance = maintenance_create(
            actor=actor,
            title="データ復元のためのメンテナンス",
            message_ja=(
                f"{tenant.name} のデータを {timezone.localtime(target):%Y-%m-%d %H:%M:%S} の状態に戻しています。"
                "作業中は貴社のページをご利用いただけません。ほかの企業への影響はありません。"
            ),
            starts_at=now,
            ends_at=now + timedelta(seconds=ESTIMATE_SECONDS * 2),
            scope=Scope.CHOSEN,
            tenants=[tenant],
        )
    maintenance_tick(now=timezone.now())  # starts this window now (and anything else due, as the beat would)
    return restore, maintenance


def tenant_restore(
    *, config: BackupConfig, tenant: Tenant, target: datetime, actor: Any, identity_file: Path | None = None
) -> TenantRestoreResult:
    clock = time.monotonic()
    restore, maintenance = _begin(tenant=tenant, target=target, actor=actor)
    reporter = IncidentProgress(
        title=f"{tenant.name} のデータ復元",
        subject=f"{tenant.name} のデータ復元",
        estimate_seconds=ESTIMATE_SECONDS,
        tenants=[tenant],
        actor=actor,
    )

    def progress(phase: str, fraction: float) -> None:
        TenantRestore.objects.filter(pk=restore.pk).update(phase=phase, progress=fraction)
        reporter(phase, fraction)

    live = _application_conninfo()
    scratch = config.spool / "tenant-restore" / f"{tenant.slug}-{restore.pk}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.parent.mkdir(parents=True, exist_ok=True)
    try:
        rows_before = _rows(live, tenant.slug)
        restored = cluster_restore(
            config=config,
            pgdata=scratch,
            target=target,
            identity_file=identity_file,
            progress=progress,
            nice=True,
        )
        scratch_s = time.monotonic() - clock
        try:
            progress("swap", 0.9)
            swap_started = time.monotonic()
            dump = scratch.parent / f"{tenant.slug}-{restore.pk}.dump"
            previous = _schema_swap(restored.cluster, live=live, schema=tenant.schema_name, dump=dump)
            swap_s = time.monotonic() - swap_started
        finally:
            restored.cluster.stop(mode="immediate")
        company_caches_reset(schema_name=tenant.schema_name)
        rows_after = _rows(live, tenant.slug)
    except Exception as error:
        TenantRestore.objects.filter(pk=restore.pk).update(
            state=RestoreState.FAILED, finished_at=timezone.now(), detail={"error": str(error)[:2000]}
        )
        _end(
            maintenance=maintenance,
            actor=actor,
            tenant=tenant,
            action="tenant.restore.failed",
            detail={"restore": restore.pk},
        )
        reporter.post("failed", f"{tenant.name} のデータ復元に失敗しました。担当者が対応しています。")
        raise
    finally:
        # Tens of thousands of files on a slow disk: removed while the company already serves again.
        threading.Thread(target=shutil.rmtree, args=(scratch,), kwargs={"ignore_errors": True}).start()
    seconds = round(time.monotonic() - clock, 2)
    TenantRestore.objects.filter(pk=restore.pk).update(
        state=RestoreState.DONE,
        phase="done",
        progress=1.0,
        finished_at=timezone.now(),
        reached_at=restored.reached,
        previous_schema=previous,
        detail={
            "seconds": seconds,
            "rows_before": rows_before,
            "rows_after": rows_after,
            "backups": restored.backup_ids,
        },
    )
    _end(
        maintenance=maintenance,
        actor=actor,
        tenant=tenant,
        action="tenant.restore.done",
        detail={"restore": restore.pk, "seconds": seconds, "previous_schema": previous},
    )
    progress("done", 1.0)
    restore.refresh_from_db()
    return TenantRestoreResult(
        restore=restore,
        seconds=seconds,
        scratch_s=round(scratch_s, 2),
        swap_s=round(swap_s, 2),
        rows_before=rows_before,
        rows_after=rows_after,
        progress=reporter.posted,
    )


def _end(*, maintenance, actor: Any, tenant: Tenant, action: str, detail: dict) -> None:
    from incidents.models import Maintenance, MaintenanceState
    from incidents.services.audit import staff_audit

    now = timezone.now()
    Maintenance.objects.filter(pk=maintenance.pk).update(
        state=MaintenanceState.COMPLETED,
        completed_at=now,
        ends_at=max(now, maintenance.starts_at + timedelta(seconds=1)),
    )
    staff_audit(actor=actor, action=action, target=tenant, detail=detail)


def _schema_swap(cluster: postgres.Cluster, *, live: str, schema: str, dump: Path) -> str:
    """Dump the schema from the scratch copy under a new name, load it live, swap names in one transaction."""
    dbname = psycopg.conninfo.conninfo_to_dict(live)["dbname"]
    restored_name = f"{schema}{RESTORED_SUFFIX}"
    with psycopg.connect(cluster.server.conninfo(dbname=dbname), autocommit=True) as conn:
        conn.execute(
            sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(
                sql.Identifier(schema), sql.Identifier(restored_name)
            )
        )
    postgres.run(
        [
            postgres.binary("pg_dump"),
            f"--dbname={cluster.server.conninfo(dbname=dbname)}",
            f"--schema={restored_name}",
            "--format=custom",
            "--compress=0",
            f"--file={dump}",
        ]
    )
    previous = f"{schema}__before_{timezone.now():%Y%m%d%H%M%S}"
    with psycopg.connect(live, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(restored_name)))
    try:
        postgres.run(
            [
                postgres.binary("pg_restore"),
                f"--dbname={live}",
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "--jobs=2",
                str(dump),
            ],
            env={**os.environ, "PGOPTIONS": "-c synchronous_commit=off"},
        )
    finally:
        dump.unlink(missing_ok=True)
    with psycopg.connect(live) as conn:
        conn.execute("SET lock_timeout = '10s'")
        conn.execute(
            sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(sql.Identifier(schema), sql.Identifier(previous))
        )
        conn.execute(
            sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(
                sql.Identifier(restored_name), sql.Identifier(schema)
            )
        )
        conn.commit()
    return previous
