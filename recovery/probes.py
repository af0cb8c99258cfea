"""Watchdog probe: the last good (verified) base backup is younger than BACKUP_MAX_AGE_HOURS.

A failure opens an incident that only support staff see (impact minor: a draft), so a backup that silently
stopped is noticed within the hour instead of on the day it is needed.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from incidents.watchdog.probes import ProbeSpec
from recovery.catalog import latest_good
from recovery.config import BackupConfig, backup_config

SPEC = ProbeSpec("バックアップの遅延・失敗", (), "minor", "")
LIST_SECONDS = 60.0  # the store is listed at most once a minute, however often the watchdog probes


class BackupProbe:
    name = "backup"
    spec = SPEC

    def __init__(self, config: BackupConfig, *, clock=time.monotonic) -> None:
        self.config, self.clock = config, clock
        self._finished: datetime | None = None
        self._listed_at = -1e9

    def check(self) -> None:
        if self.clock() - self._listed_at >= LIST_SECONDS or self._finished is None:
            newest = latest_good(self.config.store())
            self._finished = newest.finished if newest is not None else None
            self._listed_at = self.clock()
        if self._finished is None:
            raise RuntimeError("no verified backup")
        age_hours = (datetime.now(UTC) - self._finished).total_seconds() / 3600
        if age_hours > self.config.max_age_hours:
            raise RuntimeError(f"last good backup {age_hours:.1f} h old")


def backup_probe() -> BackupProbe | None:
    """The watchdog's backup probe, unless backups are switched off (BACKUP_URL empty)."""
    config = backup_config()
    return BackupProbe(config) if config.url else None
