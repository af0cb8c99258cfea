"""Backup settings in one place: the store, the keys' locations, the schedule, retention and the source."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import environ
import psycopg
from django.conf import settings

from recovery.store import Store, store_from_url


@dataclass(frozen=True)
class BackupConfig:
    url: str
    spool: Path
    source: str  # libpq conninfo of the primary (every host listed, read-write session wanted)
    password: str
    full_hours: float
    incremental_hours: float
    wal_switch_seconds: float
    keep_daily: int
    keep_weekly: int
    max_age_hours: float
    lock_days: int

    def store(self) -> Store:
        return store_from_url(self.url, lock_days=self.lock_days)

    def source_for(self, *, dbname: str = "postgres", **extra: str) -> str:
        return psycopg.conninfo.make_conninfo(self.source, dbname=dbname, **extra)

    def tool_env(self) -> dict[str, str]:
        environment = dict(os.environ)
        if self.password:
            environment["PGPASSWORD"] = self.password
        return environment


def _source_conninfo() -> tuple[str, str]:
    url = getattr(settings, "BACKUP_DATABASE_URL", "")
    db = environ.Env.db_url_config(url) if url else settings.DATABASES["default"]
    conninfo = psycopg.conninfo.make_conninfo(
        host=str(db.get("HOST") or "127.0.0.1"),
        port=str(db.get("PORT") or 5432),
        user=db.get("USER") or "postgres",
        dbname="postgres",
        connect_timeout="5",
        target_session_attrs="read-write",
    )
    return conninfo, db.get("PASSWORD") or ""


def backup_config(**overrides) -> BackupConfig:
    source, password = _source_conninfo()
    values = {
        "url": settings.BACKUP_URL,
        "spool": Path(settings.BACKUP_SPOOL),
        "source": source,
        "password": password,
        "full_hours": settings.BACKUP_FULL_HOURS,
        "incremental_hours": settings.BACKUP_INCREMENTAL_HOURS,
        "wal_switch_seconds": settings.BACKUP_WAL_SWITCH_SECONDS,
        "keep_daily": settings.BACKUP_KEEP_DAILY,
        "keep_weekly": settings.BACKUP_KEEP_WEEKLY,
        "max_age_hours": settings.BACKUP_MAX_AGE_HOURS,
        "lock_days": settings.BACKUP_LOCK_DAYS,
    }
    values.update(overrides)
    return BackupConfig(**values)
