"""Reports of a scored run: one self-contained HTML page and a Markdown summary."""

from viddiff.report.chart import action_chart_png
from viddiff.report.published import PUBLISHED, PUBLISHED_SOURCE, RANDOM_BASELINE
from viddiff.report.report import HTML_FILE, MARKDOWN_FILE, ReportError, render_report

__all__ = [
    "HTML_FILE",
    "MARKDOWN_FILE",
    "PUBLISHED",
    "PUBLISHED_SOURCE",
    "RANDOM_BASELINE",
    "ReportError",
    "action_chart_png",
    "render_report",
]
