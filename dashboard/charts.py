"""Chart geometry for server-side SVG: bars laid out in Python, drawn by dashboard/templates/dashboard/_*.svg.html.

No JavaScript and nothing from a CDN: the page is plain SVG whose text the template escapes, and each chart
sits beside a table of the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH = 640
LABEL_WIDTH = 170
BAR_AREA = 360
ROW_HEIGHT = 24
COLUMN_AREA_HEIGHT = 160
LABEL_CHARS = 14
# The first series is drawn full height, the second inside it (a part of the first: attended of booked).
COLOURS = ("#9cb8d9", "#1f5fa6")


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    fill: str


@dataclass(frozen=True)
class BarRow:
    label: str
    title: str
    y: float
    text_y: float
    value_text: str
    value_x: float
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    label_x: int
    rows: tuple[BarRow, ...]
    legend: tuple[tuple[str, str, int], ...]  # name, colour, x


@dataclass(frozen=True)
class Column:
    x: float
    y: float
    width: float
    height: float
    title: str
    label: str


@dataclass(frozen=True)
class ColumnChart:
    width: int
    height: int
    baseline: int
    label_y: int
    peak: int
    columns: tuple[Column, ...]


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def bar_chart(
    *, rows: Sequence[tuple[str, Sequence[int]]], series: Sequence[str], value_text: Sequence[str] = ()
) -> BarChart:
    """Horizontal bars, one row per label; each row's values are drawn one inside the other."""
    peak = max((max(values, default=0) for _label, values in rows), default=0) or 1
    built = []
    for index, (label, values) in enumerate(rows):
        top = 4 + index * ROW_HEIGHT
        bars = []
        for position, value in enumerate(values[: len(COLOURS)]):
            inset = position * 4
            bars.append(
                Bar(
                    x=LABEL_WIDTH,
                    y=top + 2 + inset,
                    width=round(BAR_AREA * value / peak, 1),
                    height=ROW_HEIGHT - 4 - 2 * inset,
                    fill=COLOURS[position],
                )
            )
        text = value_text[index] if index < len(value_text) else " / ".join(f"{value:,}" for value in values)
        built.append(
            BarRow(
                label=_short(label),
                title=label,
                y=top,
                text_y=top + ROW_HEIGHT / 2 + 4,
                value_text=text,
                value_x=LABEL_WIDTH + (bars[0].width if bars else 0) + 6,
                bars=tuple(bars),
            )
        )
    legend = tuple(
        (name, colour, LABEL_WIDTH + index * 120)
        for index, (name, colour) in enumerate(zip(series, COLOURS, strict=False))
    )
    return BarChart(
        width=WIDTH,
        height=8 + len(rows) * ROW_HEIGHT,
        label_x=LABEL_WIDTH - 6,
        rows=tuple(built),
        legend=legend,
    )


def column_chart(*, points: Sequence[tuple[str, int]], labels_shown: int = 8) -> ColumnChart:
    """Vertical columns over time or over ranges; about `labels_shown` labels along the bottom."""
    peak = max((value for _label, value in points), default=0) or 1
    count = max(len(points), 1)
    step = (WIDTH - 40) / count
    every = max(1, -(-count // labels_shown))
    columns = []
    for index, (label, value) in enumerate(points):
        height = round(COLUMN_AREA_HEIGHT * value / peak, 1)
        columns.append(
            Column(
                x=round(30 + index * step, 1),
                y=round(10 + COLUMN_AREA_HEIGHT - height, 1),
                width=round(max(step - 1, 0.5), 1),
                height=height,
                title=f"{label}: {value:,}",
                label=label if index % every == 0 else "",
            )
        )
    return ColumnChart(
        width=WIDTH,
        height=COLUMN_AREA_HEIGHT + 40,
        baseline=10 + COLUMN_AREA_HEIGHT,
        label_y=COLUMN_AREA_HEIGHT + 28,
        peak=peak,
        columns=tuple(columns),
    )


# Drawn here rather than in template loops: a season's page has thousands of SVG elements and table cells,
# and string building is several times faster than the template engine; every text goes through escape().
def bar_svg(chart: BarChart, *, title: str) -> SafeString:
    parts = [
        f'<svg class="chart" viewBox="0 0 {chart.width} {chart.height + 24}" width="100%"'
        f' style="max-width:{chart.width}px" role="img" aria-label="{escape(title)}"'
        ' xmlns="http://www.w3.org/2000/svg" font-size="12">'
    ]
    for row in chart.rows:
        parts.append(
            f"<g><title>{escape(row.title)}: {escape(row.value_text)}</title>"
            f'<text x="{chart.label_x}" y="{row.text_y}" text-anchor="end">{escape(row.label)}</text>'
        )
        parts.extend(
            f'<rect x="{bar.x}" y="{bar.y}" width="{bar.width}" height="{bar.height}" fill="{bar.fill}"/>'
            for bar in row.bars
        )
        parts.append(f'<text x="{row.value_x}" y="{row.text_y}">{escape(row.value_text)}</text></g>')
    if len(chart.legend) > 1:
        for name, colour, x in chart.legend:
            parts.append(
                f'<rect x="{x}" y="{chart.height + 8}" width="12" height="12" fill="{colour}"/>'
                f'<text x="{x + 16}" y="{chart.height + 19}">{escape(name)}</text>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


def column_svg(chart: ColumnChart, *, title: str) -> SafeString:
    parts = [
        f'<svg class="chart" viewBox="0 0 {chart.width} {chart.height}" width="100%"'
        f' style="max-width:{chart.width}px" role="img" aria-label="{escape(title)}"'
        ' xmlns="http://www.w3.org/2000/svg" font-size="11">'
        f'<text x="2" y="14">{chart.peak}</text>'
        f'<line x1="28" y1="{chart.baseline}" x2="{chart.width}" y2="{chart.baseline}" stroke="#888"/>'
    ]
    for column in chart.columns:
        parts.append(
            f"<g><title>{escape(column.title)}</title>"
            f'<rect x="{column.x}" y="{column.y}" width="{column.width}" height="{column.height}" fill="#1f5fa6"/>'
        )
        if column.label:
            parts.append(f'<text x="{column.x}" y="{chart.label_y}">{escape(column.label)}</text>')
        parts.append("</g>")
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped
