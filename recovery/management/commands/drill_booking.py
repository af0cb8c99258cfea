"""`manage.py drill_booking`: book a seat through the booking service (the drill runs it on a restored copy)."""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from booking.models import Booking
from booking.services.bookings import booking_create
from booking.services.seminars import seminar_create, slot_create
from candidates.models import Candidate
from tenants.selectors import tenant_list


class Command(BaseCommand):
    help = (
        "Make one booking in the first company (for drills on a restored copy, never on the live platform)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--company", default="", help="slug (default: the first company)")

    def handle(self, *args, company: str, **options) -> None:
        tenants = list(tenant_list().order_by("slug"))
        tenant = next((t for t in tenants if t.slug == company), None) if company else (tenants or [None])[0]
        if tenant is None:
            raise CommandError("no company to book in")
        with schema_context(tenant.schema_name):
            with transaction.atomic():
                seminar = seminar_create(title="復旧訓練", place="オンライン")
                start = timezone.now() + timedelta(days=30)
                slot = slot_create(
                    seminar=seminar, starts_at=start, ends_at=start + timedelta(hours=1), capacity=1
                )
                candidate = Candidate.objects.create(
                    family_name="訓練",
                    given_name="太郎",
                    family_kana="クンレン",
                    given_kana="タロウ",
                    email=f"drill-{timezone.now():%Y%m%d%H%M%S%f}@example.invalid",
                    rank="A",
                )
            outcome = booking_create(candidate=candidate, slot_id=slot.pk)
            if outcome.kind != "booked" or not Booking.objects.filter(pk=outcome.booking.pk).exists():
                raise CommandError(f"booking not made: {outcome.kind}")
            self.stdout.write(f"booked seat {outcome.booking.pk} in {tenant.slug}")
