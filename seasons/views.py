"""Season pages: the header's switch (everyone signed in) and the list of seasons (admins)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.permissions import ADMINS, STAFF, role_required
from seasons.errors import SeasonError
from seasons.forms import SeasonForm
from seasons.models import Season
from seasons.selectors import season_get, season_list
from seasons.services import season_archive_set, season_create, season_default_set, season_switch


@require_POST
@role_required(*STAFF)
def season_switch_view(request: HttpRequest) -> HttpResponse:
    season = season_get(season_id=request.POST.get("season"))
    if season is None:
        messages.error(request, _("年度が見つかりません。"))
    else:
        season_switch(session=request.session, season=season)
    target = request.POST.get("next") or "/home/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/home/"
    return redirect(target)


@role_required(*ADMINS)
def season_list_view(request: HttpRequest) -> HttpResponse:
    form = SeasonForm(request.POST or None)
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "create")
        try:
            if action == "create":
                if form.is_valid():
                    season = season_create(**form.cleaned_data)
                    messages.success(request, _("%(season)s を作成しました。") % {"season": season.name})
                    return redirect("seasons:list")
                status = 400
            else:
                season = get_object_or_404(Season, pk=request.POST.get("season") or 0)
                if action == "default":
                    season_default_set(season=season)
                elif action in ("archive", "unarchive"):
                    season_archive_set(season=season, archived=action == "archive")
                messages.success(request, _("%(season)s を更新しました。") % {"season": season.name})
                return redirect("seasons:list")
        except SeasonError as error:
            messages.error(request, error.message)
            status = 400
    return render(
        request,
        "seasons/list.html",
        {"form": form, "season_rows": season_list(include_archived=True)},
        status=status,
    )
