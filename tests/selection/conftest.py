"""Fixtures of the selection tests: acme's schema and users, a season's flow of rounds, interviews booked."""

from __future__ import annotations

import itertools
import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from tests.candidates.conftest import acme, admin_client, eager_celery, make_user  # noqa: F401 - fixtures used here
from tests.conftest import ROOT
from tests.factories import CandidateFactory, UserFactory
from tests.notifications.conftest import smtp_server  # noqa: F401 - fixtures used here

_numbers = itertools.count(1)


def person(role: str):
    return UserFactory(email=f"{role}{next(_numbers)}@acme.example.jp", role=role)


def interview_booked(*, candidate, interview_type, interviewer, starts_at: datetime):
    """A student booked with this interviewer (the session rows interview_book makes, at any time)."""
    from booking.models import InterviewBooking, InterviewSession

    session = InterviewSession.objects.create(
        interview_type=interview_type,
        interviewer=interviewer,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=interview_type.duration_minutes),
        capacity=1,
        taken=1,
    )
    return InterviewBooking.objects.create(
        candidate=candidate, session=session, interview_type=interview_type
    )


@pytest.fixture
def flow(acme):  # noqa: F811 - the fixture imported above
    """27卒's flow: 一次面接 (form: 論理性 1–5, 志望度 高/中/低) → 二次面接 (with its interview) → 内定."""
    from booking.services.interviews import interview_type_create
    from seasons.models import Season
    from selection.services import criterion_add, round_create

    season = Season.objects.get(graduation_year=2027)
    interviewer = person("interviewer")
    first_type = interview_type_create(
        name="一次面接", step="interview", interviewers=[interviewer], season=season
    )
    second_type = interview_type_create(name="二次面接", step="", interviewers=[interviewer], season=season)
    first = round_create(season=season, name="一次面接", step_key="interview", interview_type=first_type)
    second = round_create(season=season, name="二次面接", interview_type=second_type)
    second_type.step = second.step_key
    second_type.save(update_fields=["step"])
    offer = round_create(season=season, name="内定", step_key="offer")
    logic = criterion_add(round=first, label="論理性", kind="scale")
    motivation = criterion_add(round=first, label="志望度", kind="choice", choices_text="高, 中, 低")
    return {
        "season": season,
        "interviewer": interviewer,
        "rounds": (first, second, offer),
        "types": (first_type, second_type),
        "criteria": (logic, motivation),
    }


def student(**fields):
    return CandidateFactory(status=fields.pop("status", "interview"), **fields)


def later_today(minutes: int = 60) -> datetime:
    """A time today (Japan), within the day whatever the clock says."""
    now = timezone.localtime()
    end_of_day = now.replace(hour=23, minute=30, second=0, microsecond=0)
    return min(now + timedelta(minutes=minutes), end_of_day)


def status_sequence(*, season, status: str, subject: str = "s", body: str = "b"):
    """An active step-mail sequence started when a student's status becomes `status`, with one mail at once."""
    from notifications.models import MailTemplate
    from notifications.services import sequence_save, step_save

    sequence = sequence_save(
        name=f"{status}のご案内",
        trigger="status_changed",
        trigger_status=status,
        is_active=True,
        season=season,
    )
    step_save(
        sequence=sequence, template=MailTemplate.objects.create(name=status, subject=subject, body=body)
    )
    return sequence


# Browser tests: a phone's page, and pictures for docs/screenshots/ (SAAS_SCREENSHOTS=1, `make screenshots`).
PHONE = {"viewport": {"width": 390, "height": 844}, "locale": "ja-JP", "is_mobile": True, "has_touch": True}
SCREENSHOTS = ROOT / "docs" / "screenshots"


def screenshot(page, name: str, tmp_path: Path) -> None:
    """The page in full: into docs/screenshots/ under SAAS_SCREENSHOTS, else the test's own folder."""
    target = SCREENSHOTS if os.environ.get("SAAS_SCREENSHOTS") else tmp_path
    target.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target / name), full_page=True)
