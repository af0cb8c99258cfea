"""Send windows: per-tenant quiet hours in Japan time, and the tenant's mail settings row."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from notifications.models import MailSettings

JST = ZoneInfo("Asia/Tokyo")


def mail_settings_get() -> MailSettings:
    """The current tenant's settings (created with the defaults on first use)."""
    row, _ = MailSettings.objects.get_or_create(id=1)
    return row


def mail_settings_update(*, quiet_start: dt.time, quiet_end: dt.time, rate_per_second: int) -> MailSettings:
    row = mail_settings_get()
    row.quiet_start, row.quiet_end, row.rate_per_second = quiet_start, quiet_end, max(1, rate_per_second)
    row.save(update_fields=["quiet_start", "quiet_end", "rate_per_second"])
    return row


def in_quiet_hours(*, at: dt.datetime, start: dt.time, end: dt.time) -> bool:
    local = at.astimezone(JST).time()
    if start == end:
        return False
    if start > end:  # the window crosses midnight, e.g. 21:00–08:00
        return local >= start or local < end
    return start <= local < end


def quiet_adjust(*, at: dt.datetime, start: dt.time, end: dt.time) -> dt.datetime:
    """The first moment at or after `at` outside the quiet hours."""
    if not in_quiet_hours(at=at, start=start, end=end):
        return at
    local = at.astimezone(JST)
    day = local.date()
    if start > end and local.time() >= start:
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, end, tzinfo=JST)
