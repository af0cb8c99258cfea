"""Seed the demo: the public site, a support login, two companies with a recruiter login each."""

from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django_tenants.utils import schema_context

from accounts.models import Role, User
from accounts.services import site_url
from booking.demo import demo_seed as booking_demo_seed
from tenants.models import Tenant
from tenants.services import tenant_create

DEMO_PASSWORD = "demo-pass-2026"
# i18n: data — the demo companies' names
DEMO_COMPANIES = [
    ("acme", "アクメ商事株式会社"),
    ("globex", "グローベックス株式会社"),
]


SAMPLES = Path(settings.BASE_DIR) / "tests" / "data" / "samples"


def _demo_students(tenant: Tenant) -> None:
    """acme gets the sample rank table and both sample job-board exports (a re-run changes nothing)."""
    from candidates.models import Entry
    from candidates.services.importing import entries_import_file
    from candidates.services.ranks import rank_table_import_csv

    with schema_context(tenant.schema_name):
        if Entry.objects.exists():
            return
        with open(SAMPLES / "university_ranks.csv", "rb") as handle:
            rank_table_import_csv(fileobj=handle, replace=True)
        for name in ("mynavi.csv", "rikunabi.csv"):
            with open(SAMPLES / name, "rb") as handle:
                entries_import_file(fileobj=handle)


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
            f"  Support staff: {site_url(host=settings.BASE_DOMAIN, path='/support/incidents/')}"
            f"  login {support_email} / {DEMO_PASSWORD} (then set up the TOTP second factor it asks for)",
            f"  Status page:   {site_url(host=settings.STATUS_DOMAIN, path='/')}",
        ]
        for slug, name in DEMO_COMPANIES:
            tenant = Tenant.objects.filter(slug=slug).first()
            if tenant is None:
                tenant = tenant_create(name=name, slug=slug, admin_email=f"admin@{slug}.example.jp").tenant
            with schema_context(tenant.schema_name):
                admin = User.objects.get(email=f"admin@{slug}.example.jp")
                # The demo's printed login always works, even after someone changed the password.
                admin.set_password(DEMO_PASSWORD)
                admin.is_active = True
                admin.save(update_fields=["password", "is_active"])
            host = tenant.get_primary_domain().domain
            lines.append(
                f"  {name}: {site_url(host=host, path='/')}  login admin@{slug}.example.jp / {DEMO_PASSWORD}"
            )
            if slug == "acme":
                _demo_students(tenant)
            links = booking_demo_seed(tenant=tenant)
            for rank, link in sorted(links.items()):
                lines.append(f"      My Page of a rank-{rank} student (signs in once): {link}")
        lines.append(
            f"  Mails the demo sent (support staff sign-in): {site_url(host=settings.BASE_DOMAIN, path='/demo/mail/')}"
        )
        self.stdout.write("\n".join(lines) + "\n")
