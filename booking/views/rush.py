"""The recruiters' booking-rush page: seats, queue and rates live, and the waiting room's settings."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from booking import errors
from booking.models import Seminar, WaitingRoomMode
from booking.rush.metrics import rush_snapshot
from booking.services.seminars import (
    ADMISSION_PER_SECOND_RANGE,
    WAITING_ROOM_LATENCY_MS_RANGE,
    seminar_waiting_room_set,
)
from booking.views.recruiter import editor_required
from tenants.selectors import current_schema

POLL_SECONDS = 1


class WaitingRoomForm(forms.Form):
    """Parses the fields; the ranges are the service's to decide (the inputs only hint them to the browser)."""

    mode = forms.ChoiceField(label=_("待合室"), choices=WaitingRoomMode.choices)
    admission_per_second = forms.IntegerField(
        label=_("入場レート（人/秒）"),
        error_messages={
            "required": _("入場レートを入力してください。"),
            "invalid": _("入場レートは整数で入力してください。"),
        },
        widget=forms.NumberInput(
            attrs={"min": ADMISSION_PER_SECOND_RANGE[0], "max": ADMISSION_PER_SECOND_RANGE[1]}
        ),
    )
    latency_ms = forms.IntegerField(
        label=_("自動で待合室を開く応答時間（ミリ秒）"),
        error_messages={
            "required": _("応答時間を入力してください。"),
            "invalid": _("応答時間は整数で入力してください。"),
        },
        widget=forms.NumberInput(
            attrs={"min": WAITING_ROOM_LATENCY_MS_RANGE[0], "max": WAITING_ROOM_LATENCY_MS_RANGE[1]}
        ),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["mode"].error_messages["invalid_choice"] = _(
            "待合室の使い方は「使わない」「常に使う」「混雑時に自動」から選んでください。"
        )
        self.fields["mode"].error_messages["required"] = _("待合室の使い方を選んでください。")


def _initial(seminar: Seminar) -> dict:
    return {
        "mode": seminar.waiting_room,
        "admission_per_second": seminar.admission_per_second,
        "latency_ms": seminar.waiting_room_latency_ms,
    }


@editor_required
@require_http_methods(["GET", "POST"])
def seminar_rush(request: HttpRequest, seminar_id: int) -> HttpResponse:
    """GET: the dashboard (viewers too). POST: the waiting room's settings (admins and recruiters)."""
    seminar = get_object_or_404(Seminar, pk=seminar_id)
    form = WaitingRoomForm(request.POST or None, initial=_initial(seminar))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                seminar_waiting_room_set(
                    seminar=seminar,
                    mode=form.cleaned_data["mode"],
                    admission_per_second=form.cleaned_data["admission_per_second"],
                    latency_ms=form.cleaned_data["latency_ms"],
                )
            except errors.BookingError as error:
                form.add_error(None, error.message)
                status = error.http_status
            else:
                messages.success(request, gettext("待合室の設定を保存しました。"))
                return redirect("booking:seminar_rush", seminar_id=seminar.pk)
        else:
            status = 400
    snapshot = rush_snapshot(schema=current_schema(), seminar_id=seminar.pk)
    return render(
        request,
        "booking/rush.html",
        {"seminar": seminar, "snapshot": snapshot, "form": form, "poll_seconds": POLL_SECONDS},
        status=status,
    )


@require_GET
def seminar_rush_json(request: HttpRequest, seminar_id: int) -> HttpResponse:
    """The figures the page polls every second; answers JSON even when signed out, so the page can say so."""
    if not request.user.is_authenticated:
        return _json_error(
            gettext("ログインの有効期限が切れました。ページを再読み込みしてログインしてください。"), 401
        )
    if not Seminar.objects.filter(pk=seminar_id).exists():
        return _json_error(gettext("この説明会は見つかりません。"), 404)
    snapshot = rush_snapshot(schema=current_schema(), seminar_id=seminar_id)
    response = JsonResponse(snapshot.as_dict(), json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "no-store"
    return response


def _json_error(message: str, status: int) -> JsonResponse:
    response = JsonResponse(
        {"ok": False, "message": message}, status=status, json_dumps_params={"ensure_ascii": False}
    )
    response["Cache-Control"] = "no-store"
    return response
