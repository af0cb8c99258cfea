"""One-click unsubscribe (RFC 8058): headers, link, POST without a session, effect at once, scoping."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from notifications.models import OutboxMessage, OutboxStatus, Unsubscribe
from notifications.selectors import step_counts
from notifications.services import (
    outbox_deliver_due,
    outbox_enqueue,
    sequence_due_scan,
    sequence_save,
    sequence_trigger,
    step_save,
    template_save,
)
from notifications.services.schedule import mail_settings_update
from notifications.services.unsubscribe import unsubscribe_token
from tests.notifications.conftest import make_candidate

pytestmark = pytest.mark.django_db


def _marketing(student, key: str) -> OutboxMessage:
    return outbox_enqueue(
        key=key,
        to=student.email,
        subject="説明会のお知らせ",
        body="本文",
        kind="marketing",
        candidate_id=student.id,
    )


def test_one_click_unsubscribe_stops_marketing_at_once_but_not_transactional(tenants, smtp_server):
    info = tenants["acme"]
    with schema_context(info.schema):
        mail_settings_update(quiet_start=dt.time(0, 0), quiet_end=dt.time(0, 0), rate_per_second=50)
        student = make_candidate()
        template = template_save(name="t", subject="ご案内", body="{{ 姓 }} 様")
        sequence = sequence_save(name="s", trigger="entry_imported", is_active=True)
        step = step_save(sequence=sequence, template=template)
        sequence_trigger(
            event="entry_imported", candidate_id=student.id, occurred_at=timezone.now(), context={}
        )
        sequence_due_scan()
        assert outbox_deliver_due(schema_name=info.schema).sent == 1
        pending = _marketing(student, "news-1")
    header = str(smtp_server.recorder.messages[0]["List-Unsubscribe"]).strip()
    url = re.fullmatch(r"<(http://[^>]+)>", header).group(1)
    path = url.split(":8000", 1)[1]

    client = Client(enforce_csrf_checks=True)  # mail clients have no CSRF token: the signed URL is enough
    page = client.get(path, HTTP_HOST=info.host)
    assert page.status_code == 200 and "配信を停止する" in page.content.decode()
    response = client.post(path, {"List-Unsubscribe": "One-Click"}, HTTP_HOST=info.host)
    assert response.status_code == 200 and "配信を停止しました" in response.content.decode()

    with schema_context(info.schema):
        assert Unsubscribe.objects.filter(candidate=student).exists()
        pending.refresh_from_db()
        assert pending.status == OutboxStatus.SUPPRESSED
        later = _marketing(student, "news-2")
        confirm = outbox_enqueue(
            key="confirm-1",
            to=student.email,
            subject="予約確認",
            body="確認",
            kind="transactional",
            candidate_id=student.id,
        )
        report = outbox_deliver_due(schema_name=info.schema)
        later.refresh_from_db()
        confirm.refresh_from_db()
        assert later.status == OutboxStatus.SUPPRESSED
        assert confirm.status == OutboxStatus.SENT and report.sent == 1
        # The step that carried the link counts the unsubscribe.
        assert step_counts(step_ids=[step.id])[step.id].unsubscribed == 1
        assert step_counts(step_ids=[step.id])[step.id].sent == 1
    assert [m["Subject"] for m in smtp_server.recorder.messages] == ["ご案内", "予約確認"]


def test_bad_or_foreign_tokens_get_a_clear_400(tenants):
    acme, globex = tenants["acme"], tenants["globex"]
    with schema_context(acme.schema):
        student = make_candidate()
    forged = "eyJzIjoidF9hY21lIiwiYyI6MX0:1abc:forged"
    response = Client().post(f"/mail/unsubscribe/{forged}/", HTTP_HOST=acme.host)
    assert response.status_code == 400 and "配信停止リンクが正しくありません" in response.content.decode()
    # A genuine acme token does nothing on globex's host.
    token = unsubscribe_token(schema_name=acme.schema, candidate_id=student.id, message_id=None)
    assert Client().post(f"/mail/unsubscribe/{token}/", HTTP_HOST=globex.host).status_code == 400
    with schema_context(globex.schema):
        assert not Unsubscribe.objects.exists()
    with schema_context(acme.schema):
        assert not Unsubscribe.objects.exists()
