"""Bulk actions on a filtered candidate list: preview, the action, one audit entry each, set-based at 10,000."""

from __future__ import annotations

import datetime as dt
import time

from candidates.models import AuditEntry, Candidate, CandidateEvent
from notifications.models import OutboxMessage, SegmentMail
from tests.selection.conftest import status_sequence, student


def rank_b_students(count: int = 3):
    return [student(rank="B", status="entry", email=f"b{index}@example.jp") for index in range(count)]


def test_the_preview_shows_who_is_affected_and_the_move_is_audited_once(acme, flow, make_user):
    client, recruiter = make_user("recruiter")
    targets = rank_b_students()
    outsider = student(rank="A", status="entry", family_name="対象外")
    other_season = student(rank="B", status="entry", graduation_year=2028)
    first = flow["rounds"][0]
    preview = client.get("/selection/bulk/", {"rank": "B", "action": "move"})
    page = preview.content.decode()
    assert preview.status_code == 200 and "<strong>3名</strong>" in page and "対象外" not in page
    assert 'name="expected" value="3"' in page
    done = client.post(
        "/selection/bulk/", {"rank": "B", "action": "move", "round": first.pk, "expected": "3"}
    )
    assert done.status_code == 302 and done["Location"] == "/candidates/?rank=B"
    moved = set(Candidate.objects.filter(status=first.step_key).values_list("pk", flat=True))
    assert moved == {candidate.pk for candidate in targets}
    outsider.refresh_from_db()
    other_season.refresh_from_db()
    assert outsider.status == "entry" and other_season.status == "entry"
    entry = AuditEntry.objects.get(action="bulk_move")
    assert entry.user == recruiter and entry.student_count == 3 and entry.target == first.name
    assert sorted(entry.candidate_ids) == sorted(moved) and entry.filters["rank"] == "B"
    assert CandidateEvent.objects.filter(kind="status", candidate_id__in=moved).count() == 3


def test_a_list_that_changed_since_the_preview_is_not_acted_on(acme, flow, make_user):
    client, _recruiter = make_user("recruiter")
    rank_b_students(2)
    answer = client.post(
        "/selection/bulk/", {"rank": "B", "action": "move", "round": flow["rounds"][0].pk, "expected": "5"}
    )
    assert answer.status_code == 409 and "対象の学生が変わりました（現在 2名）" in answer.content.decode()
    assert not Candidate.objects.filter(status=flow["rounds"][0].step_key).exists()
    assert not AuditEntry.objects.filter(action="bulk_move").exists()


def test_a_tag_is_added_once_and_audited_per_action(acme, make_user):
    client, _recruiter = make_user("recruiter")
    targets = rank_b_students()
    for _ in range(2):
        client.post("/selection/bulk/", {"rank": "B", "action": "tag", "tag_name": "優秀層", "expected": "3"})
    assert all(list(candidate.tags.values_list("name", flat=True)) == ["優秀層"] for candidate in targets)
    assert AuditEntry.objects.filter(action="bulk_tag").count() == 2
    assert CandidateEvent.objects.filter(kind="tag").count() == 3  # the second run added nothing


def test_a_segment_mail_and_an_invitation_reach_exactly_the_listed_students(acme, flow, make_user):
    from booking.services.seminars import seminar_create

    client, _recruiter = make_user("recruiter")
    targets = rank_b_students(2)
    student(rank="A", email="a@example.jp")
    answer = client.post(
        "/selection/bulk/",
        {
            "rank": "B",
            "action": "mail",
            "mail_name": "面接案内",
            "subject": "{{ 姓 }}様へ",
            "body": "本文",
            "expected": "2",
        },
    )
    assert answer.status_code == 302
    segment = SegmentMail.objects.get(name="面接案内")
    rows = OutboxMessage.objects.filter(segment=segment)
    assert sorted(rows.values_list("to_address", flat=True)) == sorted(
        candidate.email for candidate in targets
    )
    seminar = seminar_create(title="会社説明会 1月", season=flow["season"])
    client.post(
        "/selection/bulk/",
        {"rank": "B", "action": "invite", "target": f"seminar:{seminar.pk}", "expected": "2"},
    )
    invitation = SegmentMail.objects.get(name="予約のご案内: 会社説明会 1月")
    assert "ご予約のご案内" in invitation.subject and "{{ マイページURL }}" in invitation.body
    assert OutboxMessage.objects.filter(segment=invitation).count() == 2
    assert AuditEntry.objects.filter(action__in=["bulk_mail", "bulk_invite"]).count() == 2
    bad = client.post(
        "/selection/bulk/",
        {"rank": "B", "action": "mail", "subject": "{{ 年収 }}", "body": "x", "expected": "2"},
    )
    assert bad.status_code == 400 and "使えない変数" in bad.content.decode()


def test_viewers_and_interviewers_cannot_act_in_bulk(acme, flow, make_user):
    rank_b_students(1)
    for role in ("viewer", "interviewer"):
        client, _user = make_user(role)
        assert client.get("/selection/bulk/", {"rank": "B"}).status_code == 403
        refused = client.post(
            "/selection/bulk/", {"rank": "B", "action": "tag", "tag_name": "x", "expected": "1"}
        )
        assert refused.status_code == 403
    assert not AuditEntry.objects.filter(action__startswith="bulk_").exists()


def test_ten_thousand_students_move_in_a_bounded_number_of_statements(
    acme, flow, make_user, django_assert_max_num_queries
):
    from selection.services.bulk import bulk_move

    _client, recruiter = make_user("recruiter")
    Candidate.objects.bulk_create(
        [
            Candidate(family_name="一括", given_name=str(index), rank="C", status="entry")
            for index in range(10_000)
        ]
    )
    ids = list(Candidate.objects.filter(family_name="一括").values_list("pk", flat=True))
    started = time.perf_counter()
    with django_assert_max_num_queries(8):
        moved = bulk_move(candidate_ids=ids, round=flow["rounds"][1], season=flow["season"], user=recruiter)
    elapsed = time.perf_counter() - started
    assert moved == 10_000
    assert Candidate.objects.filter(family_name="一括", status=flow["rounds"][1].step_key).count() == 10_000
    assert AuditEntry.objects.get(action="bulk_move").student_count == 10_000
    print(f"bulk move of 10,000 students: {elapsed:.2f} s")


def test_an_interview_invitation_goes_only_to_students_who_can_book_it(acme, flow, make_user):
    client, _recruiter = make_user("recruiter")
    rank_b_students(2)  # status "entry": the 一次面接 is for status "interview"
    target = f"interview:{flow['types'][0].pk}"
    refused = client.post(
        "/selection/bulk/", {"rank": "B", "action": "invite", "target": target, "expected": "2"}
    )
    assert (
        refused.status_code == 400
        and "2名はこの面接を予約できる選考ステップにいません" in refused.content.decode()
    )
    assert not SegmentMail.objects.exists()
    Candidate.objects.filter(rank="B").update(status="interview")
    assert (
        client.post(
            "/selection/bulk/", {"rank": "B", "action": "invite", "target": target, "expected": "2"}
        ).status_code
        == 302
    )
    assert SegmentMail.objects.get().recipients == 2


def test_a_bulk_move_starts_what_a_pass_starts_once_per_student(
    acme,
    flow,
    make_user,
    smtp_server,
    django_capture_on_commit_callbacks,
):
    """Moved by hand into 二次面接, three students get its interview invitation and its step mail through a
    real SMTP server, once each however often the move is repeated; the audit entry names the count."""
    from notifications.services import outbox_deliver_due, sequence_due_scan
    from notifications.services.schedule import mail_settings_update

    mail_settings_update(quiet_start=dt.time(0, 0), quiet_end=dt.time(0, 0), rate_per_second=100)
    second = flow["rounds"][1]
    status_sequence(
        season=flow["season"], status=second.step_key, subject="二次面接の準備", body="{{ 姓 }}様"
    )
    client, recruiter = make_user("recruiter")
    targets = rank_b_students(3)
    student(rank="A", email="a@example.jp")  # not in the list: gets nothing
    for expected in ("3", "3"):
        with django_capture_on_commit_callbacks(execute=True):
            answer = client.post(
                "/selection/bulk/", {"rank": "B", "action": "move", "round": second.pk, "expected": expected}
            )
        assert answer.status_code == 302
        sequence_due_scan()
        outbox_deliver_due(schema_name=acme.schema)
    # A long Japanese subject is folded after "Subject:" (Python's email), so its parsed value starts with a space.
    received = sorted(
        (str(message["To"]), str(message["Subject"]).strip()) for message in smtp_server.recorder.messages
    )
    company = acme.tenant.name
    assert received == sorted(
        pair
        for candidate in targets
        for pair in (
            (candidate.email, "二次面接の準備"),
            (candidate.email, f"【{company}】二次面接のご案内"),
        )
    )
    first_move, second_move = AuditEntry.objects.filter(action="bulk_move").order_by("id")
    assert (first_move.student_count, first_move.target, first_move.user) == (3, second.name, recruiter)
    assert sorted(first_move.candidate_ids) == sorted(candidate.pk for candidate in targets)
    assert second_move.student_count == 3  # listed again, moved nobody: one line of history each
    assert (
        CandidateEvent.objects.filter(kind="status", candidate_id__in=first_move.candidate_ids).count() == 3
    )


def test_a_bulk_move_follows_the_round_before_and_many_students_start_on_a_worker(
    acme,
    flow,
    make_user,
    eager_celery,
    django_capture_on_commit_callbacks,
    monkeypatch,
):
    """Moving into a round does what passing the round before it says; past the inline limit the step mails
    start on a worker (eager here), for every student."""
    from notifications.models import Enrollment
    from selection.services import moves
    from selection.services.bulk import bulk_move

    first, second, _offer = flow["rounds"]
    first.pass_invites = False
    first.save(update_fields=["pass_invites"])
    sequence = status_sequence(season=flow["season"], status=second.step_key)
    monkeypatch.setattr(moves, "STEP_MAILS_INLINE", 2)
    _client, recruiter = make_user("recruiter")
    targets = rank_b_students(3)
    with django_capture_on_commit_callbacks(execute=True):
        bulk_move(candidate_ids=[c.pk for c in targets], round=second, season=flow["season"], user=recruiter)
    assert Enrollment.objects.filter(sequence=sequence).count() == 3
    assert not OutboxMessage.objects.filter(idempotency_key__startswith="round-invite:").exists()
