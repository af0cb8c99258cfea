"""Per-company incidents: a real server's requests counted per company (incidents/traffic.py), one company
broken for the window while another works, and Sentry alerts tagged with a company."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django_redis import get_redis_connection

from booking.models import MyPageToken
from incidents.banners import Audience, banners_for
from incidents.models import Incident, Scope, Source, Visibility
from incidents.traffic import Traffic, traffic_last_minute
from incidents.watchdog.monitor import Config, Watchdog
from incidents.watchdog.probes import TrafficProbe

NONE = Traffic(requests=0, errors=0, slow=0, seconds=0)
CONFIG = Config(interval=0.2, fail_after=3, fail_ratio=0.5, window_seconds=3.0, recover_after=2)


def _conninfo() -> str:
    db = connection.settings_dict
    return (
        f"host={db['HOST'] or '127.0.0.1'} port={db['PORT']} dbname={connection.settings_dict['NAME']} "
        f"user={db['USER'] or 'postgres'}"
    )


@contextmanager
def traffic(server, hosts: list[str]) -> Iterator[None]:
    """Students opening a sign-in link (each request reads the company's token table), on every host."""
    stop = threading.Event()

    def run() -> None:
        clients = [server.http(host, timeout=10) for host in hosts]
        while not stop.is_set():
            for client in clients:
                client.get("/my/login/not-a-real-token/")

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(15)


@contextmanager
def table_away(schema: str) -> Iterator[None]:
    """One company's token table renamed (a migration gone wrong in that schema): its pages fail, only its."""
    table = MyPageToken._meta.db_table
    with psycopg.connect(_conninfo(), autocommit=True) as conn:
        conn.execute(f'ALTER TABLE "{schema}"."{table}" RENAME TO "{table}_away"')
        try:
            yield
        finally:
            conn.execute(f'ALTER TABLE "{schema}"."{table}_away" RENAME TO "{table}"')


@contextmanager
def table_locked(schema: str) -> Iterator[None]:
    """One company's token table locked for a moment (its requests wait, then answer)."""
    with psycopg.connect(_conninfo()) as conn:
        conn.execute(f'LOCK TABLE "{schema}"."{MyPageToken._meta.db_table}" IN ACCESS EXCLUSIVE MODE')
        yield
        conn.rollback()


def _traffic_forget() -> None:
    client = get_redis_connection("default")
    keys = list(client.scan_iter(match=f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:traffic:*"))
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def _traffic_forgotten() -> Iterator[None]:
    """Counters start empty (an earlier test's server errors in the same minute would count for a company
    here) and are dropped after (any watchdog sharing the Redis would read them for three minutes)."""
    _traffic_forget()
    yield
    _traffic_forget()


def _rounds(watchdog: Watchdog, seconds: float) -> list[tuple[str, str]]:
    found, started = [], time.monotonic()
    while time.monotonic() - started < seconds:
        found += [(action.probe, action.kind) for action in watchdog.tick()]
        time.sleep(CONFIG.interval)
    return found


@pytest.mark.django_db
def test_one_company_broken_for_the_window_opens_an_incident_naming_that_company_only(
    tenants, live_server_daphne, settings
):
    settings.WATCHDOG_TENANT_MIN_REQUESTS = 5
    settings.WATCHDOG_TENANT_SLOW_SECONDS = 1.5
    acme, globex = tenants["acme"], tenants["globex"]
    watchdog = Watchdog(probes=[TrafficProbe()], config=CONFIG)
    with traffic(live_server_daphne, [acme.host, globex.host]):
        started, figures = time.monotonic(), {}
        while time.monotonic() - started < 60:  # a fresh server on a loaded machine may take a while
            assert _rounds(watchdog, 0.5) == []
            figures = traffic_last_minute()
            if all(figures.get(info.schema, NONE).requests >= 5 for info in (acme, globex)):
                break
        # The real server's requests were counted per company (403: an unknown link, not a server error).
        assert figures[acme.schema].requests >= 5 and figures[globex.schema].requests >= 5
        assert figures[globex.schema].errors == 0
        with table_locked(globex.schema):
            time.sleep(1.0)  # globex's requests wait a second once: slow once, nothing more
        assert _rounds(watchdog, 2.0) == []
        with table_away(globex.schema):
            opened = _rounds(watchdog, CONFIG.window_seconds + 2)
        assert opened == [(f"traffic@{globex.schema}", "open")]
        assert traffic_last_minute()[globex.schema].errors > 0
        assert traffic_last_minute()[acme.schema].errors == 0
    incident = Incident.objects.get(detection_key=f"watchdog:traffic@{globex.schema}")
    assert incident.scope == Scope.CHOSEN and list(incident.tenants.all()) == [globex.tenant]
    assert incident.visibility == Visibility.TENANTS and incident.source == Source.WATCHDOG
    assert not Incident.objects.filter(detection_key__contains=acme.schema).exists()
    # The affected company's recruiters and students see it; the other company sees nothing.
    assert [b.key for b in banners_for(tenant=globex.tenant, audience=Audience.RECRUITERS)] == [
        f"incident-{incident.pk}"
    ]
    assert banners_for(tenant=globex.tenant, audience=Audience.STUDENTS)
    assert banners_for(tenant=acme.tenant, audience=Audience.RECRUITERS) == []
