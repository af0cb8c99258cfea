"""Migrate the public schema, the template and every company's schema; idempotent and resumable."""

from django.core.management.base import BaseCommand, CommandError

from tenants.migrate.apply import ApplyOptions
from tenants.migrate.deploy import deploy
from tenants.migrate.fleet import default_jobs


class Command(BaseCommand):
    help = (
        "Migrate public and tenant schemas, refresh the template schema, register the public domains. "
        "Only what each schema lacks is applied, over --jobs worker processes; run it again to resume."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--jobs", type=int, default=default_jobs(), help="worker processes (connections)")
        parser.add_argument("--plan", action="store_true", help="show what each schema lacks and stop")
        parser.add_argument(
            "--lock-timeout",
            type=int,
            default=ApplyOptions.lock_timeout_ms,
            help="milliseconds a migration "
            "waits for a table lock before it rolls back and tries again (bookings queue behind it meanwhile)",
        )
        parser.add_argument("--attempts", type=int, default=ApplyOptions.attempts, help="tries per migration")

    def handle(self, *args, **options) -> None:
        verbose = options["verbosity"] >= 1
        result = deploy(
            jobs=max(1, options["jobs"]),
            options=ApplyOptions(lock_timeout_ms=options["lock_timeout"], attempts=options["attempts"]),
            plan_only=options["plan"],
            write=(lambda line: self.stdout.write(line)) if verbose else (lambda line: None),
        )
        if options["plan"]:
            return
        if verbose:
            self.stdout.write(result.summary())
        if result.left:
            names = ", ".join(plan.schema for plan in result.left[:10])
            raise CommandError(
                f"{len(result.left)} companies are not up to date ({names}"
                f"{' …' if len(result.left) > 10 else ''}); run bootstrap again to resume"
            )
