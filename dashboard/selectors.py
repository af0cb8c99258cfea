"""The season's figures for the dashboard: aggregate SQL over indexed columns, computed on every request.

Nothing is copied or cached: each number is counted from the rows that hold the fact (candidates, entries,
bookings, submissions, evaluations, offers) when the page is asked for, so it is never stale and has no
second copy to keep right (docs/dashboard.md). Every query is narrowed to one season twice: the student's
season (`candidates_candidate.season_id`) and the fact's own season (the seminar's, the sheet's, the round's,
the offer's), so nothing of one season counts in another's figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import connection

from candidates.boards import PRESETS
from selection.models import Round

# The students of the season (merged-away duplicates are hidden rows, not students).
_STUDENTS = (
    "SELECT id, rank, university FROM candidates_candidate"
    " WHERE season_id = %(season)s AND merged_into_id IS NULL"
)
# The first day a student entered: their earliest entry's date, else the day they were added.
_FIRST_DAY = (
    "SELECT c.id, LEAST(min(e.entry_date), min((c.created_at AT TIME ZONE %(zone)s)::date)) AS day"
    " FROM candidates_candidate c LEFT JOIN candidates_entry e ON e.candidate_id = c.id"
    " WHERE c.season_id = %(season)s AND c.merged_into_id IS NULL GROUP BY c.id"
)
NO_BOARD = "（媒体なし）"
NO_SCHOOL = "（大学名なし）"
SCHOOLS_SHOWN = 30


@dataclass(frozen=True)
class Stage:
    key: str
    label: str


@dataclass(frozen=True)
class FunnelRow:
    label: str
    counts: tuple[int, ...]


@dataclass(frozen=True)
class Funnel:
    stages: tuple[Stage, ...]
    total: FunnelRow
    by_board: tuple[FunnelRow, ...]
    by_rank: tuple[FunnelRow, ...]
    by_school: tuple[FunnelRow, ...]


@dataclass(frozen=True)
class SeminarAttendance:
    title: str
    booked: int
    attended: int
    no_show: int
    unknown: int

    @property
    def rate(self) -> float | None:
        """Attended of those whose attendance was recorded (unrecorded bookings are not no-shows)."""
        recorded = self.attended + self.no_show
        return self.attended / recorded if recorded else None


@dataclass(frozen=True)
class InterviewerRate:
    name: str
    evaluations: int
    passed: int
    held: int
    failed: int

    @property
    def rate(self) -> float | None:
        return self.passed / self.evaluations if self.evaluations else None


@dataclass(frozen=True)
class DaysToOffer:
    offers: int
    median: float | None
    average: float | None
    buckets: tuple[tuple[str, int], ...]


def funnel_stages(*, season_id: int) -> tuple[tuple[Stage, ...], list[int]]:
    """The funnel's steps in order, with the ids of the season's rounds (a round's step: passed it)."""
    rounds = list(
        Round.objects.filter(season_id=season_id).order_by("position", "id").values_list("id", "name")
    )
    stages = [
        Stage("entries", "エントリー"),
        Stage("booked", "説明会予約"),
        Stage("attended", "説明会出席"),
        Stage("es", "ES提出"),
        *(Stage(f"round_{round_id}", f"{name} 通過") for round_id, name in rounds),
        Stage("offered", "内定"),
        Stage("accepted", "承諾"),
    ]
    return tuple(stages), [round_id for round_id, _name in rounds]


def _funnel_sql(round_ids: list[int]) -> tuple[str, dict[str, Any]]:
    params: dict[str, Any] = {f"round{index}": round_id for index, round_id in enumerate(round_ids)}
    counts = ", ".join(
        [
            "count(*)",
            "count(*) FILTER (WHERE booked)",
            "count(*) FILTER (WHERE attended)",
            "count(*) FILTER (WHERE es)",
            *(f"count(*) FILTER (WHERE %(round{index})s = ANY(rounds))" for index in range(len(round_ids))),
            "count(*) FILTER (WHERE offered)",
            "count(*) FILTER (WHERE accepted)",
        ]
    )
    sql = f"""
    WITH students AS ({_STUDENTS}),
    booked AS (
        SELECT b.candidate_id, bool_or(b.attendance = 'attended') AS attended
        FROM booking_booking b JOIN booking_seminar s ON s.id = b.seminar_id
        WHERE s.season_id = %(season)s AND NOT s.for_offer_holders AND b.status = 'active'
        GROUP BY b.candidate_id
    ),
    es AS (
        SELECT DISTINCT sub.candidate_id FROM selection_submission sub
        JOIN selection_entrysheet sheet ON sheet.id = sub.sheet_id
        WHERE sheet.season_id = %(season)s AND sub.submitted_at IS NOT NULL
    ),
    passed AS (
        SELECT e.candidate_id, array_agg(DISTINCT e.round_id) AS rounds
        FROM selection_evaluation e JOIN selection_round r ON r.id = e.round_id
        WHERE r.season_id = %(season)s AND e.decision = 'pass'
        GROUP BY e.candidate_id
    ),
    offered AS (
        SELECT candidate_id, bool_or(status = 'accepted') AS accepted
        FROM selection_offer WHERE season_id = %(season)s GROUP BY candidate_id
    ),
    facts AS MATERIALIZED (
        SELECT students.id, students.rank, students.university,
            booked.candidate_id IS NOT NULL AS booked, coalesce(booked.attended, false) AS attended,
            es.candidate_id IS NOT NULL AS es, coalesce(passed.rounds, '{{}}') AS rounds,
            offered.candidate_id IS NOT NULL AS offered, coalesce(offered.accepted, false) AS accepted
        FROM students
        LEFT JOIN booked ON booked.candidate_id = students.id
        LEFT JOIN es ON es.candidate_id = students.id
        LEFT JOIN passed ON passed.candidate_id = students.id
        LEFT JOIN offered ON offered.candidate_id = students.id
    ),
    boards AS (
        SELECT DISTINCT e.candidate_id, e.board FROM candidates_entry e
        JOIN students ON students.id = e.candidate_id
    )
    SELECT 'total', '', {counts} FROM facts
    UNION ALL SELECT 'rank', rank, {counts} FROM facts GROUP BY rank
    UNION ALL SELECT 'school', university, {counts} FROM facts GROUP BY university
    UNION ALL SELECT 'board', coalesce(boards.board, ''), {counts}
        FROM facts LEFT JOIN boards ON boards.candidate_id = facts.id GROUP BY coalesce(boards.board, '')
    """
    return sql, params


def funnel_for(*, season_id: int) -> Funnel:
    """Students at each step of the season's funnel, in all and by job board, rank and school.

    A student who entered through two boards counts under each board (their share of each board's funnel);
    the total counts every student once.
    """
    stages, round_ids = funnel_stages(season_id=season_id)
    sql, params = _funnel_sql(round_ids)
    with connection.cursor() as cursor:
        cursor.execute(sql, {**params, "season": season_id})
        rows = cursor.fetchall()
    total = FunnelRow("全体", (0,) * len(stages))
    grouped: dict[str, list[FunnelRow]] = {"rank": [], "school": [], "board": []}
    for dimension, value, *counts in rows:
        if dimension == "total":
            total = FunnelRow("全体", tuple(counts))
        elif dimension == "board":
            grouped["board"].append(FunnelRow(_board_label(value), tuple(counts)))
        else:
            label = value or (NO_SCHOOL if dimension == "school" else "")
            grouped[dimension].append(FunnelRow(label, tuple(counts)))
    by_entries = sorted(grouped["school"], key=lambda row: (-row.counts[0], row.label))
    return Funnel(
        stages=stages,
        total=total,
        by_board=tuple(sorted(grouped["board"], key=lambda row: (-row.counts[0], row.label))),
        by_rank=tuple(sorted(grouped["rank"], key=lambda row: row.label)),
        by_school=tuple(by_entries[:SCHOOLS_SHOWN]),
    )


def _board_label(key: str) -> str:
    if not key:
        return NO_BOARD
    preset = PRESETS.get(key)
    return preset.label if preset is not None else key


def _zone() -> str:
    from django.utils import timezone

    return str(timezone.get_current_timezone())


def entries_per_day(*, season_id: int) -> list[tuple[date, int]]:
    """New students of the season per day (the day of their first entry), every day from the first to the last."""
    sql = f"""
    WITH first_day AS ({_FIRST_DAY}), counted AS (SELECT day, count(*) AS students FROM first_day GROUP BY day)
    SELECT day::date, coalesce(counted.students, 0) FROM generate_series(
        (SELECT min(day) FROM counted), (SELECT max(day) FROM counted), interval '1 day'
    ) AS day LEFT JOIN counted USING (day) ORDER BY day
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"season": season_id, "zone": _zone()})
        return [(day, int(count)) for day, count in cursor.fetchall()]


def seminar_attendance(*, season_id: int) -> list[SeminarAttendance]:
    """Each seminar of the season: active bookings, attended, no-shows, not yet recorded."""
    sql = """
    SELECT s.title, count(b.id),
        count(b.id) FILTER (WHERE b.attendance = 'attended'),
        count(b.id) FILTER (WHERE b.attendance = 'no_show'),
        count(b.id) FILTER (WHERE b.attendance = 'unknown')
    FROM booking_seminar s
    LEFT JOIN booking_booking b ON b.seminar_id = s.id AND b.status = 'active'
        AND b.candidate_id IN (SELECT id FROM candidates_candidate WHERE season_id = %(season)s)
    WHERE s.season_id = %(season)s AND NOT s.for_offer_holders
    GROUP BY s.id, s.title ORDER BY min(s.id)
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"season": season_id})
        return [SeminarAttendance(*row) for row in cursor.fetchall()]


def interviewer_pass_rates(*, season_id: int) -> list[InterviewerRate]:
    """Each evaluator's decisions in the season's rounds (by the name recorded with the decision)."""
    sql = """
    SELECT e.evaluator_name, count(*),
        count(*) FILTER (WHERE e.decision = 'pass'),
        count(*) FILTER (WHERE e.decision = 'hold'),
        count(*) FILTER (WHERE e.decision = 'fail')
    FROM selection_evaluation e
    JOIN selection_round r ON r.id = e.round_id
    JOIN candidates_candidate c ON c.id = e.candidate_id
    WHERE r.season_id = %(season)s AND c.season_id = %(season)s AND c.merged_into_id IS NULL
    GROUP BY e.evaluator_name ORDER BY count(*) DESC, e.evaluator_name
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"season": season_id})
        return [InterviewerRate(*row) for row in cursor.fetchall()]


DAY_BUCKETS = ((0, 14), (15, 30), (31, 60), (61, 90), (91, 180), (181, None))


def days_to_offer(*, season_id: int) -> DaysToOffer:
    """Days from a student's first entry to their (first) offer of the season: median, average, spread."""
    buckets = ", ".join(
        f"count(*) FILTER (WHERE days >= {low}" + (f" AND days <= {high})" if high is not None else ")")
        for low, high in DAY_BUCKETS
    )
    sql = f"""
    WITH first_offer AS (
        SELECT candidate_id, min((issued_at AT TIME ZONE %(zone)s)::date) AS day
        FROM selection_offer WHERE season_id = %(season)s GROUP BY candidate_id
    ),
    spans AS (
        SELECT greatest(first_offer.day - LEAST(
            (SELECT min(e.entry_date) FROM candidates_entry e WHERE e.candidate_id = c.id),
            (c.created_at AT TIME ZONE %(zone)s)::date
        ), 0) AS days
        FROM first_offer JOIN candidates_candidate c ON c.id = first_offer.candidate_id
        WHERE c.season_id = %(season)s AND c.merged_into_id IS NULL
    )
    SELECT count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY days), avg(days), {buckets} FROM spans
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"season": season_id, "zone": _zone()})
        offers, median, average, *counts = cursor.fetchone()
    labels = [f"{low}〜{high}日" if high is not None else f"{low}日〜" for low, high in DAY_BUCKETS]
    return DaysToOffer(
        offers=int(offers),
        median=float(median) if median is not None else None,
        average=round(float(average), 1) if average is not None else None,
        buckets=tuple(zip(labels, (int(count) for count in counts), strict=True)),
    )


def season_student_count(*, season_id: int) -> int:
    """How many students the season's figures cover (for the audit entry of a download)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM ({_STUDENTS}) AS students", {"season": season_id})
        return int(cursor.fetchone()[0])
