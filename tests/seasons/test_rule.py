"""The database decides a student's season: their graduation year's (made when missing), else the default."""

from __future__ import annotations

import io

import pytest
from django.db import connection, transaction

from candidates.models import Candidate
from candidates.services.importing import entries_import_file
from seasons.errors import SeasonError
from seasons.models import Season
from seasons.selectors import season_default
from seasons.services import season_archive_set, season_create, season_default_set
from tests.booking.conftest import candidate_make, seminar_make
from tests.candidates.conftest import csv_bytes

pytestmark = pytest.mark.django_db


def test_graduation_year_picks_the_season_and_a_new_year_makes_one(two_seasons):
    season_27, season_28 = two_seasons
    assert candidate_make(graduation_year=2028).season_id == season_28.pk
    assert candidate_make().season_id == season_27.pk == season_default().pk  # no year: the default season
    assert not Season.objects.filter(graduation_year=2029).exists()
    later = candidate_make(graduation_year=2029)
    made = Season.objects.get(graduation_year=2029)
    assert later.season_id == made.pk and made.name == "29卒" and not made.is_default
    # Nonsense years never make a season.
    assert candidate_make(graduation_year=1066).season_id == season_27.pk


def test_a_corrected_graduation_year_moves_the_student_unless_the_season_was_chosen(two_seasons):
    season_27, season_28 = two_seasons
    student = candidate_make()
    Candidate.objects.filter(pk=student.pk).update(graduation_year=2028)
    student.refresh_from_db()
    assert student.season_id == season_28.pk
    # The same statement moving the student to another season wins over the year.
    Candidate.objects.filter(pk=student.pk).update(graduation_year=2026, season=season_27)
    student.refresh_from_db()
    assert (student.graduation_year, student.season_id) == (2026, season_27.pk)
    # Any other change leaves the season alone.
    Candidate.objects.filter(pk=student.pk).update(rank="B")
    student.refresh_from_db()
    assert student.season_id == season_27.pk


def test_import_puts_each_row_into_its_graduation_years_season(two_seasons):
    season_27, season_28 = two_seasons
    report = entries_import_file(
        fileobj=io.BytesIO(
            csv_bytes(
                "氏名,氏名（カナ）,メールアドレス,学校名,卒業年\n"
                "青木　一郎,アオキ　イチロウ,one@example.jp,東京大学,2027\n"
                "井上　二郎,イノウエ　ジロウ,two@example.jp,京都大学,2028\n"
                "上田　三郎,ウエダ　サブロウ,three@example.jp,大阪大学,\n",
                encoding="utf-8",
            )
        )
    )
    assert report.created == 3
    seasons = dict(Candidate.objects.values_list("email", "season_id"))
    assert seasons == {
        "one@example.jp": season_27.pk,
        "two@example.jp": season_28.pk,
        "three@example.jp": season_27.pk,  # no year: the default season
    }


def test_seasons_default_and_archive_rules(two_seasons):
    season_27, season_28 = two_seasons
    with pytest.raises(SeasonError):
        season_create(graduation_year=2028)
    with pytest.raises(SeasonError):
        season_create(graduation_year=1999)
    with pytest.raises(SeasonError):
        season_archive_set(season=season_27, archived=True)
    season_default_set(season=season_28)
    assert list(Season.objects.filter(is_default=True)) == [season_28]
    assert candidate_make().season_id == season_28.pk
    season_archive_set(season=season_27, archived=True)
    season_27.refresh_from_db()
    assert season_27.is_archived


def test_rows_of_other_apps_without_a_season_join_the_default(two_seasons):
    season_27, _season_28 = two_seasons
    assert seminar_make().season_id == season_27.pk


def test_existing_students_migrate_into_their_years_and_the_most_common_year_becomes_default(acme):
    """The data step of candidates migration 0007, on students that had no season yet."""
    from importlib import import_module

    fill = import_module("candidates.migrations.0009_candidate_season").FILL
    with transaction.atomic():
        with connection.cursor() as cursor:
            # A company as it was before seasons: students without one, no seasons at all.
            cursor.execute("ALTER TABLE candidates_candidate DISABLE TRIGGER candidate_season_pick")
            cursor.execute("ALTER TABLE candidates_candidate ALTER COLUMN season_id DROP NOT NULL")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            for year, count in ((2026, 1), (2027, 2), (2028, 3), (None, 1)):
                for _ in range(count):
                    cursor.execute(
                        "INSERT INTO candidates_candidate (family_name, given_name, family_kana, given_kana,"
                        " email, phone, university_raw, university, rank, rank_is_manual, graduation_year,"
                        " status, email_undeliverable, duplicate_key, created_at, updated_at, season_id)"
                        " VALUES ('', '', '', '', '', '', '', '', 'Z', false, %s, 'entry', false, '',"
                        " now(), now(), NULL)",
                        [year],
                    )
            cursor.execute("UPDATE candidates_candidate SET season_id = NULL")
            cursor.execute("UPDATE seasons_season SET is_default = false")
            cursor.execute(
                "DELETE FROM seasons_season WHERE NOT EXISTS (SELECT 1 FROM candidates_candidate c"
                " WHERE c.season_id = seasons_season.id)"
            )
            cursor.execute(fill)
            cursor.execute("SELECT graduation_year FROM seasons_season WHERE is_default")
            assert cursor.fetchall() == [(2028,)]
            cursor.execute(
                "SELECT c.graduation_year, s.graduation_year FROM candidates_candidate c"
                " JOIN seasons_season s ON s.id = c.season_id"
            )
            pairs = cursor.fetchall()
            assert pairs and all(student == season or student is None for student, season in pairs)
            assert {season for student, season in pairs if student is None} == {2028}
            cursor.execute("SELECT count(*) FROM candidates_candidate WHERE season_id IS NULL")
            assert cursor.fetchone() == (0,)
            transaction.set_rollback(True)


def test_seasons_page_admins_add_and_choose_the_default_others_are_refused(
    two_seasons, admin_client, make_user
):
    season_27, season_28 = two_seasons
    response = admin_client.post("/seasons/", {"action": "create", "graduation_year": 2029, "label": ""})
    assert response.status_code == 302
    assert admin_client.post("/seasons/", {"action": "create", "graduation_year": 2029}).status_code == 400
    admin_client.post("/seasons/", {"action": "default", "season": season_28.pk})
    assert season_default() == season_28
    page = admin_client.get("/seasons/").content.decode()
    assert "29卒" in page and "28卒" in page
    viewer, _user = make_user("viewer")
    assert viewer.get("/seasons/").status_code == 403
    assert viewer.post("/seasons/", {"action": "default", "season": season_27.pk}).status_code == 403
    assert season_default() == season_28
