"""The season's figures for the dashboard, read from dashboard_fact (one row per student) and the seasons' rows.

dashboard_fact is kept by database triggers in the same transaction as every change to the rows that hold a
fact (dashboard migration 0001, docs/dashboard.md), so the figures read here are as current as the data. The
one exception is the rush path's batched winners: their facts are noted for later and caught up (by the
confirmations' worker, and by the dashboard's readers before they read: booking/services/confirmations.py::
rush_facts_refresh), never read stale.
The funnel counts a fact only when it belongs to the student's own season (the seminar's, the sheet's, the
round's, the offer's): nothing of one season counts in another's figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import connection
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, pgettext

from candidates.boards import PRESETS
from selection.models import Round

_FACTS = "SELECT * FROM dashboard_fact WHERE season_id = %(season)s"
NO_BOARD = gettext_noop("（媒体なし）")
NO_SCHOOL = gettext_noop("（大学名なし）")
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
        Stage("entries", pgettext("ダッシュボード", "エントリー")),
        Stage("booked", _("説明会予約")),
        Stage("attended", _("説明会出席")),
        Stage("es", _("ES提出")),
        *(Stage(f"round_{round_id}", _("%(round)s 通過") % {"round": name}) for round_id, name in rounds),
        Stage("offered", pgettext("ダッシュボード", "内定")),
        Stage("accepted", pgettext("ダッシュボード", "承諾")),
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
            *(
                f"count(*) FILTER (WHERE %(round{index})s = ANY(passed_rounds))"
                for index in range(len(round_ids))
            ),
            "count(*) FILTER (WHERE offered_on IS NOT NULL)",
            "count(*) FILTER (WHERE accepted)",
        ]
    )
    # One pass over the season's rows; boards are grouped by each student's set of boards, and each set's
    # counts are added to every board in it (in Python: a handful of sets).
    sql = f"""
    SELECT GROUPING(rank), GROUPING(university), GROUPING(boards), rank, university, boards, {counts}
    FROM dashboard_fact WHERE season_id = %(season)s
    GROUP BY GROUPING SETS ((), (rank), (university), (boards))
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
    total = FunnelRow(pgettext("ダッシュボード", "全体"), (0,) * len(stages))
    ranks: list[FunnelRow] = []
    schools: list[FunnelRow] = []
    boards: dict[str, list[int]] = {}
    for no_rank, no_school, no_boards, rank, university, board_set, *counts in rows:
        if not no_rank:
            ranks.append(FunnelRow(rank, tuple(counts)))
        elif not no_school:
            schools.append(FunnelRow(university or _(NO_SCHOOL), tuple(counts)))
        elif not no_boards:
            for board in board_set or [""]:
                summed = boards.setdefault(_board_label(board), [0] * len(counts))
                summed[:] = [a + b for a, b in zip(summed, counts, strict=True)]
        else:
            total = FunnelRow(pgettext("ダッシュボード", "全体"), tuple(counts))
    by_board = [FunnelRow(label, tuple(counts)) for label, counts in boards.items()]
    by_entries = sorted(schools, key=lambda row: (-row.counts[0], row.label))
    return Funnel(
        stages=stages,
        total=total,
        by_board=tuple(sorted(by_board, key=lambda row: (-row.counts[0], row.label))),
        by_rank=tuple(sorted(ranks, key=lambda row: row.label)),
        by_school=tuple(by_entries[:SCHOOLS_SHOWN]),
    )


def _board_label(key: str) -> str:
    if not key:
        return _(NO_BOARD)
    preset = PRESETS.get(key)
    return preset.label if preset is not None else key


def entries_per_day(*, season_id: int) -> list[tuple[date, int]]:
    """New students of the season per day (the day of their first entry), every day from the first to the last."""
    sql = f"""
    WITH counted AS (SELECT first_day AS day, count(*) AS students FROM ({_FACTS}) AS facts GROUP BY first_day)
    SELECT day::date, coalesce(counted.students, 0) FROM generate_series(
        (SELECT min(day) FROM counted), (SELECT max(day) FROM counted), interval '1 day'
    ) AS day LEFT JOIN counted USING (day) ORDER BY day
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"season": season_id})
        return [(day, int(count)) for day, count in cursor.fetchall()]


def seminar_attendance(*, season_id: int) -> list[SeminarAttendance]:
    """Each seminar of the season: its active bookings, attended, no-shows, not yet recorded."""
    sql = """
    SELECT s.title, count(b.id),
        count(b.id) FILTER (WHERE b.attendance = 'attended'),
        count(b.id) FILTER (WHERE b.attendance = 'no_show'),
        count(b.id) FILTER (WHERE b.attendance = 'unknown')
    FROM booking_seminar s
    LEFT JOIN booking_booking b ON b.seminar_id = s.id AND b.status = 'active'
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
    FROM selection_evaluation e JOIN selection_round r ON r.id = e.round_id
    WHERE r.season_id = %(season)s
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
    WITH spans AS (
        SELECT greatest(offered_on - first_day, 0) AS days FROM ({_FACTS}) AS facts WHERE offered_on IS NOT NULL
    )
    SELECT count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY days), avg(days), {buckets} FROM spans
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"season": season_id})
        offers, median, average, *counts = cursor.fetchone()
    labels = [
        _("%(low)s〜%(high)s日") % {"low": low, "high": high}
        if high is not None
        else _("%(low)s日〜") % {"low": low}
        for low, high in DAY_BUCKETS
    ]
    return DaysToOffer(
        offers=int(offers),
        median=float(median) if median is not None else None,
        average=round(float(average), 1) if average is not None else None,
        buckets=tuple(zip(labels, (int(count) for count in counts), strict=True)),
    )


def season_student_count(*, season_id: int) -> int:
    """How many students the season's figures cover (for the audit entry of a download)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM dashboard_fact WHERE season_id = %s", [season_id])
        return int(cursor.fetchone()[0])
