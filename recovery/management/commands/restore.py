"""`manage.py restore --to "2026-03-01 14:03:10"`: the whole platform back to just before a moment, with a report."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from recovery.config import backup_config
from recovery.errors import RecoveryError
from recovery.platform import platform_restore
from recovery.progress import IncidentProgress


def moment_parse(text: str) -> datetime:
    """ISO 8601 or "YYYY-MM-DD HH:MM:SS"; without a zone it is Japan time (TIME_ZONE)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as error:
        raise CommandError(f"時刻の形式が正しくありません: {text!r}（例: 2026-03-01 14:03:10）") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(settings.TIME_ZONE))


class Command(BaseCommand):
    help = "Restore every company to just before a moment (or the end of the archive) and report what it did."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--to", default="", help='moment, e.g. "2026-03-01 14:03:10" (Japan time unless a zone is given)'
        )
        parser.add_argument("--latest", action="store_true", help="everything the archive holds")
        parser.add_argument(
            "--replace", action="store_true", help="swap the restored data into the embedded server"
        )
        parser.add_argument(
            "--into", default="", help="data folder to restore into (default .data/restores/<time>)"
        )
        parser.add_argument("--identity", default="", help="identity file (default BACKUP_IDENTITY_FILE)")

    def handle(self, *args, **options) -> None:
        if bool(options["to"]) == bool(options["latest"]):
            raise CommandError("--to TIME か --latest のどちらかを指定してください。")
        target = moment_parse(options["to"]) if options["to"] else None
        subject = f"全体の復元（{options['to'] or '最新'}）"
        progress = IncidentProgress(title="データの復元", subject=subject, estimate_seconds=600)
        deferred: list[tuple[str, str]] = []
        if options["replace"]:
            # Recorded in the restored database once it is in place: the current one is about to be replaced.
            progress_call = lambda phase, fraction: deferred.append((phase, progress.text(phase, fraction)))  # noqa: E731
        else:
            progress_call = progress
        try:
            result, report = platform_restore(
                config=backup_config(),
                target=target,
                replace=options["replace"],
                into=Path(options["into"]) if options["into"] else None,
                identity_file=Path(options["identity"]) if options["identity"] else None,
                progress=progress_call,
            )
        except RecoveryError as error:
            raise CommandError(str(error)) from error
        for phase, text in deferred:
            progress.post(phase, text)
        self.stdout.write(result.text(report))
