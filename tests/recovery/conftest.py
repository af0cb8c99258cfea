"""Archiving fixtures: a store, keys and a WAL receiver on the test server, shared by the recovery tests."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg
import pyrage
import pytest

from recovery.basebackup import base_backup_take
from recovery.catalog import SEALED, BaseBackup, lsn_segment
from recovery.config import BackupConfig, backup_config
from recovery.restore import RestoredCluster, cluster_restore
from recovery.wal import WalArchiver
from tests.conftest import ROOT


@dataclass
class Archive:
    config: BackupConfig
    recipient: str
    identity_file: Path
    archiver: WalArchiver

    def take(self, kind: str = "auto") -> BaseBackup:
        return base_backup_take(config=self.config, recipient=self.recipient, kind=kind)

    def archive_now(self, *, seconds: float = 120) -> str:
        """Close the current WAL segment and wait until it is in the store; returns its name."""
        with psycopg.connect(self.config.source_for(), autocommit=True) as conn:
            lsn = conn.execute("SELECT pg_current_wal_insert_lsn()").fetchone()[0]
            timeline = conn.execute("SELECT timeline_id FROM pg_control_checkpoint()").fetchone()[0]
            conn.execute("SELECT pg_switch_wal()")
        segment = lsn_segment(str(lsn), timeline=timeline)
        store = self.config.store()
        deadline = time.monotonic() + seconds
        while not store.exists(f"wal/{segment}{SEALED}"):
            log = self.archiver.folder.with_suffix(".log")
            assert time.monotonic() < deadline, (
                f"{segment} not archived: {log.read_text()[-1000:] if log.exists() else ''}"
            )
            if (
                not self.archiver.receiver_running()
            ):  # as the agent does: a receiver that stopped starts again
                self.archiver.receiver_start()
            self.archiver.upload_ready()
            time.sleep(0.05)
        return segment

    def restore(self, pgdata: Path, *, target: datetime | None = None) -> RestoredCluster:
        return cluster_restore(
            config=self.config, pgdata=pgdata, target=target, identity_file=self.identity_file
        )


def backup_entry(
    finished: datetime,
    *,
    kind: str = "full",
    parent: str = "",
    verified: bool = True,
    start_lsn: str = "0/1000028",
) -> BaseBackup:
    """A catalogue entry as the agent writes it (for retention and probe tests that need no real backup)."""
    return BaseBackup(
        id=finished.strftime("%Y%m%dT%H%M%S%fZ") + ("-F" if kind == "full" else "-I"),
        kind=kind,
        parent=parent,
        timeline=1,
        start_lsn=start_lsn,
        end_lsn="0/0",
        started_at=finished.isoformat(),
        finished_at=finished.isoformat(),
        server_version=180000,
        system_identifier="1",
        verified=verified,
    )


def archive_make(root: Path, *, slot: str | None = None, **overrides) -> Archive:
    """A store, a key pair and a receiver under root (without a slot unless named: nothing stays behind)."""
    identity = pyrage.x25519.Identity.generate()
    identity_file = root / "keys" / "identity.txt"
    identity_file.parent.mkdir(parents=True)
    identity_file.write_text(f"{identity}\n")
    identity_file.chmod(0o600)
    recipient = str(identity.to_public())
    config = backup_config(**{"url": str(root / "store"), "spool": root / "spool", **overrides})
    archiver = WalArchiver(config=config, recipient=recipient, slot=slot)
    archiver.receiver_start()
    assert archiver.receiver_streaming(seconds=30)
    return Archive(config=config, recipient=recipient, identity_file=identity_file, archiver=archiver)


def scratch_folder(name: str) -> Path:
    """A folder under this checkout's .data/ for stores and data folders the server user must reach.

    Not pytest's tmp_path: /tmp/pytest-of-<user> is shared by every test run on the machine, and a run
    starting elsewhere makes it 0700 again (the server user then loses its way in) or removes old folders.
    """
    path = ROOT / ".data" / "test-recovery" / f"{name[:40]}-{uuid.uuid4().hex[:8]}"
    path.mkdir(parents=True)
    return path


@pytest.fixture
def scratch(request) -> Path:
    path = scratch_folder(request.node.name)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _slots_drop(config: BackupConfig, pattern: str) -> None:
    with psycopg.connect(config.source_for(), autocommit=True) as conn:
        conn.execute(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name LIKE %s AND NOT active",
            [pattern],
        )


@pytest.fixture(scope="session")
def archive(tenants) -> Archive:
    """One archive for the session, with a slot: a receiver that falls behind while the whole suite writes
    must not find its WAL recycled (a slot of an interrupted earlier run is dropped first)."""
    root = scratch_folder("archive")
    _slots_drop(backup_config(), "test_archive_%")
    made = archive_make(root, slot=f"test_archive_{os.getpid()}")
    yield made
    made.archiver.receiver_stop()
    _slots_drop(made.config, f"test_archive_{os.getpid()}")
    shutil.rmtree(root, ignore_errors=True)
