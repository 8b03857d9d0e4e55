"""Optimizer metric of the planner compiled against annotated key points: how close the frames
the localizer chose fall to them, with no VLM call.

Per sample: the mean, over its differences and videos with an annotated key point, of the
seconds from the chosen frames (the middle one) to the nearest key point; the score is
1 / (1 + that mean), 1 when every frame is on its key point, 0.5 at one second off on average.
GEPA's feedback names each difference's stage, the chosen and annotated times.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import dspy

from viddiff.programs.records import DifferencePrediction


def mean_seconds(errors: Mapping[str, Sequence[float | None]]) -> float | None:
    """The mean of the known errors (None without any)."""
    known = [e for pair in errors.values() for e in pair if e is not None]
    return sum(known) / len(known) if known else None


def seconds_of(score: float) -> float:
    """The mean seconds off the key points that a score stands for (its inverse)."""
    return 1 / score - 1 if score > 0 else float("inf")


def localization_score(sample, videos, predictions: Sequence[DifferencePrediction]) -> tuple[float, str]:
    """The sample's score and a feedback text with one line per difference with a key point."""
    from viddiff.systems.viddiff import sample_localization_errors

    errors = sample_localization_errors(sample, videos, list(predictions))
    seconds = mean_seconds(errors)
    if seconds is None:
        return 0.0, f"no difference of '{sample.action_description}' has an annotated key point"
    lines = [f"the chosen frames of '{sample.action_description}' are {seconds:.2f} s from the annotated key points on average:"]
    for prediction in predictions:
        if prediction.key not in errors:
            continue
        offs = [
            f"video {name} at {times[len(times) // 2]:.2f} s, {error:.2f} s off"
            for name, times, error in zip("AB", (prediction.times_a, prediction.times_b), errors[prediction.key], strict=True)
            if error is not None and times
        ]
        lines.append(f"- '{prediction.description}': {'; '.join(offs)}.")
    return 1 / (1 + seconds), "\n".join(lines)


def localization_metric(example, pred, trace=None) -> float | bool:
    """The sample's localization score; while bootstrapping demos (`trace` given), a sample
    passes when its frames are within half a second of the key points on average."""
    score, _ = localization_score(example.sample, example.videos, pred.predictions)
    return score >= 1 / 1.5 if trace is not None else score


def localization_feedback_metric(gold, pred, trace=None, pred_name=None, pred_trace=None) -> dspy.Prediction:
    """GEPA's metric: the score and feedback of `localization_score`."""
    score, feedback = localization_score(gold.sample, gold.videos, pred.predictions)
    return dspy.Prediction(score=score, feedback=feedback)
