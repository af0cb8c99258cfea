"""Interviews with their free times, and interviews booked or cancelled on a student's behalf (the My Page's rules)."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Path, Query, Router, Schema, Status
from pydantic import Field

from api import schemas
from api.auth import BOOKINGS_READ, BOOKINGS_WRITE
from api.docs import examples
from api.endpoints.candidates import _season_id
from api.http import audit_note
from api.idempotency import IDEMPOTENCY_DOC, idempotent
from api.paging import PageQuery, page_answer, page_schema
from api.selectors import (
    candidate_visible_get,
    interview_booking_get,
    interview_booking_list,
    interview_type_get,
    interview_type_list,
)
from api.texts import gettext_lazy, texts_join
from booking.models import InterviewBooking, InterviewType
from booking.selectors import interview_times
from booking.services.interviews import interview_book, interview_cancel, interview_reschedule

router = Router(tags=["interviews"])
PROBLEMS = schemas.PROBLEMS
# The docs page and the fuzzer read a bounded list; the My Page offers the same times.
MAX_TIMES = 200


class Interview(Schema):
    id: int
    name: str
    step: str = Field(
        description=gettext_lazy("予約できる学生の選考ステップ / the selection step that may book")
    )
    duration_minutes: int
    buffer_minutes: int
    capacity: int = Field(
        description=gettext_lazy("1 回の人数（2 以上はグループ面接） / students per session")
    )
    place: str
    online_url: str
    change_deadline_hours: int
    active: bool


class InterviewTime(Schema):
    starts_at: schemas.Timestamp
    ends_at: schemas.Timestamp
    free_interviewers: int
    group_seats: int


class InterviewDetail(Interview):
    times: list[InterviewTime]


class InterviewBookingOut(Schema):
    id: int
    candidate_id: int
    interview_id: int
    status: str
    starts_at: schemas.Timestamp
    ends_at: schemas.Timestamp
    created_at: schemas.Timestamp
    cancelled_at: schemas.Timestamp | None


class InterviewBookingIn(Schema):
    candidate_id: int = Field(ge=1, le=schemas.MAX_ID)
    interview_id: int = Field(ge=1, le=schemas.MAX_ID)
    starts_at: schemas.Timestamp = Field(
        description=gettext_lazy("times の starts_at のひとつ / one of the times offered")
    )


def interview_body(interview_type: InterviewType) -> dict[str, Any]:
    return {field: getattr(interview_type, field) for field in Interview.model_fields}


def interview_booking_body(booking: InterviewBooking) -> dict[str, Any]:
    return {
        "id": booking.pk,
        "candidate_id": booking.candidate_id,
        "interview_id": booking.interview_type_id,
        "status": booking.status,
        "starts_at": booking.session.starts_at,
        "ends_at": booking.session.ends_at,
        "created_at": booking.created_at,
        "cancelled_at": booking.cancelled_at,
    }


@router.get(
    "/interviews",
    response={200: list[Interview], **PROBLEMS},
    auth=BOOKINGS_READ,
    summary=gettext_lazy("面接の一覧 / Interviews"),
    openapi_extra=examples("interviews_list"),
)
def interviews_list(request: HttpRequest, query: Query[schemas.SeasonQuery]) -> Any:
    return [interview_body(kind) for kind in interview_type_list(season_id=_season_id(query.season))]


@router.get(
    "/interviews/{interview_id}",
    response={200: InterviewDetail, **PROBLEMS},
    auth=BOOKINGS_READ,
    summary=gettext_lazy("面接の詳細と空き時間 / An interview and its free times"),
    openapi_extra=examples("interviews_get"),
)
def interviews_get(request: HttpRequest, interview_id: int = Path(..., ge=1, le=schemas.MAX_ID)) -> Any:
    interview_type = interview_type_get(interview_type_id=interview_id)
    times = interview_times(interview_type=interview_type)[:MAX_TIMES]
    return {**interview_body(interview_type), "times": times}


class InterviewBookingQuery(PageQuery):
    candidate_id: int | None = Field(None, ge=1, le=schemas.MAX_ID)
    interview_id: int | None = Field(None, ge=1, le=schemas.MAX_ID)
    status: Literal["", "active", "cancelled"] = ""


InterviewBookingPage = page_schema("InterviewBookingPage", InterviewBookingOut)


@router.get(
    "/interview-bookings",
    response={200: InterviewBookingPage, **PROBLEMS},
    auth=BOOKINGS_READ,
    summary=gettext_lazy("面接の予約の一覧 / List interview bookings"),
    openapi_extra=examples("interview_bookings_list"),
)
def interview_bookings_list(request: HttpRequest, query: Query[InterviewBookingQuery]) -> Any:
    return page_answer(
        request,
        queryset=interview_booking_list(
            candidate_id=query.candidate_id, interview_id=query.interview_id, status=query.status
        ),
        query=query,
        students=lambda page: [booking.candidate_id for booking in page],
        body=interview_booking_body,
    )


@router.post(
    "/interview-bookings",
    response={201: InterviewBookingOut, 409: schemas.Problem, **PROBLEMS},
    auth=BOOKINGS_WRITE,
    summary=gettext_lazy("学生に代わって面接を予約 / Book an interview for a student"),
    description=texts_join(
        gettext_lazy(
            "マイページと同じ規則（選考ステップ、空き時間、面接官の割り当て）で予約します。 / "
            "The My Page's rules apply (step, free times, interviewer assignment)."
        ),
        IDEMPOTENCY_DOC,
    ),
    openapi_extra=examples("interview_bookings_create"),
)
def interview_bookings_create(request: HttpRequest, payload: InterviewBookingIn) -> Any:
    def work() -> tuple[int, dict[str, Any]]:
        candidate = candidate_visible_get(candidate_id=payload.candidate_id)
        booking = interview_book(
            candidate=candidate, interview_type_id=payload.interview_id, starts_at=payload.starts_at
        )
        return 201, schemas.dump(InterviewBookingOut, interview_booking_body(booking))

    status, body = idempotent(request, work)
    audit_note(request, action="api_write", candidate_ids=[body["candidate_id"]])
    return Status(status, body)


class RescheduleIn(Schema):
    starts_at: schemas.Timestamp = Field(
        description=gettext_lazy("面接の空き時間のひとつ / one of the interview's free times")
    )


@router.post(
    "/interview-bookings/{booking_id}/reschedule",
    response={200: InterviewBookingOut, 409: schemas.Problem, **PROBLEMS},
    auth=BOOKINGS_WRITE,
    summary=gettext_lazy("面接の日時の変更 / Move an interview to another time"),
    description=gettext_lazy(
        "マイページの日時変更と同じく、新しい時間を確保してから元の時間を空けます（締切も同じ）。 / As on the "
        "My Page: the new time is taken first, then the old one is released (the same deadline)."
    ),
    openapi_extra=examples("interview_bookings_reschedule"),
)
def interview_bookings_reschedule(
    request: HttpRequest, payload: RescheduleIn, booking_id: int = Path(..., ge=1, le=schemas.MAX_ID)
) -> Any:
    found = interview_booking_get(booking_id=booking_id)
    booking = interview_reschedule(
        candidate=found.candidate, booking_id=found.pk, starts_at=payload.starts_at
    )
    audit_note(request, action="api_write", candidate_ids=[booking.candidate_id])
    return interview_booking_body(booking)


@router.post(
    "/interview-bookings/{booking_id}/cancel",
    response={200: InterviewBookingOut, 409: schemas.Problem, **PROBLEMS},
    auth=BOOKINGS_WRITE,
    summary=gettext_lazy("面接のキャンセル / Cancel an interview"),
    description=gettext_lazy(
        "変更・キャンセルの締切はマイページと同じです。 / The My Page's change deadline applies."
    ),
    openapi_extra=examples("interview_bookings_cancel"),
)
def interview_bookings_cancel(
    request: HttpRequest, booking_id: int = Path(..., ge=1, le=schemas.MAX_ID)
) -> Any:
    # On the student's behalf: the student's own cancellation, with its deadline (not the company's override).
    found = interview_booking_get(booking_id=booking_id)
    booking = interview_cancel(candidate=found.candidate, booking_id=found.pk)
    audit_note(request, action="api_write", candidate_ids=[booking.candidate_id])
    return interview_booking_body(booking)
