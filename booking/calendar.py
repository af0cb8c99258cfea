"""Calendar files (.ics) for seminar and interview bookings."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext
from icalendar import Calendar, Event


def event_ics(
    *,
    uid: str,
    starts_at: datetime,
    ends_at: datetime,
    summary: str,
    location: str,
    url: str,
    description: str,
) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//saiyo//booking//JA")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", timezone.now())
    event.add("dtstart", starts_at)
    event.add("dtend", ends_at)
    event.add("summary", summary)
    if location:
        event.add("location", location)
    if url:
        event.add("url", url)
    if description:
        event.add("description", description)
    calendar.add_component(event)
    return calendar.to_ical()


def booking_ics(*, booking, host: str) -> bytes:
    seminar = booking.seminar
    return event_ics(
        uid=f"booking-{booking.pk}@{host.split(':')[0]}",
        starts_at=booking.slot.starts_at,
        ends_at=booking.slot.ends_at,
        summary=seminar.title,
        location=seminar.place or seminar.online_url,
        url=seminar.online_url,
        description=(
            f"{seminar.description}\n" + gettext("受付コード: %(code)s") % {"code": booking.check_in_code}
        ).strip(),
    )


def interview_ics(*, booking, host: str) -> bytes:
    interview_type = booking.interview_type
    return event_ics(
        uid=f"interview-{booking.pk}@{host.split(':')[0]}",
        starts_at=booking.session.starts_at,
        ends_at=booking.session.ends_at,
        summary=interview_type.name,
        location=interview_type.place or interview_type.online_url,
        url=interview_type.online_url,
        description=gettext("変更・キャンセルは開始の %(hours)s 時間前までマイページから。")
        % {"hours": interview_type.change_deadline_hours},
    )
