"""Charts of the earnings page, drawn on the server as SVG by pygal (no script, no CDN)."""

from __future__ import annotations

import sys
from typing import Any

import pygal
from pygal.style import Style

# pygal 3.1 appends a legacy import hook (for its map plugins, unused here) that lacks
# find_spec, so every later failed import in the process warns. Take it back out.
sys.meta_path[:] = [
    finder for finder in sys.meta_path if type(finder).__name__ != "PluginImportFixer"
]

STYLE = Style(
    background="transparent",
    plot_background="transparent",
    foreground="#1d2330",
    foreground_strong="#1d2330",
    foreground_subtle="#d9dee8",
    colors=("#2f5bd3",),
    font_family="system-ui, sans-serif",
    label_font_size=12,
    major_label_font_size=12,
    value_font_size=11,
)


def weekly_earnings_svg(*, weeks: list[dict[str, Any]], currency: str) -> bytes:
    """A bar chart of earnings per week of work."""
    chart = pygal.Bar(
        style=STYLE,
        height=280,
        width=900,
        show_legend=False,
        js=[],  # served as an image: no tooltip script, and nothing fetched from elsewhere
        print_values=False,
        y_title=currency,
        x_label_rotation=0,
        truncate_label=-1,
        margin=16,
    )
    chart.x_labels = [week["week"].strftime("%d %b") for week in weeks]
    chart.add(
        "Earned", [float(week["total"]) for week in weeks]
    )  # drawing only; money stays Decimal
    return chart.render()
