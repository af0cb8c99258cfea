"""The student My Page: sign-in by personal link, seminars for the rank, book / change / cancel, files."""

from __future__ import annotations

import io

import segno
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from booking import errors, selectors
from booking.calendar import booking_ics
from booking.rush.pages import rush_pass_attach
from booking.rush.passes import ROOM_COOKIE, STUDENT_COOKIE
from booking.services import (
    booking_cancel,
    booking_change,
    booking_create,
    mypage_link_request,
    mypage_token_check,
    mypage_token_exchange,
    waitlist_accept,
    waitlist_join,
    waitlist_leave,
)
from booking.services.bookings import RoomEntry
from booking.services.mypage import SESSION_KEY, mypage_sign_out
from booking.views.common import error_response, mypage_required, wants_json

LINK_SENT = gettext_lazy(
    "ご登録のメールアドレスであれば、マイページへのリンクをお送りしました。メールをご確認ください。"
)


@require_http_methods(["GET", "POST"])
def mypage_login(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a sign-in button and spends nothing (mail scanners and link previews open links); the
    button's POST exchanges the one-time token for a session."""
    try:
        if request.method == "GET":
            mypage_token_check(token=token)
            response = render(request, "booking/mypage/login.html", {})
        else:
            row = mypage_token_exchange(token=token)
            request.session.cycle_key()
            request.session[SESSION_KEY] = row.pk
            # The token leaves the address bar at once (no leak through history or Referer).
            response = redirect("booking:mypage_home")
    except errors.TokenInvalidError as error:
        response = render(request, "booking/mypage/link.html", {"error": error.message}, status=403)
    # Never sent to another site; same-origin keeps the form's Origin header (no-referrer would make it "null").
    response["Referrer-Policy"] = "same-origin"
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "POST"])
def mypage_link(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            mypage_link_request(
                email=request.POST.get("email", ""), client=request.META.get("REMOTE_ADDR", "")
            )
        except errors.LinkRequestsExceededError as error:
            return render(
                request, "booking/mypage/link.html", {"error": error.message}, status=error.http_status
            )
        return render(request, "booking/mypage/link.html", {"sent": LINK_SENT})
    return render(request, "booking/mypage/link.html", {})


@require_POST
def mypage_logout(request: HttpRequest) -> HttpResponse:
    mypage_sign_out(token_id=request.session.pop(SESSION_KEY, None))
    response = render(request, "booking/mypage/link.html", {"sent": _("ログアウトしました。")})
    response.delete_cookie(STUDENT_COOKIE, path="/", samesite="Strict")
    response.delete_cookie(ROOM_COOKIE, path="/my/", samesite="Strict")
    return response


@never_cache  # booked seminars' meeting links: no browser or proxy keeps the page
@mypage_required
def mypage_home(request: HttpRequest) -> HttpResponse:
    candidate = request.candidate
    response = render(
        request,
        "booking/mypage/home.html",
        {
            "candidate": candidate,
            "bookings": selectors.booking_list_for_candidate(candidate=candidate),
            "waitlist": selectors.waitlist_open_for_candidate(candidate=candidate),
            "seminars": selectors.seminar_list_for_rank(rank=candidate.rank, candidate=candidate),
            "interview_types": selectors.interview_types_for_candidate(candidate=candidate),
            "interview_bookings": selectors.interview_bookings_for_candidate(candidate=candidate),
            "now": timezone.now(),
        },
    )
    return rush_pass_attach(response, candidate=candidate)


@never_cache  # the seminar's meeting link
@mypage_required
def mypage_seminar(request: HttpRequest, seminar_id: int) -> HttpResponse:
    candidate = request.candidate
    found = selectors.seminar_get_for_rank(seminar_id=seminar_id, rank=candidate.rank, candidate=candidate)
    if found is None:
        return error_response(request, errors.NotVisibleError())
    seminar, access = found
    remaining = selectors.seminar_remaining_for_rank(seminar_id=seminar.pk, rank=candidate.rank)
    booking = selectors.active_booking_in_seminar(candidate=candidate, seminar_id=seminar.pk)
    waiting = {entry.slot_id: entry for entry in selectors.waitlist_open_for_candidate(candidate=candidate)}
    slots = [
        {"slot": slot, "remaining": remaining.get(slot.pk, 0), "waiting": waiting.get(slot.pk)}
        for slot in seminar.slots.all()
    ]
    now = timezone.now()
    # Around the opening time (or while the waiting room is on) the rush page is the way in.
    rush = seminar.waiting_room == "on" or (
        access.opens_at is not None and abs((access.opens_at - now).total_seconds()) < 3600
    )
    response = render(
        request,
        "booking/mypage/seminar.html",
        {
            "seminar": seminar,
            "access": access,
            "is_open": access.is_open(now),
            "slots": slots,
            "booking": booking,
            "candidate": candidate,
            "rush_url": f"/my/rush/{seminar.pk}/" if rush and booking is None else "",
        },
    )
    return rush_pass_attach(response, candidate=candidate)


@mypage_required
@require_GET
def mypage_seats(request: HttpRequest, seminar_id: int) -> HttpResponse:
    """Polling fallback of the live counts: seats left per slot for the student's rank."""
    if (
        selectors.seminar_get_for_rank(
            seminar_id=seminar_id, rank=request.candidate.rank, candidate=request.candidate
        )
        is None
    ):
        return error_response(request, errors.NotVisibleError())
    counts = selectors.seminar_remaining_for_rank(seminar_id=seminar_id, rank=request.candidate.rank)
    return JsonResponse(
        {"type": "seats", "seminar": seminar_id, "slots": {str(k): v for k, v in counts.items()}}
    )


def _answer(request: HttpRequest, *, code: str, message: str, back: str, booking=None) -> HttpResponse:
    if wants_json(request):
        return JsonResponse(
            {"ok": True, "code": code, "message": message, "booking": booking.pk if booking else None}
        )
    messages.success(request, message)
    return redirect(back)


@mypage_required
@require_POST
def mypage_book(request: HttpRequest) -> HttpResponse:
    candidate = request.candidate
    slot_id = request.POST.get("slot", "")
    waitlist = request.POST.get("waitlist") == "1"
    back = "/my/"
    # The waiting room holds every entrance, this form too (booking/admission.py).
    room = RoomEntry(room_pass=request.COOKIES.get(ROOM_COOKIE))
    try:
        if request.POST.get("change") == "1":
            outcome = booking_change(candidate=candidate, slot_id=slot_id, room=room)
            message = _("日程を変更しました。")
        else:
            outcome = booking_create(candidate=candidate, slot_id=slot_id, waitlist=waitlist, room=room)
            message = outcome.message
    except errors.FullError as error:
        # Full for this rank: the answer page offers the waiting list in one click.
        offer = slot_id if request.POST.get("change") != "1" else ""
        return error_response(request, error, back=back, waitlist_slot=offer)
    except errors.BookingError as error:
        return error_response(request, error, back=back)
    return _answer(request, code=outcome.kind, message=message, back=back, booking=outcome.booking)


@mypage_required
@require_POST
def mypage_cancel(request: HttpRequest, booking_id: int) -> HttpResponse:
    try:
        booking_cancel(candidate=request.candidate, booking_id=booking_id)
    except errors.BookingError as error:
        return error_response(request, error)
    return _answer(request, code="cancelled", message=_("予約をキャンセルしました。"), back="/my/")


@mypage_required
@require_POST
def mypage_waitlist_join(request: HttpRequest) -> HttpResponse:
    try:
        waitlist_join(candidate=request.candidate, slot_id=request.POST.get("slot", ""))
    except errors.BookingError as error:
        return error_response(request, error)
    return _answer(request, code="waitlisted", message=_("キャンセル待ちに登録しました。"), back="/my/")


@mypage_required
@require_POST
def mypage_waitlist_accept(request: HttpRequest, entry_id: int) -> HttpResponse:
    try:
        booking = waitlist_accept(candidate=request.candidate, entry_id=entry_id)
    except errors.BookingError as error:
        return error_response(request, error)
    return _answer(request, code="booked", message=_("予約が完了しました。"), back="/my/", booking=booking)


@mypage_required
@require_POST
def mypage_waitlist_leave(request: HttpRequest, entry_id: int) -> HttpResponse:
    try:
        waitlist_leave(candidate=request.candidate, entry_id=entry_id)
    except errors.BookingError as error:
        return error_response(request, error)
    return _answer(request, code="left", message=_("キャンセル待ちを取り下げました。"), back="/my/")


@mypage_required
@require_GET
def mypage_booking_ics(request: HttpRequest, booking_id: int) -> HttpResponse:
    booking = selectors.booking_get_for_candidate(candidate=request.candidate, booking_id=booking_id)
    if booking is None:
        return error_response(request, errors.NotBookedError())
    response = HttpResponse(
        booking_ics(booking=booking, host=request.get_host()), content_type="text/calendar; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="booking-{booking.pk}.ics"'
    return response


@mypage_required
@require_GET
def mypage_booking_qr(request: HttpRequest, booking_id: int) -> HttpResponse:
    booking = selectors.booking_get_for_candidate(candidate=request.candidate, booking_id=booking_id)
    if booking is None:
        return error_response(request, errors.NotBookedError())
    # A phone camera at the door opens the recruiters' check-in page with the code filled in.
    content = request.build_absolute_uri(f"/booking/checkin/?code={booking.check_in_code}")
    buffer = io.BytesIO()
    # A standalone SVG document (with its namespace) so an <img> can show it.
    segno.make(content, error="m").save(buffer, kind="svg", scale=4, border=2, xmldecl=False)
    return HttpResponse(buffer.getvalue(), content_type="image/svg+xml")


@mypage_required
@require_GET
def mypage_profile(request: HttpRequest) -> HttpResponse:
    from django.conf import settings

    # Corrections go to the company's own recruiting contact, not to a no-reply address.
    contact = getattr(request.tenant, "admin_email", "") or settings.SUPPORT_EMAIL
    return render(
        request, "booking/mypage/profile.html", {"candidate": request.candidate, "contact": contact}
    )
