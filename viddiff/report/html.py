"""The report as one self-contained HTML page: inline CSS, images as data URIs, no scripts.

Every template of the page is in this module; every piece of text is escaped on its way in.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from html import escape

from viddiff.evaluation.scoring import headline
from viddiff.report.samples import SampleView
from viddiff.report.tables import (
    Table,
    average_note,
    called_lms,
    difference_error_table,
    difference_table,
    group_table,
    localization_table,
    metric_title,
    published_note,
    sample_error_table,
    significance_legend,
    split_table,
    system_text,
    systems_table,
    usage_table,
    warning_table,
)
from viddiff.run_log import ScoredRun

CSS = """
body { font: 14px/1.45 system-ui, sans-serif; color: #1a202c; background: #fff; margin: 0; }
main { max-width: 1200px; margin: 0 auto; padding: 24px 32px 64px; }
h1 { font-size: 22px; margin: 0 0 12px; }
h2 { font-size: 18px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid #e2e8f0; }
h3 { font-size: 15px; margin: 20px 0 6px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; }
dl.facts dt { font-weight: 600; color: #4a5568; }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
table { border-collapse: collapse; margin: 6px 0; font-size: 13px; }
th, td { border: 1px solid #e2e8f0; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f7fafc; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.text { max-width: 640px; overflow-wrap: anywhere; }
tr.highlighted td { font-weight: 600; background: #ebf8ff; }
.note { color: #4a5568; font-size: 12px; margin: 4px 0; }
.warning { color: #9b2c2c; font-weight: 600; }
.problem { color: #9b2c2c; background: #fff5f5; border: 1px solid #feb2b2; padding: 6px 10px; overflow-wrap: anywhere; }
img { max-width: 100%; height: auto; display: block; border: 1px solid #e2e8f0; margin: 6px 0; }
"""

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
<main>
<h1>{title}</h1>
{body}
</main>
</body>
</html>
"""
SECTION = '<section id="{anchor}">\n<h2>{title}</h2>\n{content}\n</section>'
SUBSECTION = "<h3>{title}</h3>\n{content}"
FACTS = '<dl class="facts">\n{items}\n</dl>'
FACT = "<dt>{name}</dt><dd>{value}</dd>"
TABLE = "<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"
ROW = "<tr{attributes}>{cells}</tr>"
IMAGE = '<img src="data:image/png;base64,{data}" alt="{alt}">'
NOTE = '<p class="{kind}">{text}</p>'

NUMERIC = re.compile(r"^[<$–]?[\d.,]*\d[\d.,]*%?\*?( \(n=\d+\))?$|^–$")
"""Cells right-aligned: numbers, percentages with a mark, p-values, costs, the '–' of no value."""


def render_html(run: ScoredRun, chart_svg: str | None, views: Sequence[SampleView], others: Sequence[ScoredRun] = ()) -> str:
    """The whole page; `others` (runs of the same benchmark and mode) appear in the split and cost tables."""
    metrics = run.metrics
    metric = metrics["metric"][0].upper() + metrics["metric"][1:]
    sections = [
        _section("run", "Run", _facts(run)),
        _section(
            "splits",
            f"{metric} by split",
            _note(headline(metrics))
            + _table(split_table(run, others))
            + (_note(average_note(run), kind="warning") if average_note(run) else "")
            + _note(significance_legend(metrics["mode"]))
            + _note(published_note(run)),
        ),
        _section("actions", f"{metric} by action", _actions(run, chart_svg)),
        _section("domains", f"{metric} by domain", _table(group_table("domain", metrics.get("domains", {})))),
        _section(
            "differences",
            "Per difference",
            _note("Sorted by action, then key; p is two-sided (differs from 50% either way).")
            + _table(difference_table(run)),
        ),
        _section(
            "localization",
            "Localization error",
            _note("Seconds from each difference's chosen frames (the middle one) to its nearest annotated key point.")
            + _table(localization_table(run)),
        ),
        _section("errors", "Errors", _errors(run)),
        _section(
            "usage",
            "Usage and cost",
            _note("Per sample, averaged over each run's records: LM calls (answers from the cache included), images and videos sent, tokens, cost.")
            + _table(systems_table([run, *others]))
            + _table(usage_table(run)),
        ),
        _section("samples", "Samples: the frames each difference was judged on", _samples(views)),
    ]
    title = f"VidDiff report: {run.path.name}"
    return PAGE.format(title=escape(title), css=CSS, body="\n".join(sections))


def _facts(run: ScoredRun) -> str:
    """The header: what was run, on what, by which models and code."""
    config, metrics, git = run.config, run.metrics, run.manifest.provenance.get("git") or {}
    samples = metrics.get("samples", {})
    facts = [
        ("run", str(run.path)),
        ("benchmark", f"{config.get('source', '?')}; splits: {', '.join(config.get('split') or ()) or 'all'}"),
        ("mode / metric", f"{metrics['mode']} set / {metric_title(run)}"),
        ("models", "; ".join(f"{role}: {lm.get('model', '?')}" for role, lm in called_lms(run).items())),
        ("system", system_text(run)),
        ("git commit", f"{git.get('commit') or 'unknown'}{' (dirty)' if git.get('dirty') else ''}"),
        ("date", str(run.manifest.provenance.get("started", "unknown"))),
        (
            "samples",
            f"{samples.get('scored', 0)} scored, {samples.get('with_errors', 0)} with errors, "
            f"{samples.get('excluded', 0)} excluded (held out), {samples.get('not_predicted', 0)} not run",
        ),
    ]
    items = FACTS.format(items="\n".join(FACT.format(name=escape(n), value=escape(v)) for n, v in facts))
    if config.get("limit") is not None:
        items += _note(f"--limit {config['limit']}: a subset of the benchmark; not for reporting", kind="warning")
    return items


def _actions(run: ScoredRun, chart_svg: str | None) -> str:
    chart = chart_svg or _note("No action has a score.")
    return chart + _table(group_table("action", run.metrics.get("actions", {})))


def _errors(run: ScoredRun) -> str:
    samples, differences, warnings = sample_error_table(run), difference_error_table(run), warning_table(run)
    return SUBSECTION.format(
        title=f"Samples that failed ({len(samples.rows) + samples.more})", content=_table(samples)
    ) + SUBSECTION.format(
        title=f"Differences left undecided by an error ({len(differences.rows) + differences.more})",
        content=_table(differences),
    ) + SUBSECTION.format(title=f"Warnings ({len(warnings.rows) + warnings.more})", content=_table(warnings))


def _samples(views: Sequence[SampleView]) -> str:
    if not views:
        return _note("No sample finished without errors, or none was asked for (--samples 0).")
    parts = []
    for view in views:
        record = view.record
        title = f"{record.sample_key} ({record.action or '?'}, {record.split or '?'})"
        frames = _image(view.sheet_png, f"frames judged for {record.sample_key}") if view.sheet_png else ""
        problem = NOTE.format(kind="problem", text=escape(view.problem)) if view.problem else ""
        parts.append(SUBSECTION.format(title=escape(title), content=_table(view.answers) + problem + frames))
    return "\n".join(parts)


def _section(anchor: str, title: str, content: str) -> str:
    return SECTION.format(anchor=anchor, title=escape(title), content=content)


def _table(table: Table) -> str:
    """A Table as HTML, or a note when it has no rows; a capped table says how many rows it left out."""
    if not table.rows:
        return _note("None.")
    head = "".join(f"<th>{escape(h)}</th>" for h in table.headers)
    body = "\n".join(
        ROW.format(
            attributes=' class="highlighted"' if index in table.highlighted else "",
            cells="".join(_cell(cell) for cell in row),
        )
        for index, row in enumerate(table.rows)
    )
    more = _note(f"… and {table.more} more.") if table.more else ""
    return TABLE.format(head=head, body=body) + more


def _cell(text: str) -> str:
    kind = "num" if NUMERIC.match(text) else "text"
    return f'<td class="{kind}">{escape(text)}</td>'


def _image(png: bytes, alt: str) -> str:
    return IMAGE.format(data=base64.b64encode(png).decode("ascii"), alt=escape(alt))


def _note(text: str, kind: str = "note") -> str:
    return NOTE.format(kind=kind, text=escape(text))
