"""Booking services: quotas, shared pool, per-rank rules, deadlines, change, cancel, waiting list."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from booking import errors
from booking.models import POOL, Booking, BookingStatus, SlotQuota, WaitlistEntry, WaitlistStatus
from booking.selectors import seminar_remaining_for_rank
from booking.services import (
    booking_cancel,
    booking_change,
    booking_create,
    waitlist_accept,
    waitlist_join,
    waitlist_leave,
    waitlist_offer_expire,
    waitlist_offers_expire_due,
)
from booking.services.bookings import booking_insert_on_quota
from booking.services.mypage import mypage_url
from booking.services.seminars import rank_rules_set, slot_quotas_set
from tests.booking.conftest import candidate_make, seminar_make


def _quota(slot, rank):
    return SlotQuota.objects.get(slot=slot, rank=rank)


def test_rank_quota_then_shared_pool_then_full(acme_schema):
    seminar = seminar_make(quotas={"A": 1, "B": 1, POOL: 1}, capacity=3)
    slot = seminar.slots.get()
    a1, a2, a3, b1 = (candidate_make(rank=r) for r in "AAAB")
    assert booking_create(candidate=a1, slot_id=slot.pk).booking.quota.rank == "A"
    # A's own quota is gone: the shared pool takes the second A.
    assert booking_create(candidate=a2, slot_id=slot.pk).booking.quota_id == _quota(slot, POOL).pk
    with pytest.raises(errors.FullError) as full:
        booking_create(candidate=a3, slot_id=slot.pk)
    assert "満席" in full.value.message
    # B still has its own seat although A is full.
    assert seminar_remaining_for_rank(seminar_id=seminar.pk, rank="B") == {slot.pk: 1}
    assert seminar_remaining_for_rank(seminar_id=seminar.pk, rank="A") == {slot.pk: 0}
    assert booking_create(candidate=b1, slot_id=slot.pk).kind == "booked"
    assert [(q.rank, q.taken) for q in slot.quotas.order_by("rank")] == [("*", 1), ("A", 1), ("B", 1)]


def test_rank_without_quota_uses_only_the_pool(acme_schema):
    seminar = seminar_make(quotas={"A": 2}, capacity=2)
    slot = seminar.slots.get()
    with pytest.raises(errors.FullError):
        booking_create(candidate=candidate_make(rank="C"), slot_id=slot.pk)


def test_database_refuses_overbooking_and_double_booking(acme_schema):
    seminar = seminar_make(quotas={"A": 1}, capacity=1)
    slot = seminar.slots.get()
    quota = _quota(slot, "A")
    with pytest.raises(IntegrityError), transaction.atomic():
        SlotQuota.objects.filter(pk=quota.pk).update(taken=2)
    student = candidate_make(rank="A")
    booking_create(candidate=student, slot_id=slot.pk)
    with pytest.raises(IntegrityError), transaction.atomic():
        Booking.objects.create(candidate=student, slot=slot, seminar=seminar, quota=quota, check_in_code="x1")


def test_one_active_booking_per_seminar(acme_schema):
    seminar = seminar_make(quotas={"A": 5}, slots=2, capacity=5)
    first, second = seminar.slots.all()
    student = candidate_make(rank="A")
    booking_create(candidate=student, slot_id=first.pk)
    with pytest.raises(errors.AlreadyBookedError):
        booking_create(candidate=student, slot_id=second.pk)
    assert _quota(second, "A").taken == 0


def test_visibility_and_opening_time_per_rank(acme_schema):
    now = timezone.now()
    seminar = seminar_make(quotas={"A": 2, "B": 2, POOL: 2}, capacity=6)
    rank_rules_set(
        seminar=seminar,
        rules={
            "A": (True, now - timedelta(hours=1)),
            "B": (True, now + timedelta(days=2)),
            "D": (False, None),
        },
    )
    slot = seminar.slots.get()
    assert booking_create(candidate=candidate_make(rank="A"), slot_id=slot.pk, now=now).kind == "booked"
    with pytest.raises(errors.NotOpenError) as not_open:
        booking_create(candidate=candidate_make(rank="B"), slot_id=slot.pk, now=now)
    assert "から" in not_open.value.message
    assert (
        booking_create(candidate=candidate_make(rank="B"), slot_id=slot.pk, now=now + timedelta(days=3)).kind
        == "booked"
    )
    with pytest.raises(errors.NotVisibleError):
        booking_create(candidate=candidate_make(rank="D"), slot_id=slot.pk, now=now)


def test_booking_deadline_and_bad_slot_ids(acme_schema):
    now = timezone.now()
    seminar = seminar_make(booking_deadline=now - timedelta(minutes=1))
    slot = seminar.slots.get()
    with pytest.raises(errors.DeadlinePassedError):
        booking_create(candidate=candidate_make(), slot_id=slot.pk, now=now)
    started = seminar_make(capacity=3)
    with pytest.raises(errors.DeadlinePassedError) as past:
        booking_create(
            candidate=candidate_make(), slot_id=started.slots.get().pk, now=now + timedelta(days=30)
        )
    assert "始まっている" in past.value.message
    for bad in ("999999", "abc", None):
        with pytest.raises(errors.SlotNotFoundError):
            booking_create(candidate=candidate_make(), slot_id=bad)


def test_change_takes_new_seat_before_releasing_old(acme_schema):
    seminar = seminar_make(quotas={"A": 1}, slots=3, capacity=1)
    first, second, third = seminar.slots.all()
    student, other = candidate_make(rank="A"), candidate_make(rank="A")
    booking = booking_create(candidate=student, slot_id=first.pk).booking
    booking_create(candidate=other, slot_id=third.pk)
    # Third is full: the change fails and the student keeps the first seat.
    with pytest.raises(errors.FullError):
        booking_change(candidate=student, slot_id=third.pk)
    assert Booking.objects.get(pk=booking.pk).slot_id == first.pk
    assert _quota(first, "A").taken == 1
    changed = booking_change(candidate=student, slot_id=second.pk).booking
    assert changed.pk == booking.pk and Booking.objects.get(pk=booking.pk).slot_id == second.pk
    assert (_quota(first, "A").taken, _quota(second, "A").taken) == (0, 1)
    with pytest.raises(errors.SameSlotError):
        booking_change(candidate=student, slot_id=second.pk)


def test_cancel_deadline_and_release(acme_schema):
    now = timezone.now()
    seminar = seminar_make(quotas={"A": 1}, capacity=1, cancellation_deadline=now + timedelta(days=1))
    slot = seminar.slots.get()
    student = candidate_make(rank="A")
    booking = booking_create(candidate=student, slot_id=slot.pk, now=now).booking
    with pytest.raises(errors.CancelDeadlinePassedError):
        booking_cancel(candidate=student, booking_id=booking.pk, now=now + timedelta(days=2))
    with pytest.raises(errors.NotBookedError):
        booking_cancel(candidate=candidate_make(rank="A"), booking_id=booking.pk, now=now)
    booking_cancel(candidate=student, booking_id=booking.pk, now=now)
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.CANCELLED
    assert _quota(slot, "A").taken == 0
    # Cancelled bookings do not block booking again.
    assert booking_create(candidate=student, slot_id=slot.pk, now=now).kind == "booked"


def test_waitlist_offer_accept_and_expiry_pass_on(
    acme_schema, mailoutbox, django_capture_on_commit_callbacks
):
    now = timezone.now()
    seminar = seminar_make(quotas={"A": 1}, capacity=1, offer_minutes=30)
    slot = seminar.slots.get()
    holder, first, second = (candidate_make(rank="A") for _ in range(3))
    booking = booking_create(candidate=holder, slot_id=slot.pk, now=now).booking
    with pytest.raises(errors.NotFullError):
        waitlist_join(candidate=holder, slot_id=seminar_make(capacity=5).slots.get().pk, now=now)
    outcome = booking_create(candidate=first, slot_id=slot.pk, waitlist=True, now=now)
    assert outcome.kind == "waitlisted" and "キャンセル待ち" in outcome.message
    waitlist_join(candidate=second, slot_id=slot.pk, now=now + timedelta(seconds=1))
    with pytest.raises(errors.AlreadyWaitingError):
        waitlist_join(candidate=first, slot_id=slot.pk, now=now)

    with django_capture_on_commit_callbacks(execute=True):
        booking_cancel(candidate=holder, booking_id=booking.pk, now=now)
    offered = WaitlistEntry.objects.get(candidate=first)
    assert offered.status == WaitlistStatus.OFFERED
    assert offered.offer_expires_at == now + timedelta(minutes=30)
    # The seat is held for the offer: nobody else can book it meanwhile.
    assert _quota(slot, "A").taken == 1
    with pytest.raises(errors.FullError):
        booking_create(candidate=candidate_make(rank="A"), slot_id=slot.pk, now=now)
    assert any("空席のご案内" in mail.subject for mail in mailoutbox)

    # Not confirmed in time: it passes on to the second in line.
    assert waitlist_offer_expire(entry_id=offered.pk, now=now + timedelta(minutes=10)) is None
    passed = waitlist_offer_expire(entry_id=offered.pk, now=now + timedelta(minutes=31))
    assert passed.candidate_id == second.pk
    assert WaitlistEntry.objects.get(pk=offered.pk).status == WaitlistStatus.EXPIRED
    with pytest.raises(errors.OfferExpiredError):
        waitlist_accept(candidate=first, entry_id=offered.pk, now=now + timedelta(minutes=32))

    accepted = waitlist_accept(candidate=second, entry_id=passed.pk, now=now + timedelta(minutes=40))
    assert accepted.slot_id == slot.pk and accepted.status == BookingStatus.ACTIVE
    assert _quota(slot, "A").taken == 1
    assert Booking.objects.filter(slot=slot, status=BookingStatus.ACTIVE).count() == 1


def test_expired_offer_with_nobody_waiting_frees_the_seat(acme_schema):
    now = timezone.now()
    seminar = seminar_make(quotas={"A": 1}, capacity=1)
    slot = seminar.slots.get()
    holder, waiting = candidate_make(rank="A"), candidate_make(rank="A")
    booking = booking_create(candidate=holder, slot_id=slot.pk, now=now).booking
    waitlist_join(candidate=waiting, slot_id=slot.pk, now=now)
    booking_cancel(candidate=holder, booking_id=booking.pk, now=now)
    assert waitlist_offers_expire_due(now=now + timedelta(hours=2)) == 1
    assert _quota(slot, "A").taken == 0
    assert booking_create(candidate=candidate_make(rank="A"), slot_id=slot.pk, now=now).kind == "booked"


def test_freed_rank_seat_only_goes_to_that_rank(acme_schema):
    now = timezone.now()
    seminar = seminar_make(quotas={"A": 1, "B": 1}, capacity=2)
    slot = seminar.slots.get()
    a_holder, b_holder = candidate_make(rank="A"), candidate_make(rank="B")
    a_booking = booking_create(candidate=a_holder, slot_id=slot.pk, now=now).booking
    booking_create(candidate=b_holder, slot_id=slot.pk, now=now)
    b_waiting = candidate_make(rank="B")
    entry = waitlist_join(candidate=b_waiting, slot_id=slot.pk, now=now)
    booking_cancel(candidate=a_holder, booking_id=a_booking.pk, now=now)
    assert WaitlistEntry.objects.get(pk=entry.pk).status == WaitlistStatus.WAITING
    assert _quota(slot, "A").taken == 0


def test_leaving_an_offer_passes_it_on(acme_schema):
    now = timezone.now()
    seminar = seminar_make(quotas={POOL: 1}, capacity=1)
    slot = seminar.slots.get()
    holder, first = candidate_make(rank="C"), candidate_make(rank="D")
    booking = booking_create(candidate=holder, slot_id=slot.pk, now=now).booking
    entry = waitlist_join(candidate=first, slot_id=slot.pk, now=now)
    booking_cancel(candidate=holder, booking_id=booking.pk, now=now)
    assert WaitlistEntry.objects.get(pk=entry.pk).status == WaitlistStatus.OFFERED
    waitlist_leave(candidate=first, entry_id=entry.pk, now=now)
    assert _quota(slot, POOL).taken == 0


def test_quota_edit_never_below_taken_nor_above_capacity(acme_schema):
    seminar = seminar_make(quotas={"A": 2}, capacity=4)
    slot = seminar.slots.get()
    booking_create(candidate=candidate_make(rank="A"), slot_id=slot.pk)
    booking_create(candidate=candidate_make(rank="A"), slot_id=slot.pk)
    with pytest.raises(errors.QuotaError) as below:
        slot_quotas_set(slot=slot, quotas={"A": 1, POOL: 2})
    assert "予約済み" in below.value.message
    with pytest.raises(errors.QuotaError) as above:
        slot_quotas_set(slot=slot, quotas={"A": 3, POOL: 2})
    assert "定員" in above.value.message
    slot_quotas_set(slot=slot, quotas={"A": 2, "B": 1, POOL: 1})
    assert {q.rank: q.seats for q in slot.quotas.all()} == {"A": 2, "B": 1, POOL: 1}


def test_booking_create_query_count(acme_schema, django_assert_max_num_queries):
    seminar = seminar_make(quotas={"A": 5}, capacity=5)
    slot = seminar.slots.get()
    student = candidate_make(rank="A")
    mypage_url(path="/my/")  # the company's host is looked up once per process
    # 6 for the decision and the booking, 2 for the confirmation mail queued in the same transaction.
    with django_assert_max_num_queries(8):
        booking_create(candidate=student, slot_id=slot.pk)


def test_insert_on_a_given_quota_row(acme_schema):
    seminar = seminar_make(quotas={"A": 1, POOL: 1}, capacity=2)
    slot = seminar.slots.get()
    pool = _quota(slot, POOL)
    student, other = candidate_make(rank="C"), candidate_make(rank="C")
    booking_id = booking_insert_on_quota(
        candidate_id=student.pk, slot_id=slot.pk, seminar_id=seminar.pk, quota_id=pool.pk
    )
    assert Booking.objects.get(pk=booking_id).quota_id == pool.pk
    # The row is full now: no seat, whoever asks.
    assert (
        booking_insert_on_quota(
            candidate_id=other.pk, slot_id=slot.pk, seminar_id=seminar.pk, quota_id=pool.pk
        )
        is None
    )
    with pytest.raises(errors.AlreadyBookedError):
        booking_insert_on_quota(
            candidate_id=student.pk, slot_id=slot.pk, seminar_id=seminar.pk, quota_id=_quota(slot, "A").pk
        )
    assert _quota(slot, "A").taken == 0
