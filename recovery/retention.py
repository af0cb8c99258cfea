"""Retention: keep the newest backup of each of the last N days and M weeks, and the WAL they need."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from recovery.catalog import BaseBackup, base_backups, chain, lsn_segment, segment_number, wal_objects
from recovery.config import BackupConfig


@dataclass
class PrunePlan:
    keep: list[str] = field(default_factory=list)
    drop: list[str] = field(default_factory=list)
    wal_drop: list[str] = field(default_factory=list)


def prune_plan(
    *, backups: list[BaseBackup], wal_keys: list[tuple[str, str]], daily: int, weekly: int
) -> PrunePlan:
    """Which backups and WAL objects go. wal_keys: (key, segment name) of segments (not history files)."""
    good = [backup for backup in backups if backup.verified]
    kept: set[str] = set()
    days: dict[str, BaseBackup] = {}
    weeks: dict[tuple[int, int], BaseBackup] = {}
    for backup in good:  # oldest first: the newest of each day and week wins
        moment = backup.finished.astimezone(UTC)
        days[moment.date().isoformat()] = backup
        weeks[moment.isocalendar()[:2]] = backup
    chosen = [days[key] for key in sorted(days)[-daily:]] if daily else []
    chosen += [weeks[key] for key in sorted(weeks)[-weekly:]] if weekly else []
    if good:
        chosen.append(good[-1])  # whatever the policy, the newest good backup stays
    for backup in chosen:
        kept.update(link.id for link in chain(backups, backup))
    plan = PrunePlan()
    for backup in backups:
        if backup.id in kept:
            plan.keep.append(backup.id)
        elif not good or backup.finished < good[-1].finished:  # never one newer than the newest good one
            plan.drop.append(backup.id)
        else:
            plan.keep.append(backup.id)
    oldest = min((b for b in backups if b.id in kept), key=lambda b: b.id, default=None)
    if oldest is not None:
        first = segment_number(lsn_segment(oldest.start_lsn, timeline=oldest.timeline))
        plan.wal_drop = [key for key, name in wal_keys if segment_number(name) < first]
    return plan


def prune(*, config: BackupConfig, now: datetime | None = None) -> PrunePlan:
    """Apply the policy (BACKUP_KEEP_DAILY, BACKUP_KEEP_WEEKLY) to the store: `manage.py backup prune`."""
    store = config.store()
    backups = base_backups(store)
    wal_keys = [(item.key, item.name) for item in wal_objects(store) if not item.name.endswith(".history")]
    plan = prune_plan(backups=backups, wal_keys=wal_keys, daily=config.keep_daily, weekly=config.keep_weekly)
    for backup_id in plan.drop:
        keys = [item.key for item in store.list(f"base/{backup_id}/")]
        # backup.json first: a half-deleted backup is no longer listed as complete.
        for key in sorted(keys, key=lambda key: not key.endswith("/backup.json")):
            store.delete(key)
    for key in plan.wal_drop:
        store.delete(key)
    return plan
