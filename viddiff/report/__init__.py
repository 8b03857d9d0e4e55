"""Reports of a scored run: one self-contained HTML page and a Markdown summary."""

from __future__ import annotations

from typing import TYPE_CHECKING

from viddiff.lazy import lazy_exports

if TYPE_CHECKING:
    from viddiff.report.chart import action_chart_svg
    from viddiff.report.published import PUBLISHED, PUBLISHED_SOURCE, RANDOM_BASELINE
    from viddiff.report.report import HTML_FILE, MARKDOWN_FILE, ReportError, render_report

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "chart": ("action_chart_svg",),
        "published": ("PUBLISHED", "PUBLISHED_SOURCE", "RANDOM_BASELINE"),
        "report": ("HTML_FILE", "MARKDOWN_FILE", "ReportError", "render_report"),
    },
)
