"""Optimizer metric, open set: recall of the sample's differences through the LLM matcher."""

from __future__ import annotations

import dspy

from viddiff.evaluation.evaluate import open_outcomes
from viddiff.evaluation.predictions import PredictedDifference
from viddiff.programs.matcher import RecallMatcher


class OpenRecallMetric:
    """Recall@N_diff of one sample, matched by `RecallMatcher` with its own LM (cached by DSPy)."""

    higher_is_better = True

    def __init__(self, lm: dspy.LM | None = None, matcher: RecallMatcher | None = None):
        self.lm = lm
        self.matcher = matcher or RecallMatcher()

    def __call__(self, example, pred, trace=None) -> float | bool:
        """While bootstrapping demos (`trace` given), a sample passes when recall is at least 0.5."""
        row = {p.key: PredictedDifference(p.description, p.answer) for p in pred.predictions if p.answer is not None}
        outcomes, _ = open_outcomes(example.sample, row, self.matcher, lm=self.lm)
        positives = [o for o in outcomes if o.positive]
        score = sum(o.correct for o in positives) / len(positives) if positives else 0.0
        return score >= 0.5 if trace is not None else score
