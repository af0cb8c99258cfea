"""Dates and times as the active language writes them: 12月19日(土) 14:00 in Japanese, Sat 19 Dec 14:00 in English.

The one home for date formats shown to people: templates `{% load dates %}` and write `{{ value|when:"day_time" }}`,
Python calls `when(value, "day_time")`. Django's own "D" gives the weekday in the active language (土 / Sat), so a
Japanese format in an English page no longer reads "12月19日(Sat)".
"""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import dateformat, timezone, translation

# i18n: data — Django date formats per style and language (Japanese is the source language; English is British order)
FORMATS: dict[str, dict[str, str]] = {
    "day_time": {"ja": "n月j日(D) H:i", "en": "D j M H:i"},
    "month_day_time": {"ja": "n月j日 H:i", "en": "j M H:i"},
    "full_day_time": {"ja": "Y年n月j日(D) H:i", "en": "D j M Y H:i"},
    "full_time": {"ja": "Y年n月j日 H:i", "en": "j M Y H:i"},
    "full_date": {"ja": "Y年n月j日", "en": "j M Y"},
    "short_day_time": {"ja": "n/j(D) H:i", "en": "D j M H:i"},
    "short_time": {"ja": "n/j H:i", "en": "j M H:i"},
    "numeric_date": {"ja": "Y/m/d", "en": "j M Y"},
    "numeric_time": {"ja": "Y/m/d H:i", "en": "j M Y H:i"},
    "numeric_seconds": {"ja": "Y/m/d H:i:s", "en": "j M Y H:i:s"},
    "unpadded_date": {"ja": "Y/n/j", "en": "j M Y"},
    "unpadded_time": {"ja": "Y/n/j H:i", "en": "j M Y H:i"},
    "time": {"ja": "H:i", "en": "H:i"},
    "time_seconds": {"ja": "H:i:s", "en": "H:i:s"},
}
# i18n: data — what joins a start and an end time
RANGE_SEPARATOR = {"ja": "〜", "en": "–"}
SOURCE_LANGUAGE = "ja"

register = template.Library()


def _language(language: str | None = None) -> str:
    return (language or translation.get_language() or SOURCE_LANGUAGE).split("-")[0]


def date_format_for(style: str, *, language: str | None = None) -> str:
    """The Django date format of one style in a language (the active one by default)."""
    per_language = FORMATS[style]
    return per_language.get(_language(language), per_language[SOURCE_LANGUAGE])


def when(value: dt.datetime | dt.date | None, style: str = "day_time") -> str:
    """A moment (in local time) or a day, written in the active language; "" for None."""
    if value is None or value == "":
        return ""
    if isinstance(value, dt.datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    return dateformat.format(value, date_format_for(style))


@register.filter(name="when", expects_localtime=True, is_safe=False)
def when_filter(value: dt.datetime | dt.date | None, style: str = "day_time") -> str:
    try:
        return when(value, style)
    except (AttributeError, TypeError, ValueError):
        return ""


def span(starts_at: dt.datetime, ends_at: dt.datetime, style: str = "day_time") -> str:
    """A start and its end time of the same day: 12月19日(土) 14:00〜15:00, Sat 19 Dec 14:00–15:00."""
    separator = RANGE_SEPARATOR.get(_language(), RANGE_SEPARATOR[SOURCE_LANGUAGE])
    return f"{when(starts_at, style)}{separator}{when(ends_at, 'time')}"


@register.filter(name="span", is_safe=False)
def span_filter(value: object, style: str = "day_time") -> str:
    """`{{ slot|span:"day_time" }}` for anything with starts_at and ends_at (a slot, a session, a free time)."""
    try:
        return span(value.starts_at, value.ends_at, style)
    except (AttributeError, TypeError, ValueError):
        return ""
