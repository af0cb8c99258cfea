"""Seed the demo: the public site, a support login, two companies with a recruiter login each."""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django_tenants.utils import schema_context

from accounts.models import Role, User
from accounts.services import site_url
from tenants.models import Tenant
from tenants.services import tenant_create

DEMO_PASSWORD = "demo-pass-2026"
DEMO_COMPANIES = [
    ("acme", "アクメ商事株式会社"),
    ("globex", "グローベックス株式会社"),
]


class Command(BaseCommand):
    help = "Create the demo data (idempotent) and print the URLs and logins."

    def handle(self, *args, **options) -> None:
        call_command("bootstrap")
        support_email = f"support@{settings.BASE_DOMAIN}"
        if not User.objects.filter(email=support_email).exists():
            User.objects.create_user(
                username=support_email,
                email=support_email,
                password=DEMO_PASSWORD,
                is_staff=True,
                role=Role.ADMIN,
            )
        lines = [
            "",
            "Demo is ready.",
            f"  Public site:   {site_url(host=settings.BASE_DOMAIN, path='/')}",
            f"  Support staff: {site_url(host=settings.BASE_DOMAIN, path='/support/tenants/')}"
            f"  login {support_email} / {DEMO_PASSWORD}",
        ]
        for slug, name in DEMO_COMPANIES:
            tenant = Tenant.objects.filter(slug=slug).first()
            if tenant is None:
                tenant = tenant_create(name=name, slug=slug, admin_email=f"admin@{slug}.example.jp").tenant
            with schema_context(tenant.schema_name):
                admin = User.objects.get(email=f"admin@{slug}.example.jp")
                if not admin.has_usable_password():
                    admin.set_password(DEMO_PASSWORD)
                    admin.save(update_fields=["password"])
            host = tenant.get_primary_domain().domain
            lines.append(
                f"  {name}: {site_url(host=host, path='/')}  login admin@{slug}.example.jp / {DEMO_PASSWORD}"
            )
        self.stdout.write("\n".join(lines) + "\n")
