"""The watchdog's backup probe: a last good backup older than allowed opens an incident that support staff see."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from incidents.models import Incident, State, Visibility
from incidents.watchdog.monitor import Config, Watchdog
from incidents.watchdog.probes import default_probes
from recovery.catalog import base_backup_write
from recovery.config import backup_config
from recovery.probes import BackupProbe
from recovery.store import DirectoryStore
from tests.recovery.conftest import backup_entry


def test_the_watchdog_runs_the_backup_probe():
    assert [probe.name for probe in default_probes(names=["backup"])] == ["backup"]


@pytest.mark.django_db
def test_an_old_backup_opens_an_incident_for_support_and_a_fresh_one_resolves_it(tmp_path, tenants):
    store = DirectoryStore(tmp_path / "store")
    now = datetime.now(UTC)
    base_backup_write(store, backup_entry(now - timedelta(hours=30)))
    base_backup_write(
        store, backup_entry(now - timedelta(hours=1), verified=False)
    )  # failed its checks: not good
    clock = [0.0]
    probe = BackupProbe(backup_config(url=str(store.root), max_age_hours=26), clock=lambda: clock[0])
    watchdog = Watchdog(
        probes=[probe],
        config=Config(interval=0.1, fail_after=2, recover_after=1, stable_seconds=0),
        clock=lambda: clock[0],
    )
    assert watchdog.tick() == []
    assert [action.kind for action in watchdog.tick()] == ["open"]
    incident = Incident.objects.get(detection_key="watchdog:backup")
    assert incident.title == "バックアップの遅延・失敗"
    assert incident.visibility == Visibility.DRAFT and incident.state == State.INVESTIGATING
    watchdog.tick()
    assert Incident.objects.filter(detection_key="watchdog:backup").count() == 1
    base_backup_write(store, backup_entry(now))
    clock[0] += 30
    watchdog.tick()  # the store is listed once a minute, not on every round
    incident.refresh_from_db()
    assert incident.state == State.INVESTIGATING
    clock[0] += 31
    assert [action.kind for action in watchdog.tick()] == ["monitoring"]
    assert [action.kind for action in watchdog.tick()] == ["resolved"]
    incident.refresh_from_db()
    assert incident.state == State.RESOLVED
