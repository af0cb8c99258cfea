"""Slot changes in opposite directions at the same moment: no deadlock, no lost or doubled seat."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from booking.models import Booking, BookingStatus, Seminar, SlotQuota
from booking.services import booking_change, booking_create
from candidates.models import Candidate
from tests.booking.conftest import candidate_make, seminar_make


@pytest.mark.slow
def test_opposite_changes_at_once(tenants, committed):
    acme = tenants["acme"]
    with schema_context(acme.schema):
        seminar = seminar_make(title="入れ替えテスト", quotas={"A": 20}, slots=2, capacity=20)
        first, second = seminar.slots.all()
        students = [candidate_make(rank="A") for _ in range(20)]
        for index, student in enumerate(students):
            booking_create(candidate=student, slot_id=(first if index % 2 else second).pk)
    answers: list[str] = []
    barrier = threading.Barrier(len(students))

    def swap(index: int, student) -> None:
        try:
            with schema_context(acme.schema):
                barrier.wait()
                target = second if index % 2 else first
                try:
                    booking_change(candidate=student, slot_id=target.pk)
                    answers.append("changed")
                except Exception as error:  # a deadlock would surface here as a database error
                    answers.append(type(error).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=swap, args=(i, s)) for i, s in enumerate(students)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert answers == ["changed"] * 20
        with schema_context(acme.schema):
            active = Booking.objects.filter(seminar=seminar, status=BookingStatus.ACTIVE)
            assert active.count() == 20
            for slot in (first, second):
                quota = SlotQuota.objects.get(slot=slot)
                assert quota.taken == active.filter(slot=slot).count() == 10
    finally:
        with schema_context(acme.schema):
            Booking.objects.filter(seminar=seminar).delete()
            Seminar.objects.filter(pk=seminar.pk).delete()
            Candidate.objects.filter(pk__in=[s.pk for s in students]).delete()
