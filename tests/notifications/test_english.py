"""The recruiter mail pages and the unsubscribe page read in English when the browser asks for English."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from accounts.models import User
from notifications.models import MailTemplate, Sequence, SequenceStep
from tests.english import english_get, japanese_left
from tests.notifications.conftest import make_candidate

pytestmark = pytest.mark.django_db


@pytest.fixture
def recruiter(client, tenants):
    info = tenants["acme"]
    with schema_context(info.schema):
        client.force_login(User.objects.get(email=info.admin_email))
    return info


def test_sequence_page_in_english(client, recruiter):
    with schema_context(recruiter.schema):
        template = MailTemplate.objects.create(name="予約のお願い", subject="{{ 姓 }}様", body="本文")
        sequence = Sequence.objects.create(name="未予約フォロー", trigger="entry_imported", is_active=True)
        SequenceStep.objects.create(sequence=sequence, template=template, position=1, delay_days=3, ranks=["A"])
    response = english_get(client, f"/mail/sequences/{sequence.id}/", host=recruiter.host)
    html = response.content.decode()
    assert response.status_code == 200
    assert '<nav class="subnav" aria-label="Mail">' in html
    assert "Sequence name" in html and "+ Add a step" in html and "+3 d" in html and "Rank A" in html
    assert japanese_left(html, data=("未予約フォロー", "予約のお願い"), start='<nav class="subnav"') == []


def test_segment_preview_in_english(client, recruiter):
    with schema_context(recruiter.schema):
        make_candidate(family_name="佐藤", given_name="花子", email="hanako@example.jp")
        # The company's own templates (the form offers them by name) are content, written by its recruiters.
        template_names = tuple(MailTemplate.objects.values_list("name", flat=True))
    client.cookies["django_language"] = "en"
    response = client.post(
        "/mail/segments/",
        {"name": "秋の説明会", "subject": "{{ 姓 }}様へ", "body": "{{ 大学名 }}", "action": "preview"},
        HTTP_HOST=recruiter.host,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "What 佐藤 花子 (ID" in html and "Variables you can use" in html
    assert "Student&#x27;s university" in html and "Past mailings" in html
    # The variable names are the recruiters' own keys and stay as they are typed.
    data = ("佐藤", "花子", "様へ", "秋の説明会", "{{ 姓 }}", "{{ 大学名 }}", *template_names)
    left = [line for line in japanese_left(html, data=data, start='<nav class="subnav"') if "<code>" not in line]
    assert left == []


def test_unsubscribe_page_in_english(client, tenants):
    response = english_get(client, "/mail/unsubscribe/not-a-token/", host=tenants["acme"].host)
    html = response.content.decode()
    assert "This unsubscribe link is not valid." in html
    assert japanese_left(html, data=(tenants["acme"].tenant.name,)) == []
