"""Scoring predictions against VidDiffBench labels: closed accuracy and open recall@N_diff."""

from __future__ import annotations

import contextlib
import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from statistics import mean
from typing import Any

import dspy

from viddiff.data.records import SPLITS, Sample
from viddiff.evaluation.outcomes import Outcome, flip, group_scores, grouped
from viddiff.evaluation.predictions import PredictionsError, Row, first_predictions
from viddiff.evaluation.significance import mark
from viddiff.files import write_text_atomic
from viddiff.programs.matcher import RecallMatcher
from viddiff.programs.threads import map_in_threads

SCHEMA_VERSION = 1


@dataclass
class Evaluation:
    """Outcomes of every ground-truth difference, and what the scoring needs to report."""

    mode: str
    outcomes: list[Outcome]
    protocol: str | None = None
    decisions: list[dict[str, Any]] = field(default_factory=list)
    """Open set: the matcher's decisions per sample."""
    samples_scored: int = 0
    samples_with_errors: int = 0
    excluded: int = 0
    excluded_because: str | None = None
    usage: dict[str, Any] = field(default_factory=lambda: {"tokens": 0, "cost_usd": None})


def closed_outcomes(sample: Sample, row: Row) -> list[Outcome]:
    """Each labelled difference of a sample against the prediction for its key."""
    outcomes = []
    for key, label in sample.labels.items():
        predicted = row.get(key)
        outcomes.append(_outcome(sample, key, label, predicted.prediction if predicted else None))
    return outcomes


def score_closed(samples: Sequence[Sample], rows: Sequence[Row]) -> Evaluation:
    """Closed accuracy: each labelled difference against the prediction for its key."""
    outcomes = [o for sample in samples for o in closed_outcomes(sample, rows[sample.row_index])]
    return Evaluation("closed", outcomes, samples_scored=len(samples))


def open_outcomes(
    sample: Sample, row: Row, matcher: RecallMatcher, *, lm: dspy.LM | None = None
) -> tuple[list[Outcome], dict[str, Any]]:
    """A sample's first N_diff predictions matched to its ground truth (one matcher call, then
    the opposite check); each ground-truth difference scored with its match's answer.

    A failed matcher call leaves the sample unmatched, and its decision says why.
    """
    predicted = first_predictions(row, sample.n_differences_open)
    undescribed = [k for k, p in predicted.items() if not p.description]
    if undescribed:
        raise PredictionsError(f"row {sample.row_index}, key {undescribed[0]!r}: open-set predictions need a description")
    ground_truth = {k: sample.differences[k].description for k in sample.labels}
    decision: dict[str, Any] = {"sample_key": sample.sample_key, "matches": {k: None for k in ground_truth}, "opposites": [], "error": None}
    if predicted:
        try:
            with dspy.context(lm=lm) if lm is not None else contextlib.nullcontext():
                result = matcher(sample.action_description, ground_truth, {k: p.description for k, p in predicted.items()})
            decision.update(matches=result.matches, opposites=result.opposites)
        except Exception as e:  # recorded with the decision; the sample counts as unmatched
            decision["error"] = f"{type(e).__name__}: {e}"
    outcomes = []
    for key, label in sample.labels.items():
        matched = decision["matches"][key]
        answer = predicted[matched].prediction if matched else None
        if key in decision["opposites"]:
            answer = flip(answer)
        outcomes.append(_outcome(sample, key, label, answer, matched))
    return outcomes, decision


def score_open(
    samples: Sequence[Sample], rows: Sequence[Row], matcher: RecallMatcher, *, lm: dspy.LM | None = None, num_threads: int = 4
) -> Evaluation:
    """Open recall@N_diff over samples (matcher calls run concurrently)."""
    results = map_in_threads(lambda s: open_outcomes(s, rows[s.row_index], matcher, lm=lm), samples, num_threads)
    for result in results:
        if isinstance(result, Exception):
            raise result
    return Evaluation(
        "open",
        [o for outcomes, _ in results for o in outcomes],
        protocol="verify-then-match",
        decisions=[d for _, d in results],
        samples_scored=len(samples),
    )


def score_published(samples: Sequence[Sample], records: Mapping[str, Mapping[str, Any]]) -> Evaluation:
    """Open recall as the published code scored it: from the matches a run made before deciding
    (see `viddiff run --open-protocol published`), without the opposite check."""
    outcomes, decisions = [], []
    for sample in samples:
        record = records.get(sample.sample_key, {})
        matches = record.get("matches") or {}
        answers = {p["key"]: p["answer"] for p in record.get("predictions", [])}
        for key, label in sample.labels.items():
            matched = matches.get(key)
            outcomes.append(_outcome(sample, key, label, answers.get(matched) if matched else None, matched))
        decisions.append({"sample_key": sample.sample_key, "matches": matches, "opposites": [], "error": record.get("error")})
    return Evaluation("open", outcomes, protocol="published", decisions=decisions, samples_scored=len(samples))


def metrics(evaluation: Evaluation) -> dict[str, Any]:
    """The metrics.json document: scores per split, domain, action and difference."""
    mode, outcomes = evaluation.mode, evaluation.outcomes
    splits = grouped(outcomes, lambda o: o.split, mode)
    splits = {s: splits[s] for s in sorted(splits, key=lambda s: SPLITS.index(s) if s in SPLITS else len(SPLITS))}
    split_scores = [g["score"] for g in splits.values() if g["score"] is not None]
    differences = grouped(outcomes, lambda o: f"{o.action}/{o.key}", mode, two_sided=True)
    names = {f"{o.action}/{o.key}": (o.action, o.key, o.name) for o in outcomes}
    for group_key, scores in differences.items():
        scores.update(zip(("action", "key", "name"), names[group_key]))
    return {
        "schema_version": SCHEMA_VERSION,
        "mode": mode,
        "metric": "accuracy" if mode == "closed" else "recall@N_diff",
        "protocol": evaluation.protocol,
        "samples": {
            "scored": evaluation.samples_scored,
            "with_errors": evaluation.samples_with_errors,
            "excluded": evaluation.excluded,
            "excluded_because": evaluation.excluded_because,
            "matcher_errors": sum(d.get("error") is not None for d in evaluation.decisions),
        },
        "overall": group_scores(outcomes, mode),
        "splits": splits,
        "avg": mean(split_scores) if split_scores else None,
        "domains": grouped(outcomes, lambda o: o.domain, mode),
        "actions": grouped(outcomes, lambda o: o.action, mode),
        "differences": differences,
        "usage": evaluation.usage,
    }


def write_evaluation(directory: str | Path, evaluation: Evaluation) -> dict[str, Any]:
    """metrics.json, splits.csv, actions.csv, differences.csv and (open set) matches.jsonl."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    document = metrics(evaluation)
    write_text_atomic(directory / "metrics.json", json.dumps(document, indent=2) + "\n")
    for table in ("splits", "actions", "differences"):
        write_text_atomic(directory / f"{table}.csv", _csv_text(table, document[table]))
    if evaluation.mode == "open":
        write_text_atomic(directory / "matches.jsonl", "".join(json.dumps(d) + "\n" for d in evaluation.decisions))
    return document


def format_summary(document: Mapping[str, Any]) -> str:
    """The split and action tables as text (percent, n, one-sided p, '*' when p < 0.05)."""
    lines = [f"{document['metric']} ({document['mode']} set{', ' + document['protocol'] if document['protocol'] else ''})"]
    for title, groups in (("split", document["splits"]), ("action", document["actions"])):
        lines.append(f"\n{title:<22} {'score':>7} {'n':>5} {'p':>8}")
        for name, g in groups.items():
            score = "-" if g["score"] is None else f"{100 * g['score']:.1f}"
            p = "-" if g["p_value"] is None else f"{g['p_value']:.3f}"
            lines.append(f"{name:<22} {score:>7} {g['n']:>5} {p:>8} {mark(g['p_value'])}")
    avg = "-" if document["avg"] is None else f"{100 * document['avg']:.1f}"
    lines.append(f"\navg over splits: {avg}    (* one-sided binomial p < 0.05 against 50%)")
    return "\n".join(lines)


def _outcome(sample: Sample, key: str, label: str, prediction: str | None, matched: str | None = None) -> Outcome:
    difference = sample.differences.get(key)
    return Outcome(
        sample_key=sample.sample_key,
        split=sample.split,
        domain=sample.domain,
        action=sample.action,
        key=key,
        name=difference.name if difference else key,
        label=label,
        prediction=prediction,
        matched=matched,
    )


def _csv_text(table: str, groups: Mapping[str, Mapping[str, Any]]) -> str:
    rows = [{table.rstrip("s"): name, **scores} for name, scores in groups.items()]
    columns = list(dict.fromkeys(column for row in rows for column in row)) or [table.rstrip("s")]
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
