"""Reads of the API that the apps' selectors do not already give: tokens, cursors, entries, bookings, ranks."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.db.models import QuerySet

from api.errors import ApiProblem
from api.models import ApiToken
from booking.models import Booking, Seminar
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
        raise ApiProblem("validation", "cursor が正しくありません。") from None
    if kind != "id" or not 0 < last_id < 2**63:
        raise ApiProblem("validation", "cursor が正しくありません。")
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
        raise ApiProblem("not_found", f"候補者 #{candidate_id} は見つかりません。")
    return candidate


def entry_list(*, candidate_id: int | None, board: str) -> QuerySet[Entry]:
    entries = Entry.objects.filter(candidate__merged_into=None, candidate__anonymised_at=None)
    if candidate_id is not None:
        entries = entries.filter(candidate_id=candidate_id)
    if board:
        entries = entries.filter(board=board)
    return entries.order_by("id")


def rank_table() -> tuple[str, list[RankRule]]:
    settings_row = RankSettings.objects.first()
    return (settings_row.default_rank if settings_row else "Z"), list(
        RankRule.objects.order_by("rank", "university")
    )


def booking_list(*, candidate_id: int | None, seminar_id: int | None, status: str) -> QuerySet[Booking]:
    bookings = Booking.objects.all()
    if candidate_id is not None:
        bookings = bookings.filter(candidate_id=candidate_id)
    if seminar_id is not None:
        bookings = bookings.filter(seminar_id=seminar_id)
    if status:
        bookings = bookings.filter(status=status)
    return bookings.order_by("id")


def seminar_get(*, seminar_id: int) -> Seminar:
    seminar = Seminar.objects.filter(pk=seminar_id).prefetch_related("slots", "slots__quotas").first()
    if seminar is None:
        raise ApiProblem("not_found", f"説明会 #{seminar_id} は見つかりません。")
    return seminar
