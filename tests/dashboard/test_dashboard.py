"""The season's dashboard: its counts against plain SQL, season separation, who reads it, its CSV downloads."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.db import connection
from django.utils import timezone

from bench.dashboard_counts import plain_counts
from candidates.models import AuditEntry, Entry
from dashboard import selectors
from seasons.models import Season
from seasons.services import season_switch
from tests.selection.conftest import person, student

_codes = itertools.count(1)


def _booking(candidate, seminar, attendance="unknown", status="active"):
    from booking.models import Booking

    slot = seminar.slots.first()
    return Booking.objects.create(
        candidate=candidate,
        slot=slot,
        seminar=seminar,
        quota=slot.quotas.first(),
        status=status,
        attendance=attendance,
        check_in_code=f"dash{next(_codes)}",
    )


def _evaluation(round_, candidate, evaluator, decision):
    from selection.models import Evaluation

    return Evaluation.objects.create(
        round=round_,
        candidate=candidate,
        evaluator=evaluator,
        evaluator_name=evaluator.email,
        decision=decision,
        decided_at=timezone.now(),
    )


def _offer(candidate, season, status="issued", days_after_entry=0):
    from selection.models import Offer

    issued = timezone.now() + dt.timedelta(days=days_after_entry)
    return Offer.objects.create(
        season=season,
        candidate=candidate,
        status=status,
        issued_by_name="recruiter@acme.example.jp",
        issued_at=issued,
        deadline=issued + dt.timedelta(days=7),
        start_date=dt.date(2099, 4, 1),
        decline_reason="other" if status == "declined" else "",
    )


def _submitted(candidate, season):
    from selection.models import EntrySheet, Submission

    sheet, _ = EntrySheet.objects.get_or_create(season=season)
    return Submission.objects.create(sheet=sheet, candidate=candidate, submitted_at=timezone.now())


def _entry(candidate, board, day=None):
    return Entry.objects.create(
        board=board, dedupe_key=f"d{next(_codes)}", row_hash="x", candidate=candidate, entry_date=day
    )


@pytest.fixture
def two_seasons(acme, flow):
    """27卒: six students through the funnel; 28卒: three students with facts of their own."""
    from tests.factories import SeminarFactory

    season = flow["season"]
    later = Season.objects.get_or_create(graduation_year=2028)[0]
    first, second, _offer_round = flow["rounds"]
    evaluator = person("interviewer")
    seminar = SeminarFactory(title="27卒説明会", season=season)
    later_seminar = SeminarFactory(title="28卒説明会", season=later)
    today = timezone.localdate()
    ours = [
        student(rank="A" if index < 3 else "B", university="東京大学", status="entry") for index in range(6)
    ]
    for index, candidate in enumerate(ours):
        _entry(candidate, "mynavi" if index % 2 else "rikunabi", today - dt.timedelta(days=index))
    _entry(ours[0], "mynavi", today)  # one student through two boards
    _booking(ours[0], seminar, "attended")
    _booking(ours[1], seminar, "attended")
    _booking(ours[2], seminar, "no_show")
    _booking(ours[3], seminar, status="cancelled")
    _submitted(ours[0], season)
    _submitted(ours[1], season)
    _evaluation(first, ours[0], evaluator, "pass")
    _evaluation(first, ours[1], evaluator, "fail")
    _evaluation(second, ours[0], evaluator, "pass")
    _offer(ours[0], season, "accepted", days_after_entry=20)
    theirs = [
        student(rank="C", university="京都大学", graduation_year=2028, status="entry") for _ in range(3)
    ]
    for candidate in theirs:
        _entry(candidate, "mynavi", today)
        _booking(candidate, later_seminar, "attended")
        _submitted(candidate, later)
        _offer(candidate, later, "accepted")
    return {"season": season, "later": later, "ours": ours, "theirs": theirs, "rounds": (first, second)}


def test_the_funnel_equals_plain_sql_counts_and_each_season_counts_only_its_own(two_seasons):
    season, later = two_seasons["season"], two_seasons["later"]
    funnel = selectors.funnel_for(season_id=season.pk)
    _stages, round_ids = selectors.funnel_stages(season_id=season.pk)
    assert list(funnel.total.counts) == plain_counts(season.pk, round_ids)
    # entries, booked, attended, ES, 一次 passed, 二次 passed, 内定 round passed, 内定, 承諾
    assert funnel.total.counts == (6, 3, 2, 2, 1, 1, 0, 1, 1)
    later_funnel = selectors.funnel_for(season_id=later.pk)
    _stages, later_rounds = selectors.funnel_stages(season_id=later.pk)
    assert later_rounds == [] and later_funnel.total.counts == (3, 3, 3, 3, 3, 3)
    assert list(later_funnel.total.counts) == plain_counts(later.pk, later_rounds)
    # Breakdowns: ranks and schools of this season only; a student of two boards counts in both.
    assert {row.label: row.counts[0] for row in funnel.by_rank} == {"A": 3, "B": 3}
    assert [row.label for row in funnel.by_school] == ["東京大学"]
    boards = {row.label: row.counts for row in funnel.by_board}
    assert boards["マイナビ"][0] == 4 and boards["リクナビ"][0] == 3 and boards["マイナビ"][-1] == 1
    assert sum(count for _day, count in selectors.entries_per_day(season_id=season.pk)) == 6
    assert sum(count for _day, count in selectors.entries_per_day(season_id=later.pk)) == 3


def test_attendance_pass_rates_and_days_to_offer(two_seasons):
    season = two_seasons["season"]
    [seminar] = selectors.seminar_attendance(season_id=season.pk)
    assert (seminar.title, seminar.booked, seminar.attended, seminar.no_show, seminar.unknown) == (
        "27卒説明会",
        3,
        2,
        1,
        0,
    )
    [rates] = selectors.interviewer_pass_rates(season_id=season.pk)
    assert (rates.evaluations, rates.passed, rates.failed) == (3, 2, 1)
    days = selectors.days_to_offer(season_id=season.pk)
    assert days.offers == 1 and days.median == 20 and dict(days.buckets)["15〜30日"] == 1
    assert selectors.days_to_offer(season_id=two_seasons["later"].pk).offers == 3


def test_a_viewer_reads_the_dashboard_of_their_season_and_an_interviewer_cannot(two_seasons, make_user):
    client, _viewer = make_user("viewer")
    page = client.get("/dashboard/")
    text = page.content.decode()
    assert page.status_code == 200 and "<svg" in text and "27卒説明会" in text and "28卒説明会" not in text
    assert "<script" not in text.split("<main", 1)[-1].split("</main>", 1)[0]
    session = client.session
    season_switch(session=session, season=two_seasons["later"])
    session.save()
    text = client.get("/dashboard/").content.decode()
    assert "28卒説明会" in text and "27卒説明会" not in text and "京都大学" in text and "東京大学" not in text
    interviewer, _user = make_user("interviewer", email="iv@acme.example.jp")
    assert interviewer.get("/dashboard/").status_code == 403
    assert interviewer.get("/dashboard/funnel.csv").status_code == 403


def test_a_csv_download_is_neutralised_and_audited(two_seasons, make_user):
    student(university='=HYPERLINK("http://evil.example")', status="entry")
    client, viewer = make_user("viewer")
    answer = client.get("/dashboard/schools.csv", {"encoding": "utf8"})
    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/csv")
    body = answer.content.decode("utf-8-sig")
    assert "'=HYPERLINK" in body and "\r\n=HYPERLINK" not in body
    assert body.splitlines()[0].startswith("大学,エントリー")
    entry = AuditEntry.objects.get(action="export")
    assert entry.user == viewer and "ダッシュボード" in entry.target and entry.student_count == 7
    assert entry.filters == {"season": two_seasons["season"].pk, "table": "schools"}
    assert client.get("/dashboard/nothing.csv").status_code == 404
    assert AuditEntry.objects.filter(action="export").count() == 1


def _facts_as_rebuilt() -> bool:
    """dashboard_fact holds exactly what recomputing every student's facts from the source rows gives."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM ((SELECT * FROM dashboard_fact EXCEPT SELECT * FROM dashboard_fact_select(NULL))"
            " UNION ALL (SELECT * FROM dashboard_fact_select(NULL) EXCEPT SELECT * FROM dashboard_fact)) AS d"
        )
        return cursor.fetchone()[0] == 0


def test_the_figures_follow_each_change_in_the_same_transaction(two_seasons):
    from booking.models import Booking
    from selection.models import Offer

    season, later = two_seasons["season"], two_seasons["later"]
    ours = two_seasons["ours"]
    assert _facts_as_rebuilt()
    Booking.objects.filter(candidate=ours[1]).update(status="cancelled")
    ours[5].graduation_year = 2028
    ours[5].save(update_fields=["graduation_year"])  # the database moves the student to 28卒
    Offer.objects.filter(candidate=ours[0]).delete()
    counts = selectors.funnel_for(season_id=season.pk).total.counts
    assert (counts[0], counts[1], counts[2], counts[-2], counts[-1]) == (5, 2, 1, 0, 0)
    assert selectors.funnel_for(season_id=later.pk).total.counts[0] == 4
    assert _facts_as_rebuilt()
    ours[2].delete()
    assert selectors.season_student_count(season_id=season.pk) == 4 and _facts_as_rebuilt()


def test_a_rush_booking_noted_for_later_is_in_the_figures_the_dashboard_shows(two_seasons, make_user):
    """The rush path's winners note their facts as stale (dashboard migration 0003); the dashboard brings
    them up to date before it reads, so the page and its CSV count the seat even before the worker ran."""
    from booking.models import Seminar

    season, ours = two_seasons["season"], two_seasons["ours"]
    seminar = Seminar.objects.get(title="27卒説明会")
    booked_before = selectors.funnel_for(season_id=season.pk).total.counts[1]
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('saas.facts_later', 'on', true)")
        _booking(ours[4], seminar)
        _booking(ours[5], seminar)
        cursor.execute("SELECT set_config('saas.facts_later', 'off', true)")
        cursor.execute("SELECT count(*) FROM dashboard_fact_stale")
        assert cursor.fetchone() == (2,)
    assert selectors.funnel_for(season_id=season.pk).total.counts[1] == booked_before  # not refreshed yet
    client, _viewer = make_user("viewer")
    assert client.get("/dashboard/").status_code == 200
    assert selectors.funnel_for(season_id=season.pk).total.counts[1] == booked_before + 2
    assert _facts_as_rebuilt()
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('saas.facts_later', 'on', true)")
        _booking(ours[3], seminar)  # the student whose earlier booking was cancelled
        cursor.execute("SELECT set_config('saas.facts_later', 'off', true)")
    answer = client.get("/dashboard/funnel.csv", {"encoding": "utf8"})
    assert answer.status_code == 200 and _facts_as_rebuilt()
