"""Migrate every schema, make sure the public site and the tenant template exist (idempotent)."""

from django.core.management import call_command
from django.core.management.base import BaseCommand

from tenants.services import public_tenant_ensure, template_schema_ensure


class Command(BaseCommand):
    help = "Migrate public and tenant schemas, refresh the template schema, register the public domains."

    def handle(self, *args, **options) -> None:
        call_command("migrate_schemas", interactive=False, verbosity=0)
        public_tenant_ensure()
        changed = template_schema_ensure()
        self.stdout.write(f"schemas migrated; template {'refreshed' if changed else 'up to date'}")
