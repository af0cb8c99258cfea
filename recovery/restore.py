"""Point-in-time restore of the whole cluster into a data folder: base backup chain + archived WAL to a moment.

Steps: choose the newest verified backup that finished before the moment; unseal it and the incrementals it
builds on (pg_combinebackup joins them); unseal the WAL written since it; start PostgreSQL in recovery with
`recovery_target_time` (exclusive: "just before 14:03:10" leaves out what committed at 14:03:10) and stop
there, read the moment the last replayed transaction committed, and promote. Without a moment, everything
the archive holds is replayed.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from recovery import postgres
from recovery.catalog import (
    SEALED,
    BaseBackup,
    WalObject,
    base_backups,
    chain,
    lsn_segment,
    segment_number,
    wal_objects,
)
from recovery.config import BackupConfig
from recovery.crypto import identity_load, unseal, unseal_into
from recovery.errors import RecoveryError
from saas.processes import free_port

logger = logging.getLogger("recovery.restore")
RECOVERY_BLOCK = "# recovery: settings of the restore (removed after promotion)"
Progress = Callable[[str, float], None]  # (phase, fraction of the whole restore done)


@dataclass
class RestoredCluster:
    cluster: postgres.Cluster
    backup_ids: list[str]
    target: datetime | None
    reached: datetime | None  # commit time of the last transaction replayed
    wal_files: int
    seconds: float
    phases: dict[str, float] = field(default_factory=dict)


def _choose(backups: list[BaseBackup], target: datetime | None) -> list[BaseBackup]:
    usable = [
        backup for backup in backups if backup.verified and (target is None or backup.finished <= target)
    ]
    if not usable:
        when = f"{target.isoformat()} より前に" if target else ""
        raise RecoveryError(f"{when}完了した検証済みのベースバックアップがありません。")
    return chain(backups, usable[-1])


def _unseal_backup(store, backup: BaseBackup, folder: Path, identity) -> Path:
    """The backup as a plain data folder (base.tar extracted, pg_wal.tar into pg_wal, the manifest beside).

    The tar files are decrypted and decompressed straight into GNU tar's pipe: nothing is written twice.
    """
    data = folder / backup.id
    data.mkdir(parents=True)
    for item in backup.files:
        key = f"base/{backup.id}/{item.name}{SEALED}"
        if item.name == "backup_manifest":
            with store.open(key) as stream:
                unseal(stream=stream, target=data / "backup_manifest", identity=identity)
            continue
        target = data if item.name == "base.tar" else data / "pg_wal"
        target.mkdir(exist_ok=True)
        tar = subprocess.Popen(
            ["tar", "-x", "-f", "-", "-C", str(target)], stdin=subprocess.PIPE, stderr=subprocess.PIPE
        )
        try:
            with store.open(key) as stream:
                unseal_into(stream=stream, out=tar.stdin, identity=identity, name=item.name)
        finally:
            tar.stdin.close()
            error = tar.stderr.read().decode(errors="replace")
            tar.stderr.close()
        if tar.wait() != 0:
            raise RecoveryError(f"{backup.id}/{item.name} を展開できません: {error.strip()[-500:]}")
    return data


def _wal_needed(objects: list[WalObject], first: BaseBackup) -> list[WalObject]:
    """History files, and every segment from the backup's start on (a finished one wins over partials)."""
    start = segment_number(lsn_segment(first.start_lsn, timeline=first.timeline))
    chosen: dict[str, WalObject] = {}
    for item in objects:
        if item.name.endswith(".history"):
            chosen[item.name] = item
            continue
        if segment_number(item.name) < start or int(item.name[:8], 16) < first.timeline:
            continue
        current = chosen.get(item.name)
        if current is None or (current.partial and (not item.partial or item.key > current.key)):
            chosen[item.name] = item
    return list(chosen.values())


def cluster_restore(
    *,
    config: BackupConfig,
    pgdata: Path,
    target: datetime | None = None,
    target_name: str = "",
    port: int | None = None,
    identity_file: Path | None = None,
    progress: Progress | None = None,
    work: Path | None = None,
    nice: bool = False,
) -> RestoredCluster:
    """Restore into pgdata (must not exist) and leave the server running, promoted, on `port`."""
    clock = time.monotonic()
    phases: dict[str, float] = {}
    tell = progress or (lambda phase, fraction: None)
    if target is not None and target.tzinfo is None:
        raise RecoveryError("復元時刻にはタイムゾーンを付けてください。")
    if pgdata.exists():
        raise RecoveryError(f"{pgdata} は既にあります。")
    identity = identity_load(identity_file)
    store = config.store()
    links = _choose(base_backups(store), target)
    work = work or pgdata.parent / f".restore-{pgdata.name}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        tell("base", 0.05)
        folders = [_unseal_backup(store, link, work / "base", identity) for link in links]
        if len(folders) == 1:
            folders[0].rename(pgdata)
        else:
            # Hard links, no fsync: the inputs are thrown away, and PostgreSQL syncs the data folder when it starts.
            postgres.run(
                nice=nice,
                command=[
                    postgres.binary("pg_combinebackup"),
                    "--link",
                    "--no-sync",
                    "--no-manifest",
                    *map(str, folders),
                    "-o",
                    str(pgdata),
                ],
            )
            # The newest backup's own WAL (up to its end) is needed as well; the archive has it too.
            for segment in (folders[-1] / "pg_wal").iterdir():
                if segment.is_file() and not (pgdata / "pg_wal" / segment.name).exists():
                    shutil.copyfile(segment, pgdata / "pg_wal" / segment.name)
        phases["base_s"] = round(time.monotonic() - clock, 2)
        tell("wal", 0.35)
        wal_folder = work / "wal"
        wal_folder.mkdir()
        needed = _wal_needed(wal_objects(store), links[0])

        def fetch(item: WalObject) -> None:
            with store.open(item.key) as stream:
                unseal(stream=stream, target=wal_folder / item.name, identity=identity)

        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(fetch, needed))
        phases["wal_fetch_s"] = round(time.monotonic() - clock - phases["base_s"], 2)
        tell("replay", 0.6)
        cluster = postgres.Cluster(pgdata=pgdata, port=port or free_port())
        _recovery_configure(cluster, wal_folder=wal_folder, target=target, target_name=target_name)
        postgres.hand_to_server_user(pgdata)
        postgres.hand_to_server_user(work)
        replay_started = time.monotonic()
        reached = _recover(cluster, target=target, nice=nice)
        phases["replay_s"] = round(time.monotonic() - replay_started, 2)
        _recovery_settings_remove(cluster)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return RestoredCluster(
        cluster=cluster,
        backup_ids=[link.id for link in links],
        target=target,
        reached=reached,
        wal_files=len(needed),
        seconds=round(time.monotonic() - clock, 2),
        phases=phases,
    )


def _recovery_configure(
    cluster: postgres.Cluster, *, wal_folder: Path, target: datetime | None, target_name: str
) -> None:
    for name in ("postmaster.pid", "standby.signal", "postmaster.opts"):
        (cluster.pgdata / name).unlink(missing_ok=True)
    lines = [
        RECOVERY_BLOCK,
        f'restore_command = \'cp "{wal_folder}/%f" "%p"\'',
        "recovery_target_timeline = 'latest'",
        # A restored copy is on its own: it must not wait for the standby its source had.
        "synchronous_standby_names = ''",
        "primary_conninfo = ''",
        # One syncfs() of the file system at start instead of an fsync() per file of the restored folder.
        "recovery_init_sync_method = 'syncfs'",
    ]
    if target is not None:
        lines += [
            f"recovery_target_time = '{target.astimezone(UTC).isoformat()}'",
            "recovery_target_inclusive = off",
            "recovery_target_action = 'pause'",
        ]
    elif target_name:  # a restore point (pg_create_restore_point), as the drill makes
        lines += [f"recovery_target_name = '{target_name}'", "recovery_target_action = 'pause'"]
    with open(cluster.pgdata / "postgresql.auto.conf", "a", encoding="utf-8") as conf:
        conf.write("\n" + "\n".join(lines) + "\n")
    (cluster.pgdata / "recovery.signal").touch()


def _recovery_settings_remove(cluster: postgres.Cluster) -> None:
    conf = cluster.pgdata / "postgresql.auto.conf"
    text = conf.read_text()
    if RECOVERY_BLOCK in text:
        conf.write_text(text[: text.index(RECOVERY_BLOCK)].rstrip("\n") + "\n")


def _recover(cluster: postgres.Cluster, *, target: datetime | None, nice: bool = False) -> datetime | None:
    """Start in recovery; at the target (paused) or the end of the archive, read the moment reached, promote."""
    for attempt in range(2):
        try:
            cluster.start(timeout=3600, nice=nice)
            return _wait_and_promote(cluster)
        except (RecoveryError, psycopg.OperationalError):
            log = (cluster.pgdata / "server.log").read_text(errors="replace")
            if attempt or target is None or "before configured recovery target was reached" not in log:
                raise
        # Nothing committed after the moment: the archive's end is the moment. Replay it all.
        logger.info("no transaction after %s in the archive: replaying to its end", target)
        cluster.stop(mode="immediate")
        _target_drop(cluster)
    raise AssertionError("unreachable")


def _wait_and_promote(cluster: postgres.Cluster) -> datetime | None:
    deadline = time.monotonic() + 3600
    with psycopg.connect(cluster.server.conninfo(), autocommit=True) as conn:
        while True:
            in_recovery, state = conn.execute(
                "SELECT pg_is_in_recovery(), CASE WHEN pg_is_in_recovery() THEN pg_get_wal_replay_pause_state() END"
            ).fetchone()
            if not in_recovery or state == "paused":
                break
            if time.monotonic() > deadline:
                raise RecoveryError("回復が終わりません。")
            time.sleep(0.1)
        reached = conn.execute("SELECT pg_last_xact_replay_timestamp()").fetchone()[0]
        if in_recovery:
            conn.execute("SELECT pg_promote(true, 600)")
    return reached


def _target_drop(cluster: postgres.Cluster) -> None:
    conf = cluster.pgdata / "postgresql.auto.conf"
    kept = [line for line in conf.read_text().splitlines() if not line.startswith("recovery_target_")]
    conf.write_text("\n".join(kept) + "\n")
    os.chmod(conf, 0o600)
    postgres.hand_to_server_user(cluster.pgdata)
