"""Reads the apps' selectors do not already give: tokens, cursors, entries, bookings, ranks, interviews."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from api.errors import ApiProblem
from api.models import ApiToken
from booking.models import Booking, InterviewBooking, InterviewType, Seminar
from candidates.models import Candidate, Entry, RankRule, RankSettings


def token_list() -> QuerySet[ApiToken]:
    return ApiToken.objects.select_related("created_by")


def cursor_encode(*, last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def cursor_decode(*, cursor: str) -> int:
    """The id a page ends at; a cursor the API did not make is a 422."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        last_id = int(value)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ApiProblem("validation", gettext("cursor が正しくありません。")) from None
    if kind != "id" or not 0 < last_id < 2**63:
        raise ApiProblem("validation", gettext("cursor が正しくありません。"))
    return last_id


def id_page(
    *, queryset: QuerySet[Any], cursor: str, limit: int, descending: bool = False
) -> tuple[list[Any], str | None]:
    """One page of a list ordered by id, after the cursor's id, and the cursor of the next page (or None)."""
    if cursor:
        last = cursor_decode(cursor=cursor)
        queryset = queryset.filter(id__lt=last) if descending else queryset.filter(id__gt=last)
    page = list(queryset[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return page, (cursor_encode(last_id=page[-1].pk) if more else None)


def candidate_visible_get(*, candidate_id: int) -> Candidate:
    """A student the workspace shows (merged-away and anonymised ones are not found)."""
    candidate = (
        Candidate.objects.filter(pk=candidate_id, merged_into=None, anonymised_at=None)
        .prefetch_related("tags")
        .first()
    )
    if candidate is None:
        raise ApiProblem("not_found", gettext("候補者 #%(id)s は見つかりません。") % {"id": candidate_id})
    return candidate


def _by_id_where(queryset: QuerySet[Any], **conditions: object) -> QuerySet[Any]:
    """A list's filters: a condition left out (None or "") does not filter; ordered by id for the cursor."""
    return queryset.filter(
        **{name: value for name, value in conditions.items() if value not in (None, "")}
    ).order_by("id")


def entry_list(*, candidate_id: int | None, board: str) -> QuerySet[Entry]:
    entries = Entry.objects.filter(candidate__merged_into=None, candidate__anonymised_at=None)
    return _by_id_where(entries, candidate_id=candidate_id, board=board)


def rank_table() -> tuple[str, list[RankRule]]:
    settings_row = RankSettings.objects.first()
    return (settings_row.default_rank if settings_row else "Z"), list(
        RankRule.objects.order_by("rank", "university")
    )


def booking_list(*, candidate_id: int | None, seminar_id: int | None, status: str) -> QuerySet[Booking]:
    return _by_id_where(
        Booking.objects.all(), candidate_id=candidate_id, seminar_id=seminar_id, status=status
    )


def seminar_get(*, seminar_id: int) -> Seminar:
    seminar = Seminar.objects.filter(pk=seminar_id).prefetch_related("slots", "slots__quotas").first()
    if seminar is None:
        raise ApiProblem("not_found", gettext("説明会 #%(id)s は見つかりません。") % {"id": seminar_id})
    return seminar


def interview_type_list(*, season_id: int) -> QuerySet[InterviewType]:
    return InterviewType.objects.filter(season_id=season_id).order_by("id")


def interview_type_get(*, interview_type_id: int) -> InterviewType:
    interview_type = InterviewType.objects.filter(pk=interview_type_id).first()
    if interview_type is None:
        raise ApiProblem("not_found", _("面接 #%(id)s は見つかりません。") % {"id": interview_type_id})
    return interview_type


def interview_booking_list(
    *, candidate_id: int | None, interview_id: int | None, status: str
) -> QuerySet[InterviewBooking]:
    return _by_id_where(
        InterviewBooking.objects.select_related("session"),
        candidate_id=candidate_id,
        interview_type_id=interview_id,
        status=status,
    )


def interview_booking_get(*, booking_id: int) -> InterviewBooking:
    booking = InterviewBooking.objects.select_related("candidate").filter(pk=booking_id).first()
    if booking is None:
        raise ApiProblem("not_found", _("面接の予約 #%(id)s は見つかりません。") % {"id": booking_id})
    return booking
