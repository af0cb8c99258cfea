"""What booking holds about a student (bookings, waiting lists, interviews, My Page links), for 開示 and 削除.

Registered with `candidates.personal_data` in `BookingConfig.ready()`. Erasing first gives every held
seat back through the booking services (the next student on the waiting list is offered it, the Redis
counters are rebuilt), then removes the rows; anonymising keeps seminar bookings, which then point at
a candidate without personal data, so attendance figures stay right.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from booking.models import (
    Booking,
    BookingStatus,
    InterviewBooking,
    MyPageToken,
    WaitlistEntry,
    WaitlistStatus,
)
from booking.services.bookings import booking_cancel
from booking.services.interviews import interview_cancel
from booking.services.mypage import mypage_tokens_revoke
from booking.services.waitlist import waitlist_leave
from candidates.personal_data import PersonalDataHolder


def _time(value: Any) -> str | None:
    return timezone.localtime(value).isoformat() if value else None


def bookings_collect(candidate_ids: list[int]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for booking in Booking.objects.filter(candidate_id__in=candidate_ids).select_related("slot", "seminar"):
        rows.append(
            {
                "type": "seminar",
                "seminar": booking.seminar.title,
                "starts_at": _time(booking.slot.starts_at),
                "status": booking.get_status_display(),
                "attendance": booking.get_attendance_display(),
                "booked_at": _time(booking.created_at),
                "cancelled_at": _time(booking.cancelled_at),
            }
        )
    for entry in WaitlistEntry.objects.filter(candidate_id__in=candidate_ids).select_related("slot__seminar"):
        rows.append(
            {
                "type": "waiting_list",
                "seminar": entry.slot.seminar.title,
                "starts_at": _time(entry.slot.starts_at),
                "status": entry.get_status_display(),
                "joined_at": _time(entry.created_at),
            }
        )
    interviews = InterviewBooking.objects.filter(candidate_id__in=candidate_ids).select_related(
        "session", "interview_type"
    )
    for interview in interviews:
        rows.append(
            {
                "type": "interview",
                "interview": interview.interview_type.name,
                "starts_at": _time(interview.session.starts_at),
                "status": interview.get_status_display(),
                "booked_at": _time(interview.created_at),
                "cancelled_at": _time(interview.cancelled_at),
            }
        )
    for token in MyPageToken.objects.filter(candidate_id__in=candidate_ids):
        # When links were issued and used; never the token or its hash.
        rows.append(
            {
                "type": "mypage_link",
                "issued_at": _time(token.created_at),
                "expires_at": _time(token.expires_at),
                "last_used_at": _time(token.last_used_at),
                "revoked_at": _time(token.revoked_at),
            }
        )
    return rows


def _release(candidate_ids: list[int]) -> int:
    """Give back every seat and interview time the students hold, without step mails."""
    released = 0
    for booking in Booking.objects.filter(candidate_id__in=candidate_ids, status=BookingStatus.ACTIVE):
        booking_cancel(candidate=None, booking_id=booking.pk, by_recruiter=True, record_event=False)
        released += 1
    open_entries = WaitlistEntry.objects.filter(
        candidate_id__in=candidate_ids, status__in=[WaitlistStatus.WAITING, WaitlistStatus.OFFERED]
    ).select_related("candidate")
    for entry in open_entries:
        waitlist_leave(candidate=entry.candidate, entry_id=entry.pk)
        released += 1
    active = InterviewBooking.objects.filter(candidate_id__in=candidate_ids, status=BookingStatus.ACTIVE)
    for interview in active.select_related("candidate"):
        interview_cancel(candidate=interview.candidate, booking_id=interview.pk, by_company=True)
        released += 1
    return released


def bookings_erase(candidate_ids: list[int], *, keep_statistics: bool) -> int:
    from candidates.models import Candidate

    count = _release(candidate_ids)
    for candidate in Candidate.objects.filter(pk__in=candidate_ids):
        mypage_tokens_revoke(candidate=candidate)  # rush passes stop working at once
    count += MyPageToken.objects.filter(candidate_id__in=candidate_ids).delete()[0]
    count += WaitlistEntry.objects.filter(candidate_id__in=candidate_ids).delete()[0]
    count += InterviewBooking.objects.filter(candidate_id__in=candidate_ids).delete()[0]
    if not keep_statistics:
        count += Booking.objects.filter(candidate_id__in=candidate_ids).delete()[0]
    return count


def booking_holder() -> PersonalDataHolder:
    return PersonalDataHolder(
        key="bookings",
        label=_("予約・キャンセル待ち・面接・マイページ"),
        collect=bookings_collect,
        erase=bookings_erase,
    )
