"""Recruiters' booking pages: seminars with slots, quotas and rank rules; bookings; attendance; check-in."""

from __future__ import annotations

import functools
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import EVERYONE, forbidden, role_required
from booking import errors, selectors
from booking.forms import QuotaForm, RulesForm, SeminarForm, SlotForm
from booking.models import Attendance, Seminar, Slot
from booking.services import booking_cancel, mypage_link_send, mypage_tokens_revoke
from booking.services.seminars import (
    SEMINAR_FIELDS,
    attendance_mark,
    rank_rules_set,
    seminar_create,
    seminar_update,
    slot_create,
    slot_quotas_set,
)
from candidates.selectors import ranks_in_use
from candidates.services.audit import audit_request


def editor_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Writes need an admin or recruiter; viewers get a 403 with a clear message."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if getattr(request.user, "role", None) not in EVERYONE:
            # Interviewers see students only through their own interviews (selection app), never here.
            return forbidden(request)
        if request.method == "POST" and not request.user.can_edit:
            return render(
                request,
                "booking/recruiter/forbidden.html",
                {"message": _("閲覧のみの権限では変更できません。")},
                status=403,
            )
        return view(request, *args, **kwargs)

    return login_required(wrapper)


@role_required(*EVERYONE)
def seminar_list(request: HttpRequest) -> HttpResponse:
    seminars = selectors.seminar_list_all(season_id=request.season.pk)
    return render(request, "booking/recruiter/seminar_list.html", {"seminars": seminars})


@editor_required
@require_http_methods(["GET", "POST"])
def seminar_new(request: HttpRequest) -> HttpResponse:
    form = SeminarForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in SEMINAR_FIELDS}
        seminar = seminar_create(season=request.season, **data)
        messages.success(request, _("説明会を作成しました。日程を追加してください。"))
        return redirect("booking:seminar_detail", seminar_id=seminar.pk)
    return render(
        request, "booking/recruiter/seminar_form.html", {"form": form}, status=400 if form.errors else 200
    )


@editor_required
@require_http_methods(["GET", "POST"])
def seminar_detail(request: HttpRequest, seminar_id: int) -> HttpResponse:
    seminar = get_object_or_404(Seminar, pk=seminar_id)
    form = SeminarForm(request.POST or None, instance=seminar)
    if request.method == "POST" and form.is_valid():
        seminar_update(seminar=seminar, **{name: form.cleaned_data[name] for name in SEMINAR_FIELDS})
        messages.success(request, _("説明会を更新しました。"))
        return redirect("booking:seminar_detail", seminar_id=seminar.pk)
    return _detail(request, seminar, form=form, status=400 if form.errors else 200)


def _rules(seminar) -> dict:
    return {rule.rank: (rule.visible, rule.opens_at) for rule in seminar.rank_rules.all()}


def _detail(request, seminar, *, form=None, slot_form=None, rules_form=None, status=200) -> HttpResponse:
    slots = [
        {
            "slot": slot,
            "booked": selectors.slot_booked_count(slot=slot),
            "quotas": list(slot.quotas.all()),
        }
        for slot in selectors.slot_list(seminar=seminar)
    ]
    return render(
        request,
        "booking/recruiter/seminar_detail.html",
        {
            "seminar": seminar,
            "form": form or SeminarForm(instance=seminar),
            "slot_form": slot_form or SlotForm(ranks=ranks_in_use()),
            "rules_form": rules_form or RulesForm(ranks=ranks_in_use(), rules=_rules(seminar)),
            "slots": slots,
        },
        status=status,
    )


@editor_required
@require_POST
def slot_new(request: HttpRequest, seminar_id: int) -> HttpResponse:
    seminar = get_object_or_404(Seminar, pk=seminar_id)
    form = SlotForm(request.POST, ranks=ranks_in_use())
    if form.is_valid():
        try:
            slot_create(seminar=seminar, **form.cleaned_data)
        except errors.BookingError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("日程を追加しました。"))
            return redirect("booking:seminar_detail", seminar_id=seminar.pk)
    return _detail(request, seminar, slot_form=form, status=400)


@editor_required
@require_POST
def rules_edit(request: HttpRequest, seminar_id: int) -> HttpResponse:
    seminar = get_object_or_404(Seminar, pk=seminar_id)
    form = RulesForm(request.POST, ranks=ranks_in_use(), rules=_rules(seminar))
    if form.is_valid():
        rank_rules_set(seminar=seminar, rules=form.cleaned_data["rules"])
        messages.success(request, _("ランク別の公開設定を保存しました。"))
        return redirect("booking:seminar_detail", seminar_id=seminar.pk)
    return _detail(request, seminar, rules_form=form, status=400)


@editor_required
@require_http_methods(["GET", "POST"])
def quotas_edit(request: HttpRequest, slot_id: int) -> HttpResponse:
    slot = get_object_or_404(Slot.objects.select_related("seminar"), pk=slot_id)
    form = QuotaForm(request.POST or None, initial=_quota_initial(slot), ranks=ranks_in_use())
    if request.method == "POST" and form.is_valid():
        try:
            slot_quotas_set(
                slot=slot, quotas=form.cleaned_data["quotas"], capacity=form.cleaned_data["capacity"]
            )
        except errors.BookingError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("席数を保存しました。"))
            return redirect("booking:slot_detail", slot_id=slot.pk)
    return _slot(request, slot, form=form, status=400 if form.errors else 200)


def _quota_initial(slot) -> dict:
    return {"capacity": slot.capacity, "quotas": {quota.rank: quota.seats for quota in slot.quotas.all()}}


@role_required(*EVERYONE)
def slot_detail(request: HttpRequest, slot_id: int) -> HttpResponse:
    slot = get_object_or_404(Slot.objects.select_related("seminar"), pk=slot_id)
    return _slot(request, slot)


def _slot(request, slot, *, form=None, status=200) -> HttpResponse:
    bookings = list(selectors.slot_bookings(slot=slot))
    waitlist = list(selectors.slot_waitlist(slot=slot))
    # The booking and check-in list of a slot names its students: audited, so bulk reads reach the leak checks.
    # i18n: data — audit records are written in the source language
    audit_request(
        request=request,
        action="list",
        student_count=len(bookings) + len(waitlist),
        target=f"予約一覧（枠 {slot.pk}）",
        candidate_ids=[booking.candidate_id for booking in bookings]
        + [entry.candidate_id for entry in waitlist],
    )
    return render(
        request,
        "booking/recruiter/slot_detail.html",
        {
            "slot": slot,
            "quotas": slot.quotas.all(),
            "bookings": bookings,
            "waitlist": waitlist,
            "form": form or QuotaForm(initial=_quota_initial(slot), ranks=ranks_in_use()),
            "attendance_choices": Attendance.choices,
        },
        status=status,
    )


@editor_required
@require_POST
def attendance(request: HttpRequest, booking_id: int) -> HttpResponse:
    try:
        booking = attendance_mark(booking_id=booking_id, attendance=request.POST.get("attendance", ""))
    except errors.BookingError as error:
        return render(
            request, "booking/recruiter/forbidden.html", {"message": error.message}, status=error.http_status
        )
    messages.success(
        request,
        _("%(name)s さんを「%(attendance)s」にしました。")
        % {"name": booking.candidate, "attendance": booking.get_attendance_display()},
    )
    next_url = request.POST.get("next")
    if next_url:
        return redirect(_safe_next(next_url))
    return redirect("booking:slot_detail", slot_id=booking.slot_id)


@editor_required
@require_POST
def booking_cancel_by_recruiter(request: HttpRequest, booking_id: int) -> HttpResponse:
    """Cancel a student's booking (no deadline for recruiters); the seat goes to the waiting list."""
    try:
        booking = booking_cancel(candidate=None, booking_id=booking_id, by_recruiter=True)
    except errors.BookingError as error:
        return render(
            request, "booking/recruiter/forbidden.html", {"message": error.message}, status=error.http_status
        )
    messages.success(request, _("予約をキャンセルしました。"))
    return redirect("booking:slot_detail", slot_id=booking.slot_id)


@editor_required
@require_POST
def student_mypage_link(request: HttpRequest, candidate_id: int, action: str) -> HttpResponse:
    """Send a student a fresh My Page link, or revoke all their links (ends their sessions too)."""
    from candidates.models import Candidate

    if action not in ("send", "revoke"):
        return render(
            request,
            "booking/recruiter/forbidden.html",
            {"message": _("操作が正しくありません。")},
            status=404,
        )
    candidate = get_object_or_404(Candidate, pk=candidate_id)
    if action == "send":
        if not candidate.email or candidate.email_undeliverable:
            messages.error(request, _("この学生には送信できるメールアドレスがありません。"))
        else:
            mypage_link_send(candidate=candidate)
            messages.success(
                request, _("%(name)s さんにマイページのリンクを送りました。") % {"name": candidate}
            )
    else:
        count = mypage_tokens_revoke(candidate=candidate)
        messages.success(
            request,
            _("%(name)s さんのマイページのリンク %(count)s 件を無効にしました。")
            % {"name": candidate, "count": count},
        )
    return redirect(_safe_next(request.POST.get("next", "")))


def _safe_next(value: str) -> str:
    if value and url_has_allowed_host_and_scheme(value, allowed_hosts=None) and value.startswith("/"):
        return value
    return "/booking/seminars/"


def code_from_scan(text: str) -> str:
    """The check-in code from what was typed or scanned (the code itself or a URL carrying ?code=)."""
    text = (text or "").strip()
    if "://" in text or text.startswith("/"):
        values = parse_qs(urlsplit(text).query).get("code", [])
        return values[0].strip() if values else ""
    return text


@editor_required
@require_http_methods(["GET", "POST"])
def checkin(request: HttpRequest) -> HttpResponse:
    code = code_from_scan(request.POST.get("code") or request.GET.get("code", ""))
    booking = selectors.booking_get_by_code(code=code) if code else None
    status = 200
    error = ""
    if code and booking is None:
        error, status = _("受付コードに該当する予約が見つかりません。"), 404
    elif booking is not None and booking.status != "active":
        error, status, booking = _("この予約はキャンセルされています。"), 409, None
    elif booking is not None and request.method == "POST" and request.POST.get("confirm") == "1":
        booking = attendance_mark(booking_id=booking.pk, attendance=Attendance.ATTENDED)
        booking = selectors.booking_get_by_code(code=code)
        messages.success(request, _("%(name)s さんの出席を記録しました。") % {"name": booking.candidate})
    if booking is not None:
        # i18n: data — audit records are written in the source language
        audit_request(
            request=request,
            action="read",
            student_count=1,
            target="受付",
            candidate_ids=[booking.candidate_id],
        )
    return render(
        request,
        "booking/recruiter/checkin.html",
        {"booking": booking, "code": code, "error": error},
        status=status,
    )
