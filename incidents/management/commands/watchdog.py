"""Run the health watchdog: `python manage.py watchdog` (started by `make demo`, one per deployment)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from incidents.watchdog.monitor import Config, Watchdog
from incidents.watchdog.probes import default_probes, registered_hooks


class Command(BaseCommand):
    help = "Probe PostgreSQL, Redis, the channel layer, Celery, SMTP and the web; open and close incidents."

    def add_arguments(self, parser) -> None:
        # Defaults: settings.WATCHDOG_* (from the environment, docs/deploy.md).
        parser.add_argument("--interval", type=float, help="seconds between rounds")
        parser.add_argument("--fail-after", type=int, help="failed probes in the window before an incident")
        parser.add_argument("--window-seconds", type=float, help="the window failures are counted in")
        parser.add_argument("--recover-after", type=int, help="good rounds in a row before monitoring")
        parser.add_argument("--stable-seconds", type=float, help="quiet time before resolved")
        parser.add_argument("--probes", default="", help="comma-separated subset (default: all)")
        parser.add_argument("--web-url", default="", help="e.g. http://127.0.0.1:8000/healthz")
        parser.add_argument("--once", action="store_true", help="one round, then exit")

    def handle(self, *args, **options) -> None:
        names = [name for name in options["probes"].split(",") if name] or None
        watchdog = Watchdog(
            probes=default_probes(names=names, web_url=options["web_url"]),
            config=Config.from_settings(
                **{
                    name: options[name]
                    for name in (
                        "interval",
                        "fail_after",
                        "window_seconds",
                        "recover_after",
                        "stable_seconds",
                    )
                    if options[name] is not None
                }
            ),
            hooks=registered_hooks(),
        )
        self.stdout.write(
            f"watchdog: probing {', '.join(p.name for p in watchdog.probes)} every {watchdog.config.interval}s"
        )
        if options["once"]:
            watchdog.tick()
            return
        watchdog.run_forever()
