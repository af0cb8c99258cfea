"""`manage.py drill` (`make drill`): restore the latest backup into a scratch server, check it, print a report."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from recovery.config import backup_config
from recovery.drill import drill_run
from recovery.errors import RecoveryError


class Command(BaseCommand):
    help = (
        "Restore the latest backup + WAL into a scratch PostgreSQL and check rows, migrations and a booking."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--identity", default="", help="identity file (default BACKUP_IDENTITY_FILE)")

    def handle(self, *args, identity: str, **options) -> None:
        try:
            result = drill_run(config=backup_config(), identity_file=Path(identity) if identity else None)
        except RecoveryError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(result.text())
        summary = Path(settings.BACKUP_SPOOL) / "drill-latest.json"
        summary.write_text(
            json.dumps(
                {
                    "ok": result.ok,
                    "restore_point": result.restore_point,
                    "backups": result.backup_ids,
                    "restore_s": result.restore_s,
                    "rows_match": result.rows_match,
                    "migrations_current": result.migrations_current,
                    "booking_ok": result.booking_ok,
                    "rows_by_company": result.report.rows_by_company(),
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        if not result.ok:
            raise CommandError("drill failed")
