"""Scoring: one scorer per protocol turns a sample's answers into outcomes, and outcomes into metrics.

Protocols:
- `closed`: each labelled difference against the prediction for its key;
- `verify-then-match` (open set): the first N_diff decided predictions matched one-to-one to the
  ground truth by the LLM matcher, then the opposite check flips a matched prediction that
  states the opposite;
- `published` (open set): the matches a run made before deciding (`viddiff run
  --open-protocol published`), without the opposite check, as the published code scored.
Metrics, `viddiff compare` and `viddiff report` read the outcomes; none of them re-derives
correctness.
"""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from statistics import mean
from typing import Any, Protocol

from viddiff.data.records import SPLITS, Sample
from viddiff.errors import error_text
from viddiff.evaluation.outcomes import flip, group_scores, grouped
from viddiff.evaluation.predictions import PredictionsError, SampleAnswers, first_predictions
from viddiff.evaluation.significance import mark
from viddiff.programs.threads import map_in_threads
from viddiff.run_log import Outcome, RunLog

NOT_PREDICTED = "no prediction for this difference"
MOSTLY_MISSING = 0.5
"""Above this share of missing answers, a summary says the score measures failures."""


class Scorer(Protocol):
    """Turns one sample's answers into one outcome per ground-truth difference."""

    mode: str
    protocol: str

    def score(self, sample: Sample, answers: SampleAnswers) -> list[Outcome]: ...


class ClosedScorer:
    """Closed accuracy: each labelled difference against the prediction for its key."""

    mode = "closed"
    protocol = "closed"

    def score(self, sample: Sample, answers: SampleAnswers) -> list[Outcome]:
        outcomes = []
        for key, label in sample.labels.items():
            predicted = answers.predictions.get(key)
            answer = predicted.prediction if predicted else None
            unserved = key in answers.unserved
            error = None
            if answer is None and not unserved:
                error = answers.error or _undecided_error(answers, key)
            outcomes.append(_outcome(sample, key, label, answer, error=error, unserved=unserved))
        return outcomes


class OpenScorer:
    """Open recall@N_diff, verify-then-match: one matcher call per sample (then the opposite check).

    A failed matcher call leaves the sample's differences missing, with the failure as their error;
    so does a sample none of whose first N_diff proposals was decided (no matcher call). A
    difference matched to an undecided proposal is missing with that proposal's error.
    """

    mode = "open"
    protocol = "verify-then-match"

    def __init__(self, matcher, lm=None):
        self.matcher = matcher
        self.lm = lm

    def score(self, sample: Sample, answers: SampleAnswers) -> list[Outcome]:
        if answers.error is not None:
            return [_outcome(sample, key, label, None, error=answers.error) for key, label in sample.labels.items()]
        predicted = first_predictions(answers.predictions, sample.n_differences_open)
        undescribed = [k for k, p in predicted.items() if not p.description]
        if undescribed:
            raise PredictionsError(f"row {sample.row_index}, key {undescribed[0]!r}: open-set predictions need a description")
        matches: Mapping[str, str | None] = {}
        opposites: Sequence[str] = ()
        error = None
        if predicted and all(p.prediction is None for p in predicted.values()):
            error = f"no proposal was decided: {_undecided_error(answers, next(iter(predicted)))}"
        elif predicted:
            ground_truth = {k: sample.differences[k].description for k in sample.labels}
            try:
                with self._context():
                    result = self.matcher(sample.action_description, ground_truth, {k: p.description for k, p in predicted.items()})
                matches, opposites = result.matches, result.opposites
            except Exception as e:  # recorded with the outcomes: the sample's differences are missing
                error = f"matcher failed: {error_text(e)}"
        outcomes = []
        for key, label in sample.labels.items():
            matched = matches.get(key)
            answer = predicted[matched].prediction if matched else None
            flipped = matched is not None and key in opposites
            missing = error or (_undecided_error(answers, matched) if matched and answer is None else None)
            outcomes.append(
                _outcome(sample, key, label, flip(answer) if flipped else answer, matched=matched, flipped=flipped, error=missing)
            )
        return outcomes

    def _context(self):
        import dspy

        if self.lm is None:
            return contextlib.nullcontext()
        return dspy.context(lm=self.lm, adapter=dspy.ChatAdapter(), disable_history=True)


class PublishedScorer:
    """Open recall as the published code scored it: the matches made before deciding, no opposite check."""

    mode = "open"
    protocol = "published"

    def score(self, sample: Sample, answers: SampleAnswers) -> list[Outcome]:
        error = answers.error
        if error is None and answers.matches is None:
            error = "no matches recorded (run with --open-protocol published)"
        matches = answers.matches or {}
        outcomes = []
        for key, label in sample.labels.items():
            matched = matches.get(key)
            predicted = answers.predictions.get(matched) if matched else None
            answer = predicted.prediction if predicted else None
            unserved = matched is not None and matched in answers.unserved
            missing = error or (_undecided_error(answers, matched) if matched and answer is None and not unserved else None)
            outcomes.append(_outcome(sample, key, label, answer, matched=matched, error=missing, unserved=unserved))
        return outcomes


def score_samples(
    scorer: Scorer, samples: Sequence[Sample], answers: Mapping[str, SampleAnswers], *, num_threads: int = 4
) -> list[Outcome]:
    """Outcomes of every sample that has answers, in sample order (matcher calls run concurrently).

    Raises:
        PredictionsError: predictions that cannot be scored (open set without descriptions).
    """
    scored = [s for s in samples if s.sample_key in answers]
    results = map_in_threads(lambda s: scorer.score(s, answers[s.sample_key]), scored, num_threads)
    for result in results:
        if isinstance(result, Exception):
            raise result
    return [o for outcomes in results for o in outcomes]


@dataclass(frozen=True)
class Selection:
    """Which samples a score covers, and which it leaves out and why (metrics.json `samples`)."""

    scored: int
    with_errors: int = 0
    excluded: int = 0
    """Samples of a compiled program's held-out slice."""
    excluded_because: str | None = None
    not_predicted: int = 0
    """Selected benchmark rows with no prediction at all (a --limit run, a partial file)."""
    not_predicted_counted: bool = False
    """Whether those rows were scored as wrong (`viddiff eval --missing-as-wrong`)."""
    row_errors: int = 0
    """Benchmark rows that could not be read."""
    usage: dict[str, Any] = field(default_factory=lambda: {"tokens": 0, "cost_usd": None})


def metrics(outcomes: Sequence[Outcome], *, mode: str, protocol: str, selection: Selection) -> dict[str, Any]:
    """The metrics.json document: scores per split, domain, action and difference.

    `avg` is the unweighted mean of easy, medium and hard only when all three were scored
    (the published Avg); otherwise it is null and `mean_of_scored_splits` says what there is.
    """
    splits = grouped(outcomes, lambda o: o.split, mode)
    splits = {s: splits[s] for s in sorted(splits, key=lambda s: SPLITS.index(s) if s in SPLITS else len(SPLITS))}
    scored_splits = {name: g["score"] for name, g in splits.items() if g["score"] is not None}
    differences = grouped(outcomes, lambda o: f"{o.action}/{o.key}", mode, two_sided=True)
    names = {f"{o.action}/{o.key}": (o.action, o.key, o.name) for o in outcomes}
    for group_key, scores in differences.items():
        scores.update(zip(("action", "key", "name"), names[group_key]))
    return {
        "mode": mode,
        "metric": "accuracy" if mode == "closed" else "recall@N_diff",
        "protocol": protocol,
        "samples": {k: v for k, v in vars(selection).items() if k != "usage"},
        "overall": group_scores(outcomes, mode),
        "splits": splits,
        "avg": mean(scored_splits.values()) if set(SPLITS) <= scored_splits.keys() else None,
        "mean_of_scored_splits": {"score": mean(scored_splits.values()), "splits": list(scored_splits)} if scored_splits else None,
        "domains": grouped(outcomes, lambda o: o.domain, mode),
        "actions": grouped(outcomes, lambda o: o.action, mode),
        "differences": differences,
        "usage": selection.usage,
    }


def write_scores(directory, outcomes: Sequence[Outcome], document: Mapping[str, Any]) -> None:
    """outcomes.jsonl, metrics.json and the CSV tables into `directory`."""
    log = RunLog(directory)
    log.write_metrics(document, {table: _csv_text(table, document[table]) for table in ("splits", "actions", "differences")})
    log.write_outcomes(outcomes)


def format_summary(document: Mapping[str, Any]) -> str:
    """The headline, then the split and action tables as text: score in percent with its
    denominator n, the answers missing, the share answered, and (closed set) the one-sided p."""
    mode = document["mode"]
    lines = [headline(document)]
    for title, groups in (("split", document["splits"]), ("action", document["actions"])):
        lines.append(f"\n{title:<22} {'score':>7} {'n':>5} {'missing':>8} {'answered':>9} {'p':>8}")
        for name, g in groups.items():
            p = "-" if g["p_value"] is None else f"{g['p_value']:.3f}"
            lines.append(
                f"{name:<22} {_percent(g['score']):>7} {g['n']:>5} {g['missing']:>8} {_percent(g['answered']):>8}% {p:>8} {mark(g['p_value'])}"
            )
    lines.append("\n" + average_text(document))
    if mode == "closed":
        lines.append("(* one-sided binomial p < 0.05 against 50%; missing answers count as wrong)")
    else:
        lines.append("(recall has no chance level: no test against 50%; missing answers count as unmatched)")
    return "\n".join(lines)


def headline(document: Mapping[str, Any]) -> str:
    """One line: the overall score with its denominator and what is missing, unserved or left out."""
    overall, samples = document["overall"], document["samples"]
    protocol = f", {document['protocol']} protocol" if document["mode"] == "open" else ""
    text = (
        f"{document['metric']} ({document['mode']} set{protocol}): {_percent(overall['score'])}% of "
        f"{overall['n']} differences, {overall['missing']} missing ({_percent(overall['answered'])}% answered)"
    )
    if overall.get("unserved"):
        text += f"; served {overall['n']}/{overall['n'] + overall['unserved']} (the rest could not be localized)"
    if samples.get("not_predicted"):
        counted = "scored as wrong" if samples.get("not_predicted_counted") else "left out"
        text += f"; {samples['not_predicted']} benchmark rows have no prediction ({counted})"
    if overall["n"] and overall["missing"] > MOSTLY_MISSING * overall["n"]:
        text += (
            f"\nWARNING: {overall['missing']} of {overall['n']} answers are missing: this score measures failures "
            "of the run, not the model (see the errors in records.jsonl)"
        )
    return text


def average_text(document: Mapping[str, Any]) -> str:
    """'avg over easy, medium, hard: 56.3', or the mean of the splits scored, labelled as not the published Avg."""
    if document["avg"] is not None:
        return f"avg over {', '.join(SPLITS)}: {_percent(document['avg'])}"
    mean_of = document.get("mean_of_scored_splits")
    if not mean_of:
        return "avg: - (nothing scored)"
    return f"mean of scored splits ({', '.join(mean_of['splits'])}): {_percent(mean_of['score'])} (not the published Avg, which needs all three)"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def _undecided_error(answers: SampleAnswers, key: str) -> str:
    return answers.difference_errors.get(key) or NOT_PREDICTED


def _outcome(
    sample: Sample,
    key: str,
    label: str,
    prediction: str | None,
    *,
    matched: str | None = None,
    flipped: bool = False,
    error: str | None = None,
    unserved: bool = False,
) -> Outcome:
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
        matched_key=matched,
        flipped=flipped,
        correct=label in ("a", "b") and prediction == label,
        error=error,
        unserved=unserved,
    )


def _csv_text(table: str, groups: Mapping[str, Mapping[str, Any]]) -> str:
    rows = [{table.rstrip("s"): name, **scores} for name, scores in groups.items()]
    columns = list(dict.fromkeys(column for row in rows for column in row)) or [table.rstrip("s")]
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
