"""Reports of a scored run: one self-contained HTML page and a Markdown summary."""

from viddiff.report.chart import action_chart_png
from viddiff.report.published import PUBLISHED, PUBLISHED_SOURCE, RANDOM_BASELINE
from viddiff.report.report import HTML_FILE, MARKDOWN_FILE, render_report
from viddiff.report.run_data import ReportError, RunData, load_run

__all__ = [
    "HTML_FILE",
    "MARKDOWN_FILE",
    "PUBLISHED",
    "PUBLISHED_SOURCE",
    "RANDOM_BASELINE",
    "ReportError",
    "RunData",
    "action_chart_png",
    "load_run",
    "render_report",
]
