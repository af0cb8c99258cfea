"""The interviewer hears of each booking, change and cancellation of their interviews, and gets the .ics."""

from __future__ import annotations

from datetime import timedelta

import icalendar
from django.test import Client
from django.utils import timezone

from booking.services.interviews import (
    availability_add,
    interview_book,
    interview_cancel,
    interview_reschedule,
)
from notifications.models import OutboxMessage
from tests.selection.conftest import person, student


def notices(user):
    return list(OutboxMessage.objects.filter(to_address=user.email).order_by("id"))


def test_bookings_changes_and_cancellations_reach_the_interviewer(acme, flow):
    from booking.services.interviews import interview_type_create

    start = timezone.localtime(timezone.now() + timedelta(days=4)).replace(
        hour=13, minute=0, second=0, microsecond=0
    )
    morning, afternoon = person("interviewer"), person("interviewer")
    kind = interview_type_create(
        name="最終面接",
        step="final",
        interviewers=[morning, afternoon],
        duration_minutes=30,
        buffer_minutes=0,
        season=flow["season"],
    )
    availability_add(interviewer=morning, starts_at=start, ends_at=start + timedelta(hours=1))
    availability_add(
        interviewer=afternoon, starts_at=start + timedelta(hours=3), ends_at=start + timedelta(hours=4)
    )
    candidate = student(status="final", family_name="通知")
    booking = interview_book(candidate=candidate, interview_type_id=kind.pk, starts_at=start)
    [booked] = notices(morning)
    assert booked.subject.startswith("【面接予約】") and f"#{candidate.pk}" in booked.body
    assert f"/selection/interviews/{booking.pk}/calendar.ics" in booked.body and "通知" not in booked.body
    interview_reschedule(candidate=candidate, booking_id=booking.pk, starts_at=start + timedelta(minutes=30))
    changed = notices(morning)[-1]
    assert (
        changed.subject.startswith("【面接変更】") and "変更前:" in changed.body and "13:00" in changed.body
    )
    interview_reschedule(candidate=candidate, booking_id=booking.pk, starts_at=start + timedelta(hours=3))
    assert notices(morning)[-1].subject.startswith("【面接キャンセル】")
    assert notices(afternoon)[-1].subject.startswith("【面接予約】")
    interview_cancel(candidate=candidate, booking_id=booking.pk)
    assert notices(afternoon)[-1].subject.startswith("【面接キャンセル】")
    assert len(notices(morning)) == 3 and len(notices(afternoon)) == 2


def test_the_interviewer_downloads_their_interview_as_ics_and_nobody_elses(acme, flow):
    from tests.selection.conftest import interview_booked, later_today

    booking = interview_booked(
        candidate=student(),
        interview_type=flow["types"][0],
        interviewer=flow["interviewer"],
        starts_at=later_today(),
    )
    mine = Client(HTTP_HOST=acme.host)
    mine.force_login(flow["interviewer"])
    answer = mine.get(f"/selection/interviews/{booking.pk}/calendar.ics")
    event = next(iter(icalendar.Calendar.from_ical(answer.content).walk("VEVENT")))
    assert answer["Content-Type"] == "text/calendar" and str(event["summary"]) == "一次面接"
    assert "calendar.ics" in mine.get("/selection/today/").content.decode()
    other = Client(HTTP_HOST=acme.host)
    other.force_login(person("interviewer"))
    assert other.get(f"/selection/interviews/{booking.pk}/calendar.ics").status_code == 404
