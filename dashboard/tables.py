"""The dashboard's tables: each chart's numbers as rows, shared by the page and its CSV download."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

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


def table_title(key: str) -> str:
    """A table's title in the active language (the page, the CSV's audit entry)."""
    titles = {
        "funnel": _("選考ファネル"),
        "boards": _("媒体別"),
        "ranks": _("ランク別"),
        "schools": _("大学別（エントリーの多い%(count)s校）") % {"count": selectors.SCHOOLS_SHOWN},
        "daily": _("日別エントリー"),
        "seminars": _("説明会の出席"),
        "interviewers": _("評価者別の合格率"),
        "days": _("エントリーから内定までの日数"),
    }
    return titles[key]


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
    return Table(
        "funnel",
        table_title("funnel"),
        (
            pgettext("ダッシュボード", "段階"),
            pgettext("ダッシュボード", "人数"),
            pgettext("ダッシュボード", "エントリー比"),
        ),
        rows,
    )


def _breakdown(key: str, first: str, funnel: Funnel, rows: tuple[FunnelRow, ...]) -> Table:
    headers = (first, *(stage.label for stage in funnel.stages), pgettext("ダッシュボード", "内定率"))
    offered = [stage.key for stage in funnel.stages].index("offered")
    return Table(
        key,
        table_title(key),
        headers,
        tuple((row.label, *row.counts, percent(row.counts[offered], row.counts[0])) for row in rows),
    )


def board_table(funnel: Funnel) -> Table:
    return _breakdown("boards", pgettext("ダッシュボード", "媒体"), funnel, funnel.by_board)


def rank_table(funnel: Funnel) -> Table:
    return _breakdown("ranks", pgettext("ダッシュボード", "ランク"), funnel, funnel.by_rank)


def school_table(funnel: Funnel) -> Table:
    return _breakdown("schools", pgettext("ダッシュボード", "大学"), funnel, funnel.by_school)


def daily_table(season_id: int) -> Table:
    days = selectors.entries_per_day(season_id=season_id)
    return Table(
        "daily",
        table_title("daily"),
        (pgettext("ダッシュボード", "日付"), pgettext("ダッシュボード", "エントリー")),
        tuple((f"{day:%Y-%m-%d}", n) for day, n in days),
    )


def seminar_table(season_id: int) -> Table:
    rows = tuple(
        (item.title, item.booked, item.attended, item.no_show, item.unknown, _rate(item.rate))
        for item in selectors.seminar_attendance(season_id=season_id)
    )
    headers = (
        pgettext("ダッシュボード", "説明会"),
        pgettext("ダッシュボード", "予約"),
        pgettext("ダッシュボード", "出席"),
        pgettext("ダッシュボード", "欠席"),
        pgettext("ダッシュボード", "未確認"),
        pgettext("ダッシュボード", "出席率"),
    )
    return Table("seminars", table_title("seminars"), headers, rows)


def interviewer_table(season_id: int) -> Table:
    rows = tuple(
        (item.name, item.evaluations, item.passed, item.held, item.failed, _rate(item.rate))
        for item in selectors.interviewer_pass_rates(season_id=season_id)
    )
    headers = (
        pgettext("ダッシュボード", "評価者"),
        pgettext("ダッシュボード", "評価数"),
        pgettext("ダッシュボード", "合格"),
        pgettext("ダッシュボード", "保留"),
        pgettext("ダッシュボード", "不合格"),
        pgettext("ダッシュボード", "合格率"),
    )
    return Table("interviewers", table_title("interviewers"), headers, rows)


def days_table(season_id: int) -> tuple[Table, selectors.DaysToOffer]:
    days = selectors.days_to_offer(season_id=season_id)
    return Table(
        "days",
        table_title("days"),
        (pgettext("ダッシュボード", "日数"), pgettext("ダッシュボード", "内定者")),
        days.buckets,
    ), days


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
