"""The season's dashboard for recruiters and viewers: charts (server-side SVG), their tables, CSV downloads."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET

from accounts.permissions import EVERYONE, role_required
from booking.services.confirmations import rush_facts_refresh
from candidates.services.audit import audit_request
from candidates.services.exporting import csv_encoded
from dashboard import selectors
from dashboard.charts import BarChart, ColumnChart, bar_chart, bar_svg, column_chart, column_svg
from dashboard.tables import (
    CSV_TABLES,
    Table,
    board_table,
    daily_table,
    days_table,
    funnel_table,
    interviewer_table,
    percent,
    rank_table,
    school_table,
    seminar_table,
    table_html,
    table_title,
)


def _section(table: Table, chart: BarChart | ColumnChart, note: str = "") -> dict[str, Any]:
    if isinstance(chart, BarChart):
        svg = bar_svg(chart, title=table.title)
    else:
        svg = column_svg(chart, title=table.title)
    return {"table": table, "svg": svg, "rows": table_html(table), "note": note}


def _breakdown_chart(table: Table, offered_column: int) -> BarChart:
    return bar_chart(
        rows=[(str(row[0]), [int(row[1]), int(row[offered_column])]) for row in table.rows],
        series=(pgettext("ダッシュボード", "エントリー"), pgettext("ダッシュボード", "内定")),
    )


@require_GET
@role_required(*EVERYONE)
def dashboard_view(request: HttpRequest) -> HttpResponse:
    season_id = request.season.pk
    rush_facts_refresh(schema=request.tenant.schema_name)  # what the rush path noted, before reading
    funnel = selectors.funnel_for(season_id=season_id)
    entries = funnel.total.counts[0] if funnel.total.counts else 0
    overview = funnel_table(funnel)
    offered_column = 1 + [stage.key for stage in funnel.stages].index("offered")
    daily = daily_table(season_id)
    seminars = seminar_table(season_id)
    interviewers = interviewer_table(season_id)
    days, spread = days_table(season_id)
    sections = [
        _section(
            overview,
            bar_chart(
                rows=[(str(row[0]), [int(row[1])]) for row in overview.rows],
                series=(pgettext("ダッシュボード", "人数"),),
                value_text=[
                    _("%(count)s（%(percent)s）")
                    % {"count": f"{int(row[1]):,}", "percent": percent(int(row[1]), entries)}
                    for row in overview.rows
                ],
            ),
        ),
        _section(
            board_table(funnel),
            _breakdown_chart(board_table(funnel), offered_column),
            note=_("複数の媒体からエントリーした学生は、それぞれの媒体に数えます。"),
        ),
        _section(rank_table(funnel), _breakdown_chart(rank_table(funnel), offered_column)),
        _section(school_table(funnel), _breakdown_chart(school_table(funnel), offered_column)),
        _section(
            daily,
            column_chart(points=[(str(row[0])[5:].replace("-", "/"), int(row[1])) for row in daily.rows]),
        ),
        _section(
            seminars,
            bar_chart(
                rows=[(str(row[0]), [int(row[1]), int(row[2])]) for row in seminars.rows],
                series=(pgettext("ダッシュボード", "予約"), pgettext("ダッシュボード", "出席")),
            ),
            note=_("出席率は出欠を記録した予約のうち出席の割合です（未確認は含めません）。"),
        ),
        _section(
            interviewers,
            bar_chart(
                rows=[(str(row[0]), [int(row[1]), int(row[2])]) for row in interviewers.rows],
                series=(pgettext("ダッシュボード", "評価数"), pgettext("ダッシュボード", "合格")),
            ),
        ),
        _section(
            days,
            column_chart(
                points=[(str(row[0]), int(row[1])) for row in days.rows], labels_shown=len(days.rows)
            ),
            note=_("内定者 %(offers)s名、中央値 %(median)s日、平均 %(average)s日")
            % {
                "offers": f"{spread.offers:,}",
                "median": spread.median if spread.median is not None else "—",
                "average": spread.average if spread.average is not None else "—",
            },
        ),
    ]
    return render(request, "dashboard/dashboard.html", {"sections": sections, "entries": f"{entries:,}"})


def _audit_target(*, table: str, season: Any) -> str:
    # The audit log keeps one language (the company's default), whoever downloaded.
    with translation.override(settings.LANGUAGE_CODE):
        title = table_title(table)
        return _("ダッシュボード CSV: %(title)s（%(season)s）") % {"title": title, "season": season.name}


@require_GET
@role_required(*EVERYONE)
def dashboard_csv_view(request: HttpRequest, table: str) -> HttpResponse:
    """One chart's numbers as CSV (cells neutralised against formulas); audited like every export."""
    build = CSV_TABLES.get(table)
    if build is None:
        raise Http404
    season = request.season
    encoding = "utf-8-sig" if request.GET.get("encoding") == "utf8" else "cp932"
    rush_facts_refresh(schema=request.tenant.schema_name)  # what the rush path noted, before reading
    built = build(season.pk)
    students = selectors.season_student_count(season_id=season.pk)
    audit_request(
        request=request,
        action="export",
        student_count=students,
        target=_audit_target(table=table, season=season),
        filters={"season": season.pk, "table": table},
    )
    columns = [(str(index), header) for index, header in enumerate(built.headers)]
    records = ({str(index): cell for index, cell in enumerate(row)} for row in built.rows)
    response = HttpResponse(
        b"".join(csv_encoded(records=records, encoding=encoding, columns=columns)),
        content_type=f"text/csv; charset={'shift_jis' if encoding == 'cp932' else 'utf-8'}",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="dashboard-{table}-{season.graduation_year}-{timezone.localtime():%Y%m%d}.csv"'
    )
    return response
