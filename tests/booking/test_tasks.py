"""Celery entry points: they take a schema name and ids, and work inside that schema."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.utils import timezone
from django_tenants.utils import schema_context

from booking.models import SlotQuota, WaitlistEntry, WaitlistStatus
from booking.services import booking_cancel, booking_create, waitlist_join
from booking.tasks import waitlist_offer_expire_task, waitlist_offers_sweep_task
from tests.booking.conftest import candidate_make, seminar_make


def test_offer_expiry_task_and_sweep_pass_the_seat_on(tenants, db):
    acme = tenants["acme"]
    with schema_context(acme.schema):
        seminar = seminar_make(quotas={"A": 1}, capacity=1, offer_minutes=15)
        slot = seminar.slots.get()
        holder, first, second = (candidate_make(rank="A") for _ in range(3))
        booking = booking_create(candidate=holder, slot_id=slot.pk).booking
        first_entry = waitlist_join(candidate=first, slot_id=slot.pk)
        second_entry = waitlist_join(candidate=second, slot_id=slot.pk)
        booking_cancel(candidate=holder, booking_id=booking.pk)
    # Too early: the task leaves the offer alone.
    assert waitlist_offer_expire_task(acme.schema, first_entry.pk) is None
    with time_machine.travel(timezone.now() + timedelta(minutes=16), tick=False):
        assert waitlist_offer_expire_task(acme.schema, first_entry.pk) == second_entry.pk
    with time_machine.travel(timezone.now() + timedelta(minutes=40), tick=False):
        assert waitlist_offers_sweep_task() >= 1
    with schema_context(acme.schema):
        statuses = dict(WaitlistEntry.objects.filter(slot=slot).values_list("candidate_id", "status"))
        assert statuses == {first.pk: WaitlistStatus.EXPIRED, second.pk: WaitlistStatus.EXPIRED}
        # Nobody left in line: the seat is free again.
        assert SlotQuota.objects.get(slot=slot).taken == 0


def test_reminders_task_mails_tomorrows_seminar_once(
    tenants, db, mailoutbox, django_capture_on_commit_callbacks
):
    from booking.models import Booking, Slot
    from booking.tasks import reminders_task

    acme = tenants["acme"]
    tomorrow = timezone.localtime(timezone.now() + timedelta(days=1)).replace(
        hour=14, minute=0, second=0, microsecond=0
    )
    with schema_context(acme.schema):
        seminar = seminar_make(capacity=3, title="明日の説明会テスト")
        Slot.objects.filter(seminar=seminar).update(starts_at=tomorrow, ends_at=tomorrow + timedelta(hours=1))
        slot = seminar.slots.get()
        student = candidate_make(rank="A")
        later = seminar_make(capacity=3, title="来週の説明会")
        booking = booking_create(candidate=student, slot_id=slot.pk).booking
        booking_create(candidate=student, slot_id=later.slots.get().pk)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert reminders_task() == 1
        assert reminders_task() == 0
    assert [mail.subject for mail in mailoutbox] == ["【明日の説明会】明日の説明会テスト"]
    assert booking.check_in_code in mailoutbox[0].body
    with schema_context(acme.schema):
        assert Booking.objects.get(pk=booking.pk).reminder_sent_at is not None
