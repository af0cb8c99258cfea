"""Offers: 内定 with its letter and mail, deadlines and reminders, 承諾 / 辞退 on the My Page, who will join."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from notifications.models import OutboxMessage
from selection.errors import SelectionError
from selection.models import Offer
from selection.services.offers import (
    offer_accept,
    offer_deadline_extend,
    offer_decline,
    offer_issue,
    offer_letter_save,
    offer_reminders_send,
)
from tests.selection.conftest import person, student

APRIL = dt.date(2027, 4, 1)


def issue(candidate, *, days: float = 7, now=None, user=None):
    now = now or timezone.now()
    return offer_issue(
        candidate=candidate,
        user=user or person("recruiter"),
        deadline=now + dt.timedelta(days=days),
        start_date=APRIL
        if APRIL > timezone.localdate(now)
        else timezone.localdate(now) + dt.timedelta(days=120),
        now=now,
    )


def test_an_offer_renders_the_seasons_letter_and_sends_the_notice(acme):
    from seasons.models import Season

    offer_letter_save(
        season=Season.objects.get(graduation_year=2027),
        subject="【{{ 会社名 }}】内定通知書",
        body="{{ 姓 }} {{ 名 }} 様\n{{ 大学名 }}\n承諾期限: {{ 承諾期限 }}\n入社日: {{ 入社日 }}",
    )
    candidate = student(
        family_name="中村", given_name="花子", university="東京大学", email="hanako@example.jp"
    )
    offer = issue(candidate)
    assert offer.letter_subject == "【アクメ商事】内定通知書"
    assert offer.letter_body.startswith("中村 花子 様\n東京大学\n承諾期限: ")
    assert f"入社日: {offer.start_date:%Y年%-m月%-d日}" in offer.letter_body
    candidate.refresh_from_db()
    assert candidate.status == "offer"
    mail = OutboxMessage.objects.get(idempotency_key=f"offer:{offer.pk}")
    assert mail.to_address == "hanako@example.jp" and mail.subject == offer.letter_subject
    assert (
        mail.body.startswith(offer.letter_body) and "{{ マイページURL }}" in mail.body and mail.needs_render
    )


def test_a_letter_with_an_unknown_variable_is_refused(acme):
    from seasons.models import Season

    with pytest.raises(SelectionError, match="使えない変数"):
        offer_letter_save(season=Season.objects.get(graduation_year=2027), subject="内定", body="{{ 年収 }}")


def test_deadlines_are_checked_and_one_open_offer_per_student(acme):
    candidate, now = student(), timezone.now()
    with pytest.raises(SelectionError, match="未来"):
        issue(candidate, days=-1)
    with pytest.raises(SelectionError, match="1年以内"):
        issue(candidate, days=400)
    with pytest.raises(SelectionError, match="入社予定日"):
        offer_issue(
            candidate=candidate,
            user=person("recruiter"),
            deadline=now + dt.timedelta(days=7),
            start_date=timezone.localdate(now),
        )
    offer = issue(candidate)
    with pytest.raises(SelectionError, match="すでに"):
        issue(candidate)
    first_deadline = offer.deadline
    offer_deadline_extend(
        offer=offer, deadline=first_deadline + dt.timedelta(days=7), user=person("recruiter")
    )
    assert Offer.objects.get(pk=offer.pk).deadline - first_deadline == dt.timedelta(days=7)


def test_reminders_go_three_days_and_one_day_before_once_each_then_the_offer_expires(acme):
    now = timezone.now()
    offer = issue(student(email="r@example.jp"), days=5, now=now)
    answered = issue(student(email="a@example.jp"), days=5, now=now)
    offer_accept(candidate=answered.candidate, offer_id=answered.pk, now=now)

    def reminders(number):
        return OutboxMessage.objects.filter(idempotency_key=f"offer-reminder:{offer.pk}:{number}").count()

    assert offer_reminders_send(now=now + dt.timedelta(days=1)) == {"reminded": 0, "expired": 0}
    assert offer_reminders_send(now=now + dt.timedelta(days=2, minutes=1)) == {"reminded": 1, "expired": 0}
    assert offer_reminders_send(now=now + dt.timedelta(days=2, minutes=2)) == {"reminded": 0, "expired": 0}
    assert reminders(1) == 1 and reminders(2) == 0
    assert offer_reminders_send(now=now + dt.timedelta(days=4, minutes=1))["reminded"] == 1
    assert reminders(2) == 1
    assert "承諾期限" in OutboxMessage.objects.get(idempotency_key=f"offer-reminder:{offer.pk}:2").subject
    assert offer_reminders_send(now=now + dt.timedelta(days=5, minutes=1)) == {"reminded": 0, "expired": 1}
    offer.refresh_from_db()
    answered.refresh_from_db()
    assert (offer.status, answered.status) == ("expired", "accepted")
    assert not OutboxMessage.objects.filter(
        idempotency_key__startswith=f"offer-reminder:{answered.pk}:"
    ).exists()
    with pytest.raises(SelectionError, match="承諾期限を過ぎた"):
        offer_accept(candidate=offer.candidate, offer_id=offer.pk, now=now + dt.timedelta(days=6))


def test_a_short_deadline_skips_the_reminder_whose_time_has_passed(acme):
    now = timezone.now()
    offer = issue(student(), days=2, now=now)
    assert offer.reminders_sent == 1
    assert offer_reminders_send(now=now + dt.timedelta(hours=1))["reminded"] == 0
    assert offer_reminders_send(now=now + dt.timedelta(days=1, minutes=1))["reminded"] == 1


def test_declining_needs_a_reason_from_the_list(acme):
    offer = issue(student())
    with pytest.raises(SelectionError, match="理由を選んで"):
        offer_decline(candidate=offer.candidate, offer_id=offer.pk, reason="気分")
    with pytest.raises(SelectionError, match="その他"):
        offer_decline(candidate=offer.candidate, offer_id=offer.pk, reason="other", note=" ")
    declined = offer_decline(candidate=offer.candidate, offer_id=offer.pk, reason="other_company")
    assert (declined.status, declined.decline_reason) == ("declined", "other_company")
    offer.candidate.refresh_from_db()
    assert offer.candidate.status == "declined"
    with pytest.raises(SelectionError, match="すでにご回答"):
        offer_accept(candidate=offer.candidate, offer_id=offer.pk)


def test_a_student_answers_only_their_own_offer(acme):
    mine, theirs = issue(student()), issue(student())
    with pytest.raises(SelectionError, match="見つかりません"):
        offer_accept(candidate=mine.candidate, offer_id=theirs.pk)
    assert Offer.objects.get(pk=theirs.pk).status == "issued"


def test_the_student_accepts_on_the_my_page_and_the_recruiters_count_who_will_join(acme, make_user):
    from booking.services.mypage import mypage_token_create

    recruiter_client, recruiter = make_user("recruiter")
    candidate = student(family_name="小林", email="kobayashi@example.jp")
    deadline = timezone.localtime() + dt.timedelta(days=10)
    issued = recruiter_client.post(
        f"/selection/candidates/{candidate.pk}/offer/",
        {"deadline": deadline.strftime("%Y-%m-%dT%H:%M"), "start_date": "2099-04-01"},
        follow=True,
    )
    assert "内定を出しました" in issued.content.decode()
    offer = Offer.objects.get(candidate=candidate)
    assert offer.issued_by == recruiter and offer.start_date == dt.date(2099, 4, 1)
    page = Client(HTTP_HOST=acme.host)
    assert page.post(f"/my/login/{mypage_token_create(candidate=candidate)}/").status_code == 302
    assert "内定のご連絡" in page.get("/my/").content.decode()
    letter = page.get("/my/offer/").content.decode()
    assert "小林" in letter and "内定を承諾する" in letter and 'name="reason"' in letter
    assert page.post("/my/offer/", {"answer": "accept"}).status_code == 302
    again = page.post("/my/offer/", {"answer": "decline", "reason": "study"})
    assert again.status_code == 400 and "すでにご回答" in again.content.decode()
    offer.refresh_from_db()
    candidate.refresh_from_db()
    assert (offer.status, candidate.status) == ("accepted", "accepted") and offer.responded_at is not None
    summary = recruiter_client.get("/selection/offers/").content.decode()
    assert '<td id="joining"><strong>1</strong></td>' in summary
    viewer_client, _viewer = make_user("viewer")
    refused = viewer_client.post(
        f"/selection/candidates/{student().pk}/offer/",
        {"deadline": deadline.strftime("%Y-%m-%dT%H:%M"), "start_date": "2099-04-01"},
    )
    assert refused.status_code == 403 and Offer.objects.count() == 1


def test_a_student_without_an_offer_finds_no_offer_page(acme):
    from booking.services.mypage import mypage_token_create

    page = Client(HTTP_HOST=acme.host)
    page.post(f"/my/login/{mypage_token_create(candidate=student())}/")
    assert page.get("/my/offer/").status_code == 404
    assert Client(HTTP_HOST=acme.host).get("/my/offer/").status_code == 403


def test_the_reminders_run_from_beat_for_every_company():
    from saas.celery import BEAT_SCHEDULE, app

    entry = BEAT_SCHEDULE["selection-offer-reminders"]
    assert entry["task"] == "selection.offer_reminders" and entry["schedule"] <= 3600
    assert "selection.offer_reminders" in app.tasks


def test_the_my_page_links_the_offer_only_when_there_is_one(acme):
    """A student moved to 内定 by a round's pass, before the offer is made, sees no link to an empty page."""
    from booking.services.mypage import mypage_token_create

    candidate = student(status="offer")
    page = Client(HTTP_HOST=acme.host)
    page.post(f"/my/login/{mypage_token_create(candidate=candidate)}/")
    assert "内定のご連絡" not in page.get("/my/").content.decode()
    issue(candidate)
    assert "内定のご連絡" in page.get("/my/").content.decode()


def test_a_recruiter_working_in_english_sends_the_student_a_japanese_notice(acme):
    from django.utils import translation

    candidate = student(family_name="中村", given_name="花子", email="hanako-en@example.jp")
    with translation.override("en"):
        offer = issue(candidate)
    mail = OutboxMessage.objects.get(idempotency_key=f"offer:{offer.pk}")
    # The footer asks for the answer on the My Page in the company's language, not the recruiter's.
    assert "ご回答はマイページからお願いいたします" in mail.body
    assert "My Page" not in mail.body
