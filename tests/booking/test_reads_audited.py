"""Pages that show students in bulk or one by one are audited, so the leak checks see reads through them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import Role, User
from booking.services import booking_create
from booking.services.interviews import availability_add, interview_book, interview_type_create
from candidates.models import AuditEntry
from incidents.models import LeakPolicy, LeakSignal, SignalKind
from incidents.services.audit_feed import audit_feed_scan, cursor_key
from incidents.services.leak import window_key
from tests.booking.conftest import candidate_make, seminar_make


@pytest.fixture
def acme(tenants, db):
    return tenants["acme"]


def _client(info, *, role: str) -> tuple[Client, User]:
    client = Client(HTTP_HOST=info.host)
    with schema_context(info.schema):
        user, _ = User.objects.get_or_create(
            username=f"reads-{role}@acme.example.jp",
            defaults={"email": f"reads-{role}@acme.example.jp", "role": role},
        )
        client.force_login(user)
    return client, user


def _entries(info, user) -> list[tuple[str, int, list[int]]]:
    with schema_context(info.schema):
        return [
            (entry.action, entry.student_count, sorted(entry.candidate_ids))
            for entry in AuditEntry.objects.filter(user_id=user.pk).order_by("pk")
        ]


def test_booking_lists_check_in_and_mail_history_are_audited(acme):
    with schema_context(acme.schema):
        seminar = seminar_make(capacity=5, title="監査テスト")
        slot = seminar.slots.get()
        students = [candidate_make(rank="A") for _ in range(3)]
        bookings = [booking_create(candidate=student, slot_id=slot.pk).booking for student in students]
    ids = sorted(student.pk for student in students)
    viewer, viewer_user = _client(acme, role=Role.VIEWER)
    assert viewer.get(f"/booking/slots/{slot.pk}/").status_code == 200
    assert viewer.get(f"/mail/candidates/{students[0].pk}/").status_code == 200
    assert _entries(acme, viewer_user) == [("list", 3, ids), ("read", 1, [students[0].pk])]
    admin, admin_user = _client(acme, role=Role.ADMIN)
    found = admin.get("/booking/checkin/", {"code": bookings[1].check_in_code})
    assert found.status_code == 200
    assert _entries(acme, admin_user) == [("read", 1, [students[1].pk])]


def test_interview_booking_lists_are_audited(acme):
    start = timezone.localtime(timezone.now() + timedelta(days=4)).replace(
        hour=13, minute=0, second=0, microsecond=0
    )
    viewer, user = _client(acme, role=Role.VIEWER)
    with schema_context(acme.schema):
        interviewer, _ = User.objects.get_or_create(
            username="reads-interviewer@acme.example.jp",
            defaults={"email": "reads-interviewer@acme.example.jp", "role": Role.RECRUITER},
        )
        kind = interview_type_create(name="一次面接", step="interview", interviewers=[interviewer])
        availability_add(interviewer=interviewer, starts_at=start, ends_at=start + timedelta(hours=2))
        student = candidate_make(rank="A", status="interview")
        interview_book(candidate=student, interview_type_id=kind.pk, starts_at=start.isoformat())
    assert viewer.get(f"/booking/interviews/{kind.pk}/").status_code == 200
    assert _entries(acme, user) == [("list", 1, [student.pk])]


def test_reads_through_these_pages_reach_the_leak_checks(acme):
    tenant = acme.tenant
    LeakPolicy.objects.update_or_create(
        tenant=tenant,
        defaults={"export_rows": 100, "reads_per_window": 4, "window_minutes": 60, "failed_signins": 30},
    )
    viewer, user = _client(acme, role=Role.VIEWER)
    with schema_context(acme.schema):
        cache.delete(window_key(tenant=tenant, name=f"reads:{user.pk}", seconds=3600))
        cache.delete(cursor_key())
    audit_feed_scan(tenant=tenant)  # skip whatever the schema already holds
    with schema_context(acme.schema):
        students = [candidate_make(rank="B") for _ in range(6)]
    for student in students:
        assert viewer.get(f"/mail/candidates/{student.pk}/").status_code == 200
    assert audit_feed_scan(tenant=tenant) == 6
    signal = LeakSignal.objects.get(kind=SignalKind.BULK_READ, detail__actor_id=user.pk)
    assert signal.detail["rows"] == 5
