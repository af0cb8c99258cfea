"""Recruiter mail pages end to end through the company's host, in Japanese."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from accounts.models import Role, User
from notifications.models import MailTemplate, OutboxMessage, Sequence, SequenceStep
from tests.notifications.conftest import make_candidate

pytestmark = pytest.mark.django_db


@pytest.fixture
def recruiter(client, tenants):
    info = tenants["acme"]
    with schema_context(info.schema):
        user = User.objects.get(email=info.admin_email)
        client.force_login(user)
    return info


def test_anonymous_is_sent_to_login(client, tenants):
    response = client.get("/mail/sequences/", HTTP_HOST=tenants["acme"].host)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_template_sequence_step_flow(client, recruiter):
    host = recruiter.host
    response = client.post(
        "/mail/templates/new/",
        {"name": "予約のお願い", "subject": "{{ 姓 }}様", "body": "{{ 住所 }} へ"},
        HTTP_HOST=host,
    )
    assert response.status_code == 400
    assert "使えない変数があります" in response.content.decode()
    response = client.post(
        "/mail/templates/new/",
        {
            "name": "予約のお願い",
            "subject": "{{ 姓 }}様 説明会のご予約を",
            "body": "{{ 姓 }} {{ 名 }} 様\n{{ マイページURL }}",
        },
        HTTP_HOST=host,
    )
    assert response.status_code == 302
    with schema_context(recruiter.schema):
        template = MailTemplate.objects.get(name="予約のお願い")
        student = make_candidate(family_name="佐藤", given_name="花子")
    preview = client.get(
        f"/mail/templates/{template.id}/?candidate={student.id}", HTTP_HOST=host
    ).content.decode()
    assert "佐藤様 説明会のご予約を" in preview and "佐藤 花子 様" in preview

    response = client.post(
        "/mail/sequences/new/",
        {"name": "未予約フォロー", "trigger": "entry_imported", "is_active": "on", "stop_on_booked": "on"},
        HTTP_HOST=host,
    )
    assert response.status_code == 302
    with schema_context(recruiter.schema):
        sequence = Sequence.objects.get(name="未予約フォロー")
    response = client.post(
        f"/mail/sequences/{sequence.id}/steps/new/",
        {
            "template": template.id,
            "delay_days": 3,
            "delay_minutes": 0,
            "send_at_time": "10:00",
            "ranks": "A, B",
            "graduation_years": "2027",
            "statuses": "",
            "require_not_booked": "on",
        },
        HTTP_HOST=host,
    )
    assert response.status_code == 302
    with schema_context(recruiter.schema):
        step = SequenceStep.objects.get(sequence=sequence)
        assert step.ranks == ["A", "B"] and step.graduation_years == [2027] and step.require_not_booked
    page = client.get(f"/mail/sequences/{sequence.id}/", HTTP_HOST=host).content.decode()
    assert "+3 日 10:00" in page and "予約のお願い" in page
    listing = client.get("/mail/sequences/", HTTP_HOST=host).content.decode()
    assert "未予約フォロー" in listing and "エントリー取り込み" in listing
    bad = client.post(
        f"/mail/sequences/{sequence.id}/steps/new/",
        {"template": template.id, "delay_days": 0, "delay_minutes": 0, "graduation_years": "来年"},
        HTTP_HOST=host,
    )
    assert bad.status_code == 400 and "卒業年は 2027 のように数字で" in bad.content.decode()
    bad = client.post("/mail/sequences/new/", {"name": "N日前", "trigger": "before_slot"}, HTTP_HOST=host)
    assert bad.status_code == 400 and "日数" in bad.content.decode()


def test_segment_preview_send_and_history(client, recruiter):
    host = recruiter.host
    with schema_context(recruiter.schema):
        student = make_candidate(email="a@example.jp", family_name="鈴木", rank="A")
        make_candidate(email="b@example.jp", rank="C")
    form = {"name": "A 向け", "ranks": "A", "subject": "{{ 姓 }}様へ", "body": "本文です"}
    preview = client.post("/mail/segments/", {**form, "action": "preview"}, HTTP_HOST=host)
    text = preview.content.decode()
    assert preview.status_code == 200 and "<strong>1</strong> 名" in text and "鈴木様へ" in text
    with schema_context(recruiter.schema):
        assert not OutboxMessage.objects.exists()
    sent = client.post("/mail/segments/", {**form, "action": "send"}, HTTP_HOST=host)
    assert sent.status_code == 302
    with schema_context(recruiter.schema):
        assert list(OutboxMessage.objects.values_list("to_address", flat=True)) == ["a@example.jp"]
    history = client.get(f"/mail/candidates/{student.id}/", HTTP_HOST=host).content.decode()
    assert "鈴木 太郎 さんへのメール履歴" in history and "セグメント配信「A 向け」" in history
    bad = client.post("/mail/segments/", {**form, "body": "{{ 年収 }}", "action": "send"}, HTTP_HOST=host)
    assert bad.status_code == 400 and "使えない変数があります" in bad.content.decode()


def test_settings_and_viewer_cannot_change(client, recruiter):
    host = recruiter.host
    assert client.get("/mail/settings/", HTTP_HOST=host).status_code == 200
    ok = client.post(
        "/mail/settings/",
        {"quiet_start": "22:00", "quiet_end": "07:30", "rate_per_second": 10},
        HTTP_HOST=host,
    )
    assert ok.status_code == 302
    bad = client.post(
        "/mail/settings/",
        {"quiet_start": "25:00", "quiet_end": "07:30", "rate_per_second": 10},
        HTTP_HOST=host,
    )
    assert bad.status_code == 400
    with schema_context(recruiter.schema):
        viewer = User.objects.create_user(
            username="viewer@acme.example.jp", email="viewer@acme.example.jp", password=None, role=Role.VIEWER
        )
        client.force_login(viewer)
    assert client.get("/mail/templates/", HTTP_HOST=host).status_code == 200
    response = client.post("/mail/templates/new/", {"name": "x", "subject": "y", "body": "z"}, HTTP_HOST=host)
    assert response.status_code == 403


def test_segment_without_subject_or_template_is_a_clear_400(client, recruiter):
    for action in ("preview", "send"):
        response = client.post(
            "/mail/segments/",
            {"name": "空", "subject": "", "body": "", "action": action},
            HTTP_HOST=recruiter.host,
        )
        assert response.status_code == 400
        assert "件名と本文を入力するか、テンプレートを選んでください。" in response.content.decode()
