"""Segment mail: filters pick the students, one set-based insert, now or at a time."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from notifications.errors import TemplateVariableError
from notifications.models import OutboxMessage, SegmentMail
from notifications.selectors import candidate_filter, candidate_mail_history
from notifications.services import outbox_deliver_due, segment_create, segment_enqueue_due
from notifications.services.schedule import mail_settings_update
from tests.notifications.conftest import make_candidate

pytestmark = pytest.mark.django_db


def test_segment_now_reaches_exactly_the_filtered_students(tenants, smtp_server):
    schema = tenants["acme"].schema
    with schema_context(schema):
        mail_settings_update(quiet_start=dt.time(0, 0), quiet_end=dt.time(0, 0), rate_per_second=50)
        chosen = [make_candidate(email=f"a{n}@example.jp", rank="A") for n in range(3)]
        make_candidate(email="b@example.jp", rank="B")
        make_candidate(email="old@example.jp", rank="A", graduation_year=2026)
        filters = {"ranks": ["A"], "graduation_years": [2027]}
        assert (
            candidate_filter(
                ranks=["A"], graduation_years=[2027], statuses=[], require_not_booked=False
            ).count()
            == 3
        )
        segment = segment_create(
            name="A ランク向け", subject="{{ 姓 }}様へ", body="{{ 名 }}さん、こんにちは", filters=filters
        )
        assert SegmentMail.objects.get(id=segment.id).recipients == 3
        assert outbox_deliver_due(schema_name=schema).sent == 3
        assert sorted(OutboxMessage.objects.values_list("to_address", flat=True)) == sorted(
            c.email for c in chosen
        )
        history = list(candidate_mail_history(candidate_id=chosen[0].id))
        assert [(mail.subject, mail.body.split("\n")[0]) for mail in history] == [
            ("山田様へ", "太郎さん、こんにちは")
        ]
    assert len(smtp_server.recorder.messages) == 3


def test_segment_at_a_time_waits_and_unknown_variable_is_refused(tenants):
    with schema_context(tenants["acme"].schema):
        make_candidate()
        later = timezone.now() + dt.timedelta(hours=2)
        segment_create(name="予約配信", subject="ご案内", body="本文", filters={}, send_at=later)
        assert not OutboxMessage.objects.exists()
        assert segment_enqueue_due() == 0
        assert segment_enqueue_due(now=later + dt.timedelta(seconds=1)) == 1
        assert segment_enqueue_due(now=later + dt.timedelta(seconds=2)) == 0  # once only
        with pytest.raises(TemplateVariableError):
            segment_create(name="x", subject="{{ 電話番号 }}", body="本文", filters={})
