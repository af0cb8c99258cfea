"""The facts' refresh finds its students by their ids under any cached plan: PostgreSQL switches a function's
statement to a generic plan after five calls in a session, and that plan must still look students up by
primary key, not read every student on each booking."""

from __future__ import annotations

import pytest
from django.db import connection

from tests.booking.conftest import candidate_make

pytestmark = pytest.mark.django_db


def _candidate_scans(cursor) -> int:
    cursor.execute(
        "SELECT coalesce(sum(seq_scan), 0) FROM pg_stat_xact_user_tables"
        " WHERE relname = 'candidates_candidate' AND schemaname = current_schema()"
    )
    return int(cursor.fetchone()[0])


def test_a_refresh_under_the_generic_plan_reads_students_by_their_ids(acme):
    student = candidate_make(graduation_year=2027)
    with connection.cursor() as cursor:
        # The generic plan, and a planner that takes an index wherever the statement allows one.
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("DISCARD PLANS")  # plans cached by earlier tests on this connection are made again
        before = _candidate_scans(cursor)
        cursor.execute("SELECT dashboard_fact_refresh(ARRAY[%s]::bigint[])", [student.pk])
        assert _candidate_scans(cursor) == before
        cursor.execute("SELECT rank FROM dashboard_fact WHERE candidate_id = %s", [student.pk])
        assert cursor.fetchone() == (student.rank,)
