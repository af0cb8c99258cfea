"""The dashboard's funnel counted fact by fact with plain SQL (the benchmark's and the tests' check)."""

from __future__ import annotations

from django.db import connection


def plain_counts(season_id: int, round_ids: list[int]) -> list[int]:
    """The same facts counted one by one with plain SQL, in the funnel's order."""
    student = "c.season_id = %(s)s AND c.merged_into_id IS NULL"
    queries = [
        f"SELECT count(*) FROM candidates_candidate c WHERE {student}",
        "SELECT count(DISTINCT b.candidate_id) FROM booking_booking b JOIN booking_seminar m ON m.id = b.seminar_id"
        f" JOIN candidates_candidate c ON c.id = b.candidate_id WHERE {student} AND m.season_id = %(s)s"
        " AND b.status = 'active' AND NOT m.for_offer_holders",
        "SELECT count(DISTINCT b.candidate_id) FROM booking_booking b JOIN booking_seminar m ON m.id = b.seminar_id"
        f" JOIN candidates_candidate c ON c.id = b.candidate_id WHERE {student} AND m.season_id = %(s)s"
        " AND b.status = 'active' AND NOT m.for_offer_holders AND b.attendance = 'attended'",
        "SELECT count(DISTINCT x.candidate_id) FROM selection_submission x JOIN selection_entrysheet h"
        f" ON h.id = x.sheet_id JOIN candidates_candidate c ON c.id = x.candidate_id WHERE {student}"
        " AND h.season_id = %(s)s AND x.submitted_at IS NOT NULL",
        *(
            "SELECT count(DISTINCT e.candidate_id) FROM selection_evaluation e JOIN candidates_candidate c"
            f" ON c.id = e.candidate_id WHERE {student} AND e.round_id = {int(round_id)} AND e.decision = 'pass'"
            for round_id in round_ids
        ),
        "SELECT count(DISTINCT o.candidate_id) FROM selection_offer o JOIN candidates_candidate c"
        f" ON c.id = o.candidate_id WHERE {student} AND o.season_id = %(s)s",
        "SELECT count(DISTINCT o.candidate_id) FROM selection_offer o JOIN candidates_candidate c"
        f" ON c.id = o.candidate_id WHERE {student} AND o.season_id = %(s)s AND o.status = 'accepted'",
    ]
    counts = []
    with connection.cursor() as cursor:
        for query in queries:
            cursor.execute(query, {"s": season_id})
            counts.append(cursor.fetchone()[0])
    return counts
