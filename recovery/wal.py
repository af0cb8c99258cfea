"""Continuous WAL archiving: pg_receivewal streams from the primary, each finished segment is sealed and stored.

The server never writes into the backup store (no archive_command): the agent pulls WAL over the replication
protocol with a replication slot, so no segment is recycled before it is received, and nothing the database
roles can do reaches the store. A quiet server's current segment is closed every BACKUP_WAL_SWITCH_SECONDS
(pg_switch_wal, only when something was written) so the archive alone is never further behind than that.
When the primary goes away, the segment being received is stored as a partial one once it stops changing,
so a restore from the archive reaches the last change the agent received.
"""

from __future__ import annotations

import logging
import os
import subprocess
import time
from pathlib import Path

import psycopg

from recovery import postgres
from recovery.catalog import HISTORY, SEALED, SEGMENT
from recovery.config import BackupConfig
from recovery.crypto import seal
from recovery.errors import RecoveryError

logger = logging.getLogger("recovery.wal")
SLOT = "saas_archive"
PARTIAL_STALE_SECONDS = 3.0
MAX_SLOT_KEEP = "8GB"


class WalArchiver:
    def __init__(
        self, *, config: BackupConfig, recipient: str, slot: str | None = SLOT, name: str = "wal"
    ) -> None:
        self.config, self.recipient, self.slot = config, recipient, slot
        self.folder = config.spool / name
        self.folder.mkdir(parents=True, exist_ok=True)
        self.sealing = config.spool / f"{name}-sealing"
        self.sealing.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen | None = None
        self.gap = False  # set when WAL was lost: only a new base backup makes the archive whole again
        self.store = config.store()
        self._marker = config.spool / f"{name}-uploaded"
        self._partial_uploaded: tuple[str, int] | None = None
        self._switch_lsn: str | None = None
        self._switch_at = time.monotonic()

    # ---- receiving --------------------------------------------------------------------------------
    def receiver_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def receiver_start(self) -> None:
        """Start pg_receivewal on whichever server is the primary, creating the slot there if needed."""
        if self.receiver_running():
            return
        environment = self.config.tool_env()
        if self.slot is not None and not self._slot_create(environment):
            return
        log = open(self.folder.with_suffix(".log"), "ab")  # noqa: SIM115 - lives with the process
        slot = [f"--slot={self.slot}"] if self.slot is not None else []
        self.process = subprocess.Popen(
            [
                postgres.binary("pg_receivewal"),
                f"--dbname={self.config.source_for(dbname='replication', replication='true')}",
                f"--directory={self.folder}",
                *slot,
                "--synchronous",
                "--no-loop",
                "--status-interval=1",
            ],
            env=environment,
            stdout=log,
            stderr=log,
        )
        log.close()

    def receiver_streaming(self, *, seconds: float) -> bool:
        """Wait until the receiver has started writing (its .partial segment exists)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if any(self.folder.glob("*.partial")):
                return True
            if not self.receiver_running():
                return False
            time.sleep(0.05)
        return False

    def _slot_check(self) -> None:
        """A slot the server gave up on (past max_slot_wal_keep_size) means a gap in the archive: drop it,
        and have the agent take a full backup at once. An unbounded slot is bounded when the role may."""
        with psycopg.connect(self.config.source_for(), autocommit=True) as conn:
            row = conn.execute(
                "SELECT wal_status FROM pg_replication_slots WHERE slot_name = %s", [self.slot]
            ).fetchone()
            if row and row[0] == "lost":
                conn.execute("SELECT pg_drop_replication_slot(%s)", [self.slot])
                self.gap = True
                logger.warning(
                    "replication slot %s was lost: the archive has a gap until the next backup", self.slot
                )
            superuser = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[
                0
            ]
            if superuser and conn.execute("SHOW max_slot_wal_keep_size").fetchone()[0] == "-1":
                # An agent that stays away must not fill the server's disk with WAL kept for it.
                conn.execute(f"ALTER SYSTEM SET max_slot_wal_keep_size = '{MAX_SLOT_KEEP}'")
                conn.execute("SELECT pg_reload_conf()")

    def _slot_create(self, environment: dict[str, str]) -> bool:
        self._slot_check()
        slot_created = subprocess.run(
            [
                postgres.binary("pg_receivewal"),
                f"--dbname={self.config.source_for(dbname='replication', replication='true')}",
                f"--slot={self.slot}",
                "--create-slot",
                "--if-not-exists",
            ],
            capture_output=True,
            text=True,
            env=environment,
            timeout=30,
        )
        if slot_created.returncode != 0:
            logger.warning("replication slot not created: %s", slot_created.stderr.strip())
            return False
        return True

    def receiver_stop(self) -> None:
        if self.receiver_running():
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    # ---- storing ----------------------------------------------------------------------------------
    def _last_uploaded(self) -> str:
        try:
            return self._marker.read_text().strip()
        except OSError:
            return ""

    def _upload(self, path: Path, key_name: str) -> None:
        sealed = self.sealing / (key_name + SEALED)
        seal(source=path, target=sealed, recipient=self.recipient)
        try:
            self.store.put(f"wal/{key_name}{SEALED}", sealed)
        except RecoveryError:
            if not self.store.exists(f"wal/{key_name}{SEALED}"):
                raise  # stored meanwhile by another receiver of the same server: the same bytes, nothing to do
        finally:
            sealed.unlink(missing_ok=True)

    def upload_ready(self) -> int:
        """Store every finished segment and history file not stored yet; returns how many were stored."""
        last = self._last_uploaded()
        done = 0
        names = sorted(os.listdir(self.folder))
        for name in names:
            path = self.folder / name
            if HISTORY.match(name):
                if not self.store.exists(f"wal/{name}{SEALED}"):
                    self._upload(path, name)
                    done += 1
                continue
            if not SEGMENT.match(name) or name <= last:
                continue
            if not self.store.exists(f"wal/{name}{SEALED}"):
                self._upload(path, name)
                done += 1
            self._marker.write_text(name)
            last = name
        # Stored segments are no longer needed here; the newest stays so pg_receivewal knows where it was.
        segments = [name for name in names if SEGMENT.match(name) and name <= last]
        for name in segments[:-1]:
            (self.folder / name).unlink(missing_ok=True)
        return done + self._partial_upload_if_stale()

    def _partial_upload_if_stale(self) -> int:
        partials = sorted(self.folder.glob("*.partial"))
        if not partials:
            return 0
        path = partials[-1]
        stat = path.stat()
        if time.time() - stat.st_mtime < PARTIAL_STALE_SECONDS and self.receiver_running():
            return 0
        if self._partial_uploaded == (path.name, stat.st_mtime_ns):
            return 0
        name = path.name.removesuffix(".partial")
        self._upload(path, f"{name}.{stat.st_mtime_ns}.partial")
        self._partial_uploaded = (path.name, stat.st_mtime_ns)
        return 1

    # ---- closing quiet segments -------------------------------------------------------------------
    def switch_if_due(self) -> bool:
        """Close the current segment when it holds changes and the last switch is old enough."""
        if time.monotonic() - self._switch_at < self.config.wal_switch_seconds:
            return False
        self._switch_at = time.monotonic()
        with psycopg.connect(self.config.source_for(), autocommit=True) as conn:
            lsn = conn.execute("SELECT pg_current_wal_insert_lsn()").fetchone()[0]
            if lsn == self._switch_lsn:
                return False
            conn.execute("SELECT pg_switch_wal()")
            self._switch_lsn = conn.execute("SELECT pg_current_wal_insert_lsn()").fetchone()[0]
        return True
