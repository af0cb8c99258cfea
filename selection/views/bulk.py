"""Bulk actions on the filtered candidate list: a preview of who is affected, then the action (editors)."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext, gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods

from accounts.models import User
from accounts.permissions import EDITORS, role_required
from booking.models import InterviewType, Seminar
from candidates.forms import CandidateFilterForm
from candidates.selectors import candidate_list
from candidates.services.audit import audit_filters, client_ip
from selection import selectors
from selection.errors import SelectionError
from selection.services.bulk import bulk_invite, bulk_mail, bulk_move, bulk_tag

ACTIONS = {
    "move": gettext_lazy("選考に移す"),
    "tag": gettext_lazy("タグを付ける"),
    "mail": gettext_lazy("メールを送る（セグメント配信）"),
    "invite": gettext_lazy("予約を案内する"),
}
# The list's own parameters; everything else in the query belongs to the action.
ACTION_FIELDS = ("action", "round", "tag_name", "mail_name", "subject", "body", "target", "expected")


@role_required(*EDITORS)
@require_http_methods(["GET", "POST"])
def bulk_view(request: HttpRequest) -> HttpResponse:
    data = request.POST if request.method == "POST" else request.GET
    list_query = data.copy()
    for key in (*ACTION_FIELDS, "csrfmiddlewaretoken", "page"):
        list_query.pop(key, None)
    form = CandidateFilterForm(list_query or None, season_id=request.season.pk)
    filters = form.filters()
    candidates = candidate_list(filters=filters)
    ids = list(candidates.values_list("pk", flat=True))
    status = 200
    if request.method == "POST":
        if str(len(ids)) != data.get("expected", ""):
            messages.error(
                request,
                ngettext(
                    "対象の学生が変わりました（現在 %(count)s名）。もう一度確認してください。",
                    "対象の学生が変わりました（現在 %(count)s名）。もう一度確認してください。",
                    len(ids),
                )
                % {"count": f"{len(ids):,}"},
            )
            status = 409
        else:
            try:
                done = _run(
                    request,
                    action=data.get("action", ""),
                    ids=ids,
                    list_filters=audit_filters(filters=filters),
                )
            except SelectionError as error:
                messages.error(request, error.message)
                status = 400
            else:
                messages.success(request, done)
                return redirect(f"/candidates/?{list_query.urlencode()}")
    return render(
        request,
        "selection/bulk.html",
        {
            "count": len(ids),
            "sample": list(candidates[:20]),
            "list_query": list_query.urlencode(),
            "list_fields": [(key, value) for key, values in list_query.lists() for value in values],
            "actions": ACTIONS,
            "action": data.get("action", "move"),
            "data": data,
            "rounds": selectors.round_list(season_id=request.season.pk),
            "seminars": Seminar.objects.filter(season=request.season, published=True),
            "interview_types": InterviewType.objects.filter(season=request.season, active=True),
        },
        status=status,
    )


def _run(request: HttpRequest, *, action: str, ids: list[int], list_filters: dict[str, object]) -> str:
    user, ip = cast(User, request.user), client_ip(request=request)
    common: dict[str, Any] = {"candidate_ids": ids, "user": user, "ip": ip, "filters": list_filters}
    if action == "move":
        chosen = selectors.round_get(round_id=request.POST.get("round", ""))
        if chosen is None:
            raise SelectionError(gettext("移す先の選考を選んでください。"))
        moved = bulk_move(round=chosen, season=request.season, **common)
        return ngettext(
            "%(count)s名を「%(round)s」に移しました（対象 %(total)s名）。",
            "%(count)s名を「%(round)s」に移しました（対象 %(total)s名）。",
            moved,
        ) % {"count": f"{moved:,}", "round": chosen.name, "total": f"{len(ids):,}"}
    if action == "tag":
        added = bulk_tag(name=request.POST.get("tag_name", ""), **common)
        return ngettext(
            "%(count)s名にタグを付けました（対象 %(total)s名）。",
            "%(count)s名にタグを付けました（対象 %(total)s名）。",
            added,
        ) % {"count": f"{added:,}", "total": f"{len(ids):,}"}
    if action == "mail":
        queued = bulk_mail(
            season=request.season,
            name=request.POST.get("mail_name", "") or gettext("一括メール"),
            subject=request.POST.get("subject", ""),
            body=request.POST.get("body", ""),
            **common,
        )
        return ngettext(
            "%(count)s名へのメールを配信に入れました（配信停止・アドレスなしを除く）。",
            "%(count)s名へのメールを配信に入れました（配信停止・アドレスなしを除く）。",
            queued,
        ) % {"count": f"{queued:,}"}
    if action == "invite":
        queued = bulk_invite(season=request.season, target=request.POST.get("target", ""), **common)
        return ngettext(
            "%(count)s名に予約の案内を送ります（配信停止・アドレスなしを除く）。",
            "%(count)s名に予約の案内を送ります（配信停止・アドレスなしを除く）。",
            queued,
        ) % {"count": f"{queued:,}"}
    raise SelectionError(gettext("操作を選んでください。"))
