"""The report's tables as plain text cells, shared by the HTML page and the Markdown summary."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from viddiff.data.records import SPLITS
from viddiff.data.synth.actions import ACTIONS as SYNTHETIC_ACTIONS
from viddiff.errors import ViddiffError
from viddiff.lms import cost_text, total_cost, usage_per_sample
from viddiff.report.published import PUBLISHED, PUBLISHED_SOURCE, RANDOM_BASELINE
from viddiff.retrieval.localization_error import summarize_errors
from viddiff.run_log import ScoredRun

MARK = "*"
ERRORS_SHOWN = 50
"""At most this many errors of each kind are listed; the rest are counted."""


@dataclass(frozen=True)
class Table:
    """Rows of text cells under a header."""

    headers: tuple[str, ...]
    rows: list[tuple[str, ...]]
    highlighted: frozenset[int] = field(default_factory=frozenset)
    """Indices of rows to emphasise (the run's own row next to published ones)."""
    more: int = 0
    """Rows left out of a capped table."""


def percent(score: float | None) -> str:
    """A 0..1 score as a percentage with one decimal; '–' when there is none."""
    return "–" if score is None else f"{100 * score:.1f}"


def mark(group: Mapping[str, Any]) -> str:
    """MARK when the evaluation found the group significant (p < 0.05)."""
    return MARK if group.get("significant") else ""


def p_text(p_value: float | None) -> str:
    return "–" if p_value is None else "<0.001" if p_value < 0.001 else f"{p_value:.3f}"


def metric_title(run: ScoredRun) -> str:
    """'accuracy' or 'recall@N_diff', with the open-set protocol."""
    open_set = run.mode == "open"
    return run.metrics["metric"] + (f" ({run.metrics['protocol']} protocol)" if open_set else "")


def significance_legend(mode: str) -> str:
    """What n, missing and MARK mean in the split, action and difference tables."""
    counts = (
        "n = differences labelled a or b (and served); missing = those without an answer (the sample, the "
        "difference or the matcher failed), scored as wrong; answered = the share of n with an answer."
    )
    if mode != "closed":
        return counts + " Recall has no chance level: no test against 50%."
    return (
        f"{counts} {MARK} p < 0.05: one-sided binomial test of correct-out-of-n against 50% (better than random) "
        "for splits, domains and actions; two-sided for single differences."
    )


def published_note(run: ScoredRun) -> str:
    """Where the published rows come from, and the random baseline."""
    note = f"Rows other than this run's are the {PUBLISHED_SOURCE}"
    baseline = RANDOM_BASELINE.get(run.mode)
    if baseline is not None:
        note += f"; the published random baseline is {baseline:.0f}% ({run.mode} set)"
    note += "."
    synthetic = {spec.action for spec in SYNTHETIC_ACTIONS}
    if run.metrics.get("actions") and set(run.metrics["actions"]) <= synthetic:
        note += (
            " This run is on the synthetic benchmark (`viddiff synth`): its scores are not comparable "
            "to the published VidDiffBench rows."
        )
    return note


def run_label(run: ScoredRun) -> str:
    """'this run (<models>)': the distinct models of the LM roles the run's system called (every
    configured role when the manifest names no system this viddiff knows)."""
    models = dict.fromkeys(lm.get("model", "?") for lm in called_lms(run).values())
    return f"this run ({', '.join(models)})" if models else "this run"


def called_lms(run: ScoredRun) -> dict[str, dict]:
    """Role -> LM config of the roles the run's system called (every configured role when the
    manifest names no system this viddiff knows)."""
    called = _called_roles(run)
    return {role: lm for role, lm in run.config.get("lms", {}).items() if called is None or role in called}


def _called_roles(run: ScoredRun) -> frozenset[str] | None:
    from viddiff.systems import system_for

    try:
        return frozenset(system_for(run.manifest.system).roles(run.manifest.run_config, scoring=True))
    except (KeyError, ViddiffError):  # a system or config of another viddiff version
        return None


def system_text(run: ScoredRun) -> str:
    """'viddiff (localization viterbi)', or the name of a single-call baseline."""
    if run.manifest.system == "viddiff":
        return f"viddiff (localization {run.config.get('localization', '?')})"
    return run.manifest.system


def split_table(run: ScoredRun, others: Sequence[ScoredRun] = ()) -> Table:
    """This run's easy / medium / hard / avg, then each of `others` (runs of the same benchmark and
    mode, labelled with their system, models and folder), then the published rows of the mode;
    an avg cell stays empty unless all three splits were scored (see `average_note`)."""
    rows = [(run_label(run), *_split_cells(run))]
    rows += [(f"{system_text(other)} {run_label(other).removeprefix('this run ')} [{other.path.name}]", *_split_cells(other)) for other in others]
    for system, scores in PUBLISHED.get(run.mode, {}).items():
        rows.append((f"{system} (published)", *(f"{score:.1f}" for score in scores)))
    return Table(("system", *SPLITS, "avg"), rows, highlighted=frozenset({0}))


def _split_cells(run: ScoredRun) -> list[str]:
    splits = run.metrics.get("splits", {})
    return [*(_group_cell(splits[s]) if s in splits else "–" for s in SPLITS), percent(run.metrics.get("avg"))]


def systems_table(runs: Sequence[ScoredRun]) -> Table:
    """What one sample cost each run: LM calls, images and videos sent (cache hits included),
    tokens and dollars, averaged over its records."""
    rows = []
    for run in runs:
        usage = usage_per_sample(run.records)
        counted = usage.counted > 0

        def figure(value: float | None) -> str:
            return f"{value:.1f}" if counted and value is not None else "–"

        rows.append((
            f"{system_text(run)} [{run.path.name}]", str(usage.samples), figure(usage.lm_calls), figure(usage.images),
            figure(usage.videos), f"{usage.tokens:,.0f}" if usage.tokens is not None else "–", cost_text(usage.cost_usd),
        ))
    return Table(("run", "samples", "LM calls", "images", "videos", "tokens", "cost"), rows, highlighted=frozenset({0}))


def average_note(run: ScoredRun) -> str | None:
    """When not all three splits were scored: the mean of those that were, labelled as not the published Avg."""
    mean_of = run.metrics.get("mean_of_scored_splits")
    if run.metrics.get("avg") is not None or not mean_of:
        return None
    return (
        f"avg is left empty: not every split was scored. Mean of scored splits ({', '.join(mean_of['splits'])}): "
        f"{percent(mean_of['score'])} (not comparable to the published Avg)."
    )


def group_table(title: str, groups: Mapping[str, Mapping[str, Any]]) -> Table:
    """Score, n, correct, missing, answered and one-sided p per group (domain or action)."""
    rows = [
        (name, percent(g["score"]) + mark(g), str(g["n"]), str(g["correct"]), str(g["missing"]), percent(g["answered"]), p_text(g.get("p_value")))
        for name, g in groups.items()
    ]
    return Table((title, "score %", "n", "correct", "missing", "answered %", "p (one-sided)"), rows)


def difference_table(run: ScoredRun) -> Table:
    """Per difference: action, key, name, score, n, two-sided p and mark, by action then key."""
    differences = sorted(
        run.metrics.get("differences", {}).values(), key=lambda g: (g["action"], natural_key(g["key"]))
    )
    rows = [
        (g["action"], g["key"], g["name"], percent(g["score"]), str(g["n"]), str(g["missing"]), p_text(g.get("p_value")), mark(g))
        for g in differences
    ]
    return Table(("action", "key", "name", "score %", "n", "missing", "p (two-sided)", ""), rows)


def sample_error_table(run: ScoredRun) -> Table:
    """Samples whose run failed as a whole, capped at ERRORS_SHOWN."""
    failed = [(r.sample_key, r.error or "") for r in run.records if r.status == "error"]
    return Table(("sample", "error"), failed[:ERRORS_SHOWN], more=max(0, len(failed) - ERRORS_SHOWN))


def difference_error_table(run: ScoredRun) -> Table:
    """Differences left undecided by an error, capped at ERRORS_SHOWN."""
    failed = [(r.sample_key, p.key, p.error) for r in run.records for p in r.predictions if p.error]
    return Table(("sample", "key", "error"), failed[:ERRORS_SHOWN], more=max(0, len(failed) - ERRORS_SHOWN))


def warning_table(run: ScoredRun) -> Table:
    """Warnings recorded with the samples (a video decoded short of its length), capped at ERRORS_SHOWN."""
    warnings = [(r.sample_key, w) for r in run.records for w in r.warnings]
    return Table(("sample", "warning"), warnings[:ERRORS_SHOWN], more=max(0, len(warnings) - ERRORS_SHOWN))


def usage_table(run: ScoredRun) -> Table:
    """Tokens per model over the run's records, with the run's cost."""
    per_model: dict[str, list[int]] = {}
    for record in run.records:
        for model, usage in record.usage.items():
            tokens = per_model.setdefault(model, [0, 0])
            tokens[0] += int(usage.get("prompt_tokens") or 0)
            tokens[1] += int(usage.get("completion_tokens") or 0)
    rows = [(f"run: {model}", str(p), str(c), str(p + c), "") for model, (p, c) in per_model.items()]
    run_tokens = sum(p + c for p, c in per_model.values())
    rows.append(("run total", "", "", str(run_tokens), cost_text(total_cost(r.cost_usd for r in run.records))))
    return Table(("what", "prompt tokens", "completion tokens", "tokens", "cost"), rows)


def localization_table(run: ScoredRun) -> Table:
    """Seconds from the chosen frames to the nearest annotated key point, per video, over the
    differences with a key point (none: the benchmark has no annotations, or the run none to place)."""
    rows = []
    for video, column in (("A", 0), ("B", 1)):
        errors = [e[column] for r in run.records for e in r.localization_errors.values() if e[column] is not None]
        summary = summarize_errors(errors)
        if summary.count:
            rows.append((video, str(summary.count), f"{summary.mean_s:.2f}", f"{summary.median_s:.2f}",
                         percent(summary.within_half_second), percent(summary.within_one_second)))
    return Table(("video", "differences", "mean s", "median s", "within 0.5 s %", "within 1 s %"), rows)


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key ordering embedded numbers by value ('2' before '10')."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", text) if part)


def _group_cell(group: Mapping[str, Any]) -> str:
    missing = f", {group['missing']} missing" if group["missing"] else ""
    return f"{percent(group['score'])}{mark(group)} (n={group['n']}{missing})"
