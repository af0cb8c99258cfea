"""The embedded default: real PostgreSQL and Redis start under a data folder, are reused, and stop cleanly."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import psycopg
import redis

from tests.conftest import ROOT, free_port


def _embedded(command: str, env: dict[str, str]) -> dict[str, str]:
    result = subprocess.run(
        [sys.executable, "-m", "saas.embedded", command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    return dict(line.split("=", 1) for line in result.stdout.split())


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_embedded_servers_start_reuse_and_stop(tmp_path: Path):
    pg_port, redis_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        {
            "SAAS_DATA_DIR": str(tmp_path),
            "EMBEDDED_PG_PORT": str(pg_port),
            "EMBEDDED_REDIS_PORT": str(redis_port),
        }
    )
    urls = _embedded("start", env)
    try:
        assert urls["DATABASE_URL"] == f"postgres://postgres@127.0.0.1:{pg_port}/saas"
        with psycopg.connect(urls["DATABASE_URL"].replace("postgres://", "postgresql://")) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
        assert int(version.split(".")[0]) >= 16
        client = redis.Redis.from_url(urls["REDIS_URL"])
        client.set("probe", "1")
        pid = (tmp_path / "pg" / "postmaster.pid").read_text().split()[0]
        # Starting again reuses the running servers.
        assert _embedded("start", env) == urls
        assert (tmp_path / "pg" / "postmaster.pid").read_text().split()[0] == pid
        assert client.get("probe") == b"1"
    finally:
        _embedded("stop", env)
    assert not _listening(pg_port) and not _listening(redis_port)
    assert not (tmp_path / "pg" / "postmaster.pid").exists()


def test_a_port_taken_by_another_server_is_left_alone(tmp_path: Path):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env.update(
            {
                "SAAS_DATA_DIR": str(tmp_path),
                "EMBEDDED_PG_PORT": str(taken),
                "EMBEDDED_REDIS_PORT": str(taken),
            }
        )
        urls = _embedded("start", env)
        try:
            assert f":{taken}/" not in urls["DATABASE_URL"] and f":{taken}/" not in urls["REDIS_URL"]
            with psycopg.connect(urls["DATABASE_URL"].replace("postgres://", "postgresql://")) as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)
            assert _embedded("start", env) == urls
        finally:
            _embedded("stop", env)


def test_urls_in_the_environment_start_nothing(tmp_path: Path):
    env = dict(
        os.environ,
        SAAS_DATA_DIR=str(tmp_path),
        DATABASE_URL="postgres://u@db.invalid/x",
        REDIS_URL="redis://r.invalid/0",
    )
    urls = _embedded("start", env)
    assert urls == {"DATABASE_URL": "postgres://u@db.invalid/x", "REDIS_URL": "redis://r.invalid/0"}
    assert list(tmp_path.iterdir()) == []
