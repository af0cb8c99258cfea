"""Export, then delete, a client company."""

from django.core.management.base import BaseCommand, CommandError

from tenants.errors import TenantError
from tenants.models import Tenant
from tenants.selectors import tenant_get
from tenants.services import tenant_delete


class Command(BaseCommand):
    help = (
        "Export a tenant's data to .data/exports/ (sealed to the backup recipient), then drop its schema. "
        "--confirm must repeat the slug."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--confirm", required=True, help="the slug again, as confirmation")

    def handle(self, *args, **options) -> None:
        try:
            tenant = tenant_get(slug=options["slug"])
            path = tenant_delete(
                tenant=tenant, confirm_slug=options["confirm"], actor="manage.py tenant_delete"
            )
        except Tenant.DoesNotExist as error:
            raise CommandError(f"no tenant {options['slug']}") from error
        except TenantError as error:
            raise CommandError(error.message) from error
        self.stdout.write(f"exported to {path}; schema dropped")
