"""GEPA's metric: a sample's score and, for its reflection LM, what went wrong and right.

Closed set (`closed_feedback`): per counted difference, the statement, the true label, the
answer, the rationale, the times of the frames each video was judged on and, where key points
are annotated, how far those frames were from them. Open set (`open_feedback`): per
ground-truth difference, the proposal matched to it and its answer, or that it was never
proposed; then the proposals that matched nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import dspy

from viddiff.evaluation.predictions import SampleAnswers
from viddiff.evaluation.scoring import ClosedScorer, OpenScorer
from viddiff.programs.matcher import RecallMatcher
from viddiff.programs.records import DifferencePrediction
from viddiff.run_log import Outcome


def closed_feedback(sample, predictions: list[DifferencePrediction], videos=None) -> tuple[float, str]:
    """Accuracy over the sample's counted differences (as `closed_metric`), and a feedback text
    with one line per counted difference; `videos` (the sampled frames) adds the distance of the
    chosen frames to the annotated key points."""
    from viddiff.systems.viddiff import sample_localization_errors

    by_key = {p.key: p for p in predictions}
    distances = sample_localization_errors(sample, videos, predictions) if videos is not None else {}
    counted = [o for o in ClosedScorer().score(sample, SampleAnswers.from_predictions(predictions)) if o.counted]
    right = sum(o.correct for o in counted)
    lines = [f"{right} of {len(counted)} differences decided right for '{sample.action_description}':"]
    for outcome in counted:
        predicted = by_key.get(outcome.key)
        statement = sample.differences[outcome.key].description
        verdict = "right" if outcome.correct else "WRONG"
        if predicted is None or predicted.answer is None:
            lines.append(f"- {verdict}: '{statement}' is true of video {outcome.label}; no answer ({outcome.error}).")
            continue
        lines.append(
            f"- {verdict}: '{statement}' is true of video {outcome.label}, the answer was {predicted.answer} "
            f"({_frames_text(predicted, distances.get(outcome.key))}).{_reasoning(predicted)}"
        )
    return _share(right, counted), "\n".join(lines)


def open_feedback(sample, predictions: list[DifferencePrediction], outcomes: Sequence[Outcome]) -> tuple[float, str]:
    """Recall over the sample's counted differences (as `OpenRecallMetric`), and a feedback text:
    each ground-truth difference with the proposal matched to it, or none; then the proposals
    that matched nothing."""
    by_key = {p.key: p for p in predictions}
    counted = [o for o in outcomes if o.counted]
    right = sum(o.correct for o in counted)
    lines = [
        f"{right} of {len(counted)} annotated differences found and decided right for '{sample.action_description}' "
        f"(at most {sample.n_differences_open} could be proposed):"
    ]
    for outcome in counted:
        truth = f"'{sample.differences[outcome.key].description}' (true of video {outcome.label})"
        matched = by_key.get(outcome.matched_key) if outcome.matched_key is not None else None
        if matched is None:
            lines.append(f"- MISSED: {truth} was never proposed{f' ({outcome.error})' if outcome.error else ''}.")
            continue
        stated = f"the proposal '{matched.description}'" + (", which states its opposite," if outcome.flipped else "")
        answer = f"was answered {matched.answer}" if matched.answer is not None else f"got no answer ({outcome.error})"
        lines.append(f"- {'right' if outcome.correct else 'WRONG'}: {truth} matched {stated} and {answer}.{_reasoning(matched)}")
    matched_keys = {o.matched_key for o in outcomes if o.matched_key is not None}
    unmatched = [f"'{p.description}'" for p in predictions if p.key not in matched_keys]
    if unmatched:
        lines.append(f"Proposals that matched no annotated difference: {', '.join(unmatched)}.")
    return _share(right, counted), "\n".join(lines)


class FeedbackMetric:
    """GEPA's metric (`metric(gold, pred, trace, pred_name, pred_trace)`): the score and feedback
    of `closed_feedback` or `open_feedback` (scored by the matcher with `matcher_lm`)."""

    def __init__(self, mode: str, matcher_lm: dspy.LM | None = None):
        self.mode = mode
        self.scorer = OpenScorer(RecallMatcher(), lm=matcher_lm) if mode == "open" else None

    def __call__(self, gold, pred, trace=None, pred_name=None, pred_trace=None) -> dspy.Prediction:
        if self.mode == "closed":
            score, feedback = closed_feedback(gold.sample, pred.predictions, gold.get("videos"))
        else:
            outcomes = self.scorer.score(gold.sample, SampleAnswers.from_predictions(pred.predictions))
            score, feedback = open_feedback(gold.sample, pred.predictions, outcomes)
        return dspy.Prediction(score=score, feedback=feedback)


def _frames_text(predicted: DifferencePrediction, distances: Sequence[float | None] | None) -> str:
    """'frames of video A at 1.25 s; video B at 1.50 s' (+ '; 0.40 s and 0.10 s from the annotated key points')."""
    text = "frames of " + "; ".join(
        f"video {name} at {', '.join(f'{t:.2f}' for t in times)} s" for name, times in (("A", predicted.times_a), ("B", predicted.times_b))
    )
    known = [f"{d:.2f} s in video {name}" for name, d in zip("AB", distances or (), strict=False) if d is not None]
    return text + (f"; off the annotated key point by {' and '.join(known)}" if known else "")


def _reasoning(predicted: DifferencePrediction) -> str:
    return f" Its reasoning: {predicted.rationale.strip()}" if predicted.rationale.strip() else ""


def _share(right: int, counted: Sequence) -> float:
    return right / len(counted) if counted else 0.0
