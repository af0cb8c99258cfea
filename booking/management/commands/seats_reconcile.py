"""Compare the Redis seat counters with PostgreSQL (the source of truth); optionally rebuild them."""

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from booking.models import Seminar
from booking.seatcounter import SeatCounter
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Check that the booking rush's Redis counters agree with PostgreSQL; --rebuild reloads them."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--tenant", required=True, help="the company's slug")
        parser.add_argument("--seminar", type=int, help="one seminar (default: every seminar)")
        parser.add_argument("--rebuild", action="store_true", help="reload the counters from PostgreSQL")

    def handle(self, *args, **options) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"no tenant {options['tenant']}")
        differing = 0
        with schema_context(tenant.schema_name):
            seminars = Seminar.objects.all()
            if options["seminar"]:
                seminars = seminars.filter(pk=options["seminar"])
            for seminar_id in seminars.values_list("pk", flat=True):
                counter = SeatCounter(seminar_id=seminar_id, schema=tenant.schema_name)
                if options["rebuild"]:
                    counter.rebuild()
                if not counter.client.exists(counter.ready_key):
                    self.stdout.write(f"seminar {seminar_id}: not loaded (rebuilt on the next booking)")
                    continue
                problems = counter.reconcile()
                differing += bool(problems)
                for problem in problems or ["counters agree with PostgreSQL"]:
                    self.stdout.write(f"seminar {seminar_id}: {problem}")
        if differing:
            raise CommandError(f"{differing} seminar(s) differ; run again with --rebuild")
