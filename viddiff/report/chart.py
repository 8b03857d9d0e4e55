"""The per-action bar chart as inline SVG: text the page carries as is, with no plotting library
to import (matplotlib alone took 0.7 s of `viddiff report`'s start-up for this one chart)."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from viddiff.report.tables import MARK, mark

SIGNIFICANT_COLOR = "#2b6cb0"
OTHER_COLOR = "#a0aec0"
CHANCE_COLOR = "#c53030"
AXIS_COLOR = "#4a5568"
WIDTH = 800  # px
LABEL_WIDTH = 190  # the action names, right-aligned against the axis
ROW_HEIGHT = 24
BAR_HEIGHT = 17
TOP = 8
AXIS_SPACE = 48  # tick labels and the axis label under the bars
X_MAX = 115.0  # percent at the right edge: room for the value beside a full bar
FONT = 'font-family="sans-serif" font-size="11"'


def action_chart_svg(actions: Mapping[str, Mapping[str, Any]], *, metric: str, chance: float | None) -> str | None:
    """A horizontal bar per action (score in percent, n and significance mark beside it) as SVG.

    Args:
        actions: metrics.json's `actions` groups.
        metric: the x-axis label, e.g. "accuracy".
        chance: draw a dashed line at this percentage (the random baseline), or None.

    Returns:
        An `<svg>` element, or None when no action has a score.
    """
    scored = {name: g for name, g in actions.items() if g.get("score") is not None}
    if not scored:
        return None
    plot_width = WIDTH - LABEL_WIDTH - 10
    bottom = TOP + ROW_HEIGHT * len(scored)

    def span(percent: float) -> float:
        return round(plot_width * percent / X_MAX, 1)

    def x(percent: float) -> float:
        return round(LABEL_WIDTH + span(percent), 1)

    label = f"{metric} (%)"
    if any(group.get("p_value") is not None for group in scored.values()):  # open-set recall has no test
        label += f";  {MARK} p < 0.05 (darker bars)"
    parts = []
    for row, (name, group) in enumerate(scored.items()):
        value = 100 * group["score"]
        top = TOP + ROW_HEIGHT * row
        middle = top + ROW_HEIGHT / 2
        color = SIGNIFICANT_COLOR if group.get("significant") else OTHER_COLOR
        parts += [
            f'<text x="{LABEL_WIDTH - 6}" y="{middle}" text-anchor="end" dominant-baseline="middle">{escape(name)}</text>',
            f'<rect x="{LABEL_WIDTH}" y="{top + (ROW_HEIGHT - BAR_HEIGHT) / 2}" width="{span(value)}" '
            f'height="{BAR_HEIGHT}" fill="{color}"><title>{escape(name)}: {value:.1f}</title></rect>',
            f'<text x="{x(value) + 4}" y="{middle}" dominant-baseline="middle">'
            f"{value:.1f}{escape(mark(group))}  n={group['n']}</text>",
        ]
    parts.append(f'<line x1="{LABEL_WIDTH}" y1="{bottom}" x2="{x(X_MAX)}" y2="{bottom}" stroke="{AXIS_COLOR}"/>')
    for tick in range(0, 101, 10):
        parts += [
            f'<line x1="{x(tick)}" y1="{bottom}" x2="{x(tick)}" y2="{bottom + 4}" stroke="{AXIS_COLOR}"/>',
            f'<text x="{x(tick)}" y="{bottom + 16}" text-anchor="middle">{tick}</text>',
        ]
    if chance is not None:
        parts.append(
            f'<line class="chance" x1="{x(chance)}" y1="{TOP}" x2="{x(chance)}" y2="{bottom}" '
            f'stroke="{CHANCE_COLOR}" stroke-dasharray="5 3"/>'
        )
        label += f";  dashed line: random ({chance:.0f}%)"
    parts.append(f'<text x="{x(50)}" y="{bottom + 36}" text-anchor="middle">{escape(label)}</text>')
    height = bottom + AXIS_SPACE
    return (
        f'<svg width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" '
        f'role="img" aria-label="bar chart of the {escape(metric)} per action" {FONT}>' + "".join(parts) + "</svg>"
    )
