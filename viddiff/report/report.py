"""`render_report`: a scored run directory to report.html and report.md."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from viddiff.errors import ViddiffError
from viddiff.report.chart import action_chart_svg
from viddiff.report.html import render_html
from viddiff.report.markdown import render_markdown
from viddiff.report.published import RANDOM_BASELINE
from viddiff.report.samples import sample_views
from viddiff.run_log import load_scored_run

HTML_FILE = "report.html"
MARKDOWN_FILE = "report.md"


class ReportError(ViddiffError):
    """A report cannot be rendered as asked."""


def render_report(
    run_dir: str | Path, *, others: Sequence[str | Path] = (), samples: int = 3, out: str | Path | None = None
) -> tuple[Path, Path]:
    """Write a run's report: one self-contained HTML page and a Markdown summary.

    Args:
        run_dir: a scored run directory (`viddiff run` scores it when it finishes; `viddiff eval --run` rescores it).
        others: more scored runs of the same benchmark and mode (other systems, models, prompts),
            shown beside it in the split table and the cost table.
        samples: how many samples to show with their frames (the first that finished
            without errors, in row order); their videos must be readable from here.
        out: folder for the two files (default: `run_dir`).

    Returns:
        The paths of report.html and report.md.

    Raises:
        RunLogError: `run_dir` is missing, not a run, or not scored.
        ReportError: `samples` is negative, or another run is of another benchmark or mode.

    Example:
        >>> html_path, markdown_path = render_report("runs/easy-closed", samples=2)
    """
    if samples < 0:
        raise ReportError(f"samples must be 0 or more, got {samples}")
    run = load_scored_run(run_dir)
    compared = [load_scored_run(other) for other in others]
    for other in compared:
        if (other.mode, other.config.get("source")) != (run.mode, run.config.get("source")):
            raise ReportError(
                f"{other.path} is a {other.mode}-set run of {other.config.get('source')}; the report sets beside "
                f"{run.path} only {run.mode}-set runs of {run.config.get('source')}"
            )
    chart = action_chart_svg(
        run.metrics.get("actions", {}), metric=run.metrics["metric"], chance=RANDOM_BASELINE.get(run.mode)
    )
    html = render_html(run, chart, sample_views(run, samples), compared)
    folder = Path(out) if out is not None else run.path
    folder.mkdir(parents=True, exist_ok=True)
    html_path, markdown_path = folder / HTML_FILE, folder / MARKDOWN_FILE
    html_path.write_text(html, encoding="utf-8")
    markdown_path.write_text(render_markdown(run, compared), encoding="utf-8")
    return html_path, markdown_path
