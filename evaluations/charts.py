"""Charts of the project quality page, drawn on the server as SVG (no script, no CDN): the model
leaderboard with its confidence intervals, gold accuracy as a distribution, and the review
backlog over time."""

from __future__ import annotations

from html import escape
from typing import Any

import pygal

from marketplace.charts import STYLE

INK, MUTED, ACCENT, GRID = "#1d2330", "#5b6475", "#2f5bd3", "#d9dee8"


def leaderboard_svg(rows: list[dict[str, Any]], *, width: int = 900) -> bytes:
    """A dot-and-whisker chart: each model's Bradley–Terry score and its bootstrap interval."""
    row_height, left, right, top = 34, 190, 30, 36
    height = top + row_height * max(len(rows), 1) + 40
    values = [
        v for row in rows for v in (row["lower"], row["upper"], row["score"]) if v is not None
    ]
    low, high = (min(values), max(values)) if values else (-1.0, 1.0)
    if high - low < 1e-9:
        low, high = low - 1, high + 1
    pad = (high - low) * 0.08
    low, high = low - pad, high + pad

    def x(value: float) -> float:
        return left + (value - low) / (high - low) * (width - left - right)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="system-ui, sans-serif" font-size="13" '
        f'role="img" aria-label="Model leaderboard">',
        f'<text x="{left}" y="20" fill="{MUTED}">Bradley–Terry score (log-strength), '
        "with its 95% bootstrap interval</text>",
    ]
    ticks = 6
    for i in range(ticks + 1):
        value = low + (high - low) * i / ticks
        parts.append(
            f'<line x1="{x(value):.1f}" y1="{top - 6}" x2="{x(value):.1f}" '
            f'y2="{height - 34}" stroke="{GRID}"/>'
            f'<text x="{x(value):.1f}" y="{height - 16}" fill="{MUTED}" '
            f'text-anchor="middle">{value:.1f}</text>'
        )
    if low < 0 < high:
        parts.append(
            f'<line x1="{x(0):.1f}" y1="{top - 6}" x2="{x(0):.1f}" y2="{height - 34}" '
            f'stroke="{MUTED}" stroke-dasharray="4 3"/>'
        )
    for index, row in enumerate(rows):
        y = top + row_height * index + row_height / 2
        name = escape(str(row["model"]))[:28]
        parts.append(
            f'<text x="{left - 12}" y="{y + 4:.1f}" fill="{INK}" text-anchor="end">'
            f"{index + 1}. {name}</text>"
        )
        if row["lower"] is not None and row["upper"] is not None:
            parts.append(
                f'<line x1="{x(row["lower"]):.1f}" y1="{y:.1f}" x2="{x(row["upper"]):.1f}" '
                f'y2="{y:.1f}" stroke="{ACCENT}" stroke-width="3" stroke-linecap="round"/>'
            )
        if row["score"] is not None:
            parts.append(
                f'<circle cx="{x(row["score"]):.1f}" cy="{y:.1f}" r="6" fill="{ACCENT}" '
                f'stroke="white" stroke-width="2"><title>{name}: {row["score"]:.2f}</title>'
                "</circle>"
            )
    parts.append("</svg>")
    return "".join(parts).encode()


def accuracy_histogram_svg(means: list[float]) -> bytes:
    """How the contributors' gold accuracy (posterior means) is spread, in tenths."""
    chart = pygal.Bar(
        style=STYLE,
        height=260,
        width=900,
        show_legend=False,
        js=[],
        x_title="gold accuracy (posterior mean)",
        y_title="contributors",
        margin=16,
    )
    bins = [0] * 10
    for mean in means:
        bins[min(int(mean * 10), 9)] += 1
    chart.x_labels = [f"{i / 10:.1f}–{(i + 1) / 10:.1f}" for i in range(10)]
    chart.y_labels = _whole_steps(max(bins))
    chart.add("Contributors", bins)
    return chart.render()


def backlog_svg(history: list[dict[str, Any]]) -> bytes:
    """Reviews waiting at the end of each day (their median age is in the page's table)."""
    chart = pygal.Bar(
        style=STYLE,
        height=240,
        width=900,
        show_legend=False,
        js=[],
        y_title="waiting reviews",
        x_label_rotation=0,
        margin=16,
    )
    counts = [row["open"] for row in history]
    chart.x_labels = [row["day"].strftime("%d %b") for row in history]
    chart.y_labels = _whole_steps(max(counts, default=0))
    chart.add("Waiting reviews", counts)
    return chart.render()


def _whole_steps(top: int) -> list[int]:
    """Y-axis labels in whole numbers (no 0.2 of a person), about six of them."""
    step = max(1, -(-top // 6))
    return list(range(0, max(top, 1) + step, step))
