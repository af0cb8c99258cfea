"""Archiving: the agent's backups and WAL are verified, sealed, immutable, out of the app role's reach, pruned."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pyrage
import pytest
from django.db import connection

from recovery.agent import BackupAgent
from recovery.basebackup import base_backup_verify
from recovery.catalog import SEALED, BaseBackup, base_backups, wal_objects
from recovery.config import backup_config
from recovery.crypto import identity_load, seal, unseal
from recovery.errors import RecoveryError
from recovery.retention import prune, prune_plan
from recovery.roles import app_role_create
from recovery.store import DirectoryStore
from tests.recovery.conftest import backup_entry


def test_a_backup_is_verified_sealed_and_never_rewritten(archive, tmp_path):
    backup = archive.take(kind="full")
    store = archive.config.store()
    assert backup.verified and "pg_verifybackup" in backup.verify_message
    assert {item.name for item in backup.files} == {"base.tar", "pg_wal.tar", "backup_manifest"}
    assert [b.id for b in base_backups(store)].count(backup.id) == 1
    base = Path(archive.config.url) / "base" / backup.id
    for path in base.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o444, path
    # Sealed: the stored bytes are age ciphertext, not a tar; only the identity opens them.
    sealed = (base / f"base.tar{SEALED}").read_bytes()
    assert sealed.startswith(b"age-encryption.org/v1") and b"PG_VERSION" not in sealed
    with pytest.raises(RecoveryError, match="復号できません"):
        with store.open(f"base/{backup.id}/base.tar{SEALED}") as stream:
            unseal(stream=stream, target=tmp_path / "x", identity=pyrage.x25519.Identity.generate())
    with store.open(f"base/{backup.id}/backup_manifest{SEALED}") as stream:
        unseal(stream=stream, target=tmp_path / "manifest", identity=identity_load(archive.identity_file))
    assert json.loads((tmp_path / "manifest").read_text())["WAL-Ranges"][0]["Start-LSN"] == backup.start_lsn
    # Written once: the same name again is refused, whoever asks.
    with pytest.raises(RecoveryError, match="already exists"):
        store.put(f"base/{backup.id}/base.tar{SEALED}", tmp_path / "manifest")
    assert base_backup_verify(config=archive.config, backup_id=backup.id).id == backup.id


def test_a_changed_byte_is_caught_by_verify_and_by_restore(tmp_path):
    identity = pyrage.x25519.Identity.generate()
    plain = tmp_path / "segment"
    plain.write_bytes(os.urandom(100_000))
    digest, size = seal(source=plain, target=tmp_path / "sealed", recipient=str(identity.to_public()))
    store = DirectoryStore(tmp_path / "store")
    store.put("wal/000000010000000000000001.zst.age", tmp_path / "sealed")
    backup = BaseBackup(
        id="20260101T000000000000Z-F",
        kind="full",
        parent="",
        timeline=1,
        start_lsn="0/1000028",
        end_lsn="0/1000100",
        started_at="2026-01-01T00:00:00+00:00",
        finished_at="2026-01-01T00:00:01+00:00",
        server_version=180000,
        system_identifier="1",
        verified=True,
    )
    stored = tmp_path / "store" / "wal" / "000000010000000000000001.zst.age"
    data = bytearray(stored.read_bytes())
    data[size // 2] ^= 0x01
    stored.chmod(0o644)
    stored.write_bytes(bytes(data))
    with pytest.raises(RecoveryError, match="改変"):
        with store.open("wal/000000010000000000000001.zst.age") as stream:
            unseal(stream=stream, target=tmp_path / "out", identity=identity)
    from recovery.catalog import SealedFile, base_backup_write

    backup.files = [SealedFile(name="000000010000000000000001", sha256=digest, size=size, plain_size=100_000)]
    (tmp_path / "store" / "base" / backup.id).mkdir(parents=True)
    os.link(stored, tmp_path / "store" / "base" / backup.id / f"000000010000000000000001{SEALED}")
    base_backup_write(store, backup)
    with pytest.raises(RecoveryError, match="一致しません"):
        base_backup_verify(config=backup_config(url=str(tmp_path / "store")), backup_id=backup.id)


def test_the_app_role_cannot_reach_the_backups_through_the_database(archive, tenants):
    """The application's role (recovery/roles.py) can neither run a program, write a file nor take a copy."""
    store_root = Path(archive.config.url)
    before = sorted(str(path) for path in store_root.rglob("*"))
    assert before, "the store has backups to attack"
    db = connection.settings_dict
    with psycopg.connect(archive.config.source_for(), autocommit=True) as admin:
        app_role_create(admin, role="recovery_test_app", password="app-password-1", database=db["NAME"])
    app = psycopg.conninfo.make_conninfo(
        host=db["HOST"] or "127.0.0.1",
        port=str(db["PORT"]),
        dbname=db["NAME"],
        user="recovery_test_app",
        password="app-password-1",
    )
    attacks = [
        f"COPY (SELECT 1) TO PROGRAM 'rm -rf {store_root}'",
        f"COPY (SELECT 'x') TO '{store_root}/base/evil'",
        "ALTER SYSTEM SET archive_command = 'rm -rf /'",
        f"SELECT pg_read_binary_file('{store_root}/base')",
        "SELECT pg_ls_dir('.')",
        "CREATE ROLE escalated SUPERUSER",
    ]
    try:
        with psycopg.connect(app, autocommit=True) as conn:
            for attack in attacks:
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(attack)
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(
                app.replace(f"dbname={db['NAME']}", "dbname=replication") + " replication=true"
            ).close()
    finally:
        with psycopg.connect(archive.config.source_for(), autocommit=True) as admin:
            admin.execute(f'REVOKE ALL ON DATABASE "{db["NAME"]}" FROM recovery_test_app')
            admin.execute("DROP ROLE recovery_test_app")
    assert sorted(str(path) for path in store_root.rglob("*")) == before
    for backup in base_backups(archive.config.store()):
        base_backup_verify(config=archive.config, backup_id=backup.id)


def test_retention_keeps_seven_daily_and_four_weekly_and_the_chains_they_need():
    now = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
    backups, previous = [], None
    for day in range(60, -1, -1):  # a full every day at 01:00, an incremental at 13:00 building on it
        full = backup_entry(now - timedelta(days=day, hours=11))
        backups.append(full)
        if day:
            backups.append(
                backup_entry(
                    now - timedelta(days=day) + timedelta(hours=1), kind="incremental", parent=full.id
                )
            )
        previous = full
    plan = prune_plan(backups=backups, wal_keys=[], daily=7, weekly=4)
    kept = {b.id: b for b in backups if b.id in plan.keep}
    kept_days = {b.finished.date() for b in kept.values()}
    assert len([d for d in kept_days if d > (now - timedelta(days=7)).date()]) == 7
    assert len(kept_days) <= 7 + 4
    assert {b.finished.isocalendar()[:2] for b in kept.values()} >= {
        (now - timedelta(weeks=w)).isocalendar()[:2] for w in range(1, 4)
    }
    for backup in kept.values():  # an incremental is kept only with the full it builds on
        assert not backup.parent or backup.parent in kept
    assert previous.id in kept and len(plan.drop) == len(backups) - len(kept)
    assert all(b.finished < now - timedelta(days=6) for b in backups if b.id in plan.drop)


def test_prune_removes_old_backups_and_their_wal_from_the_store(tmp_path):
    store = DirectoryStore(tmp_path / "store")
    config = backup_config(url=str(store.root), keep_daily=1, keep_weekly=0)
    from recovery.catalog import base_backup_write

    old = backup_entry(datetime(2026, 1, 1, tzinfo=UTC), start_lsn="0/1000028")
    new = backup_entry(datetime(2026, 1, 9, tzinfo=UTC), start_lsn="0/5000028")
    for backup in (old, new):
        base_backup_write(store, backup)
    blob = tmp_path / "blob"
    blob.write_bytes(b"x")
    for segment in range(1, 8):
        store.put(f"wal/00000001000000000000000{segment}{SEALED}", blob)
    plan = prune(config=config)
    assert plan.drop == [old.id]
    assert [b.id for b in base_backups(store)] == [new.id]
    assert [item.name for item in wal_objects(store)] == [f"00000001000000000000000{n}" for n in (5, 6, 7)]


def test_the_agent_takes_the_first_backup_and_stores_the_unfinished_segment_when_stopped(scratch, tenants):
    identity = pyrage.x25519.Identity.generate()
    config = backup_config(url=str(scratch / "store"), spool=scratch / "spool")
    agent = BackupAgent(config=config, recipient=str(identity.to_public()), slot=None)
    agent.round()
    assert agent.archiver.receiver_running()
    backups = base_backups(config.store())
    assert len(backups) == 1 and backups[0].kind == "full" and backups[0].verified
    assert agent.archiver.receiver_streaming(seconds=30)
    agent.round()
    assert len(base_backups(config.store())) == 1  # not due again
    agent.close()
    partials = [item for item in wal_objects(config.store()) if item.partial]
    assert partials, "the segment being received is stored when the agent stops"
