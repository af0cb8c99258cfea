"""Shapes of the API's bodies (OpenAPI 3.1 comes from these): timestamps in ISO 8601 with their offset."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from django.utils import timezone
from ninja import Schema
from pydantic import AfterValidator, Field, PlainSerializer

from api.texts import gettext_lazy

# Ids are PostgreSQL bigints: anything larger is refused before it reaches a query.
MAX_ID = 2**63 - 1


# PostgreSQL text cannot hold NUL: refused with the other input errors (422), never a server error.
NO_NUL = r"^[^\x00]*$"


def text(default: str = "", *, max_length: int, description: str | None = None) -> Any:
    """A string field of a request: bounded, and without NUL characters."""
    return Field(default, max_length=max_length, pattern=NO_NUL, description=description)


Tag = Annotated[str, Field(max_length=40, pattern=NO_NUL)]


def season_field() -> Any:
    """A season named by its graduation year; the company's default season when left out."""
    return Field(None, ge=1900, le=2200, description=gettext_lazy("年度（卒業年）。省略時は既定の年度"))


class SeasonQuery(Schema):
    season: int | None = season_field()


def _local_iso(value: datetime) -> str:
    return timezone.localtime(value).isoformat()


# "2026-04-01T10:00:00+09:00": the company's time zone, its offset written out.
Timestamp = Annotated[datetime, PlainSerializer(_local_iso, return_type=str, when_used="always")]

# The years a time given to the API may name: wide enough for any season, narrow enough that no offset or time
# zone conversion can leave the calendar (year 1 or 9999 with an offset overflows Python's datetime).
REQUEST_YEARS = (1900, 2200)


def _request_time(value: datetime) -> datetime:
    if timezone.is_naive(value):
        # Without an offset a time is the company's (Japan), as on the pages.
        value = timezone.make_aware(value)
    low, high = REQUEST_YEARS
    if not low <= value.year <= high:
        raise ValueError(f"year must be between {low} and {high}")
    return value


# A time in a request: always aware (a missing offset means the company's time zone), within REQUEST_YEARS.
RequestTime = Annotated[datetime, AfterValidator(_request_time)]


class Problem(Schema):
    """RFC 9457 problem details (application/problem+json)."""

    type: str
    title: str = Field(description=gettext_lazy("日本語の見出し"))
    title_en: str = Field(description="English title")
    status: int
    detail: str
    instance: str
    code: str = Field(description="stable machine-readable code")


# The problems every operation can answer (401 token, 403 scope, 404, 422 input, 429 limit).
PROBLEMS: dict[int, type[Schema]] = {401: Problem, 403: Problem, 404: Problem, 422: Problem, 429: Problem}


class Entry(Schema):
    id: int
    board: str
    board_member_id: str
    faculty: str
    graduation_year: int | None
    entry_date: date | None
    created_at: Timestamp


class Candidate(Schema):
    id: int
    family_name: str
    given_name: str
    family_kana: str
    given_kana: str
    email: str
    phone: str
    birth_date: date | None
    university_raw: str
    university: str
    rank: str
    rank_is_manual: bool
    graduation_year: int | None
    status: str
    email_undeliverable: bool
    created_at: Timestamp
    updated_at: Timestamp


class CandidateDetail(Candidate):
    tags: list[str]
    entries: list[Entry]


class CandidateIn(Schema):
    """One student as a job board would give them; normalised and deduplicated like an imported row."""

    external_id: str = text(
        max_length=100, description=gettext_lazy("連携元の会員ID（同じIDは同じエントリー）")
    )
    full_name: str = text(max_length=200)
    family_name: str = text(max_length=100)
    given_name: str = text(max_length=100)
    full_kana: str = text(max_length=200)
    family_kana: str = text(max_length=100)
    given_kana: str = text(max_length=100)
    email: str = text(max_length=254)
    phone: str = text(max_length=40)
    birth_date: str = text(max_length=40, description=gettext_lazy("例 2004-05-01, 2004/5/1"))
    university: str = text(max_length=200)
    faculty: str = text(max_length=200)
    graduation: str = text(max_length=40, description=gettext_lazy("例 2027, 2027年3月"))


class CandidateCreated(Schema):
    candidate: CandidateDetail
    outcome: str = Field(description="created | merged | unchanged")
    possible_duplicate: bool


class CandidatePatch(Schema):
    status: str | None = Field(
        None, max_length=40, pattern=NO_NUL, description=gettext_lazy("選考ステップのキー")
    )
    rank: str | None = Field(
        None, max_length=1, pattern=NO_NUL, description=gettext_lazy("A–Z、空文字で手動設定を解除")
    )
    add_tags: list[Tag] = Field(default_factory=list, max_length=20)
    remove_tags: list[Tag] = Field(default_factory=list, max_length=20)


class RankRule(Schema):
    university: str
    rank: str


class Ranks(Schema):
    default_rank: str
    rules: list[RankRule]


class Quota(Schema):
    rank: str = Field(description="A–Z, or * for the shared pool")
    seats: int
    taken: int


class Slot(Schema):
    id: int
    seminar_id: int
    starts_at: Timestamp
    ends_at: Timestamp
    capacity: int
    quotas: list[Quota]


class Seminar(Schema):
    id: int
    title: str
    description: str
    place: str
    published: bool
    opens_at: Timestamp | None
    booking_deadline: Timestamp | None
    cancellation_deadline: Timestamp | None
    slots: list[Slot]


class Booking(Schema):
    id: int
    candidate_id: int
    seminar_id: int
    slot_id: int
    status: str
    attendance: str
    created_at: Timestamp
    cancelled_at: Timestamp | None


class BookingIn(Schema):
    candidate_id: int = Field(ge=1, le=MAX_ID)
    slot_id: int = Field(ge=1, le=MAX_ID)


def dump(schema: type[Schema], value: Any) -> dict[str, Any]:
    """A body as the API sends it (stored verbatim for idempotent replays)."""
    return schema.model_validate(value).model_dump(mode="json")
