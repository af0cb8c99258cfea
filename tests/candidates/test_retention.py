"""Retention policy: the dry-run count before it is switched on, and the nightly delete or anonymise."""

from __future__ import annotations

from datetime import date

import pytest

from booking.models import Attendance, Booking
from booking.services import booking_create
from candidates.errors import RetentionConfirmError
from candidates.models import AuditEntry, Candidate, CandidateKey, Entry, RetentionPolicy
from candidates.selectors import (
    CandidateFilters,
    candidate_list,
    retention_cutoff_year,
    retention_preview,
)
from candidates.services.merging import candidates_merge
from candidates.services.retention import retention_policy_set, retention_run
from candidates.tasks import retention_run_task
from notifications.models import OutboxMessage
from notifications.services import outbox_enqueue
from saas.celery import BEAT_SCHEDULE
from tests.booking.conftest import seminar_make
from tests.candidates.test_privacy import student_import


@pytest.mark.parametrize(
    "today, months, cutoff",
    [
        (date(2026, 4, 1), 12, 2025),  # the 2025 season ended on 2025-03-31, twelve months ago
        (date(2026, 3, 30), 12, 2024),
        (date(2026, 5, 1), 1, 2026),
        (date(2026, 4, 30), 1, 2025),
        (date(2026, 12, 5), 24, 2024),
    ],
)
def test_cutoff_year(today, months, cutoff):
    assert retention_cutoff_year(months_after_season=months, today=today) == cutoff


@pytest.fixture
def students(acme):
    """Due: an old non-hired student (with an older record merged in); kept: hired, recent, no year."""
    cutoff = retention_cutoff_year(months_after_season=12)
    old = student_import()
    Candidate.objects.filter(pk=old.pk).update(graduation_year=cutoff, status="interview")
    old.refresh_from_db()
    merged_in = Candidate.objects.create(family_name="佐藤", email="old@example.jp", graduation_year=cutoff)
    candidates_merge(kept_id=old.pk, merged_id=merged_in.pk, user=None)
    hired = Candidate.objects.create(family_name="内定", graduation_year=cutoff, status="accepted")
    recent = Candidate.objects.create(family_name="最近", graduation_year=cutoff + 1, status="entry")
    no_year = Candidate.objects.create(family_name="不明", status="entry")
    return {"old": old, "merged_in": merged_in, "hired": hired, "recent": recent, "no_year": no_year}


def test_the_dry_run_counts_who_would_go(students):
    preview = retention_preview(months_after_season=12, keep_statuses=["offer", "accepted"])
    assert preview.due == 1 and preview.by_year == [(students["old"].graduation_year, 1)]
    assert preview.without_year == 1
    # Keeping nobody adds the hired student; a shorter period adds the recent season only once it ended.
    assert retention_preview(months_after_season=12, keep_statuses=[]).due == 2


def test_switching_on_needs_the_count_the_admin_saw(students, admin_client):
    with pytest.raises(RetentionConfirmError) as refused:
        retention_policy_set(
            enabled=True,
            months_after_season=12,
            action="delete",
            keep_statuses=["accepted"],
            confirmed_count=None,
            user=None,
        )
    assert refused.value.count == 1 and "1 名" in refused.value.message
    with pytest.raises(RetentionConfirmError):
        retention_policy_set(
            enabled=True,
            months_after_season=12,
            action="delete",
            keep_statuses=["accepted"],
            confirmed_count=5,
            user=None,
        )
    assert not RetentionPolicy.objects.exists()
    policy = retention_policy_set(
        enabled=True,
        months_after_season=12,
        action="delete",
        keep_statuses=["accepted", "no-such-step"],
        confirmed_count=1,
        user=None,
    )
    assert policy.enabled and policy.keep_statuses == ["accepted"] and policy.confirmed_count == 1
    assert AuditEntry.objects.get(action="retention_policy").student_count == 1
    # Switching it off needs no count.
    retention_policy_set(
        enabled=False,
        months_after_season=12,
        action="delete",
        keep_statuses=[],
        confirmed_count=None,
        user=None,
    )
    assert not RetentionPolicy.objects.get().enabled


def _enable(action: str) -> None:
    retention_policy_set(
        enabled=True,
        months_after_season=12,
        action=action,
        keep_statuses=["offer", "accepted"],
        confirmed_count=1,
        user=None,
    )


def test_nothing_runs_while_the_policy_is_off(students):
    assert retention_run() == 0
    assert Candidate.objects.filter(pk=students["old"].pk).exists()


def test_the_nightly_run_deletes_the_due_students(students, acme):
    _enable("delete")
    results = retention_run_task()
    assert results[acme.schema] == 1 and results["t_globex"] == 0  # globex has no policy switched on
    old, merged_in = students["old"], students["merged_in"]
    assert not Candidate.objects.filter(pk__in=[old.pk, merged_in.pk]).exists()
    assert not Entry.objects.filter(board_member_id="M1").exists()
    for kept in ("hired", "recent", "no_year"):
        assert Candidate.objects.filter(pk=students[kept].pk).exists(), kept
    audit = AuditEntry.objects.get(action="retention_delete")
    assert audit.candidate_ids == sorted([old.pk, merged_in.pk]) and audit.actor == "system"
    policy = RetentionPolicy.objects.get()
    assert policy.last_run_count == 1 and policy.last_run_at is not None
    assert retention_run() == 0  # nothing left to do the next night


def test_anonymising_keeps_figures_and_nothing_that_identifies(students):
    old = students["old"]
    old.refresh_from_db()  # the older graduation year moved the student to that year's season
    seminar = seminar_make(quotas={"*": 5}, season=old.season)
    booking = booking_create(candidate=old, slot_id=seminar.slots.get().pk).booking
    Booking.objects.filter(pk=booking.pk).update(attendance=Attendance.ATTENDED)
    mail = outbox_enqueue(key="a1", to=old.email, subject="佐藤さん", body="佐藤花子様", kind="marketing")
    _enable("anonymise")
    assert retention_run() == 1
    old.refresh_from_db()
    assert old.anonymised_at is not None and old.status == "interview" and old.university == "東京大学"
    assert (old.family_name, old.given_name, old.email, old.phone, old.birth_date) == ("", "", "", "", None)
    entry = Entry.objects.get(candidate=old)
    assert (
        entry.original == {} and entry.board_member_id == "" and entry.email == "" and entry.board == "mynavi"
    )
    assert not CandidateKey.objects.filter(candidate=old).exists()
    assert Booking.objects.get(pk=booking.pk).attendance == Attendance.ATTENDED  # seminar figures stay
    mail.refresh_from_db()
    assert (mail.to_address, mail.body) == ("", "")
    assert not OutboxMessage.objects.filter(body__contains="佐藤").exists()
    assert old not in candidate_list(filters=CandidateFilters())
    assert not candidate_list(filters=CandidateFilters(q="サトウ")).exists()
    assert AuditEntry.objects.filter(action="retention_anonymise", candidate_ids__contains=[old.pk]).exists()


def test_the_run_is_on_the_nightly_beat():
    entry = BEAT_SCHEDULE["candidates-retention"]
    assert entry["task"] == "candidates.retention_run"
    assert entry["schedule"].hour == {3} and entry["schedule"].minute == {30}


def test_only_admins_see_the_policy_and_the_count_comes_first(students, admin_client, make_user):
    for role in ("viewer", "recruiter"):
        client, user = make_user(role)
        assert client.get("/candidates/retention/").status_code == 403
        assert AuditEntry.objects.filter(action="privacy_denied", user=user).exists()
    page = admin_client.get("/candidates/retention/").content.decode()
    assert 'id="retention-due" style="font-size:1.6rem">1</strong>' in page and "無効" in page
    form = {
        "months_after_season": 12,
        "action": "delete",
        "keep_statuses": ["offer", "accepted"],
        "enabled": "on",
    }
    stale = admin_client.post("/candidates/retention/", {**form, "confirmed_count": 0, "save": "1"})
    assert stale.status_code == 400 and "処理される学生は 1 名" in stale.content.decode()
    assert not RetentionPolicy.objects.exists()
    preview = admin_client.post("/candidates/retention/", {**form, "keep_statuses": [], "preview": "1"})
    assert 'id="retention-due" style="font-size:1.6rem">2</strong>' in preview.content.decode()
    saved = admin_client.post("/candidates/retention/", {**form, "confirmed_count": 1, "save": "1"})
    assert saved.status_code == 302 and RetentionPolicy.objects.get().enabled
    bad = admin_client.post("/candidates/retention/", {**form, "months_after_season": 0, "save": "1"})
    assert bad.status_code == 400


def test_the_policy_page_in_english(students, admin_client):
    page = admin_client.get("/candidates/retention/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Dry run (students these settings process tonight)" in page and "Run every night" in page
