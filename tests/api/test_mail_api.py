"""Segment mail through the API: a preview count, a send that needs an Idempotency-Key and goes once (real SMTP),
the segment service's refusals as problems, scopes, and no crossing between companies."""

from __future__ import annotations

import datetime as dt

import pytest
from django_tenants.utils import schema_context

from tests.api.conftest import ApiClient, token_make
from tests.api.test_tokens import _problem
from tests.notifications.conftest import _fresh_rate_buckets, make_candidate, smtp_server  # noqa: F401

pytestmark = pytest.mark.django_db

SEGMENT = {
    "name": "A ランク向けのご案内",
    "subject": "{{ 姓 }}様へ",
    "body": "{{ 名 }}さん、説明会のご案内です。",
    "ranks": ["A"],
}


def _students() -> list:
    from notifications.services.schedule import mail_settings_update

    mail_settings_update(quiet_start=dt.time(0, 0), quiet_end=dt.time(0, 0), rate_per_second=50)
    chosen = [make_candidate(email=f"seg-api{n}@example.jp", rank="A") for n in range(3)]
    make_candidate(email="seg-api-b@example.jp", rank="B")
    return chosen


def test_preview_counts_the_students_and_sends_nothing(acme_api):
    from notifications.models import OutboxMessage, SegmentMail

    chosen = _students()
    preview = acme_api.post("/mail/segments/preview", SEGMENT)
    assert preview.status_code == 200, preview.content
    assert preview.json() == {"count": 3, "subject": "{{ 姓 }}様へ", "body": SEGMENT["body"]}
    narrowed = acme_api.post("/mail/segments/preview", {**SEGMENT, "candidate_ids": [chosen[0].pk]})
    assert narrowed.json()["count"] == 1
    assert not SegmentMail.objects.exists() and not OutboxMessage.objects.exists()


def test_send_without_an_idempotency_key_is_refused_in_both_languages(acme_api):
    from notifications.models import SegmentMail

    _students()
    refused = _problem(acme_api.post("/mail/segments", SEGMENT), 400, "idempotency_key_required")
    assert refused["title"] == "この操作には Idempotency-Key が必要です"
    assert refused["title_en"] == "This operation requires an Idempotency-Key"
    english = acme_api.post("/mail/segments", SEGMENT, headers={"Accept-Language": "en"}).json()
    assert english["detail"] == "Send the request with an Idempotency-Key header."
    assert not SegmentMail.objects.exists()


def test_a_repeated_send_with_the_same_key_mails_each_student_once(acme_api, tenants, smtp_server):  # noqa: F811
    from notifications.models import OutboxMessage, SegmentMail
    from notifications.services import outbox_deliver_due

    chosen = _students()
    headers = {"Idempotency-Key": "seg-once"}
    first = acme_api.post("/mail/segments", SEGMENT, headers=headers)
    assert first.status_code == 201, first.content
    sent = first.json()
    assert sent["preview_count"] == 3 and sent["recipients"] == 3 and sent["enqueued_at"].endswith("+09:00")
    again = acme_api.post("/mail/segments", SEGMENT, headers=headers)
    assert again.status_code == 201 and again.json() == sent and again["Idempotent-Replayed"] == "true"
    assert SegmentMail.objects.count() == 1
    assert outbox_deliver_due(schema_name=tenants["acme"].schema).sent == 3
    # A retry after the mails left still sends nothing more.
    assert acme_api.post("/mail/segments", SEGMENT, headers=headers).json() == sent
    assert outbox_deliver_due(schema_name=tenants["acme"].schema).sent == 0
    received = sorted(str(message["To"]) for message in smtp_server.recorder.messages)
    assert received == sorted(student.email for student in chosen)
    assert OutboxMessage.objects.filter(segment_id=sent["id"]).count() == 3
    listed = acme_api.get("/mail/segments").json()["items"]
    assert [item["id"] for item in listed] == [sent["id"]]
    assert acme_api.get(f"/mail/segments/{sent['id']}").json()["recipients"] == 3
    # The same key with another body is refused, not sent.
    other = acme_api.post("/mail/segments", {**SEGMENT, "ranks": ["B"]}, headers=headers)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_mismatch"


def test_the_segment_services_refusals_are_problems(acme_api):
    from notifications.models import SegmentMail

    unknown = acme_api.post(
        "/mail/segments", {**SEGMENT, "subject": "{{ 電話番号 }}"}, headers={"Idempotency-Key": "seg-bad"}
    )
    assert unknown.status_code == 422 and "電話番号" in unknown.json()["detail"]
    empty = acme_api.post("/mail/segments", {**SEGMENT, "body": ""}, headers={"Idempotency-Key": "seg-empty"})
    assert empty.status_code == 422 and empty.json()["code"] == "validation"
    missing = acme_api.post(
        "/mail/segments/preview", {**SEGMENT, "subject": "", "body": "", "template_id": 999999999}
    )
    assert missing.status_code == 404
    assert not SegmentMail.objects.exists()
    # A failed send leaves the key free: the corrected request goes.
    fixed = acme_api.post("/mail/segments", SEGMENT, headers={"Idempotency-Key": "seg-bad"})
    assert fixed.status_code == 201


def test_mail_scopes(tenants):
    readers = token_make(schema=tenants["acme"].schema, scopes=["candidates:read", "bookings:write"])
    sender = token_make(schema=tenants["acme"].schema, scopes=["mail:send"])
    with schema_context(tenants["acme"].schema):
        reader = ApiClient(tenants["acme"].host, readers.secret)
        body = _problem(
            reader.post("/mail/segments", SEGMENT, headers={"Idempotency-Key": "s"}),
            403,
            "insufficient_scope",
        )
        assert body["required_scope"] == "mail:send"
        _problem(reader.post("/mail/segments/preview", SEGMENT), 403, "insufficient_scope")
        assert reader.get("/mail/segments").status_code == 200
        only_send = ApiClient(tenants["acme"].host, sender.secret)
        assert only_send.post("/mail/segments/preview", SEGMENT).status_code == 200
        _problem(only_send.get("/mail/segments"), 403, "insufficient_scope")


def test_segments_with_the_same_ids_in_two_companies_never_cross(tenants):
    from notifications.models import SegmentMail
    from notifications.services import segment_create

    shared_id = 660_001
    tokens = {slug: token_make(schema=tenants[slug].schema) for slug in ("acme", "globex")}
    later = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    for slug in ("acme", "globex"):
        with schema_context(tenants[slug].schema):
            segment = segment_create(
                name=f"{slug}の配信", subject="件名", body="本文", filters={}, send_at=later
            )
            SegmentMail.objects.filter(pk=segment.pk).update(id=shared_id)
    with schema_context(tenants["globex"].schema):
        intruder = ApiClient(tenants["globex"].host, tokens["acme"].secret)
        for path in (f"/mail/segments/{shared_id}", "/mail/segments"):
            assert "globexの配信" not in str(_problem(intruder.get(path), 401, "unauthorized"))
        _problem(
            intruder.post("/mail/segments", SEGMENT, headers={"Idempotency-Key": "x"}), 401, "unauthorized"
        )
        _problem(intruder.post("/mail/segments/preview", SEGMENT), 401, "unauthorized")
        assert SegmentMail.objects.count() == 1
        own = ApiClient(tenants["globex"].host, tokens["globex"].secret).get(f"/mail/segments/{shared_id}")
        assert own.json()["name"] == "globexの配信"
    with schema_context(tenants["acme"].schema):
        own = ApiClient(tenants["acme"].host, tokens["acme"].secret).get(f"/mail/segments/{shared_id}")
        assert own.json()["name"] == "acmeの配信"


@pytest.mark.parametrize(
    ("send_at", "scheduled"),
    [
        # Without an offset: the company's time (Japan), as on the segment page.
        ("2099-04-01T10:00:00", "2099-04-01T10:00:00+09:00"),
        # Past: sent now (the fuzzer found a naive time compared with an aware "now", a server error).
        ("2020-01-01T00:00:00", None),
        ("2020-01-01T00:00:00+05:00", None),
    ],
)
def test_send_at_without_an_offset_or_long_past_is_a_time_not_an_error(acme_api, send_at, scheduled):
    _students()
    sent = acme_api.post(
        "/mail/segments", {**SEGMENT, "send_at": send_at}, headers={"Idempotency-Key": f"seg-at-{send_at}"}
    )
    assert sent.status_code == 201, sent.content
    body = sent.json()
    if scheduled:
        assert body["send_at"] == scheduled and body["enqueued_at"] is None
    else:
        assert body["enqueued_at"] is not None and body["recipients"] == 3


@pytest.mark.parametrize(
    "send_at",
    ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00", "1173-01-01T00:00:00", "2300-01-01T00:00:00"],
)
def test_send_at_beyond_what_a_calendar_can_hold_is_a_422(acme_api, send_at):
    from notifications.models import SegmentMail

    _students()
    refused = acme_api.post(
        "/mail/segments", {**SEGMENT, "send_at": send_at}, headers={"Idempotency-Key": f"seg-far-{send_at}"}
    )
    assert refused.status_code == 422, refused.content
    assert "send_at" in refused.content.decode()
    assert not SegmentMail.objects.exists()
