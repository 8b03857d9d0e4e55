"""Optimizer metric, open set: recall of the sample's differences through the LLM matcher."""

from __future__ import annotations

import dspy

from viddiff.evaluation.predictions import SampleAnswers
from viddiff.evaluation.scoring import OpenScorer
from viddiff.programs.matcher import RecallMatcher


class OpenRecallMetric:
    """Recall@N_diff of one sample, scored by the open scorer with its own matcher LM (cached by DSPy)."""

    def __init__(self, lm: dspy.LM | None = None, matcher: RecallMatcher | None = None):
        self.scorer = OpenScorer(matcher or RecallMatcher(), lm=lm)

    def __call__(self, example, pred, trace=None) -> float | bool:
        """While bootstrapping demos (`trace` given), a sample passes when recall is at least 0.5."""
        counted = [o for o in self.scorer.score(example.sample, SampleAnswers.from_predictions(pred.predictions)) if o.counted]
        score = sum(o.correct for o in counted) / len(counted) if counted else 0.0
        return score >= 0.5 if trace is not None else score
