"""PgBouncer in front of PostgreSQL, as production may run it: session pooling, never transaction pooling.

django-tenants chooses a company by `SET search_path` on the connection, outside any transaction, and then
runs the company's queries. PgBouncer's transaction pooling hands the server connection to another client
after every transaction, the SET included, so one company's queries can run under another company's
search_path (django-tenants #732; tests/test_pgbouncer.py shows it happen through a real PgBouncer).
Session pooling keeps a client on its server connection for the whole session: correct with schemas, and
still a hard cap on server connections for many processes (docs/deploy.md). `pgbouncer_ini` is the
configuration; `pgbouncer_start` runs Debian's pgbouncer with it (tests and benchmarks).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

POOL_MODES = ("session", "transaction")


def pgbouncer_ini(
    *,
    listen_port: int,
    db_host: str,
    db_port: int,
    user: str,
    folder: Path,
    pool_mode: str = "session",
    pool_size: int = 20,
    max_client_conn: int = 2000,
) -> str:
    """The configuration: every database name is passed through to the server (`* =`)."""
    if pool_mode not in POOL_MODES:
        raise ValueError(f"pool_mode must be one of {POOL_MODES}")
    return "\n".join(
        [
            "[databases]",
            f"* = host={db_host} port={db_port}",
            "[pgbouncer]",
            "listen_addr = 127.0.0.1",
            f"listen_port = {listen_port}",
            f"unix_socket_dir = {folder}",
            "auth_type = trust",
            f"auth_file = {folder / 'users.txt'}",
            f"pool_mode = {pool_mode}",
            f"default_pool_size = {pool_size}",
            f"max_client_conn = {max_client_conn}",
            # What a client set on its session never reaches the next client of the server connection.
            "server_reset_query = DISCARD ALL",
            "ignore_startup_parameters = extra_float_digits,options",
            f"logfile = {folder / 'pgbouncer.log'}",
            f"pidfile = {folder / 'pgbouncer.pid'}",
            "",
        ]
    )


def pgbouncer_binary() -> str | None:
    return shutil.which("pgbouncer") or (
        "/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None
    )


def pgbouncer_start(
    *, listen_port: int, db_host: str, db_port: int, user: str, **options: object
) -> subprocess.Popen:
    """Run pgbouncer with pgbouncer_ini's configuration (as an unprivileged user when started as root), its
    files in a fresh folder under the system's temporary folder (that user must reach them)."""
    binary = pgbouncer_binary()
    if binary is None:
        raise RuntimeError("pgbouncer is needed: apt-get install pgbouncer")
    folder = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    folder.chmod(0o777)
    (folder / "users.txt").write_text(f'"{user}" ""\n')
    ini = folder / "pgbouncer.ini"
    ini.write_text(
        pgbouncer_ini(
            listen_port=listen_port,
            db_host=db_host,
            db_port=db_port,
            user=user,
            folder=folder,
            **options,  # type: ignore[arg-type]
        )
    )
    command = [binary, str(ini)]
    if os.geteuid() == 0:
        command[1:1] = ["-u", "nobody"]  # pgbouncer refuses to run as root
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=(folder / "stderr.log").open("ab"))
