"""`manage.py backup agent|now|verify|prune|status`: continuous archiving and what the store holds."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError

from recovery.agent import BackupAgent
from recovery.basebackup import base_backup_take, base_backup_verify
from recovery.catalog import base_backups, latest_good, wal_objects
from recovery.config import backup_config
from recovery.crypto import keys_ensure
from recovery.errors import RecoveryError
from recovery.retention import prune


class Command(BaseCommand):
    help = (
        "Continuous archiving: run the agent, take a base backup now, verify, apply retention, show status."
    )

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        agent = sub.add_parser(
            "agent", help="stream WAL and take scheduled base backups (runs until stopped)"
        )
        agent.add_argument(
            "--once", action="store_true", help="one round, then store what was received and exit"
        )
        now = sub.add_parser("now", help="take a base backup now (incremental when possible)")
        now.add_argument("--full", action="store_true")
        verify = sub.add_parser("verify", help="read a stored backup back against its checksums")
        verify.add_argument("backup_id", nargs="?", default="")
        sub.add_parser("prune", help="apply the retention policy (BACKUP_KEEP_DAILY / BACKUP_KEEP_WEEKLY)")
        sub.add_parser("status", help="backups, WAL and the age of the newest good backup, as JSON")

    def handle(self, *args, action: str, **options) -> None:
        config = backup_config()
        try:
            if action == "agent":
                agent = BackupAgent(config=config)
                self.stdout.write(f"backup agent: archiving to {config.url}")
                if options["once"]:
                    agent.round()
                    agent.close()
                else:
                    agent.run_forever()
            elif action == "now":
                backup = base_backup_take(
                    config=config, recipient=keys_ensure(), kind="full" if options["full"] else "auto"
                )
                self.stdout.write(
                    f"{backup.id} {backup.kind}: {backup.stored_bytes / 1e6:.1f} MB stored in {backup.seconds} s, "
                    f"verified ({backup.verify_message})"
                )
            elif action == "verify":
                backup_id = options["backup_id"] or getattr(latest_good(config.store()), "id", "")
                if not backup_id:
                    raise CommandError("バックアップがありません。")
                backup = base_backup_verify(config=config, backup_id=backup_id)
                self.stdout.write(f"{backup.id}: {len(backup.files)} objects match their SHA-256")
            elif action == "prune":
                plan = prune(config=config)
                self.stdout.write(
                    f"kept {len(plan.keep)} backups, removed {len(plan.drop)} backups and {len(plan.wal_drop)} WAL files"
                )
            elif action == "status":
                self.stdout.write(json.dumps(backup_status(config), indent=2, ensure_ascii=False))
        except RecoveryError as error:
            raise CommandError(str(error)) from error


def backup_status(config) -> dict:
    store = config.store()
    backups = base_backups(store)
    good = [backup for backup in backups if backup.verified]
    newest = latest_good(store)
    wal = wal_objects(store)
    return {
        "store": config.url,
        "backups": [
            {"id": b.id, "kind": b.kind, "verified": b.verified, "stored_mb": round(b.stored_bytes / 1e6, 2)}
            for b in backups
        ],
        "verified_backups": len(good),
        "newest_good_age_hours": round((datetime.now(UTC) - newest.finished).total_seconds() / 3600, 3)
        if newest
        else None,
        "wal_files": len(wal),
        "newest_wal": max((item.name for item in wal if not item.name.endswith(".history")), default=None),
    }
