"""Seminars with their slots and seats, and bookings made or cancelled on a student's behalf."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Path, Query, Router, Schema, Status
from pydantic import Field

from api import schemas
from api.auth import BOOKINGS_READ, BOOKINGS_WRITE
from api.docs import examples
from api.endpoints.candidates import _season_id
from api.errors import ApiProblem
from api.http import audit_note
from api.idempotency import IDEMPOTENCY_DOC, idempotent
from api.paging import PageQuery, page_answer, page_schema
from api.selectors import booking_list, candidate_visible_get, seminar_get
from api.texts import gettext_lazy, texts_join
from booking.models import Booking, Seminar
from booking.selectors import seminar_list_all
from booking.services import booking_cancel, booking_create
from booking.services.bookings import RoomEntry
from booking.services.seminars import attendance_mark

router = Router(tags=["bookings"])
PROBLEMS = schemas.PROBLEMS


def seminar_body(seminar: Seminar) -> dict[str, Any]:
    return {
        **{field: getattr(seminar, field) for field in schemas.Seminar.model_fields if field != "slots"},
        "slots": [
            {
                "id": slot.pk,
                "seminar_id": slot.seminar_id,
                "starts_at": slot.starts_at,
                "ends_at": slot.ends_at,
                "capacity": slot.capacity,
                "quotas": list(slot.quotas.all()),
            }
            for slot in seminar.slots.all()
        ],
    }


@router.get(
    "/seminars",
    response={200: list[schemas.Seminar], **PROBLEMS},
    auth=BOOKINGS_READ,
    summary=gettext_lazy("説明会と日程・席数 / Seminars with slots and seats"),
    openapi_extra=examples("seminars_list"),
)
def seminars_list(request: HttpRequest, query: Query[schemas.SeasonQuery]) -> Any:
    return [seminar_body(seminar) for seminar in seminar_list_all(season_id=_season_id(query.season))]


@router.get(
    "/seminars/{seminar_id}",
    response={200: schemas.Seminar, **PROBLEMS},
    auth=BOOKINGS_READ,
    summary=gettext_lazy("説明会の詳細 / Get a seminar"),
    openapi_extra=examples("seminars_get"),
)
def seminars_get(request: HttpRequest, seminar_id: int = Path(..., ge=1, le=schemas.MAX_ID)) -> Any:
    return seminar_body(seminar_get(seminar_id=seminar_id))


class BookingQuery(PageQuery):
    candidate_id: int | None = Field(None, ge=1, le=schemas.MAX_ID)
    seminar_id: int | None = Field(None, ge=1, le=schemas.MAX_ID)
    status: Literal["", "active", "cancelled"] = ""


BookingPage = page_schema("BookingPage", schemas.Booking)


@router.get(
    "/bookings",
    response={200: BookingPage, **PROBLEMS},
    auth=BOOKINGS_READ,
    summary=gettext_lazy("予約の一覧 / List bookings"),
    openapi_extra=examples("bookings_list"),
)
def bookings_list(request: HttpRequest, query: Query[BookingQuery]) -> Any:
    return page_answer(
        request,
        queryset=booking_list(
            candidate_id=query.candidate_id, seminar_id=query.seminar_id, status=query.status
        ),
        query=query,
        students=lambda page: [booking.candidate_id for booking in page],
    )


@router.post(
    "/bookings",
    response={201: schemas.Booking, 409: schemas.Problem, **PROBLEMS},
    auth=BOOKINGS_WRITE,
    summary=gettext_lazy("学生に代わって予約 / Book a seat for a student"),
    description=texts_join(
        gettext_lazy(
            "マイページと同じ規則（ランク別の席数、受付開始・締切、待合室）で予約します。 / The My Page's rules apply."
        ),
        IDEMPOTENCY_DOC,
    ),
    openapi_extra=examples("bookings_create"),
)
def bookings_create(request: HttpRequest, payload: schemas.BookingIn) -> Any:
    def work() -> tuple[int, dict[str, Any]]:
        candidate = candidate_visible_get(candidate_id=payload.candidate_id)
        # The waiting room holds every entrance: while it is on, the API (which has no room pass) waits too.
        outcome = booking_create(candidate=candidate, slot_id=payload.slot_id, room=RoomEntry(room_pass=None))
        if outcome.booking is None:
            raise ApiProblem("conflict")
        return 201, schemas.dump(schemas.Booking, outcome.booking)

    status, body = idempotent(request, work)
    audit_note(request, action="api_write", candidate_ids=[body["candidate_id"]])
    return Status(status, body)


@router.post(
    "/bookings/{booking_id}/cancel",
    response={200: schemas.Booking, 409: schemas.Problem, **PROBLEMS},
    auth=BOOKINGS_WRITE,
    summary=gettext_lazy("予約のキャンセル / Cancel a booking"),
    description=gettext_lazy(
        "キャンセル締切はマイページと同じです。 / The My Page's cancellation deadline applies."
    ),
    openapi_extra=examples("bookings_cancel"),
)
def bookings_cancel(request: HttpRequest, booking_id: int = Path(..., ge=1, le=schemas.MAX_ID)) -> Any:
    booking: Booking = booking_cancel(candidate=None, booking_id=booking_id)
    audit_note(request, action="api_write", candidate_ids=[booking.candidate_id])
    return booking


class AttendanceIn(Schema):
    attendance: Literal["unknown", "attended", "no_show"]


@router.post(
    "/bookings/{booking_id}/attendance",
    response={200: schemas.Booking, 409: schemas.Problem, **PROBLEMS},
    auth=BOOKINGS_WRITE,
    summary=gettext_lazy("出欠の記録 / Record attendance"),
    description=gettext_lazy(
        "受付画面と同じく、出席でステップメールが動きます。 / As at the door: step mails follow."
    ),
    openapi_extra=examples("bookings_attendance"),
)
def bookings_attendance(
    request: HttpRequest, payload: AttendanceIn, booking_id: int = Path(..., ge=1, le=schemas.MAX_ID)
) -> Any:
    booking = attendance_mark(booking_id=booking_id, attendance=payload.attendance)
    audit_note(request, action="api_write", candidate_ids=[booking.candidate_id])
    return booking
