"""Offer pages: the season's offers and who will join (recruiters), issuing one, and 承諾 / 辞退 on the My Page."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import User
from accounts.permissions import EDITORS, EVERYONE, forbidden, role_required
from booking.views.common import mypage_required
from candidates.models import Candidate
from selection import selectors
from selection.errors import SelectionError
from selection.forms import OfferForm, OfferLetterForm
from selection.models import DeclineReason, Offer, OfferStatus
from selection.services.offers import (
    LETTER_VARIABLES,
    offer_accept,
    offer_deadline_extend,
    offer_decline,
    offer_issue,
    offer_letter_for,
    offer_letter_save,
)


@role_required(*EVERYONE)
@require_http_methods(["GET", "POST"])
def offer_list_view(request: HttpRequest) -> HttpResponse:
    letter = offer_letter_for(season=request.season)
    form = OfferLetterForm(request.POST or None, initial={"subject": letter.subject, "body": letter.body})
    status = 200
    if request.method == "POST":
        if not request.user.can_edit:
            return forbidden(request)
        if form.is_valid():
            try:
                offer_letter_save(season=request.season, **form.cleaned_data)
            except SelectionError as error:
                messages.error(request, error.message)
            else:
                messages.success(request, gettext("内定通知書のひな形を保存しました。"))
                return redirect("selection:offers")
        status = 400
    shown = request.GET.get("status", "")
    return render(
        request,
        "selection/offers.html",
        {
            "summary": selectors.offer_summary(season_id=request.season.pk),
            "offers": selectors.offer_list(season_id=request.season.pk, status=shown)[:500],
            "statuses": OfferStatus.choices,
            "shown": shown,
            "form": form,
            "variables": LETTER_VARIABLES,
        },
        status=status,
    )


@require_POST
@role_required(*EDITORS)
def offer_issue_view(request: HttpRequest, candidate_id: int) -> HttpResponse:
    candidate = get_object_or_404(Candidate, pk=candidate_id, merged_into=None)
    form = OfferForm(request.POST)
    if not form.is_valid():
        messages.error(request, gettext("承諾期限と入社予定日を正しく入力してください。"))
        return redirect("candidates:detail", candidate_id=candidate.pk)
    try:
        offer_issue(candidate=candidate, user=cast(User, request.user), **form.cleaned_data)
    except SelectionError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            gettext("%(name)s さんに内定を出しました（内定通知メールを送ります）。") % {"name": candidate},
        )
    return redirect("candidates:detail", candidate_id=candidate.pk)


@require_POST
@role_required(*EDITORS)
def offer_deadline_view(request: HttpRequest, offer_id: int) -> HttpResponse:
    offer = get_object_or_404(Offer, pk=offer_id)
    form = OfferForm(
        {"deadline": request.POST.get("deadline", ""), "start_date": offer.start_date.isoformat()}
    )
    try:
        if not form.is_valid():
            raise SelectionError(gettext("承諾期限を正しく入力してください。"))
        offer_deadline_extend(
            offer=offer, deadline=form.cleaned_data["deadline"], user=cast(User, request.user)
        )
    except SelectionError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, gettext("承諾期限を変更しました。"))
    return redirect("candidates:detail", candidate_id=offer.candidate_id)


@never_cache
@mypage_required
@require_http_methods(["GET", "POST"])
def mypage_offer_view(request: HttpRequest) -> HttpResponse:
    """The student's offer: the letter, the deadline, 承諾 or 辞退 with a reason (phone-sized)."""
    candidate = request.candidate
    offer = selectors.offer_current(candidate=candidate)
    if offer is None:
        raise Http404
    status = 200
    if request.method == "POST":
        try:
            if request.POST.get("answer") == "accept":
                offer_accept(candidate=candidate, offer_id=offer.pk)
                messages.success(
                    request,
                    gettext("内定を承諾しました。入社までのご案内はマイページとメールでお送りします。"),
                )
            elif request.POST.get("answer") == "decline":
                offer_decline(
                    candidate=candidate,
                    offer_id=offer.pk,
                    reason=request.POST.get("reason", ""),
                    note=request.POST.get("note", ""),
                )
                messages.success(request, gettext("内定の辞退を承りました。ご連絡ありがとうございました。"))
            else:
                raise SelectionError(gettext("承諾か辞退を選んでください。"))
        except SelectionError as error:
            messages.error(request, error.message)
            status = 400
        else:
            return redirect("selection:mypage_offer")
        offer.refresh_from_db()
    return render(
        request,
        "selection/mypage_offer.html",
        {
            "candidate": candidate,
            "offer": offer,
            "open": offer.status == OfferStatus.ISSUED and offer.deadline > timezone.now(),
            "reasons": DeclineReason.choices,
        },
        status=status,
    )
