"""Nothing of 27卒 in 28卒: every list, the My Page, step mails and segment mails stay inside their season."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from booking import errors as booking_errors
from booking.services.bookings import booking_create
from booking.services.interviews import interview_type_create
from notifications.models import Enrollment, OutboxMessage, Sequence
from notifications.services import sequence_trigger
from notifications.services.segments import segment_create
from seasons.services import season_switch
from tests.booking.conftest import candidate_make, seminar_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def both(two_seasons):
    """One student, seminar, interview, sequence and segment mail in each season."""
    season_27, season_28 = two_seasons
    made = {}
    for season, year, tag in ((season_27, 2027, "nijunana"), (season_28, 2028, "nijuhachi")):
        made[year] = {
            "season": season,
            "student": candidate_make(
                family_name=f"学生{tag}",
                email=f"{tag}@example.jp",
                graduation_year=year,
                university=f"{tag}大学",
            ),
            "seminar": seminar_make(title=f"説明会{tag}", season=season, quotas={"A": 5}, capacity=5),
            "interview": interview_type_create(
                name=f"面接{tag}", step="entry", interviewers=[], season=season
            ),
            "sequence": Sequence.objects.create(
                name=f"シーケンス{tag}", trigger="seminar_booked", is_active=True, season=season
            ),
        }
    return made


def _page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.content.decode()


def test_every_recruiter_list_shows_only_the_chosen_season(both, admin_client):
    pages = [
        "/candidates/",
        "/booking/seminars/",
        "/booking/interviews/",
        "/mail/sequences/",
        "/mail/segments/",
    ]
    for year, other in ((2027, 2028), (2028, 2027)):
        session = admin_client.session
        season_switch(session=session, season=both[year]["season"])
        session.save()
        mine = {"nijunana" if year == 2027 else "nijuhachi"}.pop()
        theirs = {"nijunana" if other == 2027 else "nijuhachi"}.pop()
        segment_create(
            name=f"配信{mine}",
            subject="件名",
            body="本文",
            filters={},
            season=both[year]["season"],
            send_at=timezone.now() + dt.timedelta(days=1),
        )
        for path in pages:
            body = _page(admin_client, path)
            assert theirs not in body, (path, year)
        listed = _page(admin_client, "/candidates/")
        assert f"学生{mine}" in listed and both[year]["season"].name in listed
        assert f"説明会{mine}" in _page(admin_client, "/booking/seminars/")
        assert f"面接{mine}" in _page(admin_client, "/booking/interviews/")
        assert f"シーケンス{mine}" in _page(admin_client, "/mail/sequences/")
        assert f"配信{mine}" in _page(admin_client, "/mail/segments/")


def test_export_and_the_header_switch(both, admin_client):
    response = admin_client.post(
        "/seasons/switch/", {"season": both[2028]["season"].pk, "next": "/candidates/"}
    )
    assert response.status_code == 302 and response.url == "/candidates/"
    export = b"".join(
        admin_client.get("/candidates/export.csv", {"encoding": "utf8"}).streaming_content
    ).decode("utf-8-sig")
    assert "nijuhachi@example.jp" in export and "nijunana@example.jp" not in export
    # Another company's season id or an outside address changes nothing dangerous.
    response = admin_client.post("/seasons/switch/", {"season": 999999, "next": "https://evil.example/"})
    assert response.status_code == 302 and response.url == "/home/"
    assert "nijuhachi" in _page(admin_client, "/candidates/")


def test_a_student_sees_and_books_only_their_seasons_seminars_and_interviews(both):
    from booking.selectors import interview_types_for_candidate, seminar_list_for_rank

    student = both[2028]["student"]
    seen = [seminar.title for seminar, _access in seminar_list_for_rank(rank="A", candidate=student)]
    assert seen == ["説明会nijuhachi"]
    assert list(interview_types_for_candidate(candidate=student)) == [both[2028]["interview"]]
    with pytest.raises(booking_errors.NotVisibleError):
        booking_create(candidate=student, slot_id=both[2027]["seminar"].slots.get().pk)
    assert booking_create(candidate=student, slot_id=both[2028]["seminar"].slots.get().pk).kind == "booked"


def test_step_mails_and_segments_reach_only_their_season(both):
    for year in (2027, 2028):
        sequence_trigger(
            event="seminar_booked",
            candidate_id=both[year]["student"].pk,
            occurred_at=timezone.now(),
            context={"booking_id": year},
        )
    pairs = set(Enrollment.objects.values_list("sequence__season_id", "candidate__season_id"))
    assert pairs == {(both[2027]["season"].pk,) * 2, (both[2028]["season"].pk,) * 2}
    segment = segment_create(
        name="全員へ", subject="件名", body="本文", filters={}, season=both[2027]["season"]
    )
    assert segment.recipients == 1
    assert list(OutboxMessage.objects.filter(segment=segment).values_list("to_address", flat=True)) == [
        "nijunana@example.jp"
    ]
