"""Interview pages: students pick, move and cancel times on the My Page; recruiters set types and availability."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from accounts.permissions import EVERYONE, role_required
from booking import errors, selectors
from booking.calendar import interview_ics
from booking.forms import AvailabilityForm, InterviewTypeForm
from booking.models import BookingStatus, InterviewBooking, InterviewType
from booking.services.interviews import (
    availability_add,
    interview_book,
    interview_cancel,
    interview_reschedule,
    interview_type_create,
)
from booking.views.common import error_response, mypage_required, wants_json
from booking.views.recruiter import editor_required
from candidates.services.audit import audit_request


@mypage_required
@require_GET
def mypage_interview(request: HttpRequest, type_id: int) -> HttpResponse:
    candidate = request.candidate
    interview_type = selectors.interview_type_for_candidate(candidate=candidate, interview_type_id=type_id)
    if interview_type is None:
        return error_response(request, errors.InterviewNotAllowedError())
    current = (
        InterviewBooking.objects.filter(
            candidate=candidate, interview_type=interview_type, status=BookingStatus.ACTIVE
        )
        .select_related("session")
        .first()
    )
    times = selectors.interview_times(interview_type=interview_type)
    return render(
        request,
        "booking/mypage/interview.html",
        {"candidate": candidate, "interview_type": interview_type, "times": times, "current": current},
    )


@mypage_required
@require_POST
def mypage_interview_book(request: HttpRequest, type_id: int) -> HttpResponse:
    candidate = request.candidate
    starts_at = request.POST.get("starts_at", "")
    try:
        if request.POST.get("booking"):
            booking = interview_reschedule(
                candidate=candidate, booking_id=request.POST["booking"], starts_at=starts_at
            )
            message = _("面接の日時を変更しました。")
        else:
            booking = interview_book(candidate=candidate, interview_type_id=type_id, starts_at=starts_at)
            message = _("面接を予約しました。")
    except errors.BookingError as error:
        return error_response(request, error, back=f"/my/interviews/{type_id}/")
    if wants_json(request):
        return JsonResponse({"ok": True, "code": "booked", "message": message, "booking": booking.pk})
    messages.success(request, message)
    return redirect("booking:mypage_home")


@mypage_required
@require_POST
def mypage_interview_cancel(request: HttpRequest, booking_id: int) -> HttpResponse:
    try:
        interview_cancel(candidate=request.candidate, booking_id=booking_id)
    except errors.BookingError as error:
        return error_response(request, error)
    messages.success(request, _("面接をキャンセルしました。"))
    return redirect("booking:mypage_home")


@mypage_required
@require_GET
def mypage_interview_ics(request: HttpRequest, booking_id: int) -> HttpResponse:
    booking = (
        selectors.interview_bookings_for_candidate(candidate=request.candidate).filter(pk=booking_id).first()
    )
    if booking is None:
        return error_response(request, errors.NotBookedError())
    response = HttpResponse(
        interview_ics(booking=booking, host=request.get_host()), content_type="text/calendar; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="interview-{booking.pk}.ics"'
    return response


@editor_required
@require_http_methods(["GET", "POST"])
def interview_types(request: HttpRequest) -> HttpResponse:
    users = User.objects.filter(is_active=True).order_by("email")
    type_form = InterviewTypeForm(request.POST or None, prefix="type", users=users)
    availability_form = AvailabilityForm(request.POST or None, prefix="availability", users=users)
    status = 200
    if request.method == "POST":
        if request.POST.get("form") == "type" and type_form.is_valid():
            data = dict(type_form.cleaned_data)
            interviewers = list(data.pop("interviewers"))
            interview_type_create(interviewers=interviewers, season=request.season, **data)
            messages.success(request, _("面接の種類を作成しました。"))
            return redirect("booking:interview_types")
        if request.POST.get("form") == "availability" and availability_form.is_valid():
            try:
                availability_add(**availability_form.cleaned_data)
            except errors.BookingError as error:
                availability_form.add_error(None, error.message)
            else:
                messages.success(request, _("面接可能な時間を登録しました。"))
                return redirect("booking:interview_types")
        status = 400
    if request.POST.get("form") != "type":
        type_form = InterviewTypeForm(prefix="type", users=users)
    if request.POST.get("form") != "availability":
        availability_form = AvailabilityForm(prefix="availability", users=users)
    return render(
        request,
        "booking/recruiter/interview_types.html",
        {
            "types": InterviewType.objects.filter(season=request.season).prefetch_related("interviewers"),
            "type_form": type_form,
            "availability_form": availability_form,
            "now": timezone.now(),
        },
        status=status,
    )


@role_required(*EVERYONE)
def interview_type_detail(request: HttpRequest, type_id: int) -> HttpResponse:
    interview_type = get_object_or_404(InterviewType, pk=type_id)
    bookings = list(selectors.interview_bookings_of_type(interview_type=interview_type))
    # i18n: data — audit records are written in the source language
    audit_request(
        request=request,
        action="list",
        student_count=len(bookings),
        target=f"面接の予約一覧（{interview_type.pk}）",
        candidate_ids=[booking.candidate_id for booking in bookings],
    )
    return render(
        request,
        "booking/recruiter/interview_type.html",
        {
            "interview_type": interview_type,
            "bookings": bookings,
            "times": selectors.interview_times(interview_type=interview_type)[:50],
        },
    )
