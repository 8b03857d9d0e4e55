"""The per-action bar chart, drawn with matplotlib's Agg canvas (no display, no pyplot state)."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from viddiff.report.tables import MARK, mark

SIGNIFICANT_COLOR = "#2b6cb0"
OTHER_COLOR = "#a0aec0"
CHANCE_COLOR = "#c53030"
WIDTH_INCHES = 8.0
INCHES_PER_BAR = 0.32
DPI = 100


def action_chart_png(actions: Mapping[str, Mapping[str, Any]], *, metric: str, chance: float | None) -> bytes | None:
    """A horizontal bar per action (score in percent, n and significance mark beside it) as PNG.

    Args:
        actions: metrics.json's `actions` groups.
        metric: the x-axis label, e.g. "accuracy".
        chance: draw a dashed line at this percentage (the random baseline), or None.

    Returns:
        The PNG bytes, or None when no action has a score.
    """
    scored = {name: g for name, g in actions.items() if g.get("score") is not None}
    if not scored:
        return None
    names = list(scored)[::-1]  # first action at the top
    values = [100 * scored[n]["score"] for n in names]
    figure = Figure(figsize=(WIDTH_INCHES, 1.3 + INCHES_PER_BAR * len(names)), dpi=DPI)
    axes = figure.add_subplot()
    colors = [SIGNIFICANT_COLOR if scored[n].get("significant") else OTHER_COLOR for n in names]
    axes.barh(names, values, color=colors, height=0.7)
    for row, name in enumerate(names):
        group = scored[name]
        axes.text(values[row] + 1, row, f"{values[row]:.1f}{mark(group)}  n={group['n']}", va="center", fontsize=8)
    label = f"{metric} (%);  {MARK} p < 0.05 (darker bars)"
    if chance is not None:
        axes.axvline(chance, color=CHANCE_COLOR, linestyle="--", linewidth=1)
        label += f";  dashed line: random ({chance:.0f}%)"
    axes.set_xlim(0, 115)
    axes.set_xticks(range(0, 101, 10))
    axes.set_xlabel(label)
    axes.tick_params(axis="y", labelsize=8)
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(buffer)
    return buffer.getvalue()
