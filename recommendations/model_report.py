"""The staff model page's figures, read generically from a manifest.

The manifest's ``metrics`` is a nested dict whose layout changes as evaluation grows (today
``{"protocol": {...}, "test": {method: {metric: value}}}``; a per-protocol layout
``{protocol: {method: {metric: value}}}`` works the same). Nothing here names a method or a
metric: every dict of ``{name: {name: number}}`` found anywhere is one table, and the scalar
values beside it are its notes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from numbers import Real

CHART_BAR_H = 14
CHART_GAP = 10
CHART_LABEL_W = 96
CHART_PLOT_W = 260
CHART_VALUE_W = 44  # room for the value printed after the longest bar
CHART_TOP = 6
CHART_COLOURS = 6  # app.css has .chart .c0 ... .c5


@dataclass
class MetricTable:
    title: str  # the path to the table in the manifest, e.g. "test" or "next_song"
    columns: list[str]  # metrics, in first-seen order
    rows: list[tuple[str, list[float | None]]]  # (method, one value per column)
    notes: list[tuple[str, str]] = field(default_factory=list)  # scalar values beside the table


@dataclass
class ChartBar:
    y: float
    width: float
    value: float
    value_x: float  # where the printed value starts, just after the bar
    colour: int  # CSS class c<colour>, one per method


@dataclass
class ChartGroup:
    label: str
    y: float
    bars: list[ChartBar]


@dataclass
class BarChart:
    """A grouped horizontal bar chart (one group per metric, one bar per method), in SVG units."""

    width: int
    height: int
    plot_x: int
    plot_w: int
    legend: list[tuple[str, int]]  # (method, colour)
    groups: list[ChartGroup]
    ticks: list[tuple[float, str]]  # (x, label)


def _is_number(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def _is_table(node) -> bool:
    return (
        isinstance(node, dict)
        and bool(node)
        and all(
            isinstance(row, dict) and row and all(_is_number(v) or v is None for v in row.values())
            for row in node.values()
        )
    )


def metric_tables(metrics, path: tuple[str, ...] = ()) -> list[MetricTable]:
    """Every ``{method: {metric: number}}`` dict in ``metrics``, depth first, with its notes."""
    if not isinstance(metrics, dict):
        return []
    if _is_table(metrics):
        columns: list[str] = []
        for row in metrics.values():
            columns += [name for name in row if name not in columns]
        rows = [(method, [row.get(name) for name in columns]) for method, row in metrics.items()]
        return [MetricTable(title=" / ".join(path) or "metrics", columns=columns, rows=rows)]
    tables: list[MetricTable] = []
    notes: list[tuple[str, str]] = []
    for key, value in metrics.items():
        if isinstance(value, dict):
            found = metric_tables(value, (*path, str(key)))
            if found:
                tables += found
            else:  # a dict of descriptions (e.g. "protocol"): its scalars are notes
                notes += [(f"{key} {name}".replace("_", " "), str(v)) for name, v in _scalars(value)]
        else:
            notes.append((str(key).replace("_", " "), str(value)))
    if tables and notes:
        tables[0].notes = notes + tables[0].notes
    return tables


def _scalars(node: dict, prefix: str = ""):
    for key, value in node.items():
        if isinstance(value, dict):
            yield from _scalars(value, f"{prefix}{key} ")
        else:
            yield f"{prefix}{key}", value


def chart_columns(table: MetricTable) -> list[int]:
    """Columns worth a bar: the ranking metrics (``name@k``) when their values are all in [0, 1],
    else every column whose values are all in [0, 1] (timings and unbounded errors are left out)."""
    in_unit = [
        i
        for i in range(len(table.columns))
        if all(values[i] is None or 0.0 <= values[i] <= 1.0 for _, values in table.rows)
        and any(values[i] is not None for _, values in table.rows)
    ]
    at_k = [i for i in in_unit if "@" in table.columns[i]]
    return at_k or in_unit


def bar_chart(table: MetricTable) -> BarChart | None:
    columns = chart_columns(table)
    if not columns:
        return None
    methods = [method for method, _ in table.rows]
    group_h = len(methods) * CHART_BAR_H + CHART_GAP
    groups = []
    for g, column in enumerate(columns):
        top = CHART_TOP + g * group_h
        bars = [
            ChartBar(
                y=top + m * CHART_BAR_H,
                width=round(values[column] * CHART_PLOT_W, 1),
                value=values[column],
                value_x=round(CHART_LABEL_W + values[column] * CHART_PLOT_W + 4, 1),
                colour=m % CHART_COLOURS,
            )
            for m, (_, values) in enumerate(table.rows)
            if values[column] is not None
        ]
        groups.append(ChartGroup(label=table.columns[column], y=top + len(methods) * CHART_BAR_H / 2, bars=bars))
    height = CHART_TOP + len(columns) * group_h + 16
    ticks = [(CHART_LABEL_W + f * CHART_PLOT_W, f"{f:g}") for f in (0, 0.25, 0.5, 0.75, 1.0)]
    return BarChart(
        width=CHART_LABEL_W + CHART_PLOT_W + CHART_VALUE_W,
        height=height,
        plot_x=CHART_LABEL_W,
        plot_w=CHART_PLOT_W,
        legend=[(method, m % CHART_COLOURS) for m, method in enumerate(methods)],
        groups=groups,
        ticks=ticks,
    )
