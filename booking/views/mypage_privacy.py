"""The student's own APPI requests on the My Page: 開示・訂正・利用停止・削除, and what became of them."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

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
    if request.method == "POST":
        kind = request.POST.get("kind", "")
        if kind == PrivacyRequest.Kind.DELETION and request.POST.get("understood") != "1":
            messages.error(request, _("削除の請求では、内容を確認したことにチェックを入れてください。"))
            status = 400
        else:
            try:
                privacy_request = privacy_request_create(
                    candidate=candidate, kind=kind, details=request.POST.get("details", "")
                )
            except CandidateError as error:
                messages.error(request, error.message)
                status = 400
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
        {
            "candidate": candidate,
            "kinds": [(value, label, KIND_HELP[value]) for value, label in PrivacyRequest.Kind.choices],  # type: ignore[index]
            "requests": privacy_requests_of(candidate_id=candidate.pk),
            "selected": request.POST.get("kind", ""),
            "details": request.POST.get("details", ""),
        },
        status=status,
    )
