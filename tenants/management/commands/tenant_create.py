"""Create a client company from the command line."""

from django.core.management.base import BaseCommand, CommandError

from tenants.errors import TenantError
from tenants.services import tenant_create


class Command(BaseCommand):
    help = "Create a tenant (company): schema, subdomain and an invitation for its first admin."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--slug", required=True)
        parser.add_argument("--admin-email", required=True)

    def handle(self, *args, **options) -> None:
        try:
            created = tenant_create(
                name=options["name"],
                slug=options["slug"],
                admin_email=options["admin_email"],
                actor="manage.py tenant_create",
            )
        except TenantError as error:
            raise CommandError(error.message) from error
        self.stdout.write(f"created {created.domain} in {created.seconds:.2f}s")
        self.stdout.write(f"invitation: {created.invite_url}")
