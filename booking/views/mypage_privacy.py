"""The student's own APPI requests on the My Page: 開示・訂正・利用停止・削除, and what became of them."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from booking.forms import PrivacyRequestForm
from booking.views.common import mypage_required
from candidates.errors import CandidateError
from candidates.models import PrivacyRequest
from candidates.selectors import privacy_requests_of
from candidates.services.privacy_requests import privacy_request_create

KIND_HELP = {
    PrivacyRequest.Kind.DISCLOSURE: gettext_lazy("当社が保存しているあなたの情報の写しをお渡しします。"),
    PrivacyRequest.Kind.CORRECTION: gettext_lazy("登録内容の誤りを直します。正しい内容を書いてください。"),
    PrivacyRequest.Kind.STOP_USE: gettext_lazy(
        "ご案内メールやステップメールを止め、選考での利用を停止します。"
    ),
    PrivacyRequest.Kind.DELETION: gettext_lazy(
        "登録情報、エントリー、予約、メールの履歴をすべて削除します。予約中の日程は取り消されます。"
    ),
}


@require_http_methods(["GET", "POST"])
@mypage_required
def mypage_privacy(request: HttpRequest) -> HttpResponse:
    candidate = request.candidate
    status = 200
    kinds = [(value, label, KIND_HELP[value]) for value, label in PrivacyRequest.Kind.choices]  # type: ignore[index]
    form = PrivacyRequestForm(request.POST if request.method == "POST" else None, kinds=kinds)
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                privacy_request = privacy_request_create(
                    candidate=candidate, kind=form.cleaned_data["kind"], details=form.cleaned_data["details"]
                )
            except CandidateError as error:
                form.add_error(None, error.message)
            else:
                messages.success(
                    request,
                    _("受け付けました（受付番号 %(number)s）。確認メールをお送りしました。")
                    % {"number": privacy_request.number},
                )
                return redirect("booking:mypage_privacy")
    return render(
        request,
        "booking/mypage/privacy.html",
        {"candidate": candidate, "form": form, "requests": privacy_requests_of(candidate_id=candidate.pk)},
        status=status,
    )
