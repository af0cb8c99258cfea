"""The season rule's triggers and the dashboard's work in their company's schema whatever the caller's search
path: a session on another schema (a restore, a support script) writes schema-qualified rows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper

from candidates.models import Candidate
from seasons.models import Season
from tests.booking.conftest import candidate_make

pytestmark = pytest.mark.django_db


@contextmanager
def _from_public() -> Iterator[tuple[CursorWrapper, str]]:
    """A cursor whose search path is public only, and the company's quoted schema for qualified names."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW search_path")
        company_path = cursor.fetchone()[0]
        schema = connection.schema_name
        cursor.execute("SET LOCAL search_path TO public")
        try:
            yield cursor, f'"{schema}"'
        finally:
            cursor.execute(f"SET LOCAL search_path TO {company_path}")


def test_a_student_inserted_from_another_search_path_gets_their_years_season(two_seasons):
    _season_27, season_28 = two_seasons
    with transaction.atomic(), _from_public() as (cursor, schema):
        cursor.execute(
            f"INSERT INTO {schema}.candidates_candidate (family_name, given_name, family_kana, given_kana,"
            " email, phone, university_raw, university, rank, rank_is_manual, graduation_year, status,"
            " email_undeliverable, duplicate_key, created_at, updated_at)"
            " VALUES ('青木', '一郎', 'アオキ', 'イチロウ', 'path@example.jp', '', '', '東京大学', 'A', false,"
            " 2029, 'entry', false, '', now(), now()) RETURNING id, season_id"
        )
        student_id, season_id = cursor.fetchone()
        cursor.execute("SHOW search_path")
        assert cursor.fetchone()[0] == "public"  # the trigger gave the caller its path back
    made = Season.objects.get(graduation_year=2029)  # made in the company's schema, not in public's
    assert season_id == made.pk
    with transaction.atomic(), _from_public() as (cursor, schema):
        cursor.execute(
            f"UPDATE {schema}.candidates_candidate SET graduation_year = 2028 WHERE id = %s", [student_id]
        )
    assert Candidate.objects.get(pk=student_id).season_id == season_28.pk
    # The dashboard's facts followed both statements in the same schema.
    with connection.cursor() as cursor:
        cursor.execute("SELECT season_id FROM dashboard_fact WHERE candidate_id = %s", [student_id])
        assert cursor.fetchone() == (season_28.pk,)


def test_a_row_without_a_season_inserted_from_another_search_path_joins_the_default(two_seasons):
    season_27, _season_28 = two_seasons
    with transaction.atomic(), _from_public() as (cursor, schema):
        cursor.execute(
            f"INSERT INTO {schema}.booking_interviewtype (name, step, duration_minutes, buffer_minutes,"
            " capacity, place, online_url, change_deadline_hours, active)"
            " VALUES ('一次面接', 'interview', 30, 10, 1, '', '', 24, true) RETURNING season_id"
        )
        assert cursor.fetchone() == (season_27.pk,)


def test_dashboard_facts_follow_an_update_from_another_search_path(two_seasons):
    student = candidate_make(graduation_year=2028)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM dashboard_fact WHERE candidate_id = %s", [student.pk])
        assert cursor.fetchone() == (1,)
    with transaction.atomic(), _from_public() as (cursor, schema):
        cursor.execute(f"UPDATE {schema}.candidates_candidate SET rank = 'B' WHERE id = %s", [student.pk])
    with connection.cursor() as cursor:
        cursor.execute("SELECT rank FROM dashboard_fact WHERE candidate_id = %s", [student.pk])
        assert cursor.fetchone() == ("B",)
