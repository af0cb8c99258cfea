"""The selection pages read in English when the browser asks for English: the flow and the student's offer."""

from __future__ import annotations

import datetime as dt

from django.test import Client
from django.utils import timezone

from tests.english import english_get, japanese_left
from tests.selection.conftest import person, student


def test_the_flow_and_a_round_form_in_english(acme, flow, admin_client):
    client = admin_client
    html = english_get(client, "/selection/rounds/", host=acme.host).content.decode()
    assert "<h1>Selection flow (" in html and "Rounds run from top to bottom." in html
    assert 'aria-label="Move up"' in html and ">Delete</button>" in html
    from candidates.models import SelectionStep

    # The season, the rounds, the interviews and the company's own selection steps are its data.
    steps = tuple(SelectionStep.objects.values_list("label", flat=True))
    data = (flow["season"].name, "一次面接", "二次面接", "内定", *steps)
    assert japanese_left(html, data=data) == []
    form = english_get(client, f"/selection/rounds/{flow['rounds'][0].pk}/", host=acme.host).content.decode()
    assert "Evaluation form: 一次面接" in form and "1–5" in form and "Add a criterion" in form
    assert japanese_left(form, data=("一次面接", "論理性", "志望度", "高 / 中 / 低")) == []


def test_the_students_offer_page_in_english(acme):
    from booking.services.mypage import mypage_token_create
    from selection.services.offers import offer_issue

    candidate = student(family_name="小林", email="kobayashi@example.jp")
    deadline = (timezone.localtime() + dt.timedelta(days=30)).replace(
        hour=14, minute=0, second=0, microsecond=0
    )
    offer = offer_issue(
        candidate=candidate, user=person("recruiter"), deadline=deadline, start_date=dt.date(2099, 4, 1)
    )
    page = Client(HTTP_HOST=acme.host)
    page.post(f"/my/login/{mypage_token_create(candidate=candidate)}/")
    html = english_get(page, "/my/offer/", host=acme.host).content.decode()
    assert f"Your answer (deadline: {deadline:%-d %b %Y} 14:00)" in html
    assert (
        "Accept the offer" in html
        and "Reason for declining" in html
        and "Decided to join another company" in html
    )
    # The letter is the company's own text, as its recruiters wrote it.
    letter = (offer.letter_subject, *offer.letter_body.splitlines())
    assert (
        japanese_left(
            html, data=tuple(line for line in letter if line), start='<section class="card" id="answer"'
        )
        == []
    )
