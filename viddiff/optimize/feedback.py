"""GEPA's metric, closed set: the sample's accuracy and, for its reflection LM, what went wrong
and right on each difference: the statement, the true label, the answer, the rationale and the
times of the frames each video was judged on."""

from __future__ import annotations

import dspy

from viddiff.evaluation.predictions import SampleAnswers
from viddiff.evaluation.scoring import ClosedScorer
from viddiff.programs.records import DifferencePrediction


def closed_feedback(sample, predictions: list[DifferencePrediction]) -> tuple[float, str]:
    """Accuracy over the sample's counted differences (as `closed_metric`), and a feedback text
    with one line per counted difference."""
    by_key = {p.key: p for p in predictions}
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
        frames = "; ".join(
            f"video {name} at {', '.join(f'{t:.2f}' for t in times)} s" for name, times in (("A", predicted.times_a), ("B", predicted.times_b))
        )
        rationale = f" Its reasoning: {predicted.rationale.strip()}" if predicted.rationale.strip() else ""
        lines.append(
            f"- {verdict}: '{statement}' is true of video {outcome.label}, the answer was {predicted.answer} "
            f"(frames of {frames}).{rationale}"
        )
    return (right / len(counted) if counted else 0.0), "\n".join(lines)


def closed_feedback_metric(gold, pred, trace=None, pred_name=None, pred_trace=None) -> dspy.Prediction:
    """GEPA's metric: the score and the feedback of `closed_feedback`."""
    score, feedback = closed_feedback(gold.sample, pred.predictions)
    return dspy.Prediction(score=score, feedback=feedback)
