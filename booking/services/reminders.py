"""Reminder mails the day before a seminar (interviews have theirs in services.interviews)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from booking.mail import booking_mail_send
from booking.models import Booking, BookingStatus


def _tomorrow(now: datetime) -> tuple[datetime, datetime]:
    today = timezone.localtime(now).date()
    start = timezone.make_aware(datetime.combine(today + timedelta(days=1), datetime.min.time()))
    return start, start + timedelta(days=1)


def seminar_reminders_send(*, now: datetime | None = None) -> int:
    """Mail every student with a seminar tomorrow (Japan time), once: the row is claimed first."""
    from booking.services.mypage import mypage_url

    now = now or timezone.now()
    start, end = _tomorrow(now)
    due = Booking.objects.filter(
        status=BookingStatus.ACTIVE,
        reminder_sent_at__isnull=True,
        slot__starts_at__gte=start,
        slot__starts_at__lt=end,
    ).select_related("candidate", "slot", "seminar")
    sent = 0
    for booking in due:
        with transaction.atomic():
            if not Booking.objects.filter(pk=booking.pk, reminder_sent_at__isnull=True).update(
                reminder_sent_at=now
            ):
                continue
            seminar = booking.seminar
            begins = timezone.localtime(booking.slot.starts_at)
            where = seminar.place or seminar.online_url
            body = (
                f"{booking.candidate.full_name} 様\n\n明日は「{seminar.title}」の日です。\n"
                f"日時: {begins:%Y年%-m月%-d日 %H:%M}〜\n"
                + (f"場所: {where}\n" if where else "")
                + f"受付ではマイページのQRコード（受付コード {booking.check_in_code}）をご提示ください。\n"
                f"{mypage_url(path='/my/')}\n"
            )
            booking_mail_send(
                candidate=booking.candidate,
                subject=f"【明日の説明会】{seminar.title}",
                body=body,
                key=f"seminar-reminder:{booking.pk}:{booking.slot_id}",
            )
            sent += 1
    return sent
