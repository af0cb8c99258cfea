"""The watchdog: a real Redis stopped and restarted, PostgreSQL down (notify first, record later), no flapping."""

from __future__ import annotations

import time

import pytest
from django.db import connection

from incidents.models import Incident, Source, State, Visibility
from incidents.watchdog.monitor import Config, Watchdog
from incidents.watchdog.probes import PostgresProbe, RedisProbe
from saas.processes import redis_start
from tests.conftest import free_port, stop_process
from tests.incidents.conftest import start_redis
from tests.incidents.helpers import group_listener


def _tick_until(watchdog: Watchdog, kind: str, *, seconds: float, interval: float = 0.2) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if any(action.kind == kind for action in watchdog.tick()):
            return time.monotonic() - started
        time.sleep(interval)
    raise AssertionError(f"watchdog did not reach {kind} within {seconds}s")


@pytest.mark.django_db
def test_watchdog_opens_and_resolves_when_a_real_redis_stops_and_returns(tenants, mailoutbox):
    port, redis_server = start_redis()
    watchdog = Watchdog(
        probes=[RedisProbe(f"redis://127.0.0.1:{port}/0")],
        config=Config(interval=0.2, fail_after=3, recover_after=2, stable_seconds=0.6),
    )
    try:
        for _ in range(3):
            assert watchdog.tick() == []
        stop_process(redis_server)
        detected = _tick_until(watchdog, "open", seconds=30)
        assert detected < 30
        incident = Incident.objects.get(detection_key="watchdog:redis")
        assert incident.source == Source.WATCHDOG and incident.visibility == Visibility.PUBLIC
        assert {c.slug for c in incident.components.all()} == {"live", "jobs", "email"}
        # Told directly (the queue is on Redis): support in To, every company's admin in Bcc.
        assert mailoutbox[0].to == ["support@localhost"]
        assert set(mailoutbox[0].bcc) >= {tenants["acme"].admin_email, tenants["globex"].admin_email}
        # Further failing rounds neither open a second incident nor send again.
        for _ in range(3):
            watchdog.tick()
        assert Incident.objects.filter(detection_key="watchdog:redis").count() == 1 and len(mailoutbox) == 1
        redis_server = start_redis_on(port)
        _tick_until(watchdog, "monitoring", seconds=15)
        incident.refresh_from_db()
        assert incident.state == State.MONITORING
        _tick_until(watchdog, "resolved", seconds=15)
        incident.refresh_from_db()
        assert incident.state == State.RESOLVED
    finally:
        stop_process(redis_server)


def start_redis_on(port: int):
    return redis_start(port=port)[1]


class ScriptedProbe:
    """Plays a fixed sequence of outcomes (True = healthy) to drive the state machine."""

    name = "channels"

    def __init__(self, outcomes: list[bool]) -> None:
        self.outcomes = list(outcomes)

    def check(self) -> None:
        if not self.outcomes.pop(0):
            raise ConnectionError("scripted failure")


@pytest.mark.django_db
def test_a_probe_failing_now_and_then_never_opens_an_incident(tenants):
    # One probe in four fails (timeouts under load): many failures in the window, but a quarter of its probes.
    watchdog = Watchdog(
        probes=[ScriptedProbe([False, True, True, True] * 6)], config=Config(fail_after=3, fail_ratio=0.5)
    )
    kinds = [action.kind for _ in range(24) for action in watchdog.tick()]
    assert kinds == [] and not Incident.objects.filter(detection_key="watchdog:channels").exists()
    # The same failures closer together (every other probe) are half the window: confirmed.
    watchdog = Watchdog(
        probes=[ScriptedProbe([False, True] * 3)], config=Config(fail_after=3, fail_ratio=0.5)
    )
    kinds = [action.kind for _ in range(6) for action in watchdog.tick()]
    assert kinds == ["open"]


@pytest.mark.django_db
def test_recovery_needs_consecutive_successes_and_relapse_reuses_the_incident(tenants):
    outcomes = [False] * 3 + [True, False, True, True] + [False] * 3 + [True] * 2
    clock = iter(range(1000))
    watchdog = Watchdog(
        probes=[ScriptedProbe(outcomes)],
        config=Config(fail_after=3, recover_after=2, stable_seconds=100),
        clock=lambda: float(next(clock)),
    )
    kinds = [action.kind for _ in range(len(outcomes)) for action in watchdog.tick()]
    assert kinds == ["open", "monitoring", "relapse", "monitoring"]
    incident = Incident.objects.get(detection_key="watchdog:channels")
    # A minor outage (live updates) opens as a draft for support to review.
    assert incident.visibility == Visibility.DRAFT and incident.state == State.MONITORING
    assert [u.state for u in incident.updates.all()] == [
        "monitoring",
        "investigating",
        "monitoring",
        "investigating",
    ]


@pytest.mark.django_db
def test_postgres_down_notifies_at_once_and_records_when_back(tenants, mailoutbox):
    db = connection.settings_dict
    good = f"host={db['HOST'] or '127.0.0.1'} port={db['PORT']} dbname={db['NAME']} user={db['USER'] or 'postgres'}"
    probe = PostgresProbe(good)
    watchdog = Watchdog(probes=[probe], config=Config(fail_after=2, recover_after=2, stable_seconds=100))
    watchdog.tick()  # healthy round: learns the companies' contacts
    probe.conninfo = f"host=127.0.0.1 port={free_port()} dbname=x user=postgres connect_timeout=1"
    with group_listener({"acme": tenants["acme"].tenant, "globex": tenants["globex"].tenant}) as received:
        actions = watchdog.tick() + watchdog.tick()
    assert [action.kind for action in actions] == ["open"]
    assert (
        "データベースの障害" in received["acme"][0]["text"]
        and "データベースの障害" in received["globex"][0]["text"]
    )
    assert mailoutbox[0].to == ["support@localhost"] and tenants["acme"].admin_email in mailoutbox[0].bcc
    # Nothing could be recorded yet: it waits in the watchdog's queue.
    assert (
        not Incident.objects.filter(detection_key="watchdog:postgres").exists() and len(watchdog.pending) == 1
    )
    probe.conninfo = good
    watchdog.tick()
    incident = Incident.objects.get(detection_key="watchdog:postgres")
    assert incident.impact == "critical" and "検知しました" in incident.updates.first().message_ja
    assert len(watchdog.pending) == 0 and len(mailoutbox) == 1
