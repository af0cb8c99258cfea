"""The privacy queue through acme's host: who may export and erase, audit of refusals, what an erasure leaves."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from candidates.models import AuditEntry, Candidate, Entry, PrivacyRequest
from candidates.services.privacy_requests import privacy_request_create
from notifications.models import OutboxMessage
from notifications.services import outbox_enqueue
from tests.candidates.test_privacy import student_import


@pytest.fixture
def requested(acme):
    student = student_import()
    outbox_enqueue(
        key="h1",
        to=student.email,
        subject="ご案内",
        body="佐藤花子様",
        kind="marketing",
        candidate_id=student.pk,
    )
    request = privacy_request_create(candidate=student, kind=PrivacyRequest.Kind.DELETION)
    return student, request


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/candidates/privacy/"),
        ("get", "/candidates/privacy/{id}/"),
        ("get", "/candidates/privacy/{id}/export.json"),
        ("get", "/candidates/privacy/{id}/export/"),
        ("post", "/candidates/privacy/{id}/erase/"),
        ("post", "/candidates/privacy/{id}/close/"),
    ],
)
def test_viewers_are_refused_and_the_refusal_is_audited(requested, make_user, method, path):
    _student, request = requested
    client, viewer = make_user("viewer")
    url = path.format(id=request.pk)
    response = getattr(client, method)(url, {"confirm": request.number} if method == "post" else None)
    assert response.status_code == 403
    denied = AuditEntry.objects.get(action="privacy_denied")
    assert denied.user == viewer and denied.target == url
    assert not AuditEntry.objects.filter(action__in=["privacy_export", "privacy_erase"]).exists()


def test_a_recruiter_exports_but_only_an_admin_erases(requested, make_user):
    student, request = requested
    client, recruiter = make_user("recruiter")
    queue = client.get("/candidates/privacy/").content.decode()
    assert request.number in queue and "削除" in queue
    assert AuditEntry.objects.get(action="privacy_list", user=recruiter).candidate_ids == [student.pk]
    client.get(f"/candidates/privacy/{request.pk}/")
    assert AuditEntry.objects.get(action="privacy_view", user=recruiter).target == request.number
    exported = client.get(f"/candidates/privacy/{request.pk}/export.json")
    assert exported.status_code == 200 and exported["Cache-Control"] == "no-store"
    assert exported["Content-Disposition"] == f'attachment; filename="disclosure-{request.number}.json"'
    data = json.loads(exported.content)
    assert data["profiles"][0]["email"] == "hanako@example.ac.jp"
    readable = client.get(f"/candidates/privacy/{request.pk}/export/").content.decode()
    assert "保有個人データの開示" in readable and "佐藤" in readable and "エントリー" in readable
    exports = AuditEntry.objects.filter(action="privacy_export", user=recruiter)
    assert exports.count() == 2 and all(entry.candidate_ids == [student.pk] for entry in exports)
    refused = client.post(f"/candidates/privacy/{request.pk}/erase/", {"confirm": request.number})
    assert refused.status_code == 403 and Candidate.objects.filter(pk=student.pk).exists()
    assert AuditEntry.objects.filter(action="privacy_denied", user=recruiter).exists()


def test_an_admin_erases_and_nothing_of_the_student_is_found(requested, admin_client):
    student, request = requested
    wrong = admin_client.post(
        f"/candidates/privacy/{request.pk}/erase/", {"confirm": "P-999999"}, follow=True
    )
    assert "受付番号を入力" in wrong.content.decode() and Candidate.objects.filter(pk=student.pk).exists()
    done = admin_client.post(f"/candidates/privacy/{request.pk}/erase/", {"confirm": request.number})
    assert done.status_code == 302 and done["Location"] == f"/candidates/privacy/{request.pk}/receipt/"
    receipt = admin_client.get(done["Location"]).content.decode()
    assert request.number in receipt and f"#{student.pk}" in receipt and "entries" in receipt
    assert admin_client.get(f"/candidates/{student.pk}/").status_code == 404
    assert admin_client.get(f"/mail/candidates/{student.pk}/").status_code == 404
    for query in ("佐藤", "サトウ", "hanako@example.ac.jp"):
        assert not admin_client.get("/candidates/", {"q": query}).context["page"].object_list
    exported = admin_client.get("/candidates/export.csv?encoding=utf-8").getvalue().decode("utf-8-sig")
    assert "hanako" not in exported and "佐藤" not in exported
    assert not Entry.objects.filter(email="hanako@example.ac.jp").exists()
    assert not OutboxMessage.objects.filter(body__contains="佐藤").exists()
    # The request page still answers, with the id and the receipt only.
    page = admin_client.get(f"/candidates/privacy/{request.pk}/").content.decode()
    assert "削除済み" in page and "佐藤" not in page


def test_overdue_requests_stand_out_in_the_queue(requested, make_user):
    _student, request = requested
    PrivacyRequest.objects.filter(pk=request.pk).update(received_at=timezone.now() - timedelta(days=20))
    client, _user = make_user("recruiter")
    queue = client.get("/candidates/privacy/").content.decode()
    assert "20 日" in queue and "目安を超過" in queue


def test_a_recruiter_records_a_request_and_corrects_the_record(acme, make_user):
    student = student_import()
    client, recruiter = make_user("recruiter")
    response = client.post(
        f"/candidates/{student.pk}/privacy/", {"kind": "correction", "details": "名前の漢字が違います"}
    )
    request = PrivacyRequest.objects.get(candidate=student)
    assert response["Location"] == f"/candidates/privacy/{request.pk}/"
    assert AuditEntry.objects.filter(action="privacy_request", user=recruiter).exists()
    client.post(
        f"/candidates/privacy/{request.pk}/correct/", {"given_name": "華子", "birth_date": "2004-04-02"}
    )
    student.refresh_from_db()
    assert student.given_name == "華子" and student.birth_date.isoformat() == "2004-04-02"
    bad = client.post(f"/candidates/privacy/{request.pk}/correct/", {"email": "not an address"}, follow=True)
    assert "メールアドレスの形式" in bad.content.decode()
    client.post(f"/candidates/privacy/{request.pk}/close/", {"declined": "0", "response": "訂正しました"})
    request.refresh_from_db()
    assert request.status == "done" and request.closed_by == recruiter
