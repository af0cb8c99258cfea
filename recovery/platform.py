"""Point-in-time recovery of the whole platform (`manage.py restore --to …`), with a report of what it did.

The restore runs into a new data folder while the current server keeps running. With --replace (the
embedded server), the current server is then stopped, its folder kept beside as pg.before-<time>, the
restored one put in its place and started; Redis seat counters and caches are rebuilt for every company.
Without it, the restored server is left running on its own port for the operator to point DATABASE_URL at.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import psycopg
from django.conf import settings
from django.db import connections
from django.utils import timezone

from recovery import postgres
from recovery.aftercare import company_caches_reset
from recovery.config import BackupConfig
from recovery.errors import RecoveryError
from recovery.report import PlatformReport, platform_report, report_text
from recovery.restore import Progress, cluster_restore

logger = logging.getLogger("recovery")


@dataclass
class PlatformRestore:
    target: str | None
    reached: str | None
    backups: list[str]
    wal_files: int
    seconds: float
    data_folder: str
    port: int
    replaced: bool
    kept_aside: str
    rows_by_company: dict[str, int]
    migrations_missing: dict[str, list[str]]

    def text(self, report: PlatformReport) -> str:
        reached = self.reached or "(no transaction replayed after the backup)"
        lines = [
            f"restored to: {self.target or 'the end of the archive'}",
            f"moment reached (last transaction replayed): {reached}",
            f"backups used: {' + '.join(self.backups)}; WAL files: {self.wal_files}; {self.seconds:.1f} s",
            report_text(report, limit=200),
        ]
        if self.replaced:
            lines.append(
                f"the platform now runs on the restored data; the previous data is kept in {self.kept_aside}"
            )
        else:
            lines.append(
                f"restored server: {self.data_folder} on 127.0.0.1:{self.port} "
                f"(point DATABASE_URL at it, or run again with --replace on the embedded server; stop it with "
                f"pg_ctl -D {self.data_folder} stop)"
            )
        return "\n".join(lines)


def _embedded() -> bool:
    return not os.environ.get("DATABASE_URL")


def platform_restore(
    *,
    config: BackupConfig,
    target: datetime | None,
    replace: bool,
    into: Path | None = None,
    identity_file: Path | None = None,
    progress: Progress | None = None,
) -> tuple[PlatformRestore, PlatformReport]:
    if replace and not _embedded():
        raise RecoveryError(
            "--replace は内蔵 PostgreSQL のときだけ使えます。外部サーバーでは DATABASE_URL を復元先に向けてください。"
        )
    clock = time.monotonic()
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    folder = into or Path(settings.BASE_DIR) / ".data" / "restores" / stamp
    folder.parent.mkdir(parents=True, exist_ok=True)
    restored = cluster_restore(
        config=config, pgdata=folder, target=target, identity_file=identity_file, progress=progress
    )
    dbname = postgres.application_database()
    with psycopg.connect(restored.cluster.server.conninfo(dbname=dbname)) as conn:
        report = platform_report(conn)
    kept_aside = ""
    port = restored.cluster.port
    data_folder = restored.cluster.pgdata
    if replace:
        if progress:
            progress("swap", 0.95)
        kept_aside, port, data_folder = _swap_into_embedded(restored.cluster, stamp=stamp)
        for company in report.companies:
            company_caches_reset(schema_name=company.schema)
    if progress:
        progress("done", 1.0)
    result = PlatformRestore(
        target=target.isoformat() if target else None,
        reached=restored.reached.isoformat() if restored.reached else None,
        backups=restored.backup_ids,
        wal_files=restored.wal_files,
        seconds=round(time.monotonic() - clock, 2),
        data_folder=str(data_folder),
        port=port,
        replaced=replace,
        kept_aside=kept_aside,
        rows_by_company=report.rows_by_company(),
        migrations_missing={k: v for k, v in report.migrations_missing.items() if v},
    )
    summary = Path(settings.BASE_DIR) / ".data" / "restores" / f"{stamp}.json"
    summary.write_text(json.dumps(asdict(result), indent=2, ensure_ascii=False))
    return result, report


def _swap_into_embedded(cluster: postgres.Cluster, *, stamp: str) -> tuple[str, int, Path]:
    """Stop the embedded server, keep its folder aside, start the restored folder in its place."""
    from saas import embedded

    for connection in connections.all():
        connection.close()
    cluster.stop()
    live = embedded.DATA_DIR / "pg"
    aside = embedded.DATA_DIR / f"pg.before-{stamp}"
    embedded.postgres_stop()
    if live.exists():
        live.rename(aside)
    shutil.move(str(cluster.pgdata), live)
    url = embedded.postgres_url()
    for connection in connections.all():
        connection.close_pool()  # its connections (and reconnection backoff) belong to the stopped server
    return str(aside), int(url.rsplit(":", 1)[1].split("/")[0]), live
