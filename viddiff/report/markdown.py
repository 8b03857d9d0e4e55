"""The report's Markdown summary: split table with the published rows, actions, errors, cost."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from viddiff.evaluation.scoring import headline
from viddiff.lms import cost_text, total_cost
from viddiff.report.tables import (
    Table,
    average_note,
    difference_error_table,
    group_table,
    metric_title,
    published_note,
    sample_error_table,
    significance_legend,
    split_table,
    systems_table,
)
from viddiff.run_log import ScoredRun


def render_markdown(run: ScoredRun, others: Sequence[ScoredRun] = ()) -> str:
    """The summary as Markdown text; `others` appear in the split and cost tables."""
    metrics, samples = run.metrics, run.metrics.get("samples", {})
    sample_errors, difference_errors = sample_error_table(run), difference_error_table(run)
    lines = [
        f"# VidDiff report: {run.path.name}",
        "",
        f"- run: `{run.path}`",
        f"- {metrics['mode']} set, {metric_title(run)}",
        f"- samples: {samples.get('scored', 0)} scored, {samples.get('with_errors', 0)} with errors, "
        f"{samples.get('excluded', 0)} excluded, {samples.get('not_predicted', 0)} not run",
        "",
        f"## {metrics['metric']} by split",
        "",
        markdown_table(split_table(run, others)),
        "",
        _escape(significance_legend(metrics["mode"])),
        "",
        published_note(run),
        "",
        *([average_note(run), ""] if average_note(run) else []),
        _escape(headline(metrics)),
        "",
        f"## {metrics['metric']} by action",
        "",
        markdown_table(group_table("action", metrics.get("actions", {}))),
        "",
        "## Errors and cost",
        "",
        f"- samples that failed: {len(sample_errors.rows) + sample_errors.more}",
        f"- differences left undecided by an error: {len(difference_errors.rows) + difference_errors.more}",
        f"- warnings (such as a video decoded short of its length): {sum(len(r.warnings) for r in run.records)}",
        f"- run cost: {cost_text(total_cost(r.cost_usd for r in run.records))}",
        "",
        "Per sample (LM calls include answers from the cache):",
        "",
        markdown_table(systems_table([run, *others])),
        "",
    ]
    return "\n".join(lines)


def markdown_table(table: Table) -> str:
    """A Table in pipe syntax (the run's own row in bold); '(none)' when it has no rows."""
    if not table.rows:
        return "(none)"
    lines = [_row(map(_escape, table.headers)), "|" + "---|" * len(table.headers)]
    for index, row in enumerate(table.rows):
        cells = map(_escape, row)
        lines.append(_row(f"**{c}**" if index in table.highlighted and c else c for c in cells))
    return "\n".join(lines)


def _row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _escape(text: str) -> str:
    """Cell text with Markdown's table and emphasis characters escaped, on one line."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("*", "\\*").replace("\n", " ")
