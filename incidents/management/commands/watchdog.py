"""Run the health watchdog: `python manage.py watchdog` (started by `make demo`, one per deployment)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from incidents.watchdog.monitor import Config, Watchdog
from incidents.watchdog.probes import default_probes, registered_hooks


class Command(BaseCommand):
    help = "Probe PostgreSQL, Redis, the channel layer, Celery, SMTP and the web; open and close incidents."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--interval", type=float, default=5.0, help="seconds between rounds")
        parser.add_argument(
            "--fail-after", type=int, default=3, help="failed rounds before an incident opens"
        )
        parser.add_argument("--recover-after", type=int, default=3, help="good rounds before monitoring")
        parser.add_argument("--stable-seconds", type=float, default=120.0, help="stable time before resolved")
        parser.add_argument("--probes", default="", help="comma-separated subset (default: all)")
        parser.add_argument("--web-url", default="", help="e.g. http://127.0.0.1:8000/healthz")
        parser.add_argument("--once", action="store_true", help="one round, then exit")

    def handle(self, *args, **options) -> None:
        names = [name for name in options["probes"].split(",") if name] or None
        watchdog = Watchdog(
            probes=default_probes(names=names, web_url=options["web_url"]),
            config=Config(
                interval=options["interval"],
                fail_after=options["fail_after"],
                recover_after=options["recover_after"],
                stable_seconds=options["stable_seconds"],
            ),
            hooks=registered_hooks(),
        )
        self.stdout.write(
            f"watchdog: probing {', '.join(p.name for p in watchdog.probes)} every {options['interval']}s"
        )
        if options["once"]:
            watchdog.tick()
            return
        watchdog.run_forever()
