"""Reminder mails the day before a seminar (interviews have theirs in services.interviews)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from booking.mail import booking_mail_send
from booking.models import Booking, BookingStatus
from booking.services.confirmations import salutation
from saas.dates import when


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
            where = seminar.place or seminar.online_url
            body = (
                salutation(name=booking.candidate.full_name)
                + gettext("明日は「%(title)s」の日です。") % {"title": seminar.title}
                + "\n"
                + gettext("日時: %(when)s〜") % {"when": when(booking.slot.starts_at, "full_time")}
                + "\n"
                + (gettext("場所: %(place)s") % {"place": where} + "\n" if where else "")
                + gettext("受付ではマイページのQRコード（受付コード %(code)s）をご提示ください。")
                % {"code": booking.check_in_code}
                + f"\n{mypage_url(path='/my/')}\n"
            )
            booking_mail_send(
                candidate=booking.candidate,
                subject=gettext("【明日の説明会】%(title)s") % {"title": seminar.title},
                body=body,
                key=f"seminar-reminder:{booking.pk}:{booking.slot_id}",
            )
            sent += 1
    return sent
