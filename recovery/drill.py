"""The recovery drill (`make drill`, `manage.py drill`): restore the latest backup into a scratch server and check it.

1. A restore point is written on the primary, and in the same snapshot the rows of every company are counted.
2. The archive is brought up to that point (the running agent's, or a receiver started for the drill).
3. The latest verified backup and the archived WAL are restored into a scratch PostgreSQL, up to the point.
4. Checks: rows per company equal the source's at that point, every schema has every migration of the code,
   and a booking can be made on the restored copy (Django's own booking service, with a Redis of its own).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from django.conf import settings

from recovery import postgres
from recovery.basebackup import base_backup_take
from recovery.catalog import SEALED, latest_good, lsn_segment
from recovery.config import BackupConfig
from recovery.crypto import keys_ensure
from recovery.errors import RecoveryError
from recovery.report import PlatformReport, platform_report, report_text
from recovery.restore import cluster_restore
from recovery.wal import SLOT, WalArchiver
from saas.processes import process_stop, redis_start


@dataclass
class DrillResult:
    restore_point: str
    backup_ids: list[str]
    restore_s: float
    rows_match: bool
    mismatches: list[str]
    migrations_current: bool
    booking_ok: bool
    booking_detail: str
    report: PlatformReport
    seconds: float
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.rows_match and self.migrations_current and self.booking_ok

    def text(self) -> str:
        status = "OK" if self.ok else "FAILED"
        lines = [
            f"drill {status}: restored {' + '.join(self.backup_ids)} to restore point {self.restore_point} "
            f"in {self.restore_s:.1f} s ({self.seconds:.1f} s in all)",
            report_text(self.report),
            "rows per company: equal to the source at the restore point"
            if self.rows_match
            else "rows per company DIFFER: " + "; ".join(self.mismatches[:20]),
            f"booking on the restored copy: {'made' if self.booking_ok else 'FAILED'} ({self.booking_detail})",
        ]
        return "\n".join(lines)


def _agent_streaming(config: BackupConfig) -> bool:
    with psycopg.connect(config.source_for(), autocommit=True) as conn:
        row = conn.execute("SELECT active FROM pg_replication_slots WHERE slot_name = %s", [SLOT]).fetchone()
    return bool(row and row[0])


def _wait_archived(
    config: BackupConfig, segment: str, archiver: WalArchiver | None, *, seconds: float
) -> None:
    store = config.store()
    deadline = time.monotonic() + seconds
    while not store.exists(f"wal/{segment}{SEALED}"):
        if time.monotonic() > deadline:
            raise RecoveryError(
                f"WAL {segment} がバックアップ先に届きません（backup agent は動いていますか）。"
            )
        if archiver is not None:
            archiver.upload_ready()
        time.sleep(0.2)


def _compare(source: PlatformReport, restored: PlatformReport) -> list[str]:
    mismatches = []
    restored_by_slug = {company.slug: company for company in restored.companies}
    for company in source.companies:
        other = restored_by_slug.get(company.slug)
        if other is None:
            mismatches.append(f"{company.slug}: missing")
            continue
        for table, count in company.tables.items():
            if other.tables.get(table) != count:
                mismatches.append(f"{company.slug}.{table}: {count} → {other.tables.get(table)}")
    extra = set(restored_by_slug) - {company.slug for company in source.companies}
    mismatches += [f"{slug}: not in the source" for slug in sorted(extra)]
    return mismatches


def drill_run(
    *, config: BackupConfig, identity_file: Path | None = None, recipient: str = "", wait_seconds: float = 120
) -> DrillResult:
    clock = time.monotonic()
    dbname = postgres.application_database()
    recipient = recipient or keys_ensure()
    archiver = None
    if not _agent_streaming(config):
        # No agent: receive WAL for the drill (no slot is left behind), from before a backup taken now.
        shutil.rmtree(config.spool / "drill-wal", ignore_errors=True)
        (config.spool / "drill-wal-uploaded").unlink(missing_ok=True)
        archiver = WalArchiver(config=config, recipient=recipient, slot=None, name="drill-wal")
        archiver.receiver_start()
        if not archiver.receiver_streaming(seconds=30):
            raise RecoveryError("pg_receivewal が起動しません（BACKUP_SPOOL の drill-wal.log）。")
    if archiver is not None or latest_good(config.store()) is None:
        base_backup_take(config=config, recipient=recipient, kind="auto")
    name = datetime.now(UTC).strftime("drill-%Y%m%dT%H%M%S%f")
    scratch = config.spool / "drill" / name
    try:
        with psycopg.connect(config.source_for(dbname=dbname)) as conn:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            with conn.transaction():
                # First statement of the transaction: the snapshot and the restore point are taken together.
                lsn = conn.execute("SELECT pg_create_restore_point(%s)", [name]).fetchone()[0]
                source = platform_report(conn)
            timeline = conn.execute("SELECT timeline_id FROM pg_control_checkpoint()").fetchone()[0]
            conn.commit()
            conn.autocommit = True
            conn.execute("SELECT pg_switch_wal()")
        _wait_archived(config, lsn_segment(str(lsn), timeline=timeline), archiver, seconds=wait_seconds)
        scratch.parent.mkdir(parents=True, exist_ok=True)
        restored_cluster = cluster_restore(
            config=config, pgdata=scratch, target_name=name, identity_file=identity_file
        )
        try:
            with psycopg.connect(restored_cluster.cluster.server.conninfo(dbname=dbname)) as conn:
                restored = platform_report(conn)
            booking_ok, booking_detail = _booking_check(restored_cluster.cluster.port, dbname)
        finally:
            restored_cluster.cluster.remove()
    finally:
        if archiver is not None:
            archiver.receiver_stop()
            archiver.upload_ready()
        shutil.rmtree(scratch, ignore_errors=True)
    mismatches = _compare(source, restored)
    return DrillResult(
        restore_point=name,
        backup_ids=restored_cluster.backup_ids,
        restore_s=restored_cluster.seconds,
        rows_match=not mismatches,
        mismatches=mismatches,
        migrations_current=restored.migrations_current,
        booking_ok=booking_ok,
        booking_detail=booking_detail,
        report=restored,
        seconds=round(time.monotonic() - clock, 2),
        phases=restored_cluster.phases,
    )


def _booking_check(port: int, dbname: str) -> tuple[bool, str]:
    """Book a seat on the restored copy through the booking service, with a Redis of its own."""
    redis_folder = Path(settings.BACKUP_SPOOL) / "drill-redis"
    redis_folder.mkdir(parents=True, exist_ok=True)
    redis_port, redis_server = redis_start(folder=redis_folder)
    try:
        environment = dict(os.environ)
        environment.update(
            {
                "DATABASE_URL": f"postgres://{postgres.application_server().user}@127.0.0.1:{port}/{dbname}",
                "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
                "RUSH_REDIS_URL": f"redis://127.0.0.1:{redis_port}/4",
            }
        )
        environment.setdefault("DEBUG", "1")
        completed = subprocess.run(
            [sys.executable, "manage.py", "drill_booking"],
            cwd=settings.BASE_DIR,
            env=environment,
            capture_output=True,
            text=True,
            timeout=180,
        )
    finally:
        process_stop(redis_server)
    output = (completed.stdout if completed.returncode == 0 else completed.stderr or completed.stdout).strip()
    return completed.returncode == 0, (output.splitlines() or ["no output"])[-1]
