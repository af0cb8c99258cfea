"""`manage.py tenant_restore acme --to "2026-03-01 14:03:10" --actor support@…`: one company back to a moment."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from recovery.config import backup_config
from recovery.errors import RecoveryError
from recovery.management.commands.restore import moment_parse
from recovery.tenant_restore import tenant_restore
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Restore one company's schema to just before a moment; the other companies keep serving."

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--to", required=True, help='moment, e.g. "2026-03-01 14:03:10" (Japan time)')
        parser.add_argument(
            "--actor", required=True, help="who asked (support staff e-mail), for the audit log"
        )
        parser.add_argument("--identity", default="", help="identity file (default BACKUP_IDENTITY_FILE)")

    def handle(self, *args, slug: str, **options) -> None:
        tenant = Tenant.objects.filter(slug=slug).exclude(schema_name="public").first()
        if tenant is None:
            raise CommandError(f"会社 {slug} はありません。")
        target = moment_parse(options["to"])
        if target >= timezone.now():
            raise CommandError("復元時刻は過去の時刻を指定してください。")
        try:
            result = tenant_restore(
                config=backup_config(),
                tenant=tenant,
                target=target,
                actor=options["actor"],
                identity_file=Path(options["identity"]) if options["identity"] else None,
            )
        except RecoveryError as error:
            raise CommandError(str(error)) from error
        restore = result.restore
        self.stdout.write(
            f"{tenant.slug}: restored to {timezone.localtime(restore.reached_at) if restore.reached_at else 'the backup'} "
            f"in {result.seconds:.1f} s (scratch restore {result.scratch_s:.1f} s, swap {result.swap_s:.1f} s); "
            f"rows {result.rows_before:,} → {result.rows_after:,}; previous data kept as schema {restore.previous_schema}"
        )
