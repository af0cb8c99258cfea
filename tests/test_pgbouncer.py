"""Schemas behind a real PgBouncer (Debian's pgbouncer): session pooling keeps every company in its own
search_path under concurrent use; transaction pooling does not (why docs/deploy.md recommends session mode)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from deploy.pgbouncer import pgbouncer_binary, pgbouncer_start
from saas.processes import free_port, process_stop, wait_for_port


@pytest.fixture(autouse=True)
def _pgbouncer_installed() -> None:
    # `make test` installs Debian's pgbouncer first; a missing binary is a failed set-up, never a skip.
    assert pgbouncer_binary() is not None, "pgbouncer is missing: run `make pgbouncer` (Debian's package)"


@pytest.fixture
def bouncer(tenants, django_db_blocker):
    """Start pgbouncer in the asked mode; yields a function making the Django alias that goes through it.

    Threads of their own connect through it (outside the test's transaction: nothing is written)."""
    started = []
    django_db_blocker.unblock()

    def start(mode: str, pool_size: int) -> str:
        default = connections["default"].settings_dict
        port = free_port()
        process = pgbouncer_start(
            listen_port=port,
            db_host=default["HOST"] or "127.0.0.1",
            db_port=int(default["PORT"]),
            user=default["USER"],
            pool_mode=mode,
            pool_size=pool_size,
        )
        started.append(process)
        wait_for_port(port, process)
        alias = f"bouncer_{mode}"
        settings = dict(default, HOST="127.0.0.1", PORT=port, CONN_MAX_AGE=0)
        settings["OPTIONS"] = {k: v for k, v in default.get("OPTIONS", {}).items() if k != "pool"}
        connections.settings[alias] = settings
        return alias

    yield start
    for alias in [a for a in connections.settings if a.startswith("bouncer_")]:
        for conn in connections.all(initialized_only=True):
            if conn.alias == alias:
                conn.close()
        del connections.settings[alias]
    for process in started:
        process_stop(process)
    django_db_blocker.restore()


def _schema_seen(alias: str, schema: str, steps: list[threading.Event]) -> str:
    """Choose `schema` (django-tenants: SET search_path on the connection), wait, then ask which applies."""
    connection = connections[alias]
    connection.set_schema(schema)
    try:
        with connection.cursor() as cursor:  # the SET search_path goes out here
            steps[0].set()
            steps[1].wait(10)
            cursor.execute("SELECT current_schema()")
            return cursor.fetchone()[0]
    finally:
        connection.close()


@pytest.mark.parametrize(("mode", "pool_size", "leaks"), [("session", 2, False), ("transaction", 1, True)])
def test_a_companys_search_path_through_pgbouncer(bouncer, tenants, mode, pool_size, leaks):
    alias = bouncer(mode, pool_size)
    acme, globex = tenants["acme"].schema, tenants["globex"].schema
    a_set, b_done = threading.Event(), threading.Event()
    with ThreadPoolExecutor(2) as pool:
        a = pool.submit(_schema_seen, alias, acme, [a_set, b_done])
        assert a_set.wait(10), a.exception(1)
        go = threading.Event()
        go.set()
        b = pool.submit(_schema_seen, alias, globex, [threading.Event(), go])
        assert b.result(10) == globex
        b_done.set()
        seen = a.result(10)
    # Session pooling: company A still sees its own schema. Transaction pooling: A's query ran on the server
    # connection B's SET search_path left behind (django-tenants #732).
    assert (seen != acme) is leaks
    assert seen == (globex if leaks else acme)


def test_session_pooling_keeps_companies_apart_under_concurrent_load(bouncer, tenants):
    alias = bouncer("session", 4)
    schemas = [tenants["acme"].schema, tenants["globex"].schema]

    def worker(index: int) -> int:
        wrong = 0
        connection = connections[alias]
        try:
            for step in range(150):
                schema = schemas[(index + step) % 2]
                connection.set_schema(schema)
                with connection.cursor() as cursor:
                    cursor.execute("SELECT current_schema()")
                    wrong += cursor.fetchone()[0] != schema
                if step % 10 == 0:
                    connection.close()  # a new client session: another server connection, maybe
        finally:
            connection.close()
        return wrong

    with ThreadPoolExecutor(8) as pool:
        assert sum(pool.map(worker, range(8))) == 0
