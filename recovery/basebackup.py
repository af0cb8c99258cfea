"""Base backups: pg_basebackup (incremental when the server summarizes WAL), pg_verifybackup, seal, upload, read back.

Every backup is verified twice before it counts: pg_verifybackup checks each file against the server's
SHA-256 manifest before anything leaves this machine, and every sealed object is read back from the store
and compared byte for byte (by SHA-256) with what was written. Only then is backup.json written with
verified=true; the watchdog's backup probe and restores only use such backups.
"""

from __future__ import annotations

import json
import logging
import shutil
import tarfile
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from recovery import postgres
from recovery.catalog import SEALED, BaseBackup, SealedFile, base_backup_write, base_backups
from recovery.config import BackupConfig
from recovery.crypto import seal
from recovery.errors import RecoveryError
from recovery.store import sha256_of

logger = logging.getLogger("recovery.backup")


def _now() -> datetime:
    return datetime.now(UTC)


def _backup_id(moment: datetime, kind: str) -> str:
    return moment.strftime("%Y%m%dT%H%M%S%fZ") + ("-F" if kind == "full" else "-I")


def incremental_supported(config: BackupConfig) -> bool:
    """PostgreSQL 17+ with summarize_wal on (turned on here when the backup role may, as with the embedded server).

    Called before every base backup, full ones included, so that the first full backup of a server whose
    summarizer was off can already be the parent of the next incremental one.
    """
    with psycopg.connect(config.source_for(), autocommit=True) as conn:
        if conn.info.server_version < 170000:
            return False
        if conn.execute("SHOW summarize_wal").fetchone()[0] == "on":
            return True
        superuser = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0]
        if not superuser:
            return False
        conn.execute("ALTER SYSTEM SET summarize_wal = on")
        conn.execute("SELECT pg_reload_conf()")
        # The summarizer starts from the last checkpoint's redo point; a backup taken once it runs is covered.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if conn.execute("SELECT summarizer_pid FROM pg_get_wal_summarizer_state()").fetchone()[0]:
                return True
            time.sleep(0.05)
    return False


def _manifest_folder(config: BackupConfig) -> Path:
    folder = config.spool / "manifests"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _parent_for_incremental(config: BackupConfig, backups: list[BaseBackup]) -> BaseBackup | None:
    """The newest verified backup whose manifest this machine kept (needed by pg_basebackup --incremental)."""
    for backup in reversed(backups):
        if backup.verified and (_manifest_folder(config) / f"{backup.id}.json").exists():
            return backup
    return None


def _due_kind(config: BackupConfig, backups: list[BaseBackup], now: datetime) -> str | None:
    good = [backup for backup in backups if backup.verified]
    fulls = [backup for backup in good if backup.kind == "full"]
    if not fulls or (now - fulls[-1].finished).total_seconds() >= config.full_hours * 3600:
        return "full"
    if (now - good[-1].finished).total_seconds() >= config.incremental_hours * 3600:
        return "incremental"
    return None


def base_backup_due(config: BackupConfig, *, now: datetime | None = None) -> str | None:
    """ "full", "incremental" or None, from the schedule and the store's newest verified backups."""
    return _due_kind(config, base_backups(config.store()), now or _now())


def base_backup_take(*, config: BackupConfig, recipient: str, kind: str = "auto") -> BaseBackup:
    """Take, verify, seal, upload and read back one base backup; returns its catalog entry."""
    store = config.store()
    backups = base_backups(store)
    parent = None
    if kind == "auto":
        kind = "full" if _due_kind(config, backups, _now()) == "full" else "incremental"
    if incremental_supported(config) and kind == "incremental":
        parent = _parent_for_incremental(config, backups)
    kind = "incremental" if parent is not None else "full"
    try:
        return _take(config=config, recipient=recipient, parent=parent)
    except RecoveryError as error:
        if parent is None:
            raise
        # WAL summaries can be missing (summarize_wal turned on after the parent began): a full one instead.
        logger.warning("incremental backup failed, taking a full one: %s", error)
        return _take(config=config, recipient=recipient, parent=None)


def _take(*, config: BackupConfig, recipient: str, parent: BaseBackup | None) -> BaseBackup:
    kind = "incremental" if parent is not None else "full"
    started = _now()
    clock = time.monotonic()
    backup_id = _backup_id(started, kind)
    staging = config.spool / "staging" / backup_id
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        command = [
            postgres.binary("pg_basebackup"),
            f"--dbname={config.source_for()}",
            f"--pgdata={staging / 'tar'}",
            "--format=tar",
            "--wal-method=stream",
            "--checkpoint=fast",
            "--manifest-checksums=SHA256",
            f"--label={backup_id}",
        ]
        if parent is not None:
            command.append(f"--incremental={_manifest_folder(config) / f'{parent.id}.json'}")
        postgres.run(command, env=config.tool_env())
        finished = _now()
        verify_message = _verify(staging / "tar")
        manifest = json.loads((staging / "tar" / "backup_manifest").read_text())
        wal_range = manifest["WAL-Ranges"][0]
        with psycopg.connect(config.source_for(), autocommit=True) as conn:
            server_version = conn.info.server_version
        backup = BaseBackup(
            id=backup_id,
            kind=kind,
            parent=parent.id if parent is not None else "",
            timeline=int(wal_range["Timeline"]),
            start_lsn=wal_range["Start-LSN"],
            end_lsn=wal_range["End-LSN"],
            started_at=started.isoformat(),
            finished_at=finished.isoformat(),
            server_version=server_version,
            system_identifier=str(manifest.get("System-Identifier", "")),
        )
        store = config.store()
        sealed_folder = staging / "sealed"
        sealed_folder.mkdir()
        for source in sorted((staging / "tar").iterdir()):
            target = sealed_folder / (source.name + SEALED)
            digest, size = seal(source=source, target=target, recipient=recipient)
            store.put(f"base/{backup_id}/{target.name}", target)
            backup.files.append(
                SealedFile(name=source.name, sha256=digest, size=size, plain_size=source.stat().st_size)
            )
        _read_back(store, backup)
        backup.verified = True
        backup.verify_message = verify_message
        backup.seconds = round(time.monotonic() - clock, 2)
        base_backup_write(store, backup)
        shutil.copyfile(staging / "tar" / "backup_manifest", _manifest_folder(config) / f"{backup_id}.json")
        logger.info(
            "base backup %s (%s) verified: %.1f MB stored", backup_id, kind, backup.stored_bytes / 1e6
        )
        return backup
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _verify(folder: Path) -> str:
    """pg_verifybackup checks every file against the manifest's SHA-256; pg_waldump then reads the WAL the
    backup needs from its start to its end (what pg_verifybackup does itself for plain-format backups)."""
    postgres.run([postgres.binary("pg_verifybackup"), "--exit-on-error", "--no-parse-wal", str(folder)])
    manifest = json.loads((folder / "backup_manifest").read_text())
    wal_folder = folder.parent / "wal-check"
    wal_folder.mkdir()
    with tarfile.open(folder / "pg_wal.tar") as archive:
        archive.extractall(wal_folder, filter="data")
    for wal_range in manifest["WAL-Ranges"]:
        postgres.run(
            [
                postgres.binary("pg_waldump"),
                "--quiet",
                f"--path={wal_folder}",
                f"--timeline={wal_range['Timeline']}",
                f"--start={wal_range['Start-LSN']}",
                f"--end={wal_range['End-LSN']}",
            ]
        )
    shutil.rmtree(wal_folder)
    return "pg_verifybackup: every file matches the manifest; pg_waldump: the backup's WAL reads to its end"


def _read_back(store, backup: BaseBackup) -> None:
    for item in backup.files:
        with store.open(f"base/{backup.id}/{item.name}{SEALED}") as stream:
            if sha256_of(stream) != item.sha256:
                raise RecoveryError(
                    f"{backup.id}/{item.name}: 保存先から読み戻した内容が書き込んだものと一致しません。"
                )


def base_backup_verify(*, config: BackupConfig, backup_id: str) -> BaseBackup:
    """Read a stored backup back and compare every object with its recorded SHA-256 (no key needed)."""
    store = config.store()
    for backup in base_backups(store):
        if backup.id == backup_id:
            _read_back(store, backup)
            return backup
    raise RecoveryError(f"バックアップ {backup_id} はありません。")
