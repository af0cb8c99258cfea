"""A streaming standby (PostgreSQL's own physical replication), synchronous, and how a server changes role.

- `standby_create`: pg_basebackup with a replication slot from the primary, started in standby mode; the
  primary then waits for it on every commit (`synchronous_standby_names = 'FIRST 1 (<name>)'`), so an answer
  that a booking is made means its commit is on both servers.
- `standby_promote`: pg_promote(); the new primary stops waiting for a standby it does not have yet.
- `standby_rejoin`: a stopped former primary is rewound (pg_rewind) to the new primary's timeline and
  started as its standby; the new primary becomes synchronous again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psycopg

from recovery import postgres
from recovery.errors import RecoveryError

STANDBY_NAME = "standby1"


@dataclass(frozen=True)
class Role:
    reachable: bool
    primary: bool = False  # accepts writes
    receiving: bool = False  # a standby whose WAL receiver is streaming from a primary
    error: str = ""


def role_of(server: postgres.Server, *, timeout: int = 2) -> Role:
    try:
        with psycopg.connect(server.conninfo(), autocommit=True, connect_timeout=timeout) as conn:
            in_recovery = conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]
            if not in_recovery:
                return Role(reachable=True, primary=True)
            row = conn.execute("SELECT status FROM pg_stat_wal_receiver").fetchone()
            return Role(reachable=True, receiving=bool(row and row[0] == "streaming"))
    except psycopg.Error as error:
        return Role(reachable=False, error=type(error).__name__)


def _synchronous_set(server: postgres.Server, names: str) -> None:
    with server.connect() as conn:
        conn.execute(f"ALTER SYSTEM SET synchronous_standby_names = '{names}'")
        conn.execute("SELECT pg_reload_conf()")


def standby_create(
    *, primary: postgres.Server, pgdata: Path, port: int, name: str = STANDBY_NAME, synchronous: bool = True
) -> postgres.Cluster:
    """Copy the primary into pgdata, start it as a streaming standby on `port`, make it synchronous."""
    if pgdata.exists():
        raise RecoveryError(f"{pgdata} は既にあります。")
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with primary.connect() as conn:
        if not conn.execute("SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", [name]).fetchone():
            conn.execute("SELECT pg_create_physical_replication_slot(%s)", [name])
    postgres.run(
        [
            postgres.binary("pg_basebackup"),
            f"--dbname={primary.conninfo(application_name=name)}",
            f"--pgdata={pgdata}",
            "--wal-method=stream",
            "--checkpoint=fast",
            f"--slot={name}",
            "--write-recovery-conf",
        ],
        env=primary.env(),
    )
    cluster = postgres.Cluster(pgdata=pgdata, port=port)
    standby_configure(cluster, primary=primary, name=name)
    postgres.hand_to_server_user(pgdata)
    cluster.start()
    if synchronous:
        _synchronous_set(primary, f"FIRST 1 ({name})")
    return cluster


def standby_configure(cluster: postgres.Cluster, *, primary: postgres.Server, name: str) -> None:
    (cluster.pgdata / "standby.signal").touch()
    for stale in ("postmaster.pid", "postmaster.opts"):
        (cluster.pgdata / stale).unlink(missing_ok=True)
    cluster.configure(
        primary_conninfo=primary.conninfo(application_name=name, dbname="postgres"),
        primary_slot_name=name,
        # A standby waits for nobody; a lost primary is noticed within seconds, not the default minute.
        synchronous_standby_names="",
        wal_receiver_timeout="5s",
        wal_receiver_status_interval="1s",
        hot_standby="on",
    )


def standby_promote(
    *, standby: postgres.Server, primary: postgres.Server | None, force: bool = False
) -> None:
    """Promote; refuses while the primary still accepts writes (two primaries), unless forced."""
    if primary is not None and not force and role_of(primary).primary:
        raise RecoveryError(
            "主サーバーが応答しています（書き込み可能）。二重の主サーバーを避けるため昇格しません。"
        )
    with standby.connect() as conn:
        if not conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
            return
        # Alone now: commits must not wait for a standby that does not exist yet (rejoin restores it).
        conn.execute("ALTER SYSTEM SET synchronous_standby_names = ''")
        conn.execute("SELECT pg_reload_conf()")
        if not conn.execute("SELECT pg_promote(true, 60)").fetchone()[0]:
            raise RecoveryError("昇格が 60 秒以内に終わりませんでした。")


def standby_rejoin(
    *, old_primary: postgres.Cluster, new_primary: postgres.Server, name: str = STANDBY_NAME
) -> postgres.Cluster:
    """Rewind a stopped former primary onto the new primary's timeline and start it as its synchronous standby."""
    old_primary.stop(mode="immediate")
    postgres.run(
        [
            postgres.binary("pg_rewind"),
            f"--target-pgdata={old_primary.pgdata}",
            f"--source-server={new_primary.conninfo()}",
        ],
        env=new_primary.env(),
        user=postgres.server_user(),
    )
    with new_primary.connect() as conn:
        if not conn.execute("SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", [name]).fetchone():
            conn.execute("SELECT pg_create_physical_replication_slot(%s, true)", [name])
    standby_configure(old_primary, primary=new_primary, name=name)
    postgres.hand_to_server_user(old_primary.pgdata)
    old_primary.start()
    _synchronous_set(new_primary, f"FIRST 1 ({name})")
    return old_primary
