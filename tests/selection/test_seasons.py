"""Season separation: nothing of 27卒's flow, offers or エントリーシート appears while working in 28卒."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from seasons.models import Season
from seasons.services import season_switch
from selection.services import round_create
from selection.services.entrysheets import question_add, sheet_for
from selection.services.offers import offer_issue
from tests.selection.conftest import person, student


def test_rounds_offers_and_entry_sheets_stay_in_their_season(acme, flow, make_user):
    later = Season.objects.get_or_create(graduation_year=2028)[0]
    round_create(season=later, name="28卒の一次面接", step_key="interview")
    question_add(sheet=sheet_for(season=flow["season"]), label="27卒の設問", kind="text")
    offer_issue(
        candidate=student(family_name="二十七"),
        user=person("recruiter"),
        deadline=timezone.now() + dt.timedelta(days=7),
        start_date=dt.date(2099, 4, 1),
    )
    client, _user = make_user("recruiter")
    session = client.session
    season_switch(session=session, season=later)
    session.save()
    rounds = client.get("/selection/rounds/").content.decode()
    assert "28卒の一次面接</a>" in rounds and "二次面接</a>" not in rounds
    offers = client.get("/selection/offers/").content.decode()
    assert "二十七" not in offers and '<td id="joining"><strong>0</strong></td>' in offers
    assert "27卒の設問" not in client.get("/selection/entry-sheet/").content.decode()
    # A 27卒 round is not found from 28卒's pages.
    assert client.get(f"/selection/rounds/{flow['rounds'][0].pk}/").status_code == 404
    # Back in 27卒, its own.
    session = client.session
    season_switch(session=session, season=flow["season"])
    session.save()
    assert "二十七" in client.get("/selection/offers/").content.decode()
