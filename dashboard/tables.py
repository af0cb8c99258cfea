"""The dashboard's tables: each chart's numbers as rows, shared by the page and its CSV download."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from dashboard import selectors
from dashboard.selectors import Funnel, FunnelRow


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str | int, ...], ...]


def table_html(table: Table) -> SafeString:
    """The table's rows as HTML (built as a string: hundreds of cells; every cell escaped)."""
    head = "".join(f"<th>{escape(header)}</th>" for header in table.headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in table.rows
    )
    return mark_safe(  # noqa: S308 - every cell is escaped
        f'<table class="dashboard-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    )


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "—"


def _rate(value: float | None) -> str:
    return f"{100 * value:.1f}%" if value is not None else "—"


def funnel_table(funnel: Funnel) -> Table:
    entries = funnel.total.counts[0] if funnel.total.counts else 0
    rows = tuple(
        (stage.label, count, percent(count, entries))
        for stage, count in zip(funnel.stages, funnel.total.counts, strict=True)
    )
    return Table("funnel", "選考ファネル", ("段階", "人数", "エントリー比"), rows)


def _breakdown(key: str, title: str, first: str, funnel: Funnel, rows: tuple[FunnelRow, ...]) -> Table:
    headers = (first, *(stage.label for stage in funnel.stages), "内定率")
    offered = [stage.key for stage in funnel.stages].index("offered")
    return Table(
        key,
        title,
        headers,
        tuple((row.label, *row.counts, percent(row.counts[offered], row.counts[0])) for row in rows),
    )


def board_table(funnel: Funnel) -> Table:
    return _breakdown("boards", "媒体別", "媒体", funnel, funnel.by_board)


def rank_table(funnel: Funnel) -> Table:
    return _breakdown("ranks", "ランク別", "ランク", funnel, funnel.by_rank)


def school_table(funnel: Funnel) -> Table:
    title = f"大学別（エントリーの多い{selectors.SCHOOLS_SHOWN}校）"
    return _breakdown("schools", title, "大学", funnel, funnel.by_school)


def daily_table(season_id: int) -> Table:
    days = selectors.entries_per_day(season_id=season_id)
    return Table(
        "daily", "日別エントリー", ("日付", "エントリー"), tuple((f"{day:%Y-%m-%d}", n) for day, n in days)
    )


def seminar_table(season_id: int) -> Table:
    rows = tuple(
        (item.title, item.booked, item.attended, item.no_show, item.unknown, _rate(item.rate))
        for item in selectors.seminar_attendance(season_id=season_id)
    )
    headers = ("説明会", "予約", "出席", "欠席", "未確認", "出席率")
    return Table("seminars", "説明会の出席", headers, rows)


def interviewer_table(season_id: int) -> Table:
    rows = tuple(
        (item.name, item.evaluations, item.passed, item.held, item.failed, _rate(item.rate))
        for item in selectors.interviewer_pass_rates(season_id=season_id)
    )
    headers = ("評価者", "評価数", "合格", "保留", "不合格", "合格率")
    return Table("interviewers", "評価者別の合格率", headers, rows)


def days_table(season_id: int) -> tuple[Table, selectors.DaysToOffer]:
    days = selectors.days_to_offer(season_id=season_id)
    return Table("days", "エントリーから内定までの日数", ("日数", "内定者"), days.buckets), days


def _funnel_tables(season_id: int) -> dict[str, Table]:
    funnel = selectors.funnel_for(season_id=season_id)
    return {
        table.key: table
        for table in (funnel_table(funnel), board_table(funnel), rank_table(funnel), school_table(funnel))
    }


# Which tables a CSV download may ask for, and how each is computed on its own.
CSV_TABLES: dict[str, Callable[[int], Table]] = {
    "funnel": lambda season_id: _funnel_tables(season_id)["funnel"],
    "boards": lambda season_id: _funnel_tables(season_id)["boards"],
    "ranks": lambda season_id: _funnel_tables(season_id)["ranks"],
    "schools": lambda season_id: _funnel_tables(season_id)["schools"],
    "daily": daily_table,
    "seminars": seminar_table,
    "interviewers": interviewer_table,
    "days": lambda season_id: days_table(season_id)[0],
}
