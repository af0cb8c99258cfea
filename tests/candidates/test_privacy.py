"""Students' APPI rights: requests, disclosure export, correction, stop use, and erasure everywhere."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.utils import timezone

from booking.models import Booking, InterviewBooking, MyPageToken, SlotQuota
from booking.services import booking_create, waitlist_join
from booking.services.interviews import availability_add, interview_book, interview_type_create
from booking.services.mypage import mypage_token_create
from candidates.errors import PrivacyRequestError
from candidates.models import (
    AuditEntry,
    Candidate,
    CandidateKey,
    Entry,
    ImportJob,
    Note,
    PossibleDuplicate,
    PrivacyRequest,
)
from candidates.selectors import CandidateFilters, candidate_list
from candidates.services.importing import entries_import_file
from candidates.services.merging import candidates_merge
from candidates.services.privacy_data import candidate_correct, student_data_collect
from candidates.services.privacy_requests import (
    privacy_request_close,
    privacy_request_create,
    privacy_request_erase,
)
from notifications.models import Enrollment, OutboxMessage, OutboxStatus, Sequence, Unsubscribe
from notifications.personal_data import erased_notices_scrub
from notifications.services import outbox_enqueue
from tests.booking.conftest import seminar_make
from tests.candidates.conftest import csv_bytes

MYNAVI = "マイナビID,氏名,氏名（カナ）,生年月日,メールアドレス,携帯電話番号,学校名\n"


@pytest.fixture
def admin(acme):
    from accounts.models import User

    return User.objects.get(email=acme.admin_email)


def student_import() -> Candidate:
    """One student from a マイナビ row (a raw row is kept) and a refused row quoting their address."""
    entries_import_file(
        fileobj=io.BytesIO(
            csv_bytes(
                MYNAVI
                + "M1,佐藤　花子,サトウ　ハナコ,2004/04/01,hanako@example.ac.jp,090-1111-0001,東京大学\n"
            )
        ),
        board="mynavi",
    )
    ImportJob.objects.create(
        filename="x.csv",
        status=ImportJob.Status.DONE,
        refused_count=1,
        report={
            "refused": [{"line": 3, "column": "電話番号", "reason": "hanako@example.ac.jp の行: 読めません"}]
        },
    )
    return Entry.objects.get(board_member_id="M1").candidate


def mails_to(address: str) -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(to_address=address).order_by("id"))


def test_a_request_is_recorded_once_per_kind_and_notified(acme):
    student = student_import()
    request = privacy_request_create(candidate=student, kind=PrivacyRequest.Kind.DISCLOSURE)
    assert request.number == f"P-{request.pk:06d}" and request.status == "open"
    assert any("受け付けました" in mail.subject for mail in mails_to("hanako@example.ac.jp"))
    # The company's admins hear of it, without the student's name.
    staff = OutboxMessage.objects.get(idempotency_key__startswith=f"privacy-staff:{request.pk}:")
    assert staff.to_address == acme.admin_email and "佐藤" not in staff.body
    with pytest.raises(PrivacyRequestError, match="すでに受け付けています"):
        privacy_request_create(candidate=student, kind=PrivacyRequest.Kind.DISCLOSURE)
    with pytest.raises(PrivacyRequestError, match="訂正してほしい内容"):
        privacy_request_create(candidate=student, kind=PrivacyRequest.Kind.CORRECTION, details=" ")
    with pytest.raises(PrivacyRequestError, match="種類"):
        privacy_request_create(candidate=student, kind="everything")
    privacy_request_create(candidate=student, kind=PrivacyRequest.Kind.DELETION)  # another kind is fine
    assert PrivacyRequest.objects.filter(candidate=student).count() == 2


def test_days_open_and_overdue(acme):
    student = student_import()
    request = privacy_request_create(candidate=student, kind=PrivacyRequest.Kind.DISCLOSURE)
    PrivacyRequest.objects.filter(pk=request.pk).update(received_at=timezone.now() - timedelta(days=15))
    request.refresh_from_db()
    assert request.days_open == 15 and request.overdue
    privacy_request_close(request_id=request.pk, user=None, response="郵送しました。")
    request.refresh_from_db()
    assert request.status == "done" and not request.overdue


def test_disclosure_collects_everything_the_company_holds(acme, admin):
    student = student_import()
    Note.objects.create(candidate=student, body="面談の感想")
    seminar = seminar_make(quotas={"*": 5}, title="秋の説明会")
    booking_create(candidate=student, slot_id=seminar.slots.get().pk)
    outbox_enqueue(key="t1", to=student.email, subject="説明会のご案内", body="本文です", kind="marketing")
    request = privacy_request_create(candidate=student, kind=PrivacyRequest.Kind.DISCLOSURE, details="全部")
    data = student_data_collect(candidate_id=student.pk)
    assert data["profiles"][0]["family_name"] == "佐藤" and data["profiles"][0]["birth_date"] == "2004-04-01"
    assert data["entries"][0]["row_as_received"]["氏名"] == "佐藤　花子"
    assert {"kind": "携帯電話番号", "value": "09011110001"} in data["identifiers"]
    assert data["notes"][0]["text"] == "面談の感想"
    assert data["requests"][0]["number"] == request.number and data["requests"][0]["details"] == "全部"
    assert [row["seminar"] for row in data["bookings"] if row["type"] == "seminar"] == ["秋の説明会"]
    assert any(row.get("subject") == "説明会のご案内" for row in data["mail"])


def test_correction_changes_the_record_and_is_audited(acme, admin):
    student = student_import()
    changed = candidate_correct(
        candidate_id=student.pk,
        values={"given_name": "華子", "email": "Hana@Example.jp", "phone": "090-1111-0001"},
        user=admin,
    )
    assert changed == ["given_name", "email"]  # the phone was already that number
    student.refresh_from_db()
    assert (student.given_name, student.email) == ("華子", "hana@example.jp")
    assert CandidateKey.objects.filter(kind="email", value="hana@example.jp", candidate=student).exists()
    entry = AuditEntry.objects.get(action="privacy_correct")
    assert entry.candidate_ids == [student.pk] and "華子" not in entry.target
    assert "生年月日" not in student.events.get(kind="privacy").message


def test_stop_use_ends_marketing_and_step_mails(acme, admin):
    student = student_import()
    sequence = Sequence.objects.create(name="フォロー", trigger="entry_imported")
    Enrollment.objects.create(sequence=sequence, candidate=student, occurrence="x", anchor_at=timezone.now())
    queued = outbox_enqueue(
        key="m1", to=student.email, subject="ご案内", body="…", kind="marketing", candidate_id=student.pk
    )
    request = privacy_request_create(candidate=student, kind=PrivacyRequest.Kind.STOP_USE)
    privacy_request_close(request_id=request.pk, user=admin)
    assert Unsubscribe.objects.filter(candidate=student).exists()
    assert Enrollment.objects.get(candidate=student).stopped_at is not None
    queued.refresh_from_db()
    assert queued.status == OutboxStatus.SUPPRESSED
    assert AuditEntry.objects.filter(action="privacy_stop_use", candidate_ids=[student.pk]).exists()


def test_declining_needs_a_reason_and_deletion_needs_the_erasure(acme, admin):
    student = student_import()
    deletion = privacy_request_create(candidate=student, kind=PrivacyRequest.Kind.DELETION)
    with pytest.raises(PrivacyRequestError, match="削除を実行"):
        privacy_request_close(request_id=deletion.pk, user=admin)
    with pytest.raises(PrivacyRequestError, match="理由"):
        privacy_request_close(request_id=deletion.pk, user=admin, declined=True)
    privacy_request_close(request_id=deletion.pk, user=admin, declined=True, response="内定承諾済みのため")
    answer = OutboxMessage.objects.get(idempotency_key=f"privacy-closed:{deletion.pk}")
    assert "内定承諾済みのため" in answer.body and Candidate.objects.filter(pk=student.pk).exists()


def test_erasure_removes_the_student_everywhere(acme, admin):
    student = student_import()
    other = Candidate.objects.create(family_name="別人", email="other@example.jp")
    Note.objects.create(candidate=student, body="メモ")
    PossibleDuplicate.objects.create(first=student, second=other, reason="テスト")
    # A seat on a full slot with someone waiting: the seat must go to them.
    seminar = seminar_make(quotas={"*": 1}, capacity=1)
    slot = seminar.slots.get()
    booking_create(candidate=student, slot_id=slot.pk)
    waiting = waitlist_join(candidate=other, slot_id=slot.pk)
    # An interview time, a My Page link, mails sent and queued, a step-mail run, an unsubscribe.
    interviewer = admin
    start = timezone.localtime(timezone.now() + timedelta(days=3)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    kind = interview_type_create(
        name="一次面接", step="entry", interviewers=[interviewer], duration_minutes=30
    )
    availability_add(interviewer=interviewer, starts_at=start, ends_at=start + timedelta(hours=1))
    interview_book(candidate=student, interview_type_id=kind.pk, starts_at=start.isoformat())
    mypage_token_create(candidate=student)
    sent = outbox_enqueue(
        key="s1", to=student.email, subject="花子さんへ", body="佐藤花子様", kind="marketing"
    )
    OutboxMessage.objects.filter(pk=sent.pk).update(status=OutboxStatus.SENT, candidate_id=student.pk)
    queued = outbox_enqueue(
        key="q1",
        to=student.email,
        subject="明日",
        body="佐藤花子様",
        kind="marketing",
        candidate_id=student.pk,
    )
    sequence = Sequence.objects.create(name="フォロー", trigger="entry_imported")
    Enrollment.objects.create(sequence=sequence, candidate=student, occurrence="x", anchor_at=timezone.now())
    Unsubscribe.objects.create(candidate=student)
    request = privacy_request_create(
        candidate=student, kind=PrivacyRequest.Kind.DELETION, details="佐藤花子です"
    )
    student_id = student.pk

    privacy_request_erase(request_id=request.pk, user=admin)

    assert not Candidate.objects.filter(pk=student_id).exists()
    assert not Entry.objects.filter(board_member_id="M1").exists()
    assert not CandidateKey.objects.filter(value__in=["hanako@example.ac.jp", "09011110001"]).exists()
    assert not Note.objects.filter(body="メモ").exists() and not PossibleDuplicate.objects.exists()
    assert not Booking.objects.filter(candidate_id=student_id).exists()
    assert not InterviewBooking.objects.filter(candidate_id=student_id).exists()
    assert not MyPageToken.objects.filter(candidate_id=student_id).exists()
    waiting.refresh_from_db()
    assert waiting.status == "offered"  # the freed seat went to the next in line
    assert SlotQuota.objects.get(slot=slot).taken == 1
    for mail in (sent, queued):
        mail.refresh_from_db()
        assert (mail.to_address, mail.body, mail.candidate_id) == ("", "", None)
    assert queued.status == OutboxStatus.SUPPRESSED
    assert not Enrollment.objects.filter(candidate_id=student_id).exists()
    assert not Unsubscribe.objects.filter(candidate_id=student_id).exists()
    assert "hanako@example.ac.jp" not in str(ImportJob.objects.get(filename="x.csv").report)
    assert not candidate_list(filters=CandidateFilters(q="サトウ")).exists()
    assert not candidate_list(filters=CandidateFilters(q="hanako@example.ac.jp")).exists()
    # Nothing that names her is left in the mail outbox except the last notice, until it is sent.
    everywhere = " ".join(f"{m.to_address} {m.subject} {m.body}" for m in OutboxMessage.objects.all())
    notice = OutboxMessage.objects.get(idempotency_key=f"privacy-erased:{request.pk}")
    assert everywhere.count("hanako@example.ac.jp") == 1 and notice.to_address == "hanako@example.ac.jp"
    assert "佐藤" not in everywhere
    OutboxMessage.objects.filter(pk=notice.pk).update(status=OutboxStatus.SENT)
    assert erased_notices_scrub() == 1
    notice.refresh_from_db()
    assert notice.to_address == "" and notice.body == ""
    # The request keeps the id and the receipt, not her words; audit entries keep ids only.
    request.refresh_from_db()
    assert (request.candidate_id, request.candidate_ref, request.details) == (None, student_id, "")
    assert request.status == "done" and request.receipt["candidate_ids"] == [student_id]
    assert request.receipt["counts"]["entries"] == 1 and request.receipt["counts"]["candidates"] == 1
    assert request.receipt["counts"]["bookings"] >= 3
    erased = AuditEntry.objects.get(action="privacy_erase")
    assert erased.candidate_ids == [student_id] and erased.target == f"#{student_id} {request.number}"
    assert other in Candidate.objects.all()


def test_records_merged_into_the_student_are_erased_with_them(acme, admin):
    student = student_import()
    older = Candidate.objects.create(family_name="佐藤", given_name="花子", email="old@example.jp")
    candidates_merge(kept_id=student.pk, merged_id=older.pk, user=admin)
    request = privacy_request_create(candidate=student, kind=PrivacyRequest.Kind.DELETION)
    privacy_request_erase(request_id=request.pk, user=admin)
    assert not Candidate.objects.filter(pk__in=[student.pk, older.pk]).exists()
    request.refresh_from_db()
    assert request.receipt["candidate_ids"] == sorted([student.pk, older.pk])


def test_an_answered_or_erased_request_cannot_be_carried_out_again(acme, admin):
    student = student_import()
    request = privacy_request_create(candidate=student, kind=PrivacyRequest.Kind.DELETION)
    privacy_request_erase(request_id=request.pk, user=admin)
    with pytest.raises(PrivacyRequestError):
        privacy_request_erase(request_id=request.pk, user=admin)
    disclosure = PrivacyRequest.objects.create(candidate=None, candidate_ref=student.pk, kind="disclosure")
    with pytest.raises(PrivacyRequestError, match="削除されています"):
        privacy_request_close(request_id=disclosure.pk, user=admin)


def test_the_delete_button_erases_the_same_way(acme, admin):
    from candidates.services.merging import candidate_delete

    student = student_import()
    seminar = seminar_make(quotas={"*": 2}, capacity=2)
    booking_create(candidate=student, slot_id=seminar.slots.get().pk)
    mail = outbox_enqueue(key="d1", to=student.email, subject="件名", body="佐藤花子様", kind="marketing")
    candidate_delete(candidate_id=student.pk, user=admin)
    assert SlotQuota.objects.get(slot__seminar=seminar).taken == 0  # the seat came back
    mail.refresh_from_db()
    assert (mail.to_address, mail.body) == ("", "")
    assert AuditEntry.objects.get(action="delete").candidate_ids == [student.pk]


def test_re_importing_an_old_export_does_not_bring_an_erased_student_back(acme, admin):
    from candidates.services.importing import ERASED_ROW_REASON

    student = student_import()
    request = privacy_request_create(candidate=student, kind=PrivacyRequest.Kind.DELETION)
    privacy_request_erase(request_id=request.pk, user=admin)
    row = "M1,佐藤　花子,サトウ　ハナコ,2004/04/01,hanako@example.ac.jp,090-1111-0001,東京大学\n"
    again = entries_import_file(fileobj=io.BytesIO(csv_bytes(MYNAVI + row)), board="mynavi")
    assert again.created == 0 and again.refused == [{"line": 2, "column": "", "reason": ERASED_ROW_REASON}]
    assert not Candidate.objects.filter(email="hanako@example.ac.jp").exists()
    # A new application (another row) is a new decision of the student's: it is imported.
    fresh = row.replace("東京大学", "東京大学大学院")
    assert entries_import_file(fileobj=io.BytesIO(csv_bytes(MYNAVI + fresh)), board="mynavi").created == 1


def test_a_request_follows_the_student_when_their_record_is_merged_into_another(acme, admin):
    student = student_import()
    request = privacy_request_create(candidate=student, kind=PrivacyRequest.Kind.DELETION)
    keeper = Candidate.objects.create(family_name="佐藤", given_name="花子", email="keeper@example.jp")
    candidates_merge(kept_id=keeper.pk, merged_id=student.pk, user=admin)  # her entries move to the keeper
    privacy_request_erase(request_id=request.pk, user=admin)
    assert not Candidate.objects.filter(pk__in=[student.pk, keeper.pk]).exists()
    assert not Entry.objects.filter(board_member_id="M1").exists()
    request.refresh_from_db()
    assert request.candidate_ref == keeper.pk and request.receipt["candidate_ids"] == sorted(
        [student.pk, keeper.pk]
    )
