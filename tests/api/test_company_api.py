"""The company API end to end through the company's host: candidates, entries, ranks, seminars, bookings."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import CandidateFactory, SeminarFactory

pytestmark = pytest.mark.django_db
OFFSET_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+09:00$")


def test_openapi_31_and_a_docs_page_without_a_cdn(acme_api):
    schema = acme_api.client.get("/api/v1/openapi.json")
    assert schema.status_code == 200
    document = schema.json()
    assert document["openapi"].startswith("3.1")
    operations = {op["operationId"] for path in document["paths"].values() for op in path.values()}
    assert {
        "api_endpoints_candidates_candidates_list",
        "api_endpoints_bookings_bookings_create",
    } <= operations
    for path in document["paths"].values():
        for operation in path.values():
            labels = [sample["label"] for sample in operation["x-codeSamples"]]
            assert labels == ["curl（日本語）", "curl (English)"]
    page = acme_api.client.get("/api/v1/docs").content.decode()
    assert "/api/v1/openapi.json" in page
    scripts = re.findall(r'src="([^"]+)"', page)
    assert scripts and all(src.startswith("/static/") for src in scripts), scripts


def test_list_pages_with_a_cursor_filters_like_the_workspace_and_is_audited(acme_api):
    from candidates.models import AuditEntry

    made = [CandidateFactory(rank="B", graduation_year=2027) for _ in range(5)]
    CandidateFactory(rank="C", graduation_year=2027)
    first = acme_api.get("/candidates", rank="B", limit=2, season=2027)
    assert first.status_code == 200
    body = first.json()
    assert [item["id"] for item in body["items"]] == [made[4].pk, made[3].pk]
    assert OFFSET_TIMESTAMP.match(body["items"][0]["created_at"])
    seen = [item["id"] for item in body["items"]]
    cursor = body["next_cursor"]
    while cursor:
        page = acme_api.get("/candidates", rank="B", limit=2, season=2027, cursor=cursor).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
    assert seen == [candidate.pk for candidate in reversed(made)]
    entry = AuditEntry.objects.filter(action="list", target__contains="/api/v1/candidates").order_by("-id")[2]
    assert entry.candidate_ids == sorted([made[4].pk, made[3].pk])
    assert entry.actor == "admin@acme.example.jp" and acme_api.token.prefix in entry.target


def test_detail_is_audited_and_a_merged_or_missing_student_is_a_problem(acme_api):
    from candidates.models import AuditEntry

    student = CandidateFactory()
    response = acme_api.get(f"/candidates/{student.pk}")
    assert response.json()["email"] == student.email
    assert AuditEntry.objects.filter(action="detail", candidate_ids=[student.pk]).exists()
    missing = acme_api.get("/candidates/999999999")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert acme_api.get("/candidates/99999999999999999999").status_code == 422


def test_reads_carry_an_etag_and_answer_304_when_it_matches(acme_api):
    student = CandidateFactory()
    first = acme_api.get(f"/candidates/{student.pk}")
    etag = first["ETag"]
    assert etag.startswith('"')
    again = acme_api.get(f"/candidates/{student.pk}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    acme_api.patch(f"/candidates/{student.pk}", {"add_tags": ["理系"]})
    changed = acme_api.get(f"/candidates/{student.pk}", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed["ETag"] != etag


def test_create_normalises_and_dedupes_like_the_import(acme_api):
    created = acme_api.post(
        "/candidates",
        {
            "full_name": "佐藤　花子",
            "full_kana": "さとう はなこ",
            "email": "Hanako.Sato@Example.JP",
            "phone": "090-1234-5678",
            "graduation": "2027年3月",
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["outcome"] == "created"
    student = body["candidate"]
    assert (student["family_name"], student["given_name"]) == ("佐藤", "花子")
    assert (student["family_kana"], student["given_kana"]) == ("サトウ", "ハナコ")
    assert student["email"] == "hanako.sato@example.jp" and student["phone"] == "09012345678"
    assert student["entries"][0]["board"] == "api"
    # The same address from another source is the same student (the import's strong-key rule).
    again = acme_api.post(
        "/candidates", {"external_id": "crm-77", "full_name": "佐藤 花子", "email": "hanako.sato@example.jp"}
    )
    assert again.status_code == 200 and again.json()["outcome"] == "merged"
    assert again.json()["candidate"]["id"] == student["id"]
    assert len(again.json()["candidate"]["entries"]) == 2


def test_create_refuses_a_row_the_import_would_refuse_with_a_problem(acme_api):
    from candidates.models import Candidate

    before = Candidate.objects.count()
    response = acme_api.post("/candidates", {"email": "not-an-address", "full_name": "山田 太郎"})
    assert response.status_code == 422 and response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "validation" and response.json()["detail"]
    nothing = acme_api.post("/candidates", {})
    assert nothing.status_code == 422
    assert Candidate.objects.count() == before
    wrong_type = acme_api.post("/candidates", {"email": ["a"]})
    assert wrong_type.status_code == 422 and wrong_type.json()["errors"]


def test_a_repeated_post_with_the_same_idempotency_key_returns_the_first_result(acme_api):
    from candidates.models import Candidate, Entry

    body = {"full_name": "鈴木 一郎", "email": "ichiro@example.jp"}
    first = acme_api.post("/candidates", body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == 201
    # Changed behind the API's back: a replay still returns the first answer, it does not run again.
    entries = Entry.objects.count()
    second = acme_api.post("/candidates", body, headers={"Idempotency-Key": "k-1"})
    assert second.status_code == 201 and second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Entry.objects.count() == entries
    assert Candidate.objects.filter(email="ichiro@example.jp").count() == 1
    reused = acme_api.post("/candidates", {"email": "other@example.jp"}, headers={"Idempotency-Key": "k-1"})
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_mismatch"


def test_a_failed_post_leaves_the_key_free_for_a_retry(acme_api):
    failed = acme_api.post("/candidates", {"email": "broken"}, headers={"Idempotency-Key": "k-2"})
    assert failed.status_code == 422
    fixed = acme_api.post("/candidates", {"email": "fixed@example.jp"}, headers={"Idempotency-Key": "k-2"})
    assert fixed.status_code == 201
    replayed = acme_api.post("/candidates", {"email": "fixed@example.jp"}, headers={"Idempotency-Key": "k-2"})
    assert replayed.json() == fixed.json() and replayed["Idempotent-Replayed"] == "true"


def test_update_goes_through_the_workspace_services(acme_api):
    from candidates.models import CandidateEvent

    student = CandidateFactory(rank="C")
    response = acme_api.patch(f"/candidates/{student.pk}", {"rank": "A", "add_tags": ["理系", "関東"]})
    assert response.status_code == 200, response.content
    assert response.json()["rank"] == "A" and response.json()["rank_is_manual"] is True
    assert sorted(response.json()["tags"]) == ["理系", "関東"]
    assert CandidateEvent.objects.filter(candidate=student, kind="tag").count() == 2
    bad = acme_api.patch(f"/candidates/{student.pk}", {"status": "no-such-step"})
    assert bad.status_code == 422 and bad.json()["detail"] == "選考ステータスが正しくありません。"


def test_entries_and_ranks_read(acme_api):
    created = acme_api.post(
        "/candidates", {"external_id": "e-1", "full_name": "高橋 健", "email": "ken@example.jp"}
    )
    candidate_id = created.json()["candidate"]["id"]
    entries = acme_api.get("/entries", candidate_id=candidate_id).json()
    assert [entry["board_member_id"] for entry in entries["items"]] == ["e-1"]
    ranks = acme_api.get("/ranks").json()
    assert set(ranks) == {"default_rank", "rules"}


def test_bookings_on_a_students_behalf_follow_the_my_page_rules(acme_api):
    from booking.models import Booking

    seminar = SeminarFactory(quotas={"A": 1}, capacity=1)
    slot = seminar.slots.get()
    first, second = CandidateFactory(rank="A"), CandidateFactory(rank="A")
    seminars = acme_api.get("/seminars").json()
    listed = next(item for item in seminars if item["id"] == seminar.pk)
    assert listed["slots"][0]["quotas"] == [{"rank": "A", "seats": 1, "taken": 0}]
    booked = acme_api.post(
        "/bookings", {"candidate_id": first.pk, "slot_id": slot.pk}, headers={"Idempotency-Key": "b-1"}
    )
    assert booked.status_code == 201, booked.content
    replay = acme_api.post(
        "/bookings", {"candidate_id": first.pk, "slot_id": slot.pk}, headers={"Idempotency-Key": "b-1"}
    )
    assert replay.status_code == 201 and replay.json()["id"] == booked.json()["id"]
    full = acme_api.post("/bookings", {"candidate_id": second.pk, "slot_id": slot.pk})
    assert full.status_code == 409 and full.json()["code"] == "full"
    assert Booking.objects.filter(seminar=seminar, status="active").count() == 1
    twice = acme_api.post("/bookings", {"candidate_id": first.pk, "slot_id": slot.pk})
    assert twice.status_code == 409 and twice.json()["code"] == "already_booked"
    listed = acme_api.get("/bookings", seminar_id=seminar.pk).json()["items"]
    assert [item["candidate_id"] for item in listed] == [first.pk]
    attended = acme_api.post(f"/bookings/{booked.json()['id']}/attendance", {"attendance": "attended"})
    assert attended.status_code == 200 and attended.json()["attendance"] == "attended"
    assert (
        acme_api.post(f"/bookings/{booked.json()['id']}/attendance", {"attendance": "late"}).status_code
        == 422
    )
    cancelled = acme_api.post(f"/bookings/{booked.json()['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert acme_api.post("/bookings", {"candidate_id": second.pk, "slot_id": slot.pk}).status_code == 201


def test_booking_refuses_a_rank_that_may_not_see_the_seminar_and_a_passed_deadline(acme_api):
    from booking.services.seminars import seminar_update

    seminar = SeminarFactory(quotas={"A": 2}, capacity=2, default_visible=False)
    slot = seminar.slots.get()
    outsider = CandidateFactory(rank="D")
    hidden = acme_api.post("/bookings", {"candidate_id": outsider.pk, "slot_id": slot.pk})
    assert hidden.status_code == 404 and hidden.json()["code"] == "not_visible"
    seminar_update(
        seminar=seminar, default_visible=True, booking_deadline=timezone.now() - timedelta(hours=1)
    )
    late = acme_api.post("/bookings", {"candidate_id": CandidateFactory(rank="A").pk, "slot_id": slot.pk})
    assert late.status_code == 409 and late.json()["code"] == "deadline_passed"


def test_mail_sequences_read(acme_api):
    from notifications.services import sequence_save
    from seasons.selectors import season_default

    sequence = sequence_save(
        name="API確認のシーケンス", trigger="attended", is_active=True, season=season_default()
    )
    response = acme_api.get("/mail/sequences")
    assert response.status_code == 200
    listed = next(item for item in response.json() if item["id"] == sequence.pk)
    assert (
        listed["name"] == "API確認のシーケンス" and listed["trigger"] == "attended" and listed["steps"] == []
    )
    assert listed["created_at"].endswith("+09:00")
