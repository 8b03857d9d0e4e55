"""Optimizer metric, closed set: the share of a sample's differences decided right."""

from viddiff.evaluation.predictions import SampleAnswers
from viddiff.evaluation.scoring import ClosedScorer


def closed_metric(example, pred, trace=None) -> float | bool:
    """Accuracy over the sample's counted differences, scored by the closed scorer (a 'c' or
    missing answer is wrong).

    While bootstrapping demos (`trace` given), a sample passes only when every difference is right.
    """
    counted = [o for o in ClosedScorer().score(example.sample, SampleAnswers.from_predictions(pred.predictions)) if o.counted]
    score = sum(o.correct for o in counted) / len(counted) if counted else 0.0
    return score == 1.0 if trace is not None else score
