"""Optimizer metric, closed set: the share of a sample's differences decided right."""

from viddiff.evaluation.evaluate import closed_outcomes
from viddiff.evaluation.predictions import PredictedDifference


def closed_metric(example, pred, trace=None) -> float | bool:
    """Accuracy over the sample's a/b-labelled differences (a 'c' or missing answer is wrong).

    While bootstrapping demos (`trace` given), a sample passes only when every difference is right.
    """
    row = {p.key: PredictedDifference(p.description, p.answer) for p in pred.predictions if p.answer is not None}
    positives = [o for o in closed_outcomes(example.sample, row) if o.positive]
    score = sum(o.correct for o in positives) / len(positives) if positives else 0.0
    return score == 1.0 if trace is not None else score


closed_metric.higher_is_better = True
